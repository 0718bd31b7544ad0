// Photos, screenshots and position fixes through the bindings: the pipeline's output checked with
// the JDK's own decoder and SHA-256, refusals as specific exceptions, arrivals on site; and, against
// the real server started by scripts/test-bindings.sh, the files' trip to another device.

package app.fieldwork.jvmtest

import app.fieldwork.android.Fieldwork
import app.fieldwork.ffi.BlobKind
import app.fieldwork.ffi.ClientConfig
import app.fieldwork.ffi.FieldworkClient
import app.fieldwork.ffi.FieldworkException
import app.fieldwork.ffi.LocationFix
import app.fieldwork.ffi.Priority
import app.fieldwork.ffi.Role
import app.fieldwork.ffi.Site
import app.fieldwork.ffi.Status
import app.fieldwork.ffi.TicketDraft
import app.fieldwork.ffi.TicketKind
import app.fieldwork.ffi.UserProfile
import java.awt.image.BufferedImage
import java.io.File
import java.time.OffsetDateTime
import java.time.ZoneOffset
import kotlinx.coroutines.flow.first
import kotlinx.coroutines.runBlocking

private const val SITE_LAT = 31.2304
private const val SITE_LON = 121.4737

private fun offlineUser(name: String, userId: String, role: Role, config: ClientConfig? = null): FieldworkClient {
    val client = if (config == null) openClient(name) else FieldworkClient.open(TempDirs.fresh(name), config)
    client.initOffline(UserProfile(tenant = "acme", userId = userId, role = role, team = "north"))
    return client
}

private fun now() = System.currentTimeMillis()

/** A fix [metresNorth] of the site, as a phone with good reception reports it. */
private fun fixNearSite(metresNorth: Double = 10.0) =
    LocationFix(lat = SITE_LAT + metresNorth / 111_320.0, lon = SITE_LON, accuracyM = 8.0, at = now())

private fun fileOf(client: FieldworkClient, sha256: String, what: String): File {
    val path = client.photoPath(sha256) ?: throw AssertionFailed("$what is not on the device")
    return File(path).also { check(it.isFile) { "$what: $path is not a file" } }
}

private fun pixel(image: BufferedImage, x: Int, y: Int) = image.getRGB(x, y)

fun photoTests(run: TestRun) {
    run.test("photo: a camera JPEG is filed with its thumbnail; both files are on the device, hashed, EXIF-free") {
        offlineUser("photo-rider", "rider7", Role.RIDER).use { client ->
            val id = client.helpRequest("ORD-P1", null, "front wheel bent").id
            val fix = LocationFix(lat = 31.2, lon = 121.5, accuracyM = 15.0, at = now())
            val ticket = client.attachPhoto(id, Images.quadrantJpeg(1200, 900), fix)
            val attachment = ticket.attachments.single()
            checkEq(1200L, attachment.width, "width")
            checkEq(900L, attachment.height, "height")
            checkEq("image/jpeg", attachment.mime, "mime")
            check(Regex("[0-9a-f]{64}").matches(attachment.sha256)) { "sha256: ${attachment.sha256}" }
            val thumbSha = attachment.thumb ?: throw AssertionFailed("no thumbnail")
            check(thumbSha != attachment.sha256) { "the thumbnail is the full image" }
            checkEq("rider7", attachment.by, "attached by")
            checkEq(31.2, attachment.lat, "latitude from the device's fix")
            checkEq(15.0, attachment.accuracyM, "accuracy from the device's fix")
            checkEq(null, attachment.capturedAt, "capture time of a photo without EXIF")

            val full = fileOf(client, attachment.sha256, "the full image")
            val bytes = full.readBytes()
            check(Images.isJpeg(bytes)) { "the stored file does not start with FF D8" }
            check(!Images.contains(bytes, "Exif")) { "the stored file has an EXIF segment" }
            checkEq(attachment.sha256, Images.sha256Hex(bytes), "sha256 of the stored file")
            checkEq(attachment.bytes, bytes.size.toLong(), "bytes")
            val image = Images.decode(bytes)
            checkEq(1200 to 900, image.width to image.height, "decoded size")
            check(Images.isRed(pixel(image, 300, 225))) { "top-left quadrant is not red" }
            check(Images.isBlue(pixel(image, 900, 675))) { "bottom-right quadrant is not blue" }

            val thumb = fileOf(client, thumbSha, "the thumbnail")
            checkEq(thumbSha, Images.sha256Hex(thumb.readBytes()), "sha256 of the thumbnail")
            val small = Images.decode(thumb)
            checkEq(320 to 240, small.width to small.height, "thumbnail size")
            check(Images.isRed(pixel(small, 80, 60))) { "thumbnail's top-left quadrant is not red" }

            checkEq(full.path, client.fetchPhoto(attachment.sha256), "fetchPhoto of a photo on the device (no login)")
            val uploads = client.syncStatus().uploads
            checkEq(listOf(BlobKind.THUMB, BlobKind.FULL), uploads.map { it.kind }, "upload queue, thumbnail first")
            checkEq(listOf(thumbSha, attachment.sha256), uploads.map { it.sha256 }, "queued files")
            checkEq(listOf(thumb.length(), full.length()), uploads.map { it.bytes.toLong() }, "queued sizes")
            check(uploads.all { it.sentBytes == 0uL && it.ticketId == id && it.lastError == null }) { "uploads: $uploads" }
            checkEq(null, client.photoPath("0".repeat(64)), "path of a file the device does not have")
        }
    }

    run.test("photo: EXIF orientation is applied, metadata stripped; capture time and the photo's GPS kept as fields") {
        offlineUser("photo-exif", "rider7", Role.RIDER).use { client ->
            val id = client.helpRequest(null, null, null).id
            val exif = Images.Exif(
                orientation = 6, // stored sideways: turn 90° clockwise to show
                make = "FieldworkTestCam",
                dateTimeOriginal = "2026:11:02 14:30:05",
                offsetTimeOriginal = "+08:00",
                latDms = Triple(31, 13, 48), // 31.23 N
                lonDms = Triple(121, 28, 12), // 121.47 E
            )
            val input = Images.withExif(Images.quadrantJpeg(1200, 900), exif)
            check(Images.contains(input, "FieldworkTestCam")) { "the test input lacks its EXIF" }
            // The device's own fix is ignored when the photo knows where it was taken.
            val ticket = client.attachPhoto(id, input, LocationFix(lat = 1.0, lon = 2.0, accuracyM = 5.0, at = now()))
            val attachment = ticket.attachments.single()
            checkEq(900L to 1200L, attachment.width to attachment.height, "upright size")
            val lat = attachment.lat ?: throw AssertionFailed("no latitude")
            val lon = attachment.lon ?: throw AssertionFailed("no longitude")
            check(Math.abs(lat - 31.23) < 1e-6 && Math.abs(lon - 121.47) < 1e-6) { "position $lat, $lon" }
            val taken = OffsetDateTime.of(2026, 11, 2, 14, 30, 5, 0, ZoneOffset.ofHours(8)).toInstant().toEpochMilli()
            checkEq(taken, attachment.capturedAt, "capture time")

            val bytes = fileOf(client, attachment.sha256, "the full image").readBytes()
            for (leak in listOf("Exif", "FieldworkTestCam", "2026:11:02")) {
                check(!Images.contains(bytes, leak)) { "the stored file still contains \"$leak\"" }
            }
            val image = Images.decode(bytes)
            checkEq(900 to 1200, image.width to image.height, "decoded size")
            // The red top-left of the stored pixels is the top-right once turned upright.
            check(Images.isRed(pixel(image, 675, 300))) { "top-right is not red" }
            check(Images.isBlue(pixel(image, 225, 300))) { "top-left is not blue" }
            check(Images.isBlue(pixel(image, 675, 900))) { "bottom-right is not blue" }
        }
    }

    run.test("photo: the same bytes attached twice are filed and queued once") {
        offlineUser("photo-twice", "rider7", Role.RIDER).use { client ->
            val id = client.helpRequest(null, null, null).id
            val jpeg = Images.quadrantJpeg(640, 480)
            val first = client.attachPhoto(id, jpeg, null)
            val second = client.attachPhoto(id, jpeg, null)
            checkEq(1, second.attachments.size, "attachments")
            checkEq(first.attachments, second.attachments, "the attachment")
            checkEq(2, client.syncStatus().uploads.size, "queued files")
            // A different photo is a second attachment.
            checkEq(2, client.attachPhoto(id, Images.quadrantJpeg(641, 480), null).attachments.size, "after another photo")
        }
    }

    run.test("photo: a PNG screenshot with transparency becomes a JPEG on white; attachPhotoFile reads a path") {
        offlineUser("photo-png", "shop12", Role.MERCHANT).use { client ->
            val id = client.createTicket(TicketDraft(title = "Card reader shows an error")).id
            checkEq(TicketKind.FAULT_REPORT, client.ticket(id).kind, "merchant's ticket")
            val png = File(TempDirs.fresh("screenshot") + ".png")
            png.writeBytes(Images.transparentPng(400, 300))
            val attachment = client.attachPhotoFile(id, png.path, null).attachments.single()
            checkEq("image/jpeg", attachment.mime, "mime")
            checkEq(400L to 300L, attachment.width to attachment.height, "size (never enlarged)")
            checkEq(null, attachment.lat, "no position without a fix")
            val image = Images.decode(fileOf(client, attachment.sha256, "the screenshot"))
            check(Images.isWhite(pixel(image, 10, 10))) { "transparent corner is not white: ${Integer.toHexString(pixel(image, 10, 10))}" }
            check(Images.isDark(pixel(image, 200, 150))) { "the bar is not dark" }
            check(png.isFile) { "the input file was removed" }
            val missing = assertThrows<FieldworkException.InvalidInput> {
                client.attachPhotoFile(id, png.path + ".missing", null)
            }
            check(missing.message!!.contains("cannot read the photo file")) { "message: ${missing.message}" }
            check(!missing.message!!.contains(png.path)) { "message leaks the path: ${missing.message}" }
        }
    }

    run.test("photo: corrupt, truncated, empty, GIF or text bytes are InvalidPhoto and change nothing") {
        offlineUser("photo-bad", "rider7", Role.RIDER).use { client ->
            val id = client.helpRequest("ORD-P2", null, null).id
            val before = client.ticket(id)
            val jpeg = Images.quadrantJpeg(800, 600)
            val gif = Images.encode(Images.quadrant(64, 64), "gif")
            val cases = listOf(
                Triple("truncated JPEG", jpeg.copyOfRange(0, jpeg.size / 2), "cut short"),
                Triple("text", "this is not a photo".toByteArray(), "not a JPEG, PNG or WebP"),
                Triple("empty", ByteArray(0), "empty"),
                Triple("GIF", gif, "GIF"),
                Triple("JPEG header then garbage", jpeg.copyOfRange(0, 200) + ByteArray(4000) { 0x55 }, "JPEG"),
            )
            for ((what, bytes, expected) in cases) {
                val e = assertThrows<FieldworkException.InvalidPhoto> { client.attachPhoto(id, bytes, null) }
                check(e.message!!.contains(expected)) { "$what: message \"${e.message}\" lacks \"$expected\"" }
            }
            checkEq(before, client.ticket(id), "ticket after refused photos")
            checkEq(emptyList<Any>(), client.syncStatus().uploads, "upload queue")
            val unknown = assertThrows<FieldworkException.NotFound> { client.attachPhoto("0000-no-such-ticket", jpeg, null) }
            checkEq("no ticket matches that id", unknown.message, "message")
            val badFix = assertThrows<FieldworkException.InvalidInput> {
                client.attachPhoto(id, jpeg, LocationFix(lat = 0.0, lon = 200.0))
            }
            check(badFix.message!!.contains("longitude")) { "message: ${badFix.message}" }
            checkEq(before, client.ticket(id), "ticket after a refused fix")
        }
    }

    run.test("photo: a technician may not attach to a ticket before claiming it (NotAllowed, before any decoding)") {
        offlineUser("photo-tech", "tech9", Role.TECHNICIAN).use { client ->
            val id = client.createTicket(TicketDraft(title = "Compressor noise", priority = Priority.HIGH)).id
            val jpeg = Images.quadrantJpeg(320, 240)
            val refused = assertThrows<FieldworkException.NotAllowed> { client.attachPhoto(id, jpeg, null) }
            checkEq("a technician may not attach a photo before claiming the ticket", refused.message, "message")
            // The rules come first: even an unusable file is refused as not allowed.
            assertThrows<FieldworkException.NotAllowed> { client.attachPhoto(id, "junk".toByteArray(), null) }
            checkEq(0, client.ticket(id).attachments.size, "attachments while refused")
            checkEq(Status.ASSIGNED, client.assign(id, "tech9").status, "claimed")
            checkEq(1, client.attachPhoto(id, jpeg, null).attachments.size, "attachments after claiming")
        }
    }

    run.test("photo: ClientConfig.maxPhotoEdge sizes the stored image; the thumbnail stays 320 px") {
        val config = ClientConfig(deviceName = "jvm-test small photos", maxPhotoEdge = 800u)
        offlineUser("photo-small", "rider7", Role.RIDER, config).use { client ->
            val id = client.helpRequest(null, null, null).id
            val attachment = client.attachPhoto(id, Images.quadrantJpeg(1200, 900), null).attachments.single()
            checkEq(800L to 600L, attachment.width to attachment.height, "stored size")
            val thumb = Images.decode(fileOf(client, attachment.thumb!!, "the thumbnail"))
            checkEq(320 to 240, thumb.width to thumb.height, "thumbnail size")
        }
    }

    run.test("location: a technician at an assigned ticket's site records one arrival; away, or another role, none") {
        offlineUser("locate-tech", "tech9", Role.TECHNICIAN).use { client ->
            val site = Site(lat = SITE_LAT, lon = SITE_LON, accuracyM = 5.0, address = "Dock 3")
            val id = client.createTicket(TicketDraft(title = "Fridge warm", site = site)).id
            val unassigned = client.reportLocation(fixNearSite())
            checkEq(emptyList<String>(), unassigned.arrivals, "arrivals before the ticket is theirs")
            check(unassigned.positionQueued) { "a technician's position is queued" }
            client.assign(id, "tech9")
            val far = client.reportLocation(fixNearSite(metresNorth = 2_000.0))
            checkEq(emptyList<String>(), far.arrivals, "arrivals 2 km away")
            val there = client.reportLocation(fixNearSite())
            checkEq(listOf(id), there.arrivals, "arrivals at the site")
            val arrival = client.ticket(id).events.single { it.kind == "arrived_on_site" }
            checkEq("tech9", arrival.by, "arrival by")
            checkEq(emptyList<String>(), client.reportLocation(fixNearSite(5.0)).arrivals, "arrivals on the same visit")
            checkEq(1, client.ticket(id).events.count { it.kind == "arrived_on_site" }, "arrival events")
            val vague = LocationFix(lat = SITE_LAT, lon = SITE_LON, accuracyM = 5_000.0, at = now())
            checkEq(emptyList<String>(), client.reportLocation(vague).arrivals, "arrivals from a vague fix")
            val bad = assertThrows<FieldworkException.InvalidInput> {
                client.reportLocation(LocationFix(lat = 95.0, lon = SITE_LON, accuracyM = 5.0, at = now()))
            }
            check(bad.message!!.contains("latitude") && !bad.message!!.contains("95")) { "message: ${bad.message}" }
        }
        offlineUser("locate-rider", "rider7", Role.RIDER).use { client ->
            val report = client.reportLocation(fixNearSite())
            checkEq(emptyList<String>(), report.arrivals, "a rider's arrivals")
            check(!report.positionQueued) { "a rider's position is not reported" }
        }
    }

    run.test("Kotlin layer: suspend photo and location calls; photos as Files; InvalidPhoto thrown") {
        runBlocking {
            Fieldwork(offlineUser("photo-flows", "rider7", Role.RIDER)).use { fw ->
                val ticket = fw.helpRequest(orderRef = "ORD-P3")
                val attached = fw.attachPhoto(ticket.id, Images.quadrantJpeg(1000, 750))
                val attachment = attached.attachments.single()
                val file = fw.photoFile(attachment.sha256) ?: throw AssertionFailed("no file")
                checkEq(attachment.sha256, Images.sha256Hex(file.readBytes()), "sha256 of the file")
                checkEq(file, fw.fetchPhoto(attachment.sha256), "fetchPhoto")
                val camera = File(TempDirs.fresh("camera") + ".jpg").apply { writeBytes(Images.quadrantJpeg(500, 400)) }
                checkEq(2, fw.attachPhoto(ticket.id, camera).attachments.size, "attached from a File")
                checkEq(false, fw.reportLocation(fixNearSite()).positionQueued, "a rider's fix")
                val failed = runCatching { fw.attachPhoto(ticket.id, ByteArray(10)) }.exceptionOrNull()
                check(failed is FieldworkException.InvalidPhoto) { "suspend attach threw $failed" }
                checkEq(4, fw.syncStatus.first().uploads.size, "files queued, in the status flow")
            }
        }
    }
}

fun photoSyncTests(run: TestRun) {
    var rider: FieldworkClient? = null
    var desk: FieldworkClient? = null
    var tech: FieldworkClient? = null
    var ticketId = ""
    var sha256 = ""
    var thumbSha = ""
    var riderFull = ByteArray(0)

    run.test("photo sync: a rider's photo taken offline goes up with the next sync, thumbnail first") {
        val client = openClient("photo-sync-rider", env("FW_SERVER_URL")).also { rider = it }
        client.loginWithToken(env("FW_RIDER_TOKEN"))
        client.setNetworkAvailable(false)
        val fix = fixNearSite(0.0)
        ticketId = client.helpRequest("ORD-P9", fix, "the lock is jammed").id
        val attachment = client.attachPhoto(ticketId, Images.quadrantJpeg(1200, 900), fix).attachments.single()
        sha256 = attachment.sha256
        thumbSha = attachment.thumb ?: throw AssertionFailed("no thumbnail")
        riderFull = fileOf(client, sha256, "the rider's full image").readBytes()
        val waiting = client.syncStatus().uploads
        checkEq(listOf(thumbSha, sha256), waiting.map { it.sha256 }, "queued while offline")
        assertThrows<FieldworkException.Offline> { client.syncNow() }
        client.setNetworkAvailable(true)
        val report = client.syncNow()
        check(report.pushed >= 1uL) { "pushed: $report" }
        checkEq(2uL, report.blobs.uploaded, "files uploaded")
        checkEq(0uL, report.blobs.failed, "files failed")
        checkEq(waiting.sumOf { it.bytes }, report.blobs.bytesSent, "bytes of the files sent")
        checkEq(emptyList<Any>(), client.syncStatus().uploads, "upload queue after sync")
        checkEq(false, report.positionReported, "a rider reports no position")
    }

    run.test("photo sync: the dispatcher gets the attachment and its thumbnail; fetchPhoto brings the full image") {
        val client = openClient("photo-sync-dispatcher", env("FW_SERVER_URL")).also { desk = it }
        checkEq(Role.DISPATCHER, client.loginWithToken(env("FW_DISPATCHER_TOKEN")).role, "role")
        val report = client.syncNow()
        check(report.blobs.downloaded >= 1uL) { "thumbnails downloaded: $report" }
        val attachment = client.ticket(ticketId).attachments.single()
        checkEq(sha256, attachment.sha256, "sha256 on the dispatcher's device")
        checkEq(thumbSha, attachment.thumb, "thumbnail on the dispatcher's device")
        checkEq(rider?.profile()?.userId, attachment.by, "attached by the rider")
        val thumb = fileOf(client, thumbSha, "the thumbnail after sync")
        checkEq(thumbSha, Images.sha256Hex(thumb.readBytes()), "sha256 of the downloaded thumbnail")
        checkEq(null, client.photoPath(sha256), "full image before it is asked for")

        val fetched = File(client.fetchPhoto(sha256))
        val bytes = fetched.readBytes()
        checkEq(sha256, Images.sha256Hex(bytes), "sha256 of the fetched full image")
        check(bytes.contentEquals(riderFull)) { "the fetched image differs from the rider's" }
        checkEq(1200 to 900, Images.decode(bytes).let { it.width to it.height }, "fetched image size")
        checkEq(fetched.path, client.photoPath(sha256), "photoPath after fetching")
        client.setNetworkAvailable(false)
        checkEq(fetched.path, client.fetchPhoto(sha256), "a fetched photo needs no network")
        assertThrows<FieldworkException.Offline> { client.fetchPhoto("ab".repeat(32)) }
        client.setNetworkAvailable(true)
        val unknown = assertThrows<FieldworkException.NotFound> { client.fetchPhoto("ab".repeat(32)) }
        check(unknown.message!!.contains("no ticket on this device")) { "message: ${unknown.message}" }
    }

    run.test("location sync: the assigned technician arrives on site; the position is reported; the desk sees the arrival") {
        val deskClient = desk ?: throw AssertionFailed("the dispatcher did not log in")
        val techId = env("FW_TECH_ID")
        checkEq(Status.ASSIGNED, deskClient.assign(ticketId, techId).status, "assigned")
        deskClient.syncNow()
        val client = openClient("photo-sync-technician", env("FW_SERVER_URL")).also { tech = it }
        checkEq(Role.TECHNICIAN, client.loginWithToken(env("FW_TECH_TOKEN")).role, "role")
        client.syncNow()
        checkEq(techId, client.ticket(ticketId).assignee, "assignee on the technician's device")
        check(client.photoPath(thumbSha) != null) { "the technician's device has the thumbnail" }
        val located = client.reportLocation(fixNearSite(15.0))
        check(ticketId in located.arrivals) { "arrivals: ${located.arrivals}" }
        check(located.positionQueued) { "position not queued" }
        val report = client.syncNow()
        check(report.positionReported) { "position not reported: $report" }
        checkEq(0uL, report.rejected, "refused changes")
        deskClient.syncNow()
        val arrival = deskClient.ticket(ticketId).events.singleOrNull { it.kind == "arrived_on_site" }
            ?: throw AssertionFailed("the dispatcher does not see the arrival")
        checkEq(techId, arrival.by, "arrival by")
    }

    listOfNotNull(rider, desk, tech).forEach { it.close() }
}
