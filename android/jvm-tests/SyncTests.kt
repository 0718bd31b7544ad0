// A full sync round trip against a real `fieldwork serve` on loopback, started by
// scripts/test-bindings.sh, which passes the server address and the users' API tokens in the
// environment: a rider, a dispatcher and a technician of one tenant, and the knowledge-base
// articles a supervisor published for them (scripts/publish-kb-fixtures.py).

package app.fieldwork.jvmtest

import app.fieldwork.ffi.ChangeOrigin
import app.fieldwork.ffi.FieldworkClient
import app.fieldwork.ffi.FieldworkException
import app.fieldwork.ffi.KbAudience
import app.fieldwork.ffi.LocationFix
import app.fieldwork.ffi.Role
import app.fieldwork.ffi.Status
import app.fieldwork.ffi.Subscription
import app.fieldwork.ffi.SyncState
import app.fieldwork.ffi.SyncStatus
import app.fieldwork.ffi.SyncStatusObserver
import app.fieldwork.ffi.TicketDraft
import app.fieldwork.ffi.TicketFilter
import java.util.concurrent.LinkedBlockingQueue

/** A value scripts/test-bindings.sh passes in the environment (server address, tokens, ids). */
fun env(name: String): String =
    System.getenv(name) ?: throw AssertionFailed("$name is not set: run these tests through scripts/test-bindings.sh")

private class StatusQueue : SyncStatusObserver {
    val statuses = LinkedBlockingQueue<SyncStatus>()
    override fun onSyncStatus(status: SyncStatus) {
        statuses.add(status)
    }
}

/** How long a change may take to travel through the server to another device. */
private const val DELIVERY_MS = 30_000L

fun syncTests(run: TestRun) {
    val server = System.getenv("FW_SERVER_URL")
    var rider: FieldworkClient? = null
    var dispatcher: FieldworkClient? = null
    var technician: FieldworkClient? = null
    var ticketId = ""
    val riderDir = TempDirs.fresh("sync-rider")
    val riderStatuses = StatusQueue()
    var riderStatusSubscription: Subscription? = null

    run.test("sync: bad tokens and passwords are refused as NotLoggedIn") {
        openClient("stranger", env("FW_SERVER_URL")).use { client ->
            val e = assertThrows<FieldworkException.NotLoggedIn> { client.loginWithToken("fwu_not-a-real-token") }
            check(e.message!!.contains("log in again")) { "message: ${e.message}" }
            assertThrows<FieldworkException.NotLoggedIn> {
                client.loginWithPassword(env("FW_TENANT_ID"), "nobody", "wrong password")
            }
            checkEq(null, client.profile(), "profile after refused logins")
        }
    }

    run.test("sync: devices log in with user tokens and learn who they are") {
        rider = openClientIn(riderDir, "sync-rider", env("FW_SERVER_URL")).also { client ->
            riderStatusSubscription = client.observeSyncStatus(riderStatuses)
            val me = client.loginWithToken(env("FW_RIDER_TOKEN"))
            checkEq(Role.RIDER, me.role, "rider role")
            checkEq(me, client.profile(), "profile")
            checkEq(server?.trimEnd('/'), client.syncStatus().server, "server in status")
            awaitItem(riderStatuses.statuses, 5_000, "a status after login") { it.server != null }
        }
        dispatcher = openClient("sync-dispatcher", env("FW_SERVER_URL")).also {
            checkEq(Role.DISPATCHER, it.loginWithToken(env("FW_DISPATCHER_TOKEN")).role, "dispatcher role")
        }
        technician = openClient("sync-technician", env("FW_SERVER_URL")).also {
            checkEq(Role.TECHNICIAN, it.loginWithToken(env("FW_TECH_TOKEN")).role, "technician role")
        }
    }

    run.test("sync: a help request made with no network is kept, then pushed when it returns") {
        val client = rider ?: throw AssertionFailed("rider did not log in")
        client.setNetworkAvailable(false)
        val fix = LocationFix(lat = 31.23, lon = 121.47, accuracyM = 12.0, at = System.currentTimeMillis())
        val ticket = client.helpRequest("ORD-77", fix, "chain snapped")
        ticketId = ticket.id
        val offline = assertThrows<FieldworkException.Offline> { client.syncNow() }
        check(offline.message!!.contains("no network")) { "message: ${offline.message}" }
        check(client.syncStatus().pending >= 1uL) { "pending while offline" }
        client.setNetworkAvailable(true)
        val statuses = StatusQueue()
        val sub = client.observeSyncStatus(statuses)
        val report = client.syncNow()
        check(report.pushed >= 1uL) { "pushed: $report" }
        checkEq(0uL, report.pending, "pending after sync")
        checkEq(0uL, client.syncStatus().pending, "pending in status")
        awaitItem(statuses.statuses, 5_000, "syncing") { it.state == SyncState.SYNCING }
        awaitItem(statuses.statuses, 5_000, "idle after the sync") { it.state == SyncState.IDLE }
        sub.close()
        checkEq(emptyList<Any>(), client.quarantine(), "nothing refused")
    }

    run.test("sync: the dispatcher pulls the request (observer hears it) and assigns it") {
        val client = dispatcher ?: throw AssertionFailed("dispatcher did not log in")
        val heard = QueueObserver()
        client.observeTickets(heard).use {
            val report = client.syncNow()
            check(report.pulled >= 1uL) { "pulled: $report" }
            val change = awaitItem(heard.changes, 5_000, "the pulled ticket") { ticketId in it.ids }
            checkEq(ChangeOrigin.REMOTE, change.origin, "origin")
        }
        val pulled = client.ticket(ticketId)
        checkEq("ORD-77", pulled.orderRef, "order ref on the dispatcher's device")
        checkEq(listOf("chain snapped"), pulled.notes.map { it.text }, "rider's note")
        checkEq(1, client.listTickets(TicketFilter(status = Status.NEW)).count { it.id == ticketId }, "in the new queue")
        checkEq(Status.ASSIGNED, client.assign(ticketId, env("FW_TECH_ID")).status, "assigned")
        client.syncNow()
    }

    run.test("sync: roles hold across devices: the technician may accept, the rider may not") {
        val tech = technician ?: throw AssertionFailed("technician did not log in")
        val riderClient = rider ?: throw AssertionFailed("rider did not log in")
        tech.syncNow()
        checkEq(Status.ASSIGNED, tech.ticket(ticketId).status, "technician sees the assignment")
        checkEq(Status.ACCEPTED, tech.changeStatus(ticketId, Status.ACCEPTED).status, "technician accepts")
        tech.addNote(ticketId, "on my way", false)
        tech.syncNow()
        riderClient.syncNow()
        val seen = riderClient.ticket(ticketId)
        checkEq(Status.ACCEPTED, seen.status, "rider sees the acceptance")
        check(seen.notes.any { it.text == "on my way" }) { "rider sees the technician's note" }
        val e = assertThrows<FieldworkException.NotAllowed> { riderClient.changeStatus(ticketId, Status.EN_ROUTE) }
        check(e.message!!.contains("only cancelling is open to reporters")) { "message: ${e.message}" }
    }

    run.test("sync: a dispatcher's internal note reaches the technician and no byte of it the rider") {
        val desk = dispatcher ?: throw AssertionFailed("dispatcher did not log in")
        val tech = technician ?: throw AssertionFailed("technician did not log in")
        val riderClient = rider ?: throw AssertionFailed("rider did not log in")
        val secret = "rider has 3 prior fraud flags"
        desk.syncNow()
        val noted = desk.addNote(ticketId, secret, true)
        check(noted.notes.any { it.text == secret && it.internal }) { "on the dispatcher's device" }
        desk.syncNow()
        tech.syncNow()
        check(tech.ticket(ticketId).notes.any { it.text == secret && it.internal }) { "the technician reads it" }
        riderClient.syncNow()
        val seen = riderClient.ticket(ticketId)
        check(seen.notes.none { it.internal }) { "the rider's notes: ${seen.notes.map { it.text }}" }
        checkEq(emptyList<String>(), filesContaining(riderDir, secret), "files of the rider's device holding it")
        val e = assertThrows<FieldworkException.NotAllowed> { riderClient.addNote(ticketId, "me too", true) }
        check(e.message!!.contains("internal notes are for staff")) { "message: ${e.message}" }
    }

    run.test("sync: background sync delivers another device's change to an observer; stop stops it") {
        val riderClient = rider ?: throw AssertionFailed("rider did not log in")
        val tech = technician ?: throw AssertionFailed("technician did not log in")
        val heard = QueueObserver()
        val sub = riderClient.observeTickets(heard)
        riderClient.startSync()
        riderClient.startSync() // twice: harmless
        check(riderClient.isSyncRunning()) { "background sync not running" }
        checkEq(Status.EN_ROUTE, tech.changeStatus(ticketId, Status.EN_ROUTE).status, "technician en route")
        tech.syncNow()
        val change = awaitItem(heard.changes, DELIVERY_MS, "the technician's change, pushed by background sync") {
            it.origin == ChangeOrigin.REMOTE && ticketId in it.ids
        }
        checkEq(listOf(ticketId), change.ids, "ids")
        checkEq(Status.EN_ROUTE, riderClient.ticket(ticketId).status, "status on the rider's device")
        // A local edit is pushed by the background runner without a sync_now.
        riderClient.addNote(ticketId, "I am at the north gate", false)
        val techHeard = QueueObserver()
        tech.observeTickets(techHeard).use {
            var found = false
            val deadline = System.currentTimeMillis() + DELIVERY_MS
            while (!found && System.currentTimeMillis() < deadline) {
                tech.syncNow()
                found = tech.ticket(ticketId).notes.any { it.text == "I am at the north gate" }
                if (!found) awaitOrNothing(techHeard.changes, 250)
            }
            check(found) { "the rider's note did not reach the technician" }
        }
        riderClient.stopSync()
        check(!riderClient.isSyncRunning()) { "still running after stop" }
        sub.close()
    }

    run.test("sync: the technician resolves the job; the rider rates it and the server takes the rating") {
        val riderClient = rider ?: throw AssertionFailed("rider did not log in")
        val tech = technician ?: throw AssertionFailed("technician did not log in")
        val desk = dispatcher ?: throw AssertionFailed("dispatcher did not log in")
        tech.syncNow()
        for (next in listOf(Status.ON_SITE, Status.IN_PROGRESS, Status.RESOLVED)) {
            checkEq(next, tech.changeStatus(ticketId, next).status, "technician moves to $next")
        }
        tech.syncNow()
        riderClient.syncNow()
        checkEq(Status.RESOLVED, riderClient.ticket(ticketId).status, "resolved on the rider's device")
        checkEq(5L, riderClient.rate(ticketId, 5, "quick and kind").csat?.score, "rating")
        val report = riderClient.syncNow()
        checkEq(0uL, report.rejected, "refused changes")
        checkEq(0uL, report.pending, "pending")
        desk.syncNow()
        checkEq("quick and kind", desk.ticket(ticketId).csat?.comment, "rating on the dispatcher's device")
    }

    run.test("knowledge base: synced by role, found offline in Chinese and English, never internal for riders") {
        val riderClient = rider ?: throw AssertionFailed("rider did not log in")
        val tech = technician ?: throw AssertionFailed("technician did not log in")
        val public = env("FW_KB_PUBLIC_ID")
        val internal = env("FW_KB_INTERNAL_ID")
        tech.syncNow()
        riderClient.syncNow()
        tech.setNetworkAvailable(false)
        try {
            checkEq(listOf(public), tech.kbSearch("卡纸", 10u).map { it.id }, "a Chinese word, offline")
            val head = tech.kbSearch("latch", 10u)
            checkEq(listOf(internal), head.map { it.id }, "an English word in the body")
            checkEq(KbAudience.STAFF, head[0].audience, "internal")
            check(head[0].excerpt.contains("head latch")) { "excerpt: ${head[0].excerpt}" }
            val article = tech.kbArticle(internal) ?: throw AssertionFailed("the internal article is on the technician's device")
            checkEq("Replacing the thermal print head", article.title, "title")
            checkEq("en", article.language, "language")
            val job = tech.createTicket(TicketDraft(title = "POS 打印机卡纸", category = "printer"))
            val offered = tech.kbSuggestions(job.id, 5u).map { it.id }
            checkEq(public, offered.firstOrNull(), "the article sharing the ticket's words comes first")
            check(internal in offered) { "the article of the ticket's category is offered too: $offered" }
        } finally {
            tech.setNetworkAvailable(true)
        }
        val picture = env("FW_KB_PICTURE")
        val jpeg = tech.kbImage(picture) ?: throw AssertionFailed("the article's picture came down with the sync")
        check(jpeg.size > 100 && jpeg[0] == 0xFF.toByte() && jpeg[1] == 0xD8.toByte()) { "a JPEG: ${jpeg.size} bytes" }
        checkEq(null, tech.kbImage("0".repeat(64)), "a picture no article shows")
        checkEq(listOf(public), riderClient.kbSearch("卡纸", 10u).map { it.id }, "the rider's article for everyone")
        checkEq(emptyList<String>(), riderClient.kbSearch("latch", 10u).map { it.id }, "never an internal one")
        checkEq(null, riderClient.kbArticle(internal), "not on the rider's device")
    }

    run.test("sync: logout keeps the tickets and forgets the server") {
        val riderClient = rider ?: throw AssertionFailed("rider did not log in")
        riderClient.startSync()
        riderClient.logout()
        check(!riderClient.isSyncRunning()) { "background sync survives logout" }
        checkEq(null, riderClient.syncStatus().server, "server after logout")
        checkEq(ticketId, riderClient.ticket(ticketId).id, "ticket kept")
        assertThrows<FieldworkException.NotLoggedIn> { riderClient.syncNow() }
        awaitItem(riderStatuses.statuses, 5_000, "a status after logout") { it.server == null }
    }

    riderStatusSubscription?.close()

    listOfNotNull(rider, dispatcher, technician).forEach { it.close() }
}

private fun <T> awaitOrNothing(queue: LinkedBlockingQueue<T>, timeoutMs: Long) {
    queue.poll(timeoutMs, java.util.concurrent.TimeUnit.MILLISECONDS)
}
