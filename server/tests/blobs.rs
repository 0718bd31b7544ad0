//! The blob lane as devices use it: tus uploads in chunks, resuming after a cut, verification by
//! sha256, deduplication per tenant, limits, and downloads (with ranges) only for those who may see
//! a ticket whose attachments name the blob.

mod support;

use std::future::IntoFuture;
use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use fieldwork_core::clock::ManualClock;
use fieldwork_core::ticket::Edit;
use fieldwork_core::{Role, Status};
use fieldwork_protocol::blobs::{
    BlobKind, MAX_BLOB_BYTES, MAX_PATCH_BYTES, OFFSET_CONTENT_TYPE, UPLOAD_CHUNK_BYTES,
    UploadMetadata,
};
use fieldwork_server::blobs::UPLOAD_TTL_MS;
use support::tus::{
    attach, blob_rows, counters, create, download, head, header, help_request, metadata, offset_of,
    patch, photo, sha256, start, tus, upload,
};
use support::{Device, Harness};
use tokio::io::AsyncWriteExt;

/// Tenant `acme` with a rider who reported a ticket, another rider, and a dispatcher.
struct Scene {
    h: Harness,
    rider: Device,
    other_rider: Device,
    desk: Device,
    ticket: String,
}

async fn scene() -> Scene {
    scene_with(Harness::new()).await
}

async fn scene_with(h: Harness) -> Scene {
    h.tenant("acme");
    let rider = h.user("acme", "rider1", Role::Rider, None);
    let other = h.user("acme", "rider2", Role::Rider, None);
    let ops = h.user("acme", "ops", Role::Dispatcher, None);
    let mut rider = h.login(&rider).await;
    let other_rider = h.login(&other).await;
    let desk = h.login(&ops).await;
    let ticket = help_request(&h, &mut rider).await;
    Scene {
        h,
        rider,
        other_rider,
        desk,
        ticket,
    }
}

#[tokio::test]
async fn options_says_what_the_server_speaks() {
    let h = Harness::new();
    let reply = h.call("OPTIONS", "/v1/blobs", None, None).await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT);
    assert_eq!(header(&reply, "tus-version"), "1.0.0");
    assert_eq!(header(&reply, "tus-extension"), "creation");
    assert_eq!(header(&reply, "tus-max-size"), MAX_BLOB_BYTES.to_string());
}

#[tokio::test]
async fn a_photo_uploaded_in_chunks_comes_back_byte_for_byte() {
    let Scene {
        h,
        mut rider,
        desk,
        ticket,
        ..
    } = scene().await;
    let full = photo(2 * UPLOAD_CHUNK_BYTES + 12_345, 1);
    let thumb = photo(20_000, 2);
    let (full_sha, thumb_sha) = (sha256(&full), sha256(&thumb));
    let thumb_at = upload(&h, &rider.token, &thumb, &ticket).await;
    let full_at = upload(&h, &rider.token, &full, &ticket).await;
    assert_eq!(counters(&h, &thumb_at), (1, 20_000, "done".into()));
    assert_eq!(
        counters(&h, &full_at),
        (3, full.len() as i64, "done".into())
    );
    let path = h
        .data_dir()
        .join("blobs")
        .join(&rider.actor.tenant)
        .join("blobs")
        .join(&full_sha[..2])
        .join(&full_sha);
    assert_eq!(std::fs::read(&path).expect("stored by its hash"), full);

    attach(&h, &mut rider, &ticket, &full_sha, Some(&thumb_sha)).await;
    for (token, sha, bytes) in [
        (&rider.token, &full_sha, &full),
        (&rider.token, &thumb_sha, &thumb),
        (&desk.token, &full_sha, &full),
    ] {
        let got = download(&h, token, sha, None).await;
        assert_eq!(got.status, StatusCode::OK);
        assert_eq!(&got.body, bytes);
        assert_eq!(header(&got, "content-type"), "image/jpeg");
        assert_eq!(header(&got, "content-length"), bytes.len().to_string());
        assert_eq!(header(&got, "etag"), format!("\"{sha}\""));
        assert_eq!(header(&got, "accept-ranges"), "bytes");
        assert_eq!(
            header(&got, "cache-control"),
            "private, max-age=31536000, immutable"
        );
    }
    let only_head = h
        .request(
            Request::builder()
                .method("HEAD")
                .uri(format!("/v1/blobs/{full_sha}"))
                .header("authorization", format!("Bearer {}", desk.token))
                .body(Body::empty())
                .expect("request"),
        )
        .await;
    assert_eq!(only_head.status, StatusCode::OK);
    assert_eq!(header(&only_head, "content-length"), full.len().to_string());
    assert!(only_head.body.is_empty());
}

#[tokio::test]
async fn an_upload_cut_halfway_resumes_from_the_offset_head_reports() {
    let Scene {
        h, rider, ticket, ..
    } = scene().await;
    let bytes = photo(300_000, 3);
    let (location, offset) = start(&h, &rider.token, &bytes, &ticket).await;
    assert_eq!(offset, 0);
    assert!(location.starts_with("/v1/blobs/uploads/"));
    let half = 150_000;
    let first = patch(&h, &rider.token, &location, 0, &bytes[..half]).await;
    assert_eq!(first.status, StatusCode::NO_CONTENT);

    // The connection drops; the device asks where the upload stands.
    let asked = head(&h, &rider.token, &location).await;
    assert_eq!(asked.status, StatusCode::OK);
    assert_eq!(offset_of(&asked), half as u64);
    assert_eq!(header(&asked, "upload-length"), "300000");
    assert_eq!(header(&asked, "cache-control"), "no-store");
    // Asking to create it again (the Location was lost) gives the same upload and offset.
    let (again, offset) = start(&h, &rider.token, &bytes, &ticket).await;
    assert_eq!((again.as_str(), offset), (location.as_str(), half as u64));

    // A stale offset is refused before the body is read, and counted.
    let stale = patch(&h, &rider.token, &location, 0, &bytes[..half]).await;
    assert_eq!(stale.error(StatusCode::CONFLICT).code, "offset_mismatch");
    let rest = patch(&h, &rider.token, &location, half as u64, &bytes[half..]).await;
    assert_eq!(rest.status, StatusCode::NO_CONTENT);
    assert_eq!(offset_of(&rest), 300_000);
    assert_eq!(counters(&h, &location), (3, 300_000, "done".into()));
    let done = head(&h, &rider.token, &location).await;
    assert_eq!(offset_of(&done), 300_000);
    assert_eq!(blob_rows(&h, &sha256(&bytes)), 1);
}

#[tokio::test]
async fn a_connection_cut_mid_body_keeps_the_bytes_that_arrived() {
    let Scene {
        h, rider, ticket, ..
    } = scene().await;
    let bytes = photo(200_000, 4);
    let (location, _) = start(&h, &rider.token, &bytes, &ticket).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("binds");
    let addr = listener.local_addr().expect("address");
    let serving = tokio::spawn(axum::serve(listener, h.app.clone()).into_future());

    // A PATCH announcing 100,000 bytes whose connection dies after 60,000 of them.
    let mut stream = tokio::net::TcpStream::connect(addr)
        .await
        .expect("connects");
    let head_lines = format!(
        "PATCH {location} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\n\
         Tus-Resumable: 1.0.0\r\nUpload-Offset: 0\r\nContent-Type: {OFFSET_CONTENT_TYPE}\r\n\
         Content-Length: 100000\r\n\r\n",
        rider.token
    );
    stream
        .write_all(head_lines.as_bytes())
        .await
        .expect("writes");
    stream.write_all(&bytes[..60_000]).await.expect("writes");
    stream.flush().await.expect("flushes");
    drop(stream);

    // The server notices the cut on its own time; the device only asks.
    let mut offset = 0;
    for _ in 0..200 {
        offset = offset_of(&head(&h, &rider.token, &location).await);
        if offset > 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert_eq!(offset, 60_000, "the bytes before the cut are kept");
    let rest = patch(&h, &rider.token, &location, offset, &bytes[60_000..]).await;
    assert_eq!(rest.status, StatusCode::NO_CONTENT);
    assert_eq!(
        counters(&h, &location),
        (2, 200_000, "done".into()),
        "nothing was sent twice"
    );
    serving.abort();
}

#[tokio::test]
async fn bytes_that_do_not_match_their_hash_are_discarded() {
    let Scene {
        h,
        mut rider,
        desk,
        ticket,
        ..
    } = scene().await;
    let claimed = photo(50_000, 5);
    let sent = photo(50_000, 6);
    let sha = sha256(&claimed);
    let (location, _) = start(&h, &rider.token, &claimed, &ticket).await;
    let reply = patch(&h, &rider.token, &location, 0, &sent).await;
    assert_eq!(reply.status.as_u16(), 460);
    assert_eq!(
        reply.error(reply.status).code,
        "blob_hash_mismatch",
        "{reply:?}"
    );
    assert_eq!(counters(&h, &location), (1, 50_000, "failed".into()));
    let gone = head(&h, &rider.token, &location).await;
    assert_eq!(gone.status, StatusCode::GONE);
    assert_eq!(blob_rows(&h, &sha), 0);
    let tenant_dir = h.data_dir().join("blobs").join(&rider.actor.tenant);
    assert!(!tenant_dir.join("blobs").join(&sha[..2]).join(&sha).exists());
    let partial = location.rsplit('/').next().expect("id");
    assert!(!tenant_dir.join("partial").join(partial).exists());

    // Even attached to a ticket, a blob that was never stored is nobody's.
    attach(&h, &mut rider, &ticket, &sha, None).await;
    assert_eq!(
        download(&h, &desk.token, &sha, None)
            .await
            .error(StatusCode::NOT_FOUND)
            .code,
        "not_found"
    );
}

#[tokio::test]
async fn a_blob_the_tenant_has_is_not_sent_twice_but_another_tenant_sends_its_own() {
    let Scene {
        h,
        rider,
        mut desk,
        ticket,
        ..
    } = scene().await;
    let bytes = photo(40_000, 7);
    let first = upload(&h, &rider.token, &bytes, &ticket).await;
    let desk_ticket = help_request_by_desk(&h, &mut desk).await;
    let (location, offset) = start(&h, &desk.token, &bytes, &desk_ticket).await;
    assert_ne!(location, first);
    assert_eq!(offset, 40_000, "nothing to send");
    assert_eq!(counters(&h, &location), (0, 0, "done".into()));
    assert_eq!(offset_of(&head(&h, &desk.token, &location).await), 40_000);
    assert_eq!(blob_rows(&h, &sha256(&bytes)), 1);
    let wrong_length = create(
        &h,
        &desk.token,
        40_001,
        &metadata(&sha256(&bytes), &desk_ticket),
    )
    .await;
    assert_eq!(
        wrong_length.error(StatusCode::BAD_REQUEST).code,
        "bad_request"
    );

    h.tenant("globex");
    let stranger = h.user("globex", "ops", Role::Dispatcher, None);
    let stranger = h.login(&stranger).await;
    let (_, offset) = start(&h, &stranger.token, &bytes, "not-yet-synced").await;
    assert_eq!(offset, 0, "never deduplicated across tenants");
}

async fn help_request_by_desk(h: &Harness, desk: &mut Device) -> String {
    let (id, change) = desk.create(support::repair("pump"));
    let pushed = desk.sync(h, &[(&id, &change)]).await;
    assert!(pushed.rejected.is_empty());
    id
}

#[tokio::test]
async fn limits_and_malformed_requests_are_refused_with_their_codes() {
    let Scene {
        h, rider, ticket, ..
    } = scene().await;
    let token = rider.token.as_str();
    let sha = sha256(b"x");
    let meta = metadata(&sha, &ticket);

    let too_big = create(&h, token, MAX_BLOB_BYTES + 1, &meta).await;
    assert_eq!(
        too_big.error(StatusCode::PAYLOAD_TOO_LARGE).code,
        "blob_too_large"
    );
    let empty = create(&h, token, 0, &meta).await;
    assert_eq!(empty.error(StatusCode::BAD_REQUEST).code, "bad_request");

    let no_tus = h
        .request(
            Request::builder()
                .method("POST")
                .uri("/v1/blobs")
                .header("authorization", format!("Bearer {token}"))
                .header("upload-length", "10")
                .header("upload-metadata", meta.as_str())
                .body(Body::empty())
                .expect("request"),
        )
        .await;
    assert_eq!(
        no_tus.error(StatusCode::PRECONDITION_FAILED).code,
        "unsupported_tus_version"
    );
    assert_eq!(header(&no_tus, "tus-version"), "1.0.0");

    for bad in [
        "garbage".to_owned(),
        String::new(),
        metadata(&"A".repeat(64), &ticket),
        metadata(&sha, ""),
        UploadMetadata {
            sha256: sha.clone(),
            mime: "text/html".into(),
            kind: BlobKind::Thumb,
            ticket_id: ticket.clone(),
        }
        .encode(),
    ] {
        let reply = create(&h, token, 10, &bad).await;
        assert_eq!(
            reply.error(StatusCode::BAD_REQUEST).code,
            "bad_request",
            "{bad}"
        );
    }
    let no_length = h
        .request(
            tus("POST", "/v1/blobs", token)
                .header("upload-metadata", meta.as_str())
                .body(Body::empty())
                .expect("request"),
        )
        .await;
    assert_eq!(no_length.error(StatusCode::BAD_REQUEST).code, "bad_request");

    // PATCH bodies: at most MAX_PATCH_BYTES, never past the length, only as offset streams.
    let big = (MAX_PATCH_BYTES + 10) as u64;
    let created = create(&h, token, big, &metadata(&sha256(b"big"), &ticket)).await;
    let location = header(&created, "location").to_owned();
    let over = patch(&h, token, &location, 0, &vec![0; MAX_PATCH_BYTES + 1]).await;
    assert_eq!(
        over.error(StatusCode::PAYLOAD_TOO_LARGE).code,
        "body_too_large"
    );
    let small = create(&h, token, 10, &metadata(&sha256(b"small"), &ticket)).await;
    let small = header(&small, "location").to_owned();
    let past = patch(&h, token, &small, 0, &[0; 11]).await;
    assert_eq!(past.error(StatusCode::BAD_REQUEST).code, "bad_request");
    let wrong_type = h
        .request(
            tus("PATCH", &small, token)
                .header("upload-offset", "0")
                .header("content-type", "application/cbor")
                .body(Body::from(vec![0; 5]))
                .expect("request"),
        )
        .await;
    assert_eq!(
        wrong_type.error(StatusCode::UNSUPPORTED_MEDIA_TYPE).code,
        "unsupported_media_type"
    );
    let unsupported_version = h
        .request(
            Request::builder()
                .method("PATCH")
                .uri(&small)
                .header("authorization", format!("Bearer {token}"))
                .header("tus-resumable", "0.2.2")
                .header("upload-offset", "0")
                .header("content-type", OFFSET_CONTENT_TYPE)
                .body(Body::from(vec![0; 5]))
                .expect("request"),
        )
        .await;
    assert_eq!(unsupported_version.status, StatusCode::PRECONDITION_FAILED);
    assert_eq!(counters(&h, &small).0, 1, "refused PATCHes count too");
    assert_eq!(offset_of(&head(&h, token, &small).await), 0);
}

#[tokio::test]
async fn ranges_come_back_as_206_and_impossible_ones_as_416() {
    let Scene {
        h,
        mut rider,
        ticket,
        ..
    } = scene().await;
    let bytes = photo(1000, 8);
    let sha = sha256(&bytes);
    upload(&h, &rider.token, &bytes, &ticket).await;
    attach(&h, &mut rider, &ticket, &sha, None).await;
    for (range, expected, content_range) in [
        ("bytes=0-99", &bytes[..100], "bytes 0-99/1000"),
        ("bytes=-100", &bytes[900..], "bytes 900-999/1000"),
        ("bytes=990-", &bytes[990..], "bytes 990-999/1000"),
    ] {
        let got = download(&h, &rider.token, &sha, Some(range)).await;
        assert_eq!(got.status, StatusCode::PARTIAL_CONTENT, "{range}");
        assert_eq!(got.body, expected, "{range}");
        assert_eq!(header(&got, "content-range"), content_range);
        assert_eq!(header(&got, "content-length"), expected.len().to_string());
    }
    let beyond = download(&h, &rider.token, &sha, Some("bytes=1000-")).await;
    assert_eq!(
        beyond.error(StatusCode::RANGE_NOT_SATISFIABLE).code,
        "range_not_satisfiable"
    );
    assert_eq!(header(&beyond, "content-range"), "bytes */1000");
    let several = download(&h, &rider.token, &sha, Some("bytes=0-1,5-6")).await;
    assert_eq!((several.status, several.body.len()), (StatusCode::OK, 1000));
}

#[tokio::test]
async fn only_those_who_may_see_a_referencing_ticket_download() {
    let Scene {
        h,
        mut rider,
        other_rider,
        desk,
        ticket,
    } = scene().await;
    let bytes = photo(5000, 9);
    let sha = sha256(&bytes);
    let location = upload(&h, &rider.token, &bytes, &ticket).await;

    // Stored but named by no ticket: nobody, not even the uploader.
    for token in [&rider.token, &desk.token] {
        let got = download(&h, token, &sha, None).await;
        assert_eq!(got.error(StatusCode::NOT_FOUND).code, "not_found");
    }
    attach(&h, &mut rider, &ticket, &sha, None).await;
    assert_eq!(
        download(&h, &rider.token, &sha, None).await.status,
        StatusCode::OK
    );
    assert_eq!(
        download(&h, &desk.token, &sha, None).await.status,
        StatusCode::OK
    );
    let other = download(&h, &other_rider.token, &sha, None).await;
    assert_eq!(other.error(StatusCode::NOT_FOUND).code, "not_found");
    // Nor may another rider find the upload, or start one for a ticket they do not see.
    assert_eq!(
        head(&h, &other_rider.token, &location).await.status,
        StatusCode::NOT_FOUND
    );
    let theirs = create(
        &h,
        &other_rider.token,
        10,
        &metadata(&sha256(b"n"), &ticket),
    )
    .await;
    assert_eq!(theirs.error(StatusCode::NOT_FOUND).code, "not_found");

    // Another tenant's users see neither the blob nor the upload.
    h.tenant("globex");
    let stranger = h.user("globex", "boss", Role::Admin, None);
    let stranger = h.login(&stranger).await;
    assert_eq!(
        download(&h, &stranger.token, &sha, None).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        head(&h, &stranger.token, &location).await.status,
        StatusCode::NOT_FOUND
    );
    let poke = patch(&h, &stranger.token, &location, 0, b"x").await;
    assert_eq!(poke.error(StatusCode::NOT_FOUND).code, "not_found");
    // Ticket ids are scoped to the tenant: naming Acme's ticket from Globex answers exactly as
    // naming a ticket nobody has (an upload of Globex's own, for a ticket yet to sync).
    let into_theirs = create(&h, &stranger.token, 10, &metadata(&sha256(b"m"), &ticket)).await;
    let unknown_id = uuid::Uuid::now_v7().to_string();
    let into_nothing = create(
        &h,
        &stranger.token,
        10,
        &metadata(&sha256(b"o"), &unknown_id),
    )
    .await;
    assert_eq!(into_theirs.status, into_nothing.status);
    assert_eq!(into_theirs.status, StatusCode::CREATED);
    assert_eq!(
        download(&h, &stranger.token, &sha, None).await.status,
        StatusCode::NOT_FOUND,
        "and it opens nothing of Acme's"
    );
    // A malformed name is just as unknown.
    assert_eq!(
        download(&h, &rider.token, "..%2F..%2Fetc", None)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn a_ticket_cancelled_stays_visible_to_its_reporter_and_so_do_its_photos() {
    let Scene {
        h,
        mut rider,
        ticket,
        ..
    } = scene().await;
    let bytes = photo(3000, 10);
    let sha = sha256(&bytes);
    upload(&h, &rider.token, &bytes, &ticket).await;
    attach(&h, &mut rider, &ticket, &sha, None).await;
    let cancel = rider.edit(
        &ticket,
        Edit::SetStatus {
            status: Status::Cancelled,
        },
    );
    rider.sync(&h, &[(&ticket, &cancel)]).await;
    assert_eq!(
        download(&h, &rider.token, &sha, None).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn unfinished_uploads_expire_and_a_device_may_have_only_so_many() {
    let clock = Arc::new(ManualClock::at(1_795_400_000_000));
    let Scene {
        h, rider, ticket, ..
    } = scene_with(Harness::with_clock(clock.clone())).await;
    let bytes = photo(1000, 11);
    let (location, _) = start(&h, &rider.token, &bytes, &ticket).await;
    assert_eq!(
        patch(&h, &rider.token, &location, 0, &bytes[..10])
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    clock.advance(UPLOAD_TTL_MS);
    // (HEAD answers carry no body, so only the status tells.)
    assert_eq!(
        head(&h, &rider.token, &location).await.status,
        StatusCode::GONE
    );
    let late = patch(&h, &rider.token, &location, 10, &bytes[10..]).await;
    assert_eq!(late.error(StatusCode::GONE).code, "upload_gone");

    // The next upload created sweeps it away, bytes and all.
    let (fresh, offset) = start(&h, &rider.token, &photo(10, 12), &ticket).await;
    assert_eq!(offset, 0);
    assert_eq!(
        head(&h, &rider.token, &location).await.status,
        StatusCode::NOT_FOUND
    );
    let partial = h
        .data_dir()
        .join("blobs")
        .join(&rider.actor.tenant)
        .join("partial");
    let left: Vec<_> = std::fs::read_dir(&partial)
        .expect("partial dir")
        .map(|e| e.expect("entry").file_name())
        .collect();
    assert_eq!(left, [fresh.rsplit('/').next().expect("id")]);

    // 64 unfinished uploads per device, then 429 until some finish or expire.
    for n in 1..64u64 {
        let (_, offset) = start(&h, &rider.token, &photo(10, 100 + n), &ticket).await;
        assert_eq!(offset, 0);
    }
    let one_more = create(&h, &rider.token, 10, &metadata(&sha256(b"65"), &ticket)).await;
    assert_eq!(
        one_more.error(StatusCode::TOO_MANY_REQUESTS).code,
        "too_many_uploads"
    );
}

#[tokio::test]
async fn the_lane_needs_a_device_token() {
    let Scene { h, ticket, .. } = scene().await;
    let meta = metadata(&sha256(b"z"), &ticket);
    let anonymous = h
        .request(
            Request::builder()
                .method("POST")
                .uri("/v1/blobs")
                .header("tus-resumable", "1.0.0")
                .header("upload-length", "1")
                .header("upload-metadata", meta.as_str())
                .body(Body::empty())
                .expect("request"),
        )
        .await;
    assert_eq!(
        anonymous.error(StatusCode::UNAUTHORIZED).code,
        "unauthorized"
    );
    let admin_user = h.user("acme", "api", Role::Agent, None);
    let with_user_token = create(&h, &admin_user.api_token, 1, &meta).await;
    assert_eq!(
        with_user_token.error(StatusCode::FORBIDDEN).code,
        "forbidden"
    );
}
