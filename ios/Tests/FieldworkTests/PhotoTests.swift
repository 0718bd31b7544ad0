// Mirrors android/jvm-tests/PhotoTests.kt: photos and screenshots made here with ImageIO and
// CoreGraphics (EXIF written through ImageIO's own properties), the stored files checked with
// ImageIO and CryptoKit's SHA-256, refusals as `FieldworkError` cases, arrivals on site; and, with
// a server in the environment (see ios/README.md), the files' trip to another device.

import CoreGraphics
import CryptoKit
import Foundation
import ImageIO
import XCTest
@testable import Fieldwork

/// Test images made and read with the platform's own codecs, independently of the core.
enum TestImages {
    private static let space = CGColorSpace(name: CGColorSpace.sRGB)!
    private static let red = CGColor(srgbRed: 220 / 255, green: 20 / 255, blue: 20 / 255, alpha: 1)
    private static let blue = CGColor(srgbRed: 20 / 255, green: 60 / 255, blue: 200 / 255, alpha: 1)

    /// Blue, with a red top-left quadrant: where the red ends up shows how the image was turned.
    static func quadrant(width: Int, height: Int) -> CGImage {
        let context = CGContext(data: nil, width: width, height: height, bitsPerComponent: 8, bytesPerRow: 0,
                                space: space, bitmapInfo: CGImageAlphaInfo.noneSkipLast.rawValue)!
        context.setFillColor(blue)
        context.fill(CGRect(x: 0, y: 0, width: width, height: height))
        context.setFillColor(red)
        // CoreGraphics counts y from the bottom: the top half starts at height - height / 2.
        context.fill(CGRect(x: 0, y: height - height / 2, width: width / 2, height: height / 2))
        return context.makeImage()!
    }

    /// A screenshot-like image with alpha: transparent, with an opaque dark bar across the middle third.
    static func transparentBar(width: Int, height: Int) -> CGImage {
        let context = CGContext(data: nil, width: width, height: height, bitsPerComponent: 8, bytesPerRow: 0,
                                space: space, bitmapInfo: CGImageAlphaInfo.premultipliedLast.rawValue)!
        context.clear(CGRect(x: 0, y: 0, width: width, height: height))
        context.setFillColor(CGColor(srgbRed: 30 / 255, green: 30 / 255, blue: 30 / 255, alpha: 1))
        context.fill(CGRect(x: 0, y: height / 3, width: width, height: height / 3))
        return context.makeImage()!
    }

    /// `image` encoded as `type` ("public.jpeg", "public.png", "com.compuserve.gif"), with
    /// ImageIO metadata `properties` (EXIF, TIFF, GPS dictionaries, orientation).
    static func encode(_ image: CGImage, type: String, properties: [CFString: Any] = [:]) -> Data {
        let data = NSMutableData()
        let destination = CGImageDestinationCreateWithData(data as CFMutableData, type as CFString, 1, nil)!
        CGImageDestinationAddImage(destination, image, properties as CFDictionary)
        precondition(CGImageDestinationFinalize(destination), "ImageIO cannot write \(type)")
        return data as Data
    }

    static func quadrantJpeg(width: Int = 1200, height: Int = 900, properties: [CFString: Any] = [:]) -> Data {
        encode(quadrant(width: width, height: height), type: "public.jpeg", properties: properties)
    }

    static func decode(_ data: Data) -> CGImage? {
        guard let source = CGImageSourceCreateWithData(data as CFData, nil) else { return nil }
        return CGImageSourceCreateImageAtIndex(source, 0, nil)
    }

    /// The colour at (`x`, `y`) counted from the top-left, as 0–255 RGB.
    static func pixel(_ image: CGImage, x: Int, y: Int) -> (r: Int, g: Int, b: Int) {
        var rgba = [UInt8](repeating: 0, count: 4)
        rgba.withUnsafeMutableBytes { buffer in
            let context = CGContext(data: buffer.baseAddress, width: 1, height: 1, bitsPerComponent: 8, bytesPerRow: 4,
                                    space: space, bitmapInfo: CGImageAlphaInfo.premultipliedLast.rawValue)!
            // Shift the image so that its pixel (x, y) lands on the context's only pixel.
            context.draw(image, in: CGRect(x: -x, y: y - image.height + 1, width: image.width, height: image.height))
        }
        return (Int(rgba[0]), Int(rgba[1]), Int(rgba[2]))
    }

    static func isRed(_ p: (r: Int, g: Int, b: Int)) -> Bool { p.r > 180 && p.g < 80 && p.b < 80 }
    static func isBlue(_ p: (r: Int, g: Int, b: Int)) -> Bool { p.r < 80 && p.b > 150 }
    static func isWhite(_ p: (r: Int, g: Int, b: Int)) -> Bool { p.r > 240 && p.g > 240 && p.b > 240 }
    static func isDark(_ p: (r: Int, g: Int, b: Int)) -> Bool { p.r < 70 && p.g < 70 && p.b < 70 }

    static func sha256Hex(_ data: Data) -> String {
        SHA256.hash(data: data).map { String(format: "%02x", $0) }.joined()
    }

    static func isJpeg(_ data: Data) -> Bool { data.count > 4 && data.prefix(2) == Data([0xFF, 0xD8]) }

    static func contains(_ data: Data, _ text: String) -> Bool { data.range(of: Data(text.utf8)) != nil }
}

private let siteLat = 31.2304
private let siteLon = 121.4737

private func nowMs() -> Int64 { Int64(Date().timeIntervalSince1970 * 1000) }

/// A fix `metresNorth` of the site, as a phone with good reception reports it.
private func fixNearSite(_ metresNorth: Double = 10) -> LocationFix {
    LocationFix(lat: siteLat + metresNorth / 111_320, lon: siteLon, accuracyM: 8, at: nowMs())
}

extension FieldworkTests {
    private func offlineUser(_ name: String, _ userId: String, _ role: Role, maxPhotoEdge: UInt32? = nil) throws -> FieldworkClient {
        let config = ClientConfig(serverUrl: nil, deviceName: "xctest \(name)", maxPhotoEdge: maxPhotoEdge)
        let client = try FieldworkClient.open(dataDir: freshDirectory(name).path, config: config)
        _ = try client.initOffline(user: UserProfile(tenant: "acme", userId: userId, role: role, team: "north"))
        return client
    }

    /// A path for a file of the test's own (e.g. the camera's output), removed after the test.
    private func scratchFile(_ name: String) throws -> URL {
        let dir = freshDirectory("scratch")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir.appendingPathComponent(name)
    }

    /// The file of photo `sha256` on `client`'s device, failing the test if it is not there.
    private func photoData(_ client: FieldworkClient, _ sha256: String, file: StaticString = #filePath, line: UInt = #line) throws -> Data {
        let path = try XCTUnwrap(try client.photoPath(sha256: sha256), "photo \(sha256) is not on the device", file: file, line: line)
        return try Data(contentsOf: URL(fileURLWithPath: path))
    }

    // MARK: photos on one device

    func testPhotoIsFiledWithThumbnailHashedAndExifFree() throws {
        let client = try offlineUser("photo-rider", "rider7", .rider)
        let id = try client.helpRequest(orderRef: "ORD-P1", location: nil, note: "front wheel bent").id
        let fix = LocationFix(lat: 31.2, lon: 121.5, accuracyM: 15, at: nowMs())
        let ticket = try client.attachPhoto(ticketId: id, bytes: TestImages.quadrantJpeg(), fix: fix)
        XCTAssertEqual(ticket.attachments.count, 1)
        let attachment = try XCTUnwrap(ticket.attachments.first)
        XCTAssertEqual(attachment.width, 1200)
        XCTAssertEqual(attachment.height, 900)
        XCTAssertEqual(attachment.mime, "image/jpeg")
        XCTAssertEqual(attachment.sha256.count, 64)
        let thumbSha = try XCTUnwrap(attachment.thumb)
        XCTAssertNotEqual(thumbSha, attachment.sha256)
        XCTAssertEqual(attachment.by, "rider7")
        XCTAssertEqual(attachment.lat, 31.2)
        XCTAssertEqual(attachment.accuracyM, 15)
        XCTAssertNil(attachment.capturedAt)

        let full = try photoData(client, attachment.sha256)
        XCTAssertTrue(TestImages.isJpeg(full))
        XCTAssertFalse(TestImages.contains(full, "Exif"))
        XCTAssertEqual(TestImages.sha256Hex(full), attachment.sha256)
        XCTAssertEqual(Int64(full.count), attachment.bytes)
        let image = try XCTUnwrap(TestImages.decode(full))
        XCTAssertEqual([image.width, image.height], [1200, 900])
        XCTAssertTrue(TestImages.isRed(TestImages.pixel(image, x: 300, y: 225)))
        XCTAssertTrue(TestImages.isBlue(TestImages.pixel(image, x: 900, y: 675)))

        let thumbData = try photoData(client, thumbSha)
        XCTAssertEqual(TestImages.sha256Hex(thumbData), thumbSha)
        let thumb = try XCTUnwrap(TestImages.decode(thumbData))
        XCTAssertEqual([thumb.width, thumb.height], [320, 240])

        XCTAssertEqual(try client.fetchPhoto(sha256: attachment.sha256), try client.photoPath(sha256: attachment.sha256))
        let uploads = try client.syncStatus().uploads
        XCTAssertEqual(uploads.map(\.kind), [.thumb, .full])
        XCTAssertEqual(uploads.map(\.sha256), [thumbSha, attachment.sha256])
        XCTAssertEqual(uploads.map(\.bytes), [UInt64(thumbData.count), UInt64(full.count)])
        XCTAssertTrue(uploads.allSatisfy { $0.sentBytes == 0 && $0.ticketId == id && $0.lastError == nil })
        XCTAssertNil(try client.photoPath(sha256: String(repeating: "0", count: 64)))
    }

    func testExifOrientationAppliedAndMetadataStrippedButKeptAsFields() throws {
        let client = try offlineUser("photo-exif", "rider7", .rider)
        let id = try client.helpRequest(orderRef: nil, location: nil, note: nil).id
        let properties: [CFString: Any] = [
            kCGImagePropertyOrientation: 6, // stored sideways: turn 90° clockwise to show
            kCGImagePropertyTIFFDictionary: [kCGImagePropertyTIFFMake: "FieldworkTestCam"],
            kCGImagePropertyExifDictionary: [
                kCGImagePropertyExifDateTimeOriginal: "2026:11:02 14:30:05",
                kCGImagePropertyExifOffsetTimeOriginal: "+08:00",
            ],
            kCGImagePropertyGPSDictionary: [
                kCGImagePropertyGPSLatitude: 31.23, kCGImagePropertyGPSLatitudeRef: "N",
                kCGImagePropertyGPSLongitude: 121.47, kCGImagePropertyGPSLongitudeRef: "E",
            ],
        ]
        let input = TestImages.quadrantJpeg(properties: properties)
        XCTAssertTrue(TestImages.contains(input, "FieldworkTestCam"), "the test input lacks its EXIF")
        // The device's own fix is ignored when the photo knows where it was taken.
        let ticket = try client.attachPhoto(ticketId: id, bytes: input, fix: LocationFix(lat: 1, lon: 2, accuracyM: 5, at: nowMs()))
        let attachment = try XCTUnwrap(ticket.attachments.first)
        XCTAssertEqual([attachment.width, attachment.height], [900, 1200])
        // ImageIO writes degrees as rationals of its own choosing: allow a few metres.
        XCTAssertEqual(try XCTUnwrap(attachment.lat), 31.23, accuracy: 1e-4)
        XCTAssertEqual(try XCTUnwrap(attachment.lon), 121.47, accuracy: 1e-4)
        var components = DateComponents(year: 2026, month: 11, day: 2, hour: 14, minute: 30, second: 5)
        components.timeZone = TimeZone(secondsFromGMT: 8 * 3600)
        let taken = try XCTUnwrap(Calendar(identifier: .gregorian).date(from: components))
        XCTAssertEqual(attachment.capturedAt, Int64(taken.timeIntervalSince1970 * 1000))

        let stored = try photoData(client, attachment.sha256)
        for leak in ["Exif", "FieldworkTestCam", "2026:11:02"] {
            XCTAssertFalse(TestImages.contains(stored, leak), "the stored file still contains \(leak)")
        }
        let image = try XCTUnwrap(TestImages.decode(stored))
        XCTAssertEqual([image.width, image.height], [900, 1200])
        // The red top-left of the stored pixels is the top-right once turned upright.
        XCTAssertTrue(TestImages.isRed(TestImages.pixel(image, x: 675, y: 300)))
        XCTAssertTrue(TestImages.isBlue(TestImages.pixel(image, x: 225, y: 300)))
        XCTAssertTrue(TestImages.isBlue(TestImages.pixel(image, x: 675, y: 900)))
    }

    func testSamePhotoTwiceIsFiledOnce() throws {
        let client = try offlineUser("photo-twice", "rider7", .rider)
        let id = try client.helpRequest(orderRef: nil, location: nil, note: nil).id
        let jpeg = TestImages.quadrantJpeg(width: 640, height: 480)
        let first = try client.attachPhoto(ticketId: id, bytes: jpeg, fix: nil)
        let second = try client.attachPhoto(ticketId: id, bytes: jpeg, fix: nil)
        XCTAssertEqual(second.attachments, first.attachments)
        XCTAssertEqual(second.attachments.count, 1)
        XCTAssertEqual(try client.syncStatus().uploads.count, 2)
        let other = TestImages.quadrantJpeg(width: 641, height: 480)
        XCTAssertEqual(try client.attachPhoto(ticketId: id, bytes: other, fix: nil).attachments.count, 2)
    }

    func testPngScreenshotWithTransparencyAndAttachPhotoFile() throws {
        let client = try offlineUser("photo-png", "shop12", .merchant)
        let id = try client.createTicket(draft: TicketDraft(title: "Card reader shows an error")).id
        XCTAssertEqual(try client.ticket(ticketId: id).kind, .faultReport)
        let png = try scratchFile("screenshot.png")
        try TestImages.encode(TestImages.transparentBar(width: 400, height: 300), type: "public.png").write(to: png)
        let attachment = try XCTUnwrap(try client.attachPhotoFile(ticketId: id, path: png.path, fix: nil).attachments.first)
        XCTAssertEqual(attachment.mime, "image/jpeg")
        XCTAssertEqual([attachment.width, attachment.height], [400, 300])
        XCTAssertNil(attachment.lat)
        let image = try XCTUnwrap(TestImages.decode(try photoData(client, attachment.sha256)))
        XCTAssertTrue(TestImages.isWhite(TestImages.pixel(image, x: 10, y: 10)), "transparency is flattened onto white")
        XCTAssertTrue(TestImages.isDark(TestImages.pixel(image, x: 200, y: 150)))
        XCTAssertTrue(FileManager.default.fileExists(atPath: png.path), "the input file was removed")
        let missing = assertFails(Self.invalid) { _ = try client.attachPhotoFile(ticketId: id, path: png.path + ".missing", fix: nil) }
        XCTAssertTrue(missing.contains("cannot read the photo file"), missing)
        XCTAssertFalse(missing.contains(png.path), missing)
    }

    func testUnusablePhotosAreInvalidPhotoAndChangeNothing() throws {
        let client = try offlineUser("photo-bad", "rider7", .rider)
        let id = try client.helpRequest(orderRef: "ORD-P2", location: nil, note: nil).id
        let before = try client.ticket(ticketId: id)
        let jpeg = TestImages.quadrantJpeg(width: 800, height: 600)
        let gif = TestImages.encode(TestImages.quadrant(width: 64, height: 64), type: "com.compuserve.gif")
        let cases: [(String, Data, String)] = [
            ("truncated JPEG", Data(jpeg.prefix(jpeg.count / 2)), "cut short"),
            ("text", Data("this is not a photo".utf8), "not a JPEG, PNG or WebP"),
            ("empty", Data(), "empty"),
            ("GIF", gif, "GIF"),
            ("JPEG header then garbage", Data(jpeg.prefix(200)) + Data(repeating: 0x55, count: 4000), "JPEG"),
        ]
        for (what, bytes, expected) in cases {
            let message = assertFails(Self.invalidPhoto) { _ = try client.attachPhoto(ticketId: id, bytes: bytes, fix: nil) }
            XCTAssertTrue(message.contains(expected), "\(what): \(message)")
        }
        XCTAssertEqual(try client.ticket(ticketId: id), before)
        XCTAssertEqual(try client.syncStatus().uploads, [])
        let unknown = assertFails(Self.notFound) { _ = try client.attachPhoto(ticketId: "0000-no-such-ticket", bytes: jpeg, fix: nil) }
        XCTAssertEqual(unknown, "no ticket matches that id")
        let badFix = assertFails(Self.invalid) { _ = try client.attachPhoto(ticketId: id, bytes: jpeg, fix: LocationFix(lat: 0, lon: 200)) }
        XCTAssertTrue(badFix.contains("longitude"), badFix)
        XCTAssertEqual(try client.ticket(ticketId: id), before)
    }

    func testTechnicianMayNotAttachBeforeClaiming() throws {
        let client = try offlineUser("photo-tech", "tech9", .technician)
        let id = try client.createTicket(draft: TicketDraft(title: "Compressor noise", priority: .high)).id
        let jpeg = TestImages.quadrantJpeg(width: 320, height: 240)
        let refused = assertFails(Self.notAllowed) { _ = try client.attachPhoto(ticketId: id, bytes: jpeg, fix: nil) }
        XCTAssertEqual(refused, "a technician may not attach a photo before claiming the ticket")
        // The rules come first: even an unusable file is refused as not allowed.
        assertFails(Self.notAllowed) { _ = try client.attachPhoto(ticketId: id, bytes: Data("junk".utf8), fix: nil) }
        XCTAssertEqual(try client.ticket(ticketId: id).attachments.count, 0)
        XCTAssertEqual(try client.assign(ticketId: id, assignee: "tech9").status, .assigned)
        XCTAssertEqual(try client.attachPhoto(ticketId: id, bytes: jpeg, fix: nil).attachments.count, 1)
    }

    func testMaxPhotoEdgeSizesTheStoredImage() throws {
        let client = try offlineUser("photo-small", "rider7", .rider, maxPhotoEdge: 800)
        let id = try client.helpRequest(orderRef: nil, location: nil, note: nil).id
        let attachment = try XCTUnwrap(try client.attachPhoto(ticketId: id, bytes: TestImages.quadrantJpeg(), fix: nil).attachments.first)
        XCTAssertEqual([attachment.width, attachment.height], [800, 600])
        let thumb = try XCTUnwrap(TestImages.decode(try photoData(client, try XCTUnwrap(attachment.thumb))))
        XCTAssertEqual([thumb.width, thumb.height], [320, 240])
    }

    // MARK: position

    func testTechnicianArrivalOnSite() throws {
        let client = try offlineUser("locate-tech", "tech9", .technician)
        let site = Site(lat: siteLat, lon: siteLon, accuracyM: 5, address: "Dock 3")
        let id = try client.createTicket(draft: TicketDraft(title: "Fridge warm", site: site)).id
        let unassigned = try client.reportLocation(fix: fixNearSite())
        XCTAssertEqual(unassigned.arrivals, [])
        XCTAssertTrue(unassigned.positionQueued)
        _ = try client.assign(ticketId: id, assignee: "tech9")
        XCTAssertEqual(try client.reportLocation(fix: fixNearSite(2_000)).arrivals, [])
        XCTAssertEqual(try client.reportLocation(fix: fixNearSite()).arrivals, [id])
        let arrivals = try client.ticket(ticketId: id).events.filter { $0.kind == "arrived_on_site" }
        XCTAssertEqual(arrivals.map(\.by), ["tech9"])
        XCTAssertEqual(try client.reportLocation(fix: fixNearSite(5)).arrivals, [], "one arrival per visit")
        let vague = LocationFix(lat: siteLat, lon: siteLon, accuracyM: 5_000, at: nowMs())
        XCTAssertEqual(try client.reportLocation(fix: vague).arrivals, [])
        let bad = assertFails(Self.invalid) { _ = try client.reportLocation(fix: LocationFix(lat: 95, lon: siteLon, accuracyM: 5, at: nowMs())) }
        XCTAssertTrue(bad.contains("latitude") && !bad.contains("95"), bad)

        let rider = try offlineUser("locate-rider", "rider7", .rider)
        let report = try rider.reportLocation(fix: fixNearSite())
        XCTAssertEqual(report.arrivals, [])
        XCTAssertFalse(report.positionQueued)
    }

    // MARK: the async layer

    func testAsyncLayerPhotos() async throws {
        let fw = Fieldwork(client: try offlineUser("photo-async", "rider7", .rider))
        let ticket = try await fw.helpRequest(orderRef: "ORD-P3")
        let attached = try await fw.attachPhoto(ticket.id, data: TestImages.quadrantJpeg(width: 1000, height: 750))
        let attachment = try XCTUnwrap(attached.attachments.first)
        let url = try await fw.photoURL(attachment.sha256)
        let file = try XCTUnwrap(url)
        XCTAssertEqual(TestImages.sha256Hex(try Data(contentsOf: file)), attachment.sha256)
        let fetched = try await fw.fetchPhoto(attachment.sha256)
        XCTAssertEqual(fetched.path, file.path)
        let camera = try scratchFile("camera.jpg")
        try TestImages.quadrantJpeg(width: 500, height: 400).write(to: camera)
        let second = try await fw.attachPhoto(ticket.id, fileURL: camera)
        XCTAssertEqual(second.attachments.count, 2)
        let located = try await fw.reportLocation(fixNearSite())
        XCTAssertFalse(located.positionQueued)
        do {
            _ = try await fw.attachPhoto(ticket.id, data: Data(count: 10))
            XCTFail("nothing was thrown")
        } catch FieldworkError.InvalidPhoto(let message) {
            XCTAssertFalse(message.isEmpty)
        }
        var statuses = fw.syncStatus.makeAsyncIterator()
        let status = await statuses.next()
        XCTAssertEqual(status?.uploads.count, 4)
    }

    // MARK: photo and position sync (needs a server; see ios/README.md)

    func testPhotoAndPositionSyncRoundTrip() throws {
        let env = ProcessInfo.processInfo.environment
        guard let server = env["FW_SERVER_URL"], let riderToken = env["FW_RIDER_TOKEN"],
              let dispatcherToken = env["FW_DISPATCHER_TOKEN"], let techToken = env["FW_TECH_TOKEN"],
              let techId = env["FW_TECH_ID"] else {
            throw XCTSkip("set FW_SERVER_URL, FW_RIDER_TOKEN, FW_DISPATCHER_TOKEN, FW_TECH_TOKEN and FW_TECH_ID")
        }
        // The rider's photo, taken offline, goes up with the next sync, thumbnail first.
        let rider = try openClient("photo-sync-rider", server: server)
        let me = try rider.loginWithToken(userToken: riderToken)
        rider.setNetworkAvailable(available: false)
        let fix = fixNearSite(0)
        let id = try rider.helpRequest(orderRef: "ORD-P9", location: fix, note: "the lock is jammed").id
        let attachment = try XCTUnwrap(try rider.attachPhoto(ticketId: id, bytes: TestImages.quadrantJpeg(), fix: fix).attachments.first)
        let thumbSha = try XCTUnwrap(attachment.thumb)
        let riderFull = try photoData(rider, attachment.sha256)
        let waiting = try rider.syncStatus().uploads
        XCTAssertEqual(waiting.map(\.sha256), [thumbSha, attachment.sha256])
        assertFails(Self.offline) { _ = try rider.syncNow() }
        rider.setNetworkAvailable(available: true)
        let pushed = try rider.syncNow()
        XCTAssertEqual(pushed.blobs.uploaded, 2)
        XCTAssertEqual(pushed.blobs.failed, 0)
        XCTAssertEqual(pushed.blobs.bytesSent, waiting.reduce(UInt64(0)) { $0 + $1.bytes })
        XCTAssertEqual(try rider.syncStatus().uploads, [])
        XCTAssertFalse(pushed.positionReported)

        // The dispatcher gets the attachment and its thumbnail; the full image on demand.
        let desk = try openClient("photo-sync-dispatcher", server: server)
        XCTAssertEqual(try desk.loginWithToken(userToken: dispatcherToken).role, .dispatcher)
        XCTAssertGreaterThanOrEqual(try desk.syncNow().blobs.downloaded, 1)
        let seen = try XCTUnwrap(try desk.ticket(ticketId: id).attachments.first)
        XCTAssertEqual(seen.sha256, attachment.sha256)
        XCTAssertEqual(seen.thumb, thumbSha)
        XCTAssertEqual(seen.by, me.userId)
        XCTAssertEqual(TestImages.sha256Hex(try photoData(desk, thumbSha)), thumbSha)
        XCTAssertNil(try desk.photoPath(sha256: attachment.sha256))
        let fetchedPath = try desk.fetchPhoto(sha256: attachment.sha256)
        let fetched = try Data(contentsOf: URL(fileURLWithPath: fetchedPath))
        XCTAssertEqual(TestImages.sha256Hex(fetched), attachment.sha256)
        XCTAssertEqual(fetched, riderFull)
        XCTAssertEqual(try desk.photoPath(sha256: attachment.sha256), fetchedPath)
        desk.setNetworkAvailable(available: false)
        XCTAssertEqual(try desk.fetchPhoto(sha256: attachment.sha256), fetchedPath, "a fetched photo needs no network")
        assertFails(Self.offline) { _ = try desk.fetchPhoto(sha256: String(repeating: "ab", count: 32)) }
        desk.setNetworkAvailable(available: true)
        let unknown = assertFails(Self.notFound) { _ = try desk.fetchPhoto(sha256: String(repeating: "ab", count: 32)) }
        XCTAssertTrue(unknown.contains("no ticket on this device"), unknown)

        // The assigned technician arrives on site; the position is reported; the desk sees the arrival.
        XCTAssertEqual(try desk.assign(ticketId: id, assignee: techId).status, .assigned)
        _ = try desk.syncNow()
        let tech = try openClient("photo-sync-technician", server: server)
        XCTAssertEqual(try tech.loginWithToken(userToken: techToken).role, .technician)
        _ = try tech.syncNow()
        XCTAssertNotNil(try tech.photoPath(sha256: thumbSha))
        let located = try tech.reportLocation(fix: fixNearSite(15))
        XCTAssertEqual(located.arrivals, [id])
        XCTAssertTrue(located.positionQueued)
        let report = try tech.syncNow()
        XCTAssertTrue(report.positionReported)
        XCTAssertEqual(report.rejected, 0)
        _ = try desk.syncNow()
        let arrivals = try desk.ticket(ticketId: id).events.filter { $0.kind == "arrived_on_site" }
        XCTAssertEqual(arrivals.map(\.by), [techId])
    }
}
