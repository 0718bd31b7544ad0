package app.fieldwork.android

import app.fieldwork.ffi.ClientConfig
import app.fieldwork.ffi.FieldworkClient
import app.fieldwork.ffi.FieldworkException
import app.fieldwork.ffi.LocateReport
import app.fieldwork.ffi.LocationFix
import app.fieldwork.ffi.QuarantinedChange
import app.fieldwork.ffi.Status
import app.fieldwork.ffi.SyncReport
import app.fieldwork.ffi.SyncStatus
import app.fieldwork.ffi.SyncStatusObserver
import app.fieldwork.ffi.Ticket
import app.fieldwork.ffi.TicketChange
import app.fieldwork.ffi.TicketDraft
import app.fieldwork.ffi.TicketEdit
import app.fieldwork.ffi.TicketFilter
import app.fieldwork.ffi.TicketObserver
import app.fieldwork.ffi.TicketSummary
import app.fieldwork.ffi.UserProfile
import java.io.File
import kotlinx.coroutines.CoroutineDispatcher
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.channels.Channel
import kotlinx.coroutines.channels.awaitClose
import kotlinx.coroutines.flow.Flow
import kotlinx.coroutines.flow.buffer
import kotlinx.coroutines.flow.callbackFlow
import kotlinx.coroutines.flow.conflate
import kotlinx.coroutines.flow.distinctUntilChanged
import kotlinx.coroutines.flow.filter
import kotlinx.coroutines.flow.filterNotNull
import kotlinx.coroutines.flow.flowOn
import kotlinx.coroutines.flow.map
import kotlinx.coroutines.withContext

/**
 * The idiomatic Kotlin face of the Fieldwork core: every operation as a `suspend` function that
 * runs on [io] (the core writes to disk and talks to the server, which must not happen on the main
 * thread), and every observer as a cold [Flow] that subscribes when collected and unsubscribes
 * when the collector is cancelled.
 *
 * Failures are thrown as the generated [FieldworkException] subclasses (`NotAllowed`, `NotFound`,
 * `InvalidInput`, `InvalidPhoto`, `Offline`, `NotLoggedIn`, `Server`, `Storage`, `Internal`), each
 * with a message fit to show.
 *
 * Pure Kotlin + coroutines (no Android APIs), so the same class is tested on a desktop JVM.
 */
class Fieldwork(
    /** The generated client, for anything this layer does not wrap. */
    val client: FieldworkClient,
    private val io: CoroutineDispatcher = Dispatchers.IO,
) : AutoCloseable {

    companion object {
        /** Opens the device's store in [dataDir] (e.g. `File(context.filesDir, "fieldwork")`). */
        suspend fun open(
            dataDir: File,
            config: ClientConfig,
            io: CoroutineDispatcher = Dispatchers.IO,
        ): Fieldwork = withContext(io) { Fieldwork(FieldworkClient.open(dataDir.path, config), io) }
    }

    // --- account ---------------------------------------------------------------------------

    val profile: UserProfile? get() = client.profile()

    suspend fun loginWithToken(userToken: String): UserProfile = onIo { loginWithToken(userToken) }

    suspend fun loginWithPassword(tenant: String, user: String, password: String): UserProfile =
        onIo { loginWithPassword(tenant, user, password) }

    suspend fun logout() = onIo { logout() }

    // --- tickets ---------------------------------------------------------------------------

    suspend fun helpRequest(orderRef: String? = null, location: LocationFix? = null, note: String? = null): Ticket =
        onIo { helpRequest(orderRef, location, note) }

    suspend fun createTicket(draft: TicketDraft): Ticket = onIo { createTicket(draft) }

    suspend fun edit(ticketId: String, vararg edits: TicketEdit): Ticket = onIo { editTicket(ticketId, edits.toList()) }

    suspend fun changeStatus(ticketId: String, status: Status): Ticket = onIo { changeStatus(ticketId, status) }

    suspend fun assign(ticketId: String, assignee: String?): Ticket = onIo { assign(ticketId, assignee) }

    suspend fun addNote(ticketId: String, text: String, internal: Boolean = false): Ticket =
        onIo { addNote(ticketId, text, internal) }

    suspend fun redactNote(ticketId: String, noteId: String): Ticket = onIo { redactNote(ticketId, noteId) }

    suspend fun updateLocation(ticketId: String, fix: LocationFix): Ticket = onIo { updateLocation(ticketId, fix) }

    suspend fun rate(ticketId: String, score: Long, comment: String? = null): Ticket = onIo { rate(ticketId, score, comment) }

    suspend fun ticket(ticketId: String): Ticket = onIo { ticket(ticketId) }

    suspend fun list(filter: TicketFilter = TicketFilter()): List<TicketSummary> = onIo { listTickets(filter) }

    suspend fun quarantine(): List<QuarantinedChange> = onIo { quarantine() }

    // --- photos and position ---------------------------------------------------------------

    /**
     * Attaches a photo or screenshot (JPEG, PNG or WebP bytes, e.g. read from a content `Uri`):
     * the pipeline (upright, metadata stripped, downscaled, thumbnail) runs on [io] and the files
     * are queued for upload. `fix` is used when the photo has no GPS of its own. An unusable file
     * throws [FieldworkException.InvalidPhoto] and stores nothing.
     */
    suspend fun attachPhoto(ticketId: String, bytes: ByteArray, fix: LocationFix? = null): Ticket =
        onIo { attachPhoto(ticketId, bytes, fix) }

    /** Like [attachPhoto], reading the photo from [file] (e.g. the camera's output file). */
    suspend fun attachPhoto(ticketId: String, file: File, fix: LocationFix? = null): Ticket =
        onIo { attachPhotoFile(ticketId, file.path, fix) }

    /**
     * Hands a position fix from the OS (e.g. `FusedLocationProviderClient`) to the core: for a
     * technician, arrivals on site of assigned tickets and the position for the server.
     */
    suspend fun reportLocation(fix: LocationFix): LocateReport = onIo { reportLocation(fix) }

    /**
     * The file of photo [sha256] (an attachment's `sha256` or `thumb`) if it is on the device,
     * for an image view; `null` until sync brings the thumbnail or [fetchPhoto] the full image.
     * Read it, never change or delete it.
     */
    suspend fun photoFile(sha256: String): File? = onIo { photoPath(sha256)?.let(::File) }

    /**
     * The file of photo [sha256], downloaded from the server first if it is not on the device
     * (full images come down only when asked for). Throws `NotFound` when the photo is not
     * available (yet) and `Offline` without a network.
     */
    suspend fun fetchPhoto(sha256: String): File = onIo { File(fetchPhoto(sha256)) }

    // --- sync ------------------------------------------------------------------------------

    suspend fun syncNow(): SyncReport = onIo { syncNow() }

    suspend fun startSync() = onIo { startSync() }

    suspend fun stopSync() = onIo { stopSync() }

    /** Forward the OS's connectivity callbacks here (e.g. from `ConnectivityManager`). */
    fun setNetworkAvailable(available: Boolean) = client.setNetworkAvailable(available)

    // --- observation -----------------------------------------------------------------------

    /** Every durable change to tickets, local or pulled by sync, in order. */
    val ticketChanges: Flow<TicketChange> =
        changesThenNow().buffer(Channel.UNLIMITED).filterNotNull()

    /** The current sync status, then every change of it; a slow collector sees the latest. */
    val syncStatus: Flow<SyncStatus> =
        callbackFlow {
            val subscription = client.observeSyncStatus(object : SyncStatusObserver {
                override fun onSyncStatus(status: SyncStatus) {
                    trySend(status)
                }
            })
            trySend(client.syncStatus())
            awaitClose { subscription.close() }
        }.conflate().flowOn(io)

    /** A list screen: the page for [filter] now, and again after every change. */
    fun tickets(filter: TicketFilter = TicketFilter()): Flow<List<TicketSummary>> =
        changesThenNow()
            .conflate()
            .map { client.listTickets(filter) }
            .distinctUntilChanged()
            .flowOn(io)

    /** A detail screen: the ticket now, and again whenever it changes. */
    fun ticketUpdates(ticketId: String): Flow<Ticket> =
        changesThenNow()
            .filter { it == null || ticketId in it.ids }
            .conflate()
            .map { client.ticket(ticketId) }
            .flowOn(io)

    /** Stops background sync and frees the native client. */
    override fun close() {
        client.stopSync()
        client.close()
    }

    /**
     * `null` once the observer is registered, then each change: reading the state on `null` can
     * miss nothing, since the subscription is already in place.
     */
    private fun changesThenNow(): Flow<TicketChange?> =
        callbackFlow {
            val subscription = client.observeTickets(object : TicketObserver {
                override fun onTicketsChanged(change: TicketChange) {
                    trySend(change)
                }
            })
            trySend(null)
            awaitClose { subscription.close() }
        }

    private suspend inline fun <T> onIo(crossinline call: FieldworkClient.() -> T): T =
        withContext(io) { client.call() }
}
