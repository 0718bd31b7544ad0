//! Photos in an S3 bucket that two `fieldwork serve` replicas share (`--blobs s3://…`, on one
//! PostgreSQL database, behind the harness's round-robin proxy): an upload begun on one replica
//! resumes on the other after the first crashed — its bytes so far are in the bucket, not on the
//! dead replica's disk — and every replica serves the finished photo, whole or by range; an
//! admin's erase removes it from the bucket. The bucket is a new prefix on s3s-fs (started by
//! `scripts/s3.sh`) or in `FIELDWORK_TEST_S3`'s; the data directory never gets a photo file
//! (`tests/common`'s `Server` checks).

mod common;

use common::{Device, Phone, Server};
use fieldwork_core::photo::PhotoOptions;
use fieldwork_core::sync::blob_client::Download;
use fieldwork_core::sync::client::ServerClient;
use fieldwork_core::sync::{self, RetryPolicy};
use fieldwork_protocol::blobs::{
    BlobKind, ByteRange, MIME_JPEG, UPLOAD_CHUNK_BYTES, UploadMetadata,
};
use fieldwork_protocol::sync::DeviceRegistration;
use fieldwork_test_images as samples;

/// A device's token for the rider: a device registered with their user token.
fn device_token(client: &ServerClient, user_token: &str) -> String {
    let registration = DeviceRegistration {
        actor_id: fieldwork_core::store::sha256_hex(b"the raw tus client")[..32].to_owned(),
        name: "raw tus client".to_owned(),
    };
    sync::block_on(client.register_device(user_token, &registration))
        .expect("runtime")
        .expect("the device registers")
        .token
}

/// The photo's bytes as `client`'s replica serves them (from `range` on, if given).
fn fetch(client: &ServerClient, token: &str, sha256: &str, range: Option<ByteRange>) -> Vec<u8> {
    sync::block_on(async {
        match client.download_blob(token, sha256, range).await {
            Ok(Download::Body { response, .. }) => response.bytes().await.expect("a body").to_vec(),
            Ok(Download::Missing) => panic!("the replica at {} lacks the photo", client.base()),
            Err(e) => panic!("downloading from {} failed: {e}", client.base()),
        }
    })
    .expect("runtime")
}

#[test]
fn an_upload_begun_on_a_replica_that_crashed_resumes_on_the_other_from_the_bucket() {
    let mut server = Server::start_replicas_on_s3(&[]);
    let tenant = server.tenant("acme");
    let (_, rider_token) = server.user(&tenant, "rider", "rider", None);
    let (_, disp_token) = server.user(&tenant, "dispatcher", "ops", None);

    // A ticket with a large photo, the ticket (not the file) synced through the proxy.
    let rider = Phone::login(&server.url, &rider_token);
    let id = rider.store.help_request(None, None, None).expect("help").id;
    let options = PhotoOptions {
        max_edge: 3200,
        ..PhotoOptions::default()
    };
    let view = rider
        .store
        .attach_photo(&id, &samples::photo_like_jpeg(3200, 2400), None, &options)
        .expect("attaches");
    let attachment = view.attachments[0].clone();
    let photo = rider
        .store
        .blob(&attachment.sha256)
        .expect("reads")
        .expect("kept on the phone");
    assert!(
        photo.len() > 3 * UPLOAD_CHUNK_BYTES,
        "{} bytes: too few chunks to test",
        photo.len()
    );
    let engine = rider.engine();
    sync::block_on(engine.sync_tickets(RetryPolicy::default()))
        .expect("runtime")
        .expect("tickets sync");

    // The upload starts on replica 0: two chunks go up.
    let urls: Vec<String> = server
        .replica_urls()
        .iter()
        .map(|u| u.to_string())
        .collect();
    let (first, second) = (
        ServerClient::new(&urls[0]).expect("a client"),
        ServerClient::new(&urls[1]).expect("a client"),
    );
    let token = device_token(&first, &rider_token);
    let metadata = UploadMetadata {
        sha256: attachment.sha256.clone(),
        mime: MIME_JPEG.to_owned(),
        kind: BlobKind::Full,
        ticket_id: id.clone(),
    };
    let length = photo.len() as u64;
    let upload = sync::block_on(first.create_upload(&token, &metadata, length))
        .expect("runtime")
        .expect("the upload starts");
    assert_eq!(upload.offset, 0);
    let mut offset = 0;
    for _ in 0..2 {
        let end = offset + UPLOAD_CHUNK_BYTES;
        let chunk = photo[offset..end].to_vec();
        offset = sync::block_on(first.patch_upload(&token, &upload.location, offset as u64, chunk))
            .expect("runtime")
            .expect("a chunk goes up") as usize;
    }
    assert_eq!(offset, 2 * UPLOAD_CHUNK_BYTES);

    // Replica 0 crashes. The other one knows where the upload stands (the database) and has its
    // bytes (the bucket): the device resumes there and finishes.
    server.kill_replica(0);
    let at = sync::block_on(second.upload_offset(&token, &upload.location))
        .expect("runtime")
        .expect("HEAD answers")
        .expect("the upload is known");
    assert_eq!(
        at as usize, offset,
        "the other replica sees the same offset"
    );
    while offset < photo.len() {
        let end = (offset + UPLOAD_CHUNK_BYTES).min(photo.len());
        let chunk = photo[offset..end].to_vec();
        offset = sync::block_on(second.patch_upload(&token, &upload.location, offset as u64, chunk))
            .expect("runtime")
            .unwrap_or_else(|e| panic!("a chunk at {offset} goes up on the other replica: {e}"))
            as usize;
    }
    assert_eq!(offset, photo.len(), "the last chunk stored the photo");
    let objects = |server: &Server| server.bucket().expect("in a bucket").object_count();
    assert_eq!(
        objects(&server),
        1,
        "the bucket holds the photo and no chunk of its upload"
    );

    // Both replicas serve it: the one that finished it, and the crashed one once back.
    server.restart_replica(0);
    let first = ServerClient::new(server.replica_urls()[0]).expect("a client");
    for client in [&first, &second] {
        assert_eq!(fetch(client, &token, &attachment.sha256, None), photo);
        let range = ByteRange {
            start: length - 1000,
            end: length - 1,
        };
        assert_eq!(
            fetch(client, &token, &attachment.sha256, Some(range)),
            photo[photo.len() - 1000..],
            "a range from {}",
            client.base()
        );
    }

    // The phone's own lane learns the server has the photo (nothing sent twice) and sends the
    // thumbnail; a dispatcher's device fetches the photo through the proxy.
    let moved = sync::block_on(engine.move_blobs())
        .expect("runtime")
        .expect("the lane runs");
    assert_eq!(moved.failed, 0, "{moved:?}");
    assert!(rider.store.pending_uploads().expect("pending").is_empty());
    let dispatcher = Device::login(&server.url, &disp_token);
    dispatcher.sync();
    let out = tempfile::tempdir().expect("dir");
    let file = out.path().join("photo.jpg");
    dispatcher.json(&[
        "fetch-blob",
        &attachment.sha256,
        "--out",
        file.to_str().expect("utf-8"),
    ]);
    assert_eq!(std::fs::read(&file).expect("fetched"), photo);
    assert_eq!(objects(&server), 2, "the photo and its thumbnail");

    // `fieldwork admin --blobs` erases the photo from the bucket, file and thumbnail.
    let erased = server.admin(&[
        "erase",
        "--tenant",
        "acme",
        "--ticket",
        &id,
        "--photo",
        &attachment.sha256,
        "--by",
        "privacy.officer",
    ]);
    assert_eq!(erased["files_removed"], 2, "{erased}");
    assert_eq!(objects(&server), 0, "no byte of the photo is left");
}
