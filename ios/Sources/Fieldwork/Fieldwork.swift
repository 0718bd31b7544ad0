// The idiomatic Swift face of the Fieldwork core: every operation as an `async throws` method that
// runs off the caller's thread (the core writes to disk and talks to the server, which must not
// happen on the main actor), and every observer as an `AsyncStream` that subscribes when created
// and unsubscribes when its consumer stops (docs/adr/0003-ffi-blocking-calls.md).
//
// Failures are thrown as the generated `FieldworkError` cases (`NotAllowed`, `NotFound`,
// `InvalidInput`, `InvalidPhoto`, `Offline`, `NotLoggedIn`, `Server`, `Storage`, `Internal`), each
// carrying a message fit to show.

import Foundation
@_exported import FieldworkFFI

public final class Fieldwork: @unchecked Sendable {
    /// The generated client, for anything this layer does not wrap.
    public let client: FieldworkClient
    private let queue: DispatchQueue

    public init(client: FieldworkClient, queue: DispatchQueue = DispatchQueue(label: "app.fieldwork.core", qos: .userInitiated, attributes: .concurrent)) {
        self.client = client
        self.queue = queue
    }

    /// Opens the device's store in `directory` (e.g. Application Support/fieldwork).
    public static func open(directory: URL, config: ClientConfig) async throws -> Fieldwork {
        let client = try await offMain { try FieldworkClient.open(dataDir: directory.path, config: config) }
        return Fieldwork(client: client)
    }

    deinit {
        client.stopSync()
    }

    // MARK: account

    public var profile: UserProfile? { client.profile() }

    public func loginWithToken(_ userToken: String) async throws -> UserProfile {
        try await run { try $0.loginWithToken(userToken: userToken) }
    }

    public func loginWithPassword(tenant: String, user: String, password: String) async throws -> UserProfile {
        try await run { try $0.loginWithPassword(tenant: tenant, user: user, password: password) }
    }

    public func logout() async throws {
        try await run { try $0.logout() }
    }

    // MARK: tickets

    public func helpRequest(orderRef: String? = nil, location: LocationFix? = nil, note: String? = nil) async throws -> Ticket {
        try await run { try $0.helpRequest(orderRef: orderRef, location: location, note: note) }
    }

    public func createTicket(_ draft: TicketDraft) async throws -> Ticket {
        try await run { try $0.createTicket(draft: draft) }
    }

    public func edit(_ ticketId: String, _ edits: [TicketEdit]) async throws -> Ticket {
        try await run { try $0.editTicket(ticketId: ticketId, edits: edits) }
    }

    public func changeStatus(_ ticketId: String, to status: Status) async throws -> Ticket {
        try await run { try $0.changeStatus(ticketId: ticketId, status: status) }
    }

    public func assign(_ ticketId: String, to assignee: String?) async throws -> Ticket {
        try await run { try $0.assign(ticketId: ticketId, assignee: assignee) }
    }

    public func addNote(_ ticketId: String, _ text: String, internal isInternal: Bool = false) async throws -> Ticket {
        try await run { try $0.addNote(ticketId: ticketId, text: text, internal: isInternal) }
    }

    public func redactNote(_ ticketId: String, noteId: String) async throws -> Ticket {
        try await run { try $0.redactNote(ticketId: ticketId, noteId: noteId) }
    }

    public func updateLocation(_ ticketId: String, _ fix: LocationFix) async throws -> Ticket {
        try await run { try $0.updateLocation(ticketId: ticketId, fix: fix) }
    }

    public func rate(_ ticketId: String, score: Int64, comment: String? = nil) async throws -> Ticket {
        try await run { try $0.rate(ticketId: ticketId, score: score, comment: comment) }
    }

    public func ticket(_ ticketId: String) async throws -> Ticket {
        try await run { try $0.ticket(ticketId: ticketId) }
    }

    public func list(_ filter: TicketFilter = TicketFilter()) async throws -> [TicketSummary] {
        try await run { try $0.listTickets(filter: filter) }
    }

    public func quarantine() async throws -> [QuarantinedChange] {
        try await run { try $0.quarantine() }
    }

    // MARK: photos and position

    /// Attaches a photo or screenshot (JPEG, PNG or WebP; e.g. `UIImage.jpegData` or a picker's
    /// data): turned upright, stripped of its metadata, downscaled with a thumbnail and filed,
    /// off the caller's thread. `fix` is used when the photo has no GPS of its own. An unusable
    /// file throws `FieldworkError.InvalidPhoto` and stores nothing.
    public func attachPhoto(_ ticketId: String, data: Data, fix: LocationFix? = nil) async throws -> Ticket {
        try await run { try $0.attachPhoto(ticketId: ticketId, bytes: data, fix: fix) }
    }

    /// Like `attachPhoto(_:data:fix:)`, reading the photo from a file (e.g. the camera's output).
    public func attachPhoto(_ ticketId: String, fileURL: URL, fix: LocationFix? = nil) async throws -> Ticket {
        try await run { try $0.attachPhotoFile(ticketId: ticketId, path: fileURL.path, fix: fix) }
    }

    /// Hands a `CLLocation` fix to the core: for a technician, arrivals on site of assigned
    /// tickets and the position for the server.
    public func reportLocation(_ fix: LocationFix) async throws -> LocateReport {
        try await run { try $0.reportLocation(fix: fix) }
    }

    /// The file of photo `sha256` (an attachment's `sha256` or `thumb`) if it is on the device;
    /// `nil` until sync brings the thumbnail or `fetchPhoto` the full image. Read it, never
    /// change it.
    public func photoURL(_ sha256: String) async throws -> URL? {
        try await run { client in try client.photoPath(sha256: sha256).map { URL(fileURLWithPath: $0) } }
    }

    /// The file of photo `sha256`, downloaded first if it is not on the device (full images come
    /// down only when asked for). Throws `NotFound` when it is not available (yet), `Offline`
    /// without a network.
    public func fetchPhoto(_ sha256: String) async throws -> URL {
        try await run { client in try URL(fileURLWithPath: client.fetchPhoto(sha256: sha256)) }
    }

    // MARK: sync

    public func syncNow() async throws -> SyncReport {
        try await run { try $0.syncNow() }
    }

    public func startSync() async throws {
        try await run { try $0.startSync() }
    }

    public func stopSync() async {
        _ = try? await run { $0.stopSync() }
    }

    /// Forward `NWPathMonitor` updates here.
    public func setNetworkAvailable(_ available: Bool) {
        client.setNetworkAvailable(available: available)
    }

    // MARK: observation

    /// Every durable change to tickets, local or pulled by sync, in order.
    public var ticketChanges: AsyncStream<TicketChange> {
        AsyncStream(bufferingPolicy: .unbounded) { continuation in
            let subscription = client.observeTickets(observer: TicketObserverBox { continuation.yield($0) })
            continuation.onTermination = { _ in subscription.cancel() }
        }
    }

    /// The current sync status, then every change of it; a slow consumer sees the latest.
    public var syncStatus: AsyncStream<SyncStatus> {
        AsyncStream(bufferingPolicy: .bufferingNewest(1)) { continuation in
            let subscription = client.observeSyncStatus(observer: SyncStatusObserverBox { continuation.yield($0) })
            if let now = try? client.syncStatus() {
                continuation.yield(now)
            }
            continuation.onTermination = { _ in subscription.cancel() }
        }
    }

    /// A list screen: the page for `filter` now, and again after every change.
    public func tickets(_ filter: TicketFilter = TicketFilter()) -> AsyncThrowingStream<[TicketSummary], Error> {
        refreshing(on: { _ in true }) { try $0.listTickets(filter: filter) }
    }

    /// A detail screen: the ticket now, and again whenever it changes.
    public func ticketUpdates(_ ticketId: String) -> AsyncThrowingStream<Ticket, Error> {
        refreshing(on: { $0.ids.contains(ticketId) }) { try $0.ticket(ticketId: ticketId) }
    }

    // MARK: plumbing

    /// Subscribes first, then reads; reads again after each matching change. Reads happen on
    /// `queue`, never on the observer's (the writer's or the sync) thread.
    private func refreshing<T>(on matches: @escaping @Sendable (TicketChange) -> Bool,
                               read: @escaping (FieldworkClient) throws -> T) -> AsyncThrowingStream<T, Error> {
        AsyncThrowingStream(bufferingPolicy: .bufferingNewest(1)) { continuation in
            let client = self.client
            // Serial, so reads are yielded in the order of the changes that caused them.
            let serial = DispatchQueue(label: "app.fieldwork.stream", target: self.queue)
            let emit: @Sendable () -> Void = {
                serial.async {
                    do { continuation.yield(try read(client)) } catch { continuation.finish(throwing: error) }
                }
            }
            let subscription = client.observeTickets(observer: TicketObserverBox { change in
                if matches(change) { emit() }
            })
            emit()
            continuation.onTermination = { _ in subscription.cancel() }
        }
    }

    private func run<T>(_ body: @escaping (FieldworkClient) throws -> T) async throws -> T {
        let client = self.client
        return try await withCheckedThrowingContinuation { continuation in
            queue.async { continuation.resume(with: Result { try body(client) }) }
        }
    }

    private static func offMain<T>(_ body: @escaping () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global(qos: .userInitiated).async { continuation.resume(with: Result { try body() }) }
        }
    }
}

private final class TicketObserverBox: TicketObserver, @unchecked Sendable {
    private let onChange: @Sendable (TicketChange) -> Void
    init(_ onChange: @escaping @Sendable (TicketChange) -> Void) { self.onChange = onChange }
    func onTicketsChanged(change: TicketChange) { onChange(change) }
}

private final class SyncStatusObserverBox: SyncStatusObserver, @unchecked Sendable {
    private let onStatus: @Sendable (SyncStatus) -> Void
    init(_ onStatus: @escaping @Sendable (SyncStatus) -> Void) { self.onStatus = onStatus }
    func onSyncStatus(status: SyncStatus) { onStatus(status) }
}
