// Mirrors the Kotlin suite (android/jvm-tests): the offline device, errors as specific
// `FieldworkError` cases, observers and the async layer; and, when FW_SERVER_URL and the users'
// tokens are in the environment (see ios/README.md), a sync round trip against `fieldwork serve`.
// Photos and position fixes are in PhotoTests.swift (an extension of this class, sharing the
// helpers below).

import Foundation
import XCTest
@testable import Fieldwork

final class FieldworkTests: XCTestCase {
    private var dirs: [URL] = []

    override func tearDown() {
        for dir in dirs { try? FileManager.default.removeItem(at: dir) }
        dirs = []
        super.tearDown()
    }

    /// A fresh data directory, removed after the test.
    func freshDirectory(_ name: String) -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("fw-\(name)-\(UUID().uuidString)")
        dirs.append(dir)
        return dir
    }

    func openClient(_ name: String, server: String? = nil) throws -> FieldworkClient {
        try FieldworkClient.open(dataDir: freshDirectory(name).path, config: ClientConfig(serverUrl: server, deviceName: "xctest \(name)"))
    }

    private func rider() throws -> FieldworkClient {
        let client = try openClient("rider")
        _ = try client.initOffline(user: UserProfile(tenant: "acme", userId: "rider7", role: .rider, name: "Li Wei"))
        return client
    }

    private func dispatcher() throws -> FieldworkClient {
        let client = try openClient("dispatcher")
        _ = try client.initOffline(user: UserProfile(tenant: "acme", userId: "disp1", role: .dispatcher))
        return client
    }

    /// Asserts that `body` throws the `FieldworkError` case `expected` picks out; returns its message.
    @discardableResult
    func assertFails(_ expected: (FieldworkError) -> String?, file: StaticString = #filePath, line: UInt = #line,
                             _ body: () throws -> Void) -> String {
        do {
            try body()
            XCTFail("nothing was thrown", file: file, line: line)
        } catch let error as FieldworkError {
            if let message = expected(error) { return message }
            XCTFail("unexpected error \(error)", file: file, line: line)
        } catch {
            XCTFail("not a FieldworkError: \(error)", file: file, line: line)
        }
        return ""
    }

    static func notAllowed(_ e: FieldworkError) -> String? { if case let .NotAllowed(m) = e { return m }; return nil }
    static func notFound(_ e: FieldworkError) -> String? { if case let .NotFound(m) = e { return m }; return nil }
    static func invalid(_ e: FieldworkError) -> String? { if case let .InvalidInput(m) = e { return m }; return nil }
    static func invalidPhoto(_ e: FieldworkError) -> String? { if case let .InvalidPhoto(m) = e { return m }; return nil }
    static func offline(_ e: FieldworkError) -> String? { if case let .Offline(m) = e { return m }; return nil }
    static func notLoggedIn(_ e: FieldworkError) -> String? { if case let .NotLoggedIn(m) = e { return m }; return nil }
    static func storage(_ e: FieldworkError) -> String? { if case let .Storage(m) = e { return m }; return nil }

    private final class Recorder: TicketObserver, @unchecked Sendable {
        private let lock = NSLock()
        private var changes: [TicketChange] = []
        let heard: XCTestExpectation = {
            let expectation = XCTestExpectation(description: "a ticket change")
            expectation.assertForOverFulfill = false
            return expectation
        }()
        func onTicketsChanged(change: TicketChange) {
            lock.lock(); changes.append(change); lock.unlock()
            heard.fulfill()
        }
        var all: [TicketChange] { lock.lock(); defer { lock.unlock() }; return changes }
    }

    // MARK: offline

    func testNewDeviceHasNoUserAndBindsOnlyOne() throws {
        let client = try openClient("fresh")
        XCTAssertNil(client.profile())
        assertFails(Self.notLoggedIn) { _ = try client.helpRequest(orderRef: nil, location: nil, note: nil) }
        _ = try client.initOffline(user: UserProfile(tenant: "acme", userId: "rider7", role: .rider))
        XCTAssertEqual(client.profile()?.userId, "rider7")
        let message = assertFails(Self.notAllowed) {
            _ = try client.initOffline(user: UserProfile(tenant: "acme", userId: "other", role: .rider))
        }
        XCTAssertTrue(message.contains("another user"), message)
    }

    func testHelpRequestOffline() throws {
        let client = try rider()
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        let ticket = try client.helpRequest(orderRef: "ORD-1", location: LocationFix(lat: 31.23, lon: 121.47, accuracyM: 10, at: now), note: "scooter crashed")
        XCTAssertEqual(ticket.kind, .helpRequest)
        XCTAssertEqual(ticket.priority, .high)
        XCTAssertEqual(ticket.status, .new)
        XCTAssertEqual(ticket.site?.lat, 31.23)
        XCTAssertEqual(ticket.notes.map(\.text), ["scooter crashed"])
        let status = try client.syncStatus()
        XCTAssertGreaterThanOrEqual(status.pending, 1)
        XCTAssertNil(status.server)
    }

    func testBadLocationIsInvalidInputWithoutThePosition() throws {
        let client = try rider()
        let message = assertFails(Self.invalid) {
            _ = try client.helpRequest(orderRef: nil, location: LocationFix(lat: 91.5, lon: 0), note: nil)
        }
        XCTAssertTrue(message.contains("latitude"), message)
        XCTAssertFalse(message.contains("91.5"), message)
    }

    func testCreateByRole() throws {
        let client = try rider()
        XCTAssertEqual(try client.createTicket(draft: TicketDraft(title: "Rude staff", kind: .complaint)).kind, .complaint)
        XCTAssertEqual(try client.createTicket(draft: TicketDraft(title: "Stuck")).kind, .helpRequest)
        let message = assertFails(Self.notAllowed) { _ = try client.createTicket(draft: TicketDraft(title: "Fix", kind: .repair)) }
        XCTAssertEqual(message, "a rider may not create a repair ticket")
    }

    func testNotes() throws {
        let client = try rider()
        let id = try client.helpRequest(orderRef: nil, location: nil, note: nil).id
        let note = try XCTUnwrap(client.addNote(ticketId: id, text: "still waiting", internal: false).notes.first)
        XCTAssertTrue(try client.redactNote(ticketId: id, noteId: note.id).notes[0].redacted)
        assertFails(Self.notAllowed) { _ = try client.addNote(ticketId: id, text: "psst", internal: true) }
        assertFails(Self.notFound) { _ = try client.redactNote(ticketId: id, noteId: "no-such-note") }
    }

    func testStatusChangesByWorkflowAndRole() throws {
        let client = try rider()
        let id = try client.helpRequest(orderRef: "ORD-3", location: nil, note: nil).id
        let jump = assertFails(Self.notAllowed) { _ = try client.changeStatus(ticketId: id, status: .resolved) }
        XCTAssertTrue(jump.contains("cannot go from new to resolved"), jump)
        let staff = assertFails(Self.notAllowed) { _ = try client.editTicket(ticketId: id, edits: [.setPriority(priority: .urgent)]) }
        XCTAssertEqual(staff, "a rider may not set priority on a ticket (staff only)")
        XCTAssertEqual(try client.changeStatus(ticketId: id, status: .cancelled).status, .cancelled)

        let desk = try dispatcher()
        let job = try desk.createTicket(draft: TicketDraft(title: "Boiler leaks")).id
        XCTAssertEqual(try desk.assign(ticketId: job, assignee: "tech1").status, .assigned)
        XCTAssertEqual(try desk.changeStatus(ticketId: job, status: .accepted).status, .accepted)
        XCTAssertEqual(nextStatuses(from: .new), [.cancelled])
    }

    func testEditsAreAllOrNothing() throws {
        let client = try dispatcher()
        let id = try client.createTicket(draft: TicketDraft(title: "Printer jams")).id
        let edited = try client.editTicket(ticketId: id, edits: [.setTitle(title: "Printer jams daily"), .addPart(sku: "ROLLER-7", qty: 2), .addTag(tag: "vip")])
        XCTAssertEqual(edited.partsUsed.first?.qty, 2)
        assertFails(Self.notAllowed) {
            _ = try client.editTicket(ticketId: id, edits: [.setTitle(title: "Should not stick"), .setStatus(status: .closed)])
        }
        XCTAssertEqual(try client.ticket(ticketId: id).title, "Printer jams daily")
    }

    func testListAndFilter() throws {
        let client = try dispatcher()
        let a = try client.createTicket(draft: TicketDraft(title: "Fridge warm", priority: .low)).id
        let b = try client.createTicket(draft: TicketDraft(title: "Freezer loud", priority: .urgent)).id
        _ = try client.assign(ticketId: b, assignee: "tech1")
        XCTAssertEqual(try client.listTickets(filter: TicketFilter()).count, 2)
        XCTAssertEqual(try client.listTickets(filter: TicketFilter(status: .assigned)).map(\.id), [b])
        XCTAssertEqual(try client.listTickets(filter: TicketFilter(text: "fridge")).map(\.id), [a])
        XCTAssertEqual(try client.listTickets(filter: TicketFilter(assignee: "")).map(\.id), [a])
        XCTAssertEqual(try client.listTickets(filter: TicketFilter(sort: .priority)).map(\.id), [b, a])
    }

    func testUnknownTicketIsNotFound() throws {
        let client = try rider()
        let message = assertFails(Self.notFound) { _ = try client.ticket(ticketId: "0000-no-such-ticket") }
        XCTAssertEqual(message, "no ticket matches that id")
        XCTAssertEqual(try client.quarantine(), [])
    }

    func testSyncWithoutLoginOrNetwork() throws {
        let client = try rider()
        assertFails(Self.notLoggedIn) { _ = try client.syncNow() }
        assertFails(Self.invalid) { _ = try client.loginWithToken(userToken: "fwu_x") }
        client.setNetworkAvailable(available: false)
        assertFails(Self.offline) { _ = try client.syncNow() }
    }

    func testObserverHearsLocalEditsUntilCancelled() throws {
        let client = try rider()
        let recorder = Recorder()
        let subscription = client.observeTickets(observer: recorder)
        let id = try client.helpRequest(orderRef: nil, location: nil, note: nil).id
        wait(for: [recorder.heard], timeout: 5)
        XCTAssertEqual(recorder.all.first?.ids, [id])
        XCTAssertEqual(recorder.all.first?.origin, .local)
        subscription.cancel()
        XCTAssertFalse(subscription.isActive())
        _ = try client.addNote(ticketId: id, text: "more", internal: false)
        XCTAssertEqual(recorder.all.count, 1)
    }

    func testAsyncLayerStreams() async throws {
        let fw = Fieldwork(client: try rider())
        var pages = fw.tickets().makeAsyncIterator()
        let first = try await pages.next()
        XCTAssertEqual(first?.count, 0)
        let ticket = try await fw.helpRequest(orderRef: "ORD-6", note: "help")
        let second = try await pages.next()
        XCTAssertEqual(second?.map(\.id), [ticket.id])
        var statuses = fw.syncStatus.makeAsyncIterator()
        let status = await statuses.next()
        XCTAssertGreaterThanOrEqual(status?.pending ?? 0, 1)
        do {
            _ = try await fw.changeStatus(ticket.id, to: .resolved)
            XCTFail("nothing was thrown")
        } catch FieldworkError.NotAllowed(let message) {
            XCTAssertTrue(message.contains("new to resolved"), message)
        }
    }

    // MARK: sync round trip (needs a server; see ios/README.md)

    func testSyncRoundTrip() throws {
        let env = ProcessInfo.processInfo.environment
        guard let server = env["FW_SERVER_URL"], let riderToken = env["FW_RIDER_TOKEN"],
              let dispatcherToken = env["FW_DISPATCHER_TOKEN"], let techToken = env["FW_TECH_TOKEN"],
              let techId = env["FW_TECH_ID"] else {
            throw XCTSkip("set FW_SERVER_URL, FW_RIDER_TOKEN, FW_DISPATCHER_TOKEN, FW_TECH_TOKEN and FW_TECH_ID")
        }
        let rider = try openClient("sync-rider", server: server)
        let desk = try openClient("sync-dispatcher", server: server)
        let tech = try openClient("sync-technician", server: server)
        XCTAssertEqual(try rider.loginWithToken(userToken: riderToken).role, .rider)
        XCTAssertEqual(try desk.loginWithToken(userToken: dispatcherToken).role, .dispatcher)
        XCTAssertEqual(try tech.loginWithToken(userToken: techToken).role, .technician)

        rider.setNetworkAvailable(available: false)
        let id = try rider.helpRequest(orderRef: "ORD-77", location: nil, note: "chain snapped").id
        assertFails(Self.offline) { _ = try rider.syncNow() }
        rider.setNetworkAvailable(available: true)
        XCTAssertEqual(try rider.syncNow().pending, 0)

        let heard = Recorder()
        let deskSubscription = desk.observeTickets(observer: heard)
        XCTAssertGreaterThanOrEqual(try desk.syncNow().pulled, 1)
        wait(for: [heard.heard], timeout: 5)
        XCTAssertTrue(heard.all.contains { $0.origin == .remote && $0.ids.contains(id) })
        deskSubscription.cancel()
        _ = try desk.assign(ticketId: id, assignee: techId)
        _ = try desk.syncNow()

        _ = try tech.syncNow()
        XCTAssertEqual(try tech.changeStatus(ticketId: id, status: .accepted).status, .accepted)
        _ = try tech.syncNow()

        let riderHeard = Recorder()
        let riderSubscription = rider.observeTickets(observer: riderHeard)
        try rider.startSync()
        wait(for: [riderHeard.heard], timeout: 30)
        XCTAssertEqual(try rider.ticket(ticketId: id).status, .accepted)
        let refused = assertFails(Self.notAllowed) { _ = try rider.changeStatus(ticketId: id, status: .enRoute) }
        XCTAssertTrue(refused.contains("only cancelling is open to reporters"), refused)
        rider.stopSync()
        riderSubscription.cancel()
        try rider.logout()
        XCTAssertNil(try rider.syncStatus().server)
    }
}
