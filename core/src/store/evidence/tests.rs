//! Photos and location fixes through the store, on real SQLite files and real image bytes.

use crate::location::LocationFix;
use crate::model::{Role, Status, TicketKind};
use crate::photo::PhotoOptions;
use crate::store::StoreError;
use crate::store::testkit::{Device, T0, device};
use crate::ticket::{ARRIVED_ON_SITE, Edit, NewTicket, Site};
use fieldwork_protocol::blobs::BlobKind;
use fieldwork_test_images as samples;

/// Every file under the device's blob directory (complete files only).
fn files(d: &Device) -> Vec<String> {
    let mut out = Vec::new();
    for dir in std::fs::read_dir(d.dir.path().join("blobs"))
        .into_iter()
        .flatten()
        .flatten()
    {
        for f in std::fs::read_dir(dir.path())
            .into_iter()
            .flatten()
            .flatten()
        {
            out.push(f.file_name().to_string_lossy().into_owned());
        }
    }
    out.retain(|name| name.len() == 64);
    out.sort();
    out
}

fn photo() -> Vec<u8> {
    samples::jpeg_with_exif(
        800,
        600,
        6,
        Some((31.2304, 121.4737)),
        Some("2026:11:20 09:30:00"),
    )
}

#[test]
fn an_attached_photo_is_filed_with_its_files_and_queued_thumbnail_first() {
    let d = device("r1", Role::Rider);
    let t = d.store.help_request(None, None, None).expect("help");
    let outbox = d.store.outbox_len().expect("outbox");
    let v = d
        .store
        .attach_photo(&t.id, &photo(), None, &PhotoOptions::default())
        .expect("attaches");
    assert_eq!(v.attachments.len(), 1);
    let a = &v.attachments[0];
    // Stored sideways with orientation 6; filed upright as displayed: 800 × 600.
    assert_eq!((a.width, a.height), (800, 600));
    assert_eq!(a.mime, "image/jpeg");
    assert_eq!(a.by, "r1");
    assert_eq!(a.lat, Some(31.2304));
    assert!(a.captured_at.is_some());
    let thumb = a.thumb.clone().expect("thumbnail named");
    assert_eq!(files(&d), {
        let mut both = vec![a.sha256.clone(), thumb.clone()];
        both.sort();
        both
    });
    let full = d.store.blob(&a.sha256).expect("reads").expect("present");
    assert_eq!(full.len() as i64, a.bytes);
    assert_eq!(crate::store::sha256_hex(&full), a.sha256);
    assert!(
        !full.windows(4).any(|w| w == b"Exif"),
        "metadata left in the stored file"
    );
    assert_eq!(d.store.outbox_len().expect("outbox"), outbox + 1);
    let uploads = d.store.pending_uploads().expect("uploads");
    assert_eq!(
        uploads
            .iter()
            .map(|u| (u.sha256.clone(), u.kind))
            .collect::<Vec<_>>(),
        vec![(thumb, BlobKind::Thumb), (a.sha256.clone(), BlobKind::Full)]
    );
    assert_eq!(
        d.store.ticket(&t.id).expect("reads"),
        v,
        "durable view equals returned view"
    );
}

#[test]
fn the_same_photo_attached_twice_is_stored_and_filed_once() {
    let d = device("r1", Role::Rider);
    let t = d.store.help_request(None, None, None).expect("help");
    let opts = PhotoOptions::default();
    d.store
        .attach_photo(&t.id, &photo(), None, &opts)
        .expect("first");
    let outbox = d.store.outbox_len().expect("outbox");
    let v = d
        .store
        .attach_photo(&t.id, &photo(), None, &opts)
        .expect("second");
    assert_eq!(v.attachments.len(), 1);
    assert_eq!(files(&d).len(), 2);
    assert_eq!(
        d.store.outbox_len().expect("outbox"),
        outbox,
        "no second change"
    );
    assert_eq!(d.store.pending_uploads().expect("uploads").len(), 2);
}

#[test]
fn the_devices_fix_is_used_when_the_photo_has_no_gps() {
    let d = device("r1", Role::Rider);
    let t = d.store.help_request(None, None, None).expect("help");
    let fix = LocationFix {
        lat: 22.54,
        lon: 114.06,
        accuracy_m: Some(12.0),
        at: Some(T0),
    };
    let v = d
        .store
        .attach_photo(
            &t.id,
            &samples::png_screenshot(640, 400),
            Some(fix),
            &PhotoOptions::default(),
        )
        .expect("attaches");
    let a = &v.attachments[0];
    assert_eq!(
        (a.lat, a.lon, a.accuracy_m),
        (Some(22.54), Some(114.06), Some(12.0))
    );
    assert_eq!(
        (a.width, a.height),
        (640, 400),
        "small screenshots are not upscaled"
    );
}

#[test]
fn bad_photos_are_refused_and_leave_ticket_store_and_files_untouched() {
    let d = device("r1", Role::Rider);
    let t = d.store.help_request(None, None, None).expect("help");
    let good = photo();
    let huge_png_header = samples::png_header_claiming(100_000, 100_000);
    let bad: [(&str, Vec<u8>); 4] = [
        ("truncated JPEG", good[..good.len() / 2].to_vec()),
        ("100,000 × 100,000 PNG header", huge_png_header),
        (
            "text named .jpg",
            b"this is not a photo, just text\n".to_vec(),
        ),
        ("empty", Vec::new()),
    ];
    let before = d.store.ticket(&t.id).expect("reads");
    let outbox = d.store.outbox_len().expect("outbox");
    for (what, bytes) in bad {
        let err = d
            .store
            .attach_photo(&t.id, &bytes, None, &PhotoOptions::default())
            .expect_err(what);
        assert!(matches!(err, StoreError::Photo(_)), "{what}: {err}");
        assert!(err.is_refusal(), "{what}: bad input, not a broken device");
        assert!(!err.to_string().is_empty());
    }
    assert_eq!(d.store.ticket(&t.id).expect("reads"), before);
    assert_eq!(d.store.outbox_len().expect("outbox"), outbox);
    assert!(files(&d).is_empty());
    assert!(d.store.pending_uploads().expect("uploads").is_empty());
}

#[test]
fn a_refused_attach_costs_no_processing_and_writes_nothing() {
    let d = device("tech1", Role::Technician);
    let t = d
        .store
        .create(NewTicket::titled(TicketKind::Repair, "Fix"))
        .expect("creates");
    // Reported but not claimed: technicians write only on tickets assigned to them.
    let err = d
        .store
        .attach_photo(&t.id, &photo(), None, &PhotoOptions::default())
        .expect_err("refused");
    assert!(matches!(err, StoreError::Refused(_)), "{err}");
    assert!(files(&d).is_empty());
}

#[test]
fn when_files_cannot_be_written_nothing_is_filed() {
    let d = device("r1", Role::Rider);
    let t = d.store.help_request(None, None, None).expect("help");
    // A file where the blob directory should be: every write under it fails, as on a full disk.
    std::fs::write(d.dir.path().join("blobs"), b"in the way").expect("blocks");
    let err = d
        .store
        .attach_photo(&t.id, &photo(), None, &PhotoOptions::default())
        .expect_err("cannot write");
    assert!(matches!(err, StoreError::Files(_)), "{err}");
    assert!(d.store.ticket(&t.id).expect("reads").attachments.is_empty());
    assert!(d.store.pending_uploads().expect("uploads").is_empty());
}

#[test]
fn evicted_tickets_files_are_collected_and_pending_uploads_are_kept() {
    let d = device("r1", Role::Rider);
    let t = d.store.help_request(None, None, None).expect("help");
    let v = d
        .store
        .attach_photo(&t.id, &photo(), None, &PhotoOptions::default())
        .expect("attaches");
    // Not uploaded yet: kept even if nothing named it.
    assert_eq!(d.store.collect_garbage().expect("gc"), 0);
    let a = &v.attachments[0];
    for sha in [a.sha256.as_str(), a.thumb.as_deref().expect("thumb")] {
        d.store.record_upload_done(sha).expect("done");
    }
    assert_eq!(
        d.store.collect_garbage().expect("gc"),
        0,
        "still named by the ticket"
    );
    d.store
        .write(|tx| crate::store::persist::delete_ticket(tx, &t.id))
        .expect("evicts");
    assert_eq!(d.store.collect_garbage().expect("gc"), 2);
    assert!(files(&d).is_empty());
    // A stray whole file with no row (a crash between file and row) goes too.
    let stray = "ab".repeat(32);
    std::fs::create_dir_all(d.dir.path().join("blobs/ab")).expect("dir");
    std::fs::write(d.dir.path().join("blobs/ab").join(&stray), b"x").expect("stray");
    assert_eq!(d.store.collect_garbage().expect("gc"), 1);
}

fn assigned_site_ticket(d: &Device) -> String {
    let new = NewTicket {
        site: Some(Site {
            lat: 31.2304,
            lon: 121.4737,
            accuracy_m: None,
            address: None,
        }),
        ..NewTicket::titled(TicketKind::Repair, "Chiller")
    };
    let t = d.store.create(new).expect("creates");
    d.store
        .edit(
            &t.id,
            &[Edit::Assign {
                assignee: Some("tech1".into()),
            }],
        )
        .expect("claims");
    t.id
}

fn fix(lat: f64, lon: f64) -> LocationFix {
    LocationFix {
        lat,
        lon,
        accuracy_m: Some(8.0),
        at: None,
    }
}

fn arrivals(d: &Device, id: &str) -> usize {
    d.store
        .ticket(id)
        .expect("reads")
        .events
        .iter()
        .filter(|e| e.kind == ARRIVED_ON_SITE)
        .count()
}

#[test]
fn a_technician_arrives_once_per_visit_and_only_inside_the_radius() {
    let d = device("tech1", Role::Technician);
    let id = assigned_site_ticket(&d);
    // ~1 km away: no arrival, but the position is queued.
    let far = d.store.locate(fix(31.2394, 121.4737)).expect("locates");
    assert!(far.arrivals.is_empty());
    assert!(far.position_queued);
    // ~40 m away: arrived.
    let near = d.store.locate(fix(31.2308, 121.4737)).expect("locates");
    assert_eq!(near.arrivals, vec![id.clone()]);
    assert_eq!(arrivals(&d, &id), 1);
    // Still there: not recorded again.
    assert!(
        d.store
            .locate(fix(31.2305, 121.4737))
            .expect("locates")
            .arrivals
            .is_empty()
    );
    // Left to fetch parts, came back: a new visit.
    d.store
        .edit(
            &id,
            &[Edit::SetStatus {
                status: Status::Accepted,
            }],
        )
        .expect("accepts");
    for status in [
        Status::EnRoute,
        Status::OnSite,
        Status::InProgress,
        Status::AwaitingParts,
    ] {
        d.store
            .edit(&id, &[Edit::SetStatus { status }])
            .expect("moves");
    }
    assert_eq!(
        d.store
            .locate(fix(31.2304, 121.4737))
            .expect("locates")
            .arrivals,
        vec![id.clone()]
    );
    assert_eq!(arrivals(&d, &id), 2);
}

#[test]
fn a_vague_or_invalid_fix_records_nothing() {
    let d = device("tech1", Role::Technician);
    let id = assigned_site_ticket(&d);
    let vague = LocationFix {
        accuracy_m: Some(2_000.0),
        ..fix(31.2304, 121.4737)
    };
    assert!(d.store.locate(vague).expect("locates").arrivals.is_empty());
    assert!(matches!(
        d.store.locate(fix(123.0, 0.0)),
        Err(StoreError::Location(_))
    ));
    assert_eq!(arrivals(&d, &id), 0);
}

#[test]
fn position_reports_are_throttled_and_only_technicians_queue_them() {
    let d = device("tech1", Role::Technician);
    d.store.locate(fix(31.0, 121.0)).expect("locates");
    let due = d
        .store
        .due_position_report(T0)
        .expect("due")
        .expect("queued");
    assert_eq!((due.lat, due.lon, due.at), (31.0, 121.0, T0));
    d.store.record_position_sent(&due, T0).expect("sent");
    assert!(d.store.due_position_report(T0).expect("due").is_none());
    d.clock.advance(1_000);
    d.store.locate(fix(31.001, 121.0)).expect("locates");
    assert!(
        d.store
            .due_position_report(T0 + 1_000)
            .expect("due")
            .is_none(),
        "throttled within the interval"
    );
    let later = T0 + fieldwork_protocol::sync::POSITION_MIN_INTERVAL_MS;
    assert_eq!(
        d.store
            .due_position_report(later)
            .expect("due")
            .map(|r| r.lat),
        Some(31.001)
    );

    let rider = device("r1", Role::Rider);
    assert!(
        !rider
            .store
            .locate(fix(31.0, 121.0))
            .expect("locates")
            .position_queued
    );
    assert!(rider.store.due_position_report(T0).expect("due").is_none());
}
