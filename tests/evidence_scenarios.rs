//! Photos and location end to end: real images attached on one device, sent over the blob lane
//! to a real server (through a proxy that cuts connections), fetched by another device; arrivals
//! on site and position reports.

mod common;

use std::path::Path;

use common::proxy::Proxy;
use common::{Device, Phone, Server, id_of};
use fieldwork_core::photo::PhotoOptions;
use fieldwork_core::store::sha256_hex;
use fieldwork_core::sync::blob_client::Download;
use fieldwork_core::sync::{self, SyncError};
use fieldwork_core::ticket::{ARRIVED_ON_SITE, Edit, NewTicket, Site};
use fieldwork_core::{Status, TicketKind};
use fieldwork_protocol::blobs::UPLOAD_CHUNK_BYTES;
use fieldwork_test_images as samples;

/// Upload counters the server keeps per file: (PATCH requests, body bytes received, length).
fn upload_counters(server: &Server, sha256: &str) -> (i64, i64, i64) {
    let db = rusqlite::Connection::open(server.data.join("fieldwork-server.db")).expect("opens");
    db.query_row(
        "SELECT sum(patch_requests), sum(bytes_received), max(upload_length)
         FROM blob_uploads WHERE sha256 = ?1",
        [sha256],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
    )
    .expect("the server saw an upload of this file")
}

fn write_photo(dir: &Path, name: &str, bytes: &[u8]) -> String {
    let path = dir.join(name);
    std::fs::write(&path, bytes).expect("writes");
    path.to_string_lossy().into_owned()
}

#[test]
fn a_riders_photo_reaches_the_dispatcher_thumbnail_first_and_full_image_on_demand() {
    let server = Server::start();
    let tenant = server.tenant("acme");
    let (_, rider_token) = server.user(&tenant, "rider", "rider", None);
    let (_, disp_token) = server.user(&tenant, "dispatcher", "ops", None);
    let rider = Device::login(&server.url, &rider_token);
    let dispatcher = Device::login(&server.url, &disp_token);
    let dir = tempfile::tempdir().expect("dir");

    // Offline: the help request and a sideways phone photo with GPS.
    let ticket = rider.json(&["help", "--order", "ORD-7"]);
    let id = id_of(&ticket);
    let jpeg = samples::jpeg_with_exif(
        1600,
        1200,
        8,
        Some((31.2304, 121.4737)),
        Some("2026:11:20 09:30:00"),
    );
    let file = write_photo(dir.path(), "spill.jpg", &jpeg);
    let shown = rider.json(&["attach", &id, &file]);
    let a = &shown["attachments"][0];
    assert_eq!(a["mime"], "image/jpeg");
    assert_eq!(
        (a["width"].as_i64(), a["height"].as_i64()),
        (Some(1600), Some(1200))
    );
    let sha = a["sha256"].as_str().expect("sha256").to_owned();
    let thumb = a["thumb"].as_str().expect("thumb").to_owned();
    let bytes = a["bytes"].as_i64().expect("bytes");
    let status = rider.json(&["status"]);
    let queued: Vec<&str> = status["uploads"]
        .as_array()
        .expect("uploads")
        .iter()
        .map(|u| u["kind"].as_str().expect("kind"))
        .collect();
    assert_eq!(queued, ["thumb", "full"], "thumbnails go first");

    let report = rider.sync();
    assert_eq!(report["blobs"]["uploaded"], 2, "{report}");
    assert!(
        rider.json(&["status"])["uploads"]
            .as_array()
            .expect("uploads")
            .is_empty()
    );

    // The dispatcher gets the ticket, the attachment record and (eagerly) the thumbnail.
    let report = dispatcher.sync();
    assert_eq!(
        report["blobs"]["downloaded"], 1,
        "only the thumbnail comes eagerly: {report}"
    );
    let seen = dispatcher.show(&id);
    assert_eq!(seen["attachments"][0]["sha256"], sha.as_str());
    let thumb_out = dir.path().join("thumb.jpg");
    dispatcher.json(&[
        "fetch-blob",
        &thumb,
        "--out",
        thumb_out.to_str().expect("utf-8"),
    ]);
    assert_eq!(
        sha256_hex(&std::fs::read(&thumb_out).expect("thumb")),
        thumb
    );

    // The full image on demand, byte for byte what the rider stored.
    let full_out = dir.path().join("full.jpg");
    let fetched = dispatcher.json(&[
        "fetch-blob",
        &sha,
        "--out",
        full_out.to_str().expect("utf-8"),
    ]);
    assert_eq!(fetched["bytes"].as_i64(), Some(bytes));
    let full = std::fs::read(&full_out).expect("full");
    assert_eq!(sha256_hex(&full), sha);
    assert!(
        !full.windows(4).any(|w| w == b"Exif"),
        "no metadata reached the server"
    );

    // Asking for a file no ticket names is a clear error.
    let err = dispatcher.fails(&["fetch-blob", &"0".repeat(64), "--out", "/dev/null"]);
    assert!(err.contains("no ticket on this device"), "{err}");
}

#[test]
fn bad_files_are_refused_by_the_cli_and_leave_the_ticket_untouched() {
    let rider = Device::new();
    rider.json(&[
        "init",
        "--tenant",
        "acme",
        "--user-id",
        "r1",
        "--role",
        "rider",
    ]);
    let id = id_of(&rider.json(&["help"]));
    let before = rider.show(&id);
    let dir = tempfile::tempdir().expect("dir");
    let good = samples::jpeg_with_exif(640, 480, 1, None, None);
    let cases: [(&str, Vec<u8>); 4] = [
        ("truncated.jpg", good[..good.len() / 2].to_vec()),
        ("bomb.png", samples::png_header_claiming(100_000, 100_000)),
        ("notes.jpg", b"just some text, not a picture\n".to_vec()),
        ("empty.jpg", Vec::new()),
    ];
    for (name, bytes) in cases {
        let file = write_photo(dir.path(), name, &bytes);
        let out = rider.run(&["attach", &id, &file]);
        assert_eq!(out.status.code(), Some(1), "{name}: refused as bad input");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!err.trim().is_empty(), "{name}: says why");
    }
    let missing = rider.run(&["attach", &id, "/nonexistent/photo.jpg"]);
    assert_eq!(missing.status.code(), Some(1), "a wrong path is bad input");
    let err = String::from_utf8_lossy(&missing.stderr);
    assert!(err.contains("cannot read the photo file"), "{err}");
    assert!(!err.contains("/nonexistent"), "no paths in errors: {err}");
    assert_eq!(rider.show(&id), before);
    assert!(rider.json(&["whoami"])["pending_changes"].as_u64() == Some(1));
}

#[test]
fn an_upload_cut_halfway_resumes_and_resends_at_most_one_chunk() {
    if common::on_postgres() {
        // It reads the upload counters from the server's SQLite file.
        eprintln!("SQLite only: skipped on PostgreSQL");
        return;
    }
    let server = Server::start();
    let tenant = server.tenant("acme");
    let (_, rider_token) = server.user(&tenant, "rider", "rider", None);
    let proxy = Proxy::start(server.port);
    let rider = Phone::login(&proxy.url, &rider_token);
    let id = rider.store.help_request(None, None, None).expect("help").id;
    // A busy photo kept at 3200 px stays large after re-encoding: several chunks.
    let photo = samples::photo_like_jpeg(3200, 2400);
    let options = PhotoOptions {
        max_edge: 3200,
        ..PhotoOptions::default()
    };
    let view = rider
        .store
        .attach_photo(&id, &photo, None, &options)
        .expect("attaches");
    let a = &view.attachments[0];
    let full_len = a.bytes as usize;
    assert!(
        full_len > 3 * UPLOAD_CHUNK_BYTES,
        "{full_len} bytes: too few chunks to test"
    );
    let thumb_len = rider
        .store
        .blob(a.thumb.as_deref().expect("thumb"))
        .expect("reads")
        .expect("present")
        .len();

    let engine = rider.engine();
    sync::block_on(engine.sync_tickets(fieldwork_core::sync::RetryPolicy::default()))
        .expect("runtime")
        .expect("tickets sync");
    // The lane opens a fresh connection: cut it once the thumbnail and half the photo went up.
    proxy.cut(thumb_len + full_len / 2, 0, 1);
    let first = sync::block_on(engine.move_blobs())
        .expect("runtime")
        .expect("pass");
    assert!(proxy.cuts_done() >= 1, "the cut really happened");
    assert_eq!(first.failed, 1, "{first:?}");
    let pending = rider.store.pending_uploads().expect("pending");
    assert_eq!(pending.len(), 1);
    assert!(pending[0].sent_bytes > 0, "progress was kept: {pending:?}");

    std::thread::sleep(std::time::Duration::from_millis(20));
    // A UI watching the status hears the upload move chunk by chunk, not only at the end.
    let heard = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let sink = heard.clone();
    let sha = a.sha256.clone();
    let _watch = engine.observe_status(move |status| {
        if let Some(up) = status.uploads.iter().find(|u| u.sha256 == sha) {
            sink.lock().expect("lock").push(up.sent_bytes);
        }
    });
    let second = sync::block_on(engine.move_blobs())
        .expect("runtime")
        .expect("pass");
    assert_eq!(second.uploaded, 1, "{second:?}");
    let progress = heard.lock().expect("lock").clone();
    let partial: Vec<u64> = progress
        .iter()
        .copied()
        .filter(|&sent| sent > 0 && (sent as usize) < full_len)
        .collect();
    assert!(
        partial.len() >= 2 && partial.windows(2).all(|w| w[0] <= w[1]),
        "progress per chunk, growing: {progress:?}"
    );
    let (patches, received, length) = upload_counters(&server, &a.sha256);
    assert_eq!(length as usize, full_len);
    let resent = received as usize - full_len;
    assert!(
        resent <= UPLOAD_CHUNK_BYTES,
        "re-sent {resent} bytes in {patches} PATCHes; at most one chunk may go twice"
    );
    assert!(rider.store.pending_uploads().expect("pending").is_empty());
}

#[test]
fn a_file_that_keeps_failing_never_holds_up_ticket_sync() {
    let server = Server::start();
    let tenant = server.tenant("acme");
    let (_, rider_token) = server.user(&tenant, "rider", "rider", None);
    let (_, disp_token) = server.user(&tenant, "dispatcher", "ops", None);
    let rider = Phone::login(&server.url, &rider_token);
    let dispatcher = Phone::login(&server.url, &disp_token);
    let id = rider.store.help_request(None, None, None).expect("help").id;
    let view = rider
        .store
        .attach_photo(
            &id,
            &samples::jpeg_with_exif(1200, 900, 1, None, None),
            None,
            &PhotoOptions::default(),
        )
        .expect("attaches");
    let sha = view.attachments[0].sha256.clone();
    // The stored file rots on the device: its bytes no longer hash to its name, so the server
    // refuses it at the end of every upload.
    let path = rider.store.blob_path(&sha).expect("path").expect("present");
    let mut bytes = std::fs::read(&path).expect("reads");
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0xff;
    std::fs::write(&path, &bytes).expect("rots");

    for round in 0..3 {
        rider
            .store
            .edit(
                &id,
                &[Edit::AddNote {
                    text: format!("still waiting {round}"),
                    internal: false,
                }],
            )
            .expect("note");
        let report = rider.sync(3).expect("ticket sync succeeds regardless");
        assert_eq!(report.pending, 0, "notes went up");
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    dispatcher.sync(3).expect("dispatcher syncs");
    let notes = dispatcher.store.ticket(&id).expect("ticket").notes.len();
    assert_eq!(notes, 3, "every note arrived while the file kept failing");
    let pending = rider.store.pending_uploads().expect("pending");
    let failing = pending
        .iter()
        .find(|u| u.sha256 == sha)
        .expect("still queued");
    assert!(failing.attempts >= 1);
    let error = failing.last_error.as_deref().expect("says why");
    assert!(error.contains("sha256"), "{error}");
    // The thumbnail was fine and went up.
    assert!(pending.iter().all(|u| u.sha256 == sha));
}

#[test]
fn only_people_who_see_a_referencing_ticket_can_fetch_its_files() {
    let server = Server::start();
    let acme = server.tenant("acme");
    let other = server.tenant("globex");
    let (_, rider_token) = server.user(&acme, "rider", "rider", None);
    let (_, rider2_token) = server.user(&acme, "rider", "rider2", None);
    let (_, agent_token) = server.user(&acme, "agent", "agent", None);
    let (_, outsider_token) = server.user(&other, "dispatcher", "globex ops", None);
    let rider = Phone::login(&server.url, &rider_token);
    let id = rider.store.help_request(None, None, None).expect("help").id;
    let view = rider
        .store
        .attach_photo(
            &id,
            &samples::png_screenshot(800, 500),
            None,
            &PhotoOptions::default(),
        )
        .expect("attaches");
    rider.sync(3).expect("syncs");
    let sha = view.attachments[0].sha256.clone();

    let fetch = |phone: &Phone| -> Result<bool, SyncError> {
        let session = phone.store.session().expect("session").expect("logged in");
        let client = fieldwork_core::sync::client::ServerClient::new(&server.url)?;
        let answer = sync::block_on(client.download_blob(&session.token, &sha, None))??;
        Ok(matches!(answer, Download::Body { .. }))
    };
    assert!(fetch(&rider).expect("answers"), "the reporter");
    assert!(fetch(&Phone::login(&server.url, &agent_token)).expect("answers"));
    assert!(
        !fetch(&Phone::login(&server.url, &rider2_token)).expect("answers"),
        "a rider on someone else's ticket"
    );
    assert!(
        !fetch(&Phone::login(&server.url, &outsider_token)).expect("answers"),
        "another tenant"
    );
}

#[test]
fn a_technician_arriving_on_site_is_recorded_and_their_position_reaches_dispatch() {
    let server = Server::start();
    let tenant = server.tenant("acme");
    let (tech_id, tech_token) = server.user(&tenant, "technician", "tech", Some("north"));
    let (_, disp_token) = server.user(&tenant, "dispatcher", "ops", None);
    let tech = Device::login(&server.url, &tech_token);
    let dispatcher = Phone::login(&server.url, &disp_token);
    let new = NewTicket {
        site: Some(Site {
            lat: 31.2304,
            lon: 121.4737,
            accuracy_m: Some(10.0),
            address: None,
        }),
        ..NewTicket::titled(TicketKind::Repair, "Chiller down")
    };
    let id = dispatcher.store.create(new).expect("creates").id;
    dispatcher
        .store
        .edit(
            &id,
            &[Edit::Assign {
                assignee: Some(tech_id.clone()),
            }],
        )
        .expect("assigns");
    dispatcher.sync(3).expect("syncs");
    tech.sync();
    tech.json(&["update", &id, "--status", "accepted"]);

    // Still across town: nothing recorded. Then at the door.
    let far = tech.json(&[
        "locate",
        "--lat",
        "31.2500",
        "--lon",
        "121.4737",
        "--accuracy",
        "8",
    ]);
    assert_eq!(far["arrivals"].as_array().map(Vec::len), Some(0));
    let near = tech.json(&[
        "locate",
        "--lat",
        "31.2306",
        "--lon",
        "121.4738",
        "--accuracy",
        "8",
    ]);
    assert_eq!(near["arrivals"][0], id.as_str());
    let report = tech.sync();
    assert_eq!(report["position_reported"], true, "{report}");

    dispatcher.sync(3).expect("syncs");
    let seen = dispatcher.store.ticket(&id).expect("ticket");
    let arrival = seen
        .events
        .iter()
        .find(|e| e.kind == ARRIVED_ON_SITE)
        .expect("arrival synced");
    assert_eq!(arrival.by, tech_id);
    assert_eq!(seen.status, Status::Accepted);

    let session = dispatcher.store.session().expect("session").expect("in");
    let client = fieldwork_core::sync::client::ServerClient::new(&server.url).expect("client");
    let positions = sync::block_on(client.positions(&session.token))
        .expect("runtime")
        .expect("dispatch may look");
    let mine = positions
        .positions
        .iter()
        .find(|p| p.user_id == tech_id)
        .expect("the technician's last position");
    assert!((mine.lat - 31.2306).abs() < 1e-9);

    // A second fix right away is throttled on the device: not sent, still queued.
    tech.json(&["locate", "--lat", "31.2307", "--lon", "121.4738"]);
    assert_eq!(tech.sync()["position_reported"], false);
    // An impossible fix is refused without repeating it.
    let err = tech.fails(&["locate", "--lat", "91.5", "--lon", "0"]);
    assert!(err.contains("latitude"), "{err}");
    assert!(!err.contains("91.5"), "no coordinates in errors: {err}");
}
