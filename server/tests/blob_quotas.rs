//! What one tenant, user or device may store and register, through the real server: quotas
//! checked at upload creation (open uploads included, so parallel uploads cannot overshoot),
//! compressed upload bodies refused before they are inflated, a cap on devices per user, and
//! blobs no ticket names collected after a grace period.

mod support;

use std::io::Write;
use std::path::Path;
use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use fieldwork_core::Role;
use fieldwork_core::clock::ManualClock;
use fieldwork_core::ticket::ActorId;
use fieldwork_protocol::blobs::{MAX_BLOB_BYTES, MAX_PATCH_BYTES, OFFSET_CONTENT_TYPE};
use fieldwork_protocol::sync::{self as protocol, DeviceRegistration, LoginRequest};
use fieldwork_server::blobs::collect_now;
use fieldwork_server::config::Quotas;
use fieldwork_server::storage::TenantQuotas;
use support::tus::{
    attach, blob_rows, create, download, header, help_request, metadata, patch, photo, sha256,
    start, tus, upload,
};
use support::{Device, Harness, PASSWORD, Reply, User};
use tower::ServiceExt;

const T0: i64 = 1_795_400_000_000;
const MIB: u64 = 1024 * 1024;
const DAY_MS: i64 = 24 * 60 * 60 * 1000;

/// A server on a manual clock with `quotas`, tenant `acme`, and a rider with a ticket.
struct Scene {
    h: Harness,
    clock: Arc<ManualClock>,
    rider_user: User,
    rider: Device,
    ticket: String,
}

async fn scene(quotas: Quotas) -> Scene {
    let clock = Arc::new(ManualClock::at(T0));
    let h = Harness::with_quotas(clock.clone(), quotas);
    h.tenant("acme");
    let rider_user = h.user("acme", "rider1", Role::Rider, None);
    let mut rider = h.login(&rider_user).await;
    let ticket = help_request(&h, &mut rider).await;
    Scene {
        h,
        clock,
        rider_user,
        rider,
        ticket,
    }
}

/// Every byte under the blob store: finished blobs and partial uploads.
fn bytes_on_disk(h: &Harness) -> u64 {
    fn walk(dir: &Path) -> u64 {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return 0;
        };
        entries
            .map(|e| e.expect("entry"))
            .map(|e| {
                let meta = e.metadata().expect("metadata");
                if meta.is_dir() {
                    walk(&e.path())
                } else {
                    meta.len()
                }
            })
            .sum()
    }
    walk(&h.data_dir().join("blobs"))
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    encoder.write_all(bytes).expect("compresses");
    encoder.finish().expect("compresses")
}

async fn encoded_patch(
    h: &Harness,
    token: &str,
    location: &str,
    offset: u64,
    encoding: &str,
    body: Vec<u8>,
) -> Reply {
    let request = tus("PATCH", location, token)
        .header("upload-offset", offset.to_string())
        .header("content-type", OFFSET_CONTENT_TYPE)
        .header("content-encoding", encoding)
        .body(Body::from(body))
        .expect("request");
    h.request(request).await
}

fn assert_over_quota(reply: &Reply, whose: &str) -> String {
    let error = reply.error(StatusCode::INSUFFICIENT_STORAGE);
    assert_eq!(error.code, "quota_exceeded");
    assert!(error.message.contains(whose), "{}", error.message);
    assert!(error.message.contains("ask an admin"), "{}", error.message);
    error.message
}

#[tokio::test]
async fn ten_gzip_patches_of_16_mib_store_nothing_beyond_the_quota() {
    let Scene {
        h, rider, ticket, ..
    } = scene(Quotas {
        user_blob_bytes: 24 * MIB,
        ..Quotas::default()
    })
    .await;
    let token = rider.token.as_str();
    let mut accepted = Vec::new();
    let mut wire_bytes = 0;
    for i in 0..10u8 {
        // Compressible content: 16 MiB of one byte value gzips to about 16 KB.
        let content = vec![i; MAX_BLOB_BYTES as usize];
        let sha = sha256(&content);
        let created = create(&h, token, MAX_BLOB_BYTES, &metadata(&sha, &ticket)).await;
        if created.status != StatusCode::CREATED {
            assert_over_quota(&created, "this user's");
            continue;
        }
        let location = header(&created, "location").to_owned();
        for (n, chunk) in content.chunks(MAX_PATCH_BYTES).enumerate() {
            let body = gzip(chunk);
            wire_bytes += body.len();
            let offset = (n * MAX_PATCH_BYTES) as u64;
            let sent = encoded_patch(&h, token, &location, offset, "gzip", body).await;
            let error = sent.error(StatusCode::UNSUPPORTED_MEDIA_TYPE);
            assert_eq!(error.code, "unsupported_media_type");
            assert!(
                error.message.contains("Content-Encoding"),
                "{}",
                error.message
            );
            assert_eq!(header(&sent, "accept-encoding"), "identity");
            assert_eq!(header(&sent, "tus-resumable"), "1.0.0");
        }
        accepted.push((location, content));
    }
    assert_eq!(accepted.len(), 1, "one 16 MiB upload fits a 24 MiB quota");
    assert!(wire_bytes < 100_000);
    assert_eq!(bytes_on_disk(&h), 0, "nothing inflated was written");

    // Other encodings and spellings are refused alike; a gzip bomb far past the upload's
    // length is refused before a byte of it is inflated.
    let (location, content) = &accepted[0];
    let bomb = gzip(&vec![0; 64 * MIB as usize]);
    for (encoding, body) in [
        ("deflate", gzip(b"x")),
        ("br", b"x".to_vec()),
        ("GZIP", gzip(b"x")),
        ("gzip, identity", gzip(b"x")),
        ("gzip", bomb),
    ] {
        let sent = encoded_patch(&h, token, location, 0, encoding, body).await;
        assert_eq!(
            sent.error(StatusCode::UNSUPPORTED_MEDIA_TYPE).code,
            "unsupported_media_type",
            "{encoding}"
        );
    }
    assert_eq!(bytes_on_disk(&h), 0);

    // Raw bytes (`identity` is no encoding at all) are what the lane takes; what is stored
    // never passes the quota, and the next upload is refused at creation.
    let first = encoded_patch(
        &h,
        token,
        location,
        0,
        "identity",
        content[..MAX_PATCH_BYTES].to_vec(),
    )
    .await;
    assert_eq!(first.status, StatusCode::NO_CONTENT, "{first:?}");
    let mut offset = MAX_PATCH_BYTES;
    while offset < content.len() {
        let end = offset + MAX_PATCH_BYTES;
        let sent = patch(&h, token, location, offset as u64, &content[offset..end]).await;
        assert_eq!(sent.status, StatusCode::NO_CONTENT, "{sent:?}");
        offset = end;
    }
    assert_eq!(bytes_on_disk(&h), MAX_BLOB_BYTES);
    let more = create(
        &h,
        token,
        MAX_BLOB_BYTES,
        &metadata(&sha256(b"more"), &ticket),
    )
    .await;
    assert_over_quota(&more, "this user's");
    assert!(bytes_on_disk(&h) <= 24 * MIB);
}

#[tokio::test]
async fn an_upload_over_the_remaining_quota_is_refused_when_it_is_created() {
    let Scene {
        h, rider, ticket, ..
    } = scene(Quotas {
        tenant_blob_bytes: 1_500_000,
        user_blob_bytes: 1_000_000,
        ..Quotas::default()
    })
    .await;
    let stored = photo(600_000, 1);
    upload(&h, &rider.token, &stored, &ticket).await;

    let too_big = create(
        &h,
        &rider.token,
        500_000,
        &metadata(&sha256(&photo(500_000, 2)), &ticket),
    )
    .await;
    let message = assert_over_quota(&too_big, "this user's");
    assert!(
        message.contains("needs 500000 bytes") && message.contains("400000 of 1000000"),
        "{message}"
    );
    let fits = photo(400_000, 3);
    let (_, offset) = start(&h, &rider.token, &fits, &ticket).await;
    assert_eq!(offset, 0, "exactly the remaining quota fits");
    let whole_blob = create(
        &h,
        &rider.token,
        MAX_BLOB_BYTES,
        &metadata(&sha256(b"big"), &ticket),
    )
    .await;
    assert_over_quota(&whole_blob, "quota");

    // The tenant's quota holds across its users: 600,000 stored + 400,000 in flight.
    let other = h.user("acme", "rider2", Role::Rider, None);
    let mut other = h.login(&other).await;
    let their_ticket = help_request(&h, &mut other).await;
    let over_tenant = create(
        &h,
        &other.token,
        600_000,
        &metadata(&sha256(&photo(600_000, 4)), &their_ticket),
    )
    .await;
    assert_over_quota(&over_tenant, "the organisation's");
    let (_, offset) = start(&h, &other.token, &photo(500_000, 5), &their_ticket).await;
    assert_eq!(offset, 0);

    // A blob the tenant already stores costs nothing: both users get it at once.
    for (device, ticket) in [(&rider, &ticket), (&other, &their_ticket)] {
        let (_, offset) = start(&h, &device.token, &stored, ticket).await;
        assert_eq!(offset, stored.len() as u64, "nothing to send");
    }

    let usage = h.admin.usage("acme").expect("usage");
    assert_eq!(usage.tenant.stored_bytes, 600_000);
    assert_eq!(usage.tenant.open_bytes, 900_000);
    assert_eq!(usage.users[0].name, "rider1");
    assert_eq!(usage.users[0].usage.held_bytes(), 1_000_000);
    assert_eq!(usage.users[1].usage.held_bytes(), 500_000);

    // An admin raises the tenant's quota for this tenant alone.
    h.admin
        .set_tenant_quotas(
            "acme",
            &TenantQuotas {
                blob_bytes: Some(10 * MIB),
                user_blob_bytes: Some(5 * MIB),
                devices_per_user: None,
            },
        )
        .expect("sets");
    let (_, offset) = start(&h, &rider.token, &photo(500_000, 2), &ticket).await;
    assert_eq!(offset, 0);
}

#[tokio::test]
async fn parallel_uploads_cannot_overshoot_the_quota() {
    let Scene {
        h, rider, ticket, ..
    } = scene(Quotas {
        user_blob_bytes: MIB,
        ..Quotas::default()
    })
    .await;
    let mut tasks = Vec::new();
    for seed in 0..10 {
        let request = tus("POST", "/v1/blobs", &rider.token)
            .header("upload-length", "300000")
            .header(
                "upload-metadata",
                metadata(&sha256(&photo(300_000, 100 + seed)), &ticket),
            )
            .body(Body::empty())
            .expect("request");
        let app = h.app.clone();
        tasks.push(tokio::spawn(async move {
            app.oneshot(request).await.expect("answers").status()
        }));
    }
    let mut statuses = Vec::new();
    for task in tasks {
        statuses.push(task.await.expect("task"));
    }
    let created = statuses
        .iter()
        .filter(|s| **s == StatusCode::CREATED)
        .count();
    let refused = statuses
        .iter()
        .filter(|s| **s == StatusCode::INSUFFICIENT_STORAGE)
        .count();
    assert_eq!((created, refused), (3, 7), "{statuses:?}");

    // Nothing is stored yet: open uploads hold the quota by their declared length.
    let usage = h.admin.usage("acme").expect("usage");
    assert_eq!(
        (usage.tenant.stored_bytes, usage.tenant.open_bytes),
        (0, 900_000)
    );
    let fourth = create(
        &h,
        &rider.token,
        300_000,
        &metadata(&sha256(b"4th"), &ticket),
    )
    .await;
    assert_over_quota(&fourth, "this user's");
}

async fn login_as(h: &Harness, user: &User, actor: &ActorId) -> Reply {
    let request = LoginRequest {
        tenant: user.tenant.clone(),
        user: user.name.clone(),
        password: PASSWORD.into(),
        device: DeviceRegistration {
            actor_id: actor.to_hex_string(),
            name: "phone".into(),
        },
    };
    h.call("POST", "/v1/login", None, Some(protocol::encode(&request)))
        .await
}

async fn register_with_token(h: &Harness, user: &User) -> Reply {
    let registration = DeviceRegistration {
        actor_id: ActorId::random().to_hex_string(),
        name: "kiosk".into(),
    };
    h.call(
        "POST",
        "/v1/devices",
        Some(&user.api_token),
        Some(protocol::encode(&registration)),
    )
    .await
}

fn assert_too_many_devices(reply: &Reply) {
    let error = reply.error(StatusCode::FORBIDDEN);
    assert_eq!(error.code, "too_many_devices");
    assert!(error.message.contains("allowed (3)"), "{}", error.message);
    assert!(error.message.contains("ask an admin"), "{}", error.message);
}

#[tokio::test]
async fn a_user_may_register_only_so_many_devices_and_an_admin_frees_a_place() {
    let Scene {
        h,
        rider_user: user,
        rider: first,
        ..
    } = scene(Quotas {
        devices_per_user: 3,
        ..Quotas::default()
    })
    .await;
    let second = h.login(&user).await;
    let third = h.login(&user).await;
    assert_too_many_devices(&login_as(&h, &user, &ActorId::random()).await);
    assert_too_many_devices(&register_with_token(&h, &user).await);

    // A device already registered signs in again as itself.
    let again: fieldwork_protocol::sync::DeviceSession =
        login_as(&h, &user, &first.actor_id).await.ok();
    assert_eq!(again.device_id, first.device_id);

    // The admin sees the three and removes one; its token stops working at once.
    let devices = h.admin.list_devices("acme", "rider1").expect("lists");
    assert_eq!(devices.len(), 3);
    assert!(devices.iter().all(|d| d.removed_at.is_none()));
    let removed = h.admin.remove_device(&second.device_id).expect("removes");
    assert!(removed.removed_at.is_some());
    assert_eq!(removed.live_tokens, 0);
    let refused = h
        .call("GET", "/v1/me", Some(&second.token), None)
        .await
        .error(StatusCode::UNAUTHORIZED);
    assert_eq!(refused.code, "unauthorized");
    assert_eq!(
        h.call("GET", "/v1/me", Some(&third.token), None)
            .await
            .status,
        StatusCode::OK
    );

    // The freed place takes a new phone; the removed one counts again if it comes back.
    let new_phone = login_as(&h, &user, &ActorId::random()).await;
    assert_eq!(new_phone.status, StatusCode::OK);
    assert_too_many_devices(&login_as(&h, &user, &second.actor_id).await);
    h.admin
        .set_tenant_quotas(
            "acme",
            &TenantQuotas {
                devices_per_user: Some(4),
                ..TenantQuotas::default()
            },
        )
        .expect("sets");
    let back: fieldwork_protocol::sync::DeviceSession =
        login_as(&h, &user, &second.actor_id).await.ok();
    assert_eq!(back.device_id, second.device_id);

    // Registrations racing each other cannot overshoot the cap either.
    let other = h.user("acme", "kiosks", Role::Agent, None);
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let registration = DeviceRegistration {
            actor_id: ActorId::random().to_hex_string(),
            name: "kiosk".into(),
        };
        let request = Request::builder()
            .method("POST")
            .uri("/v1/devices")
            .header("authorization", format!("Bearer {}", other.api_token))
            .header("content-type", protocol::CONTENT_TYPE)
            .body(Body::from(protocol::encode(&registration)))
            .expect("request");
        let app = h.app.clone();
        tasks.push(tokio::spawn(async move {
            app.oneshot(request).await.expect("answers").status()
        }));
    }
    let mut ok = 0;
    for task in tasks {
        if task.await.expect("task") == StatusCode::OK {
            ok += 1;
        }
    }
    assert_eq!(ok, 4, "the tenant's cap of 4");
}

#[tokio::test]
async fn an_unnamed_blob_is_collected_after_the_grace_period_and_a_named_one_is_not() {
    let Scene {
        h,
        clock,
        mut rider,
        ticket,
        ..
    } = scene(Quotas::default()).await;
    let unnamed = photo(70_000, 1);
    let named = photo(50_000, 2);
    upload(&h, &rider.token, &unnamed, &ticket).await;
    upload(&h, &rider.token, &named, &ticket).await;
    attach(&h, &mut rider, &ticket, &sha256(&named), None).await;
    let tenant_dir = h.data_dir().join("blobs").join(&rider.actor.tenant);
    let file = |bytes: &[u8]| {
        let sha = sha256(bytes);
        tenant_dir.join("blobs").join(&sha[..2]).join(sha)
    };

    clock.advance(DAY_MS - 1);
    let early = collect_now(&h.state).await.expect("collects");
    assert_eq!(early.blobs, 0, "still within the grace period");
    clock.advance(1);
    let due = collect_now(&h.state).await.expect("collects");
    assert_eq!((due.blobs, due.bytes), (1, 70_000));
    assert_eq!(blob_rows(&h, &sha256(&unnamed)), 0);
    assert!(!file(&unnamed).exists());
    assert!(file(&named).exists());

    // Much later the named photo is still there and readable.
    clock.advance(30 * DAY_MS);
    assert_eq!(collect_now(&h.state).await.expect("collects").blobs, 0);
    let got = download(&h, &rider.token, &sha256(&named), None).await;
    assert_eq!((got.status, got.body), (StatusCode::OK, named.clone()));

    // The collected one must be sent again.
    let (_, offset) = start(&h, &rider.token, &unnamed, &ticket).await;
    assert_eq!(offset, 0);
}

#[tokio::test]
async fn finding_a_blob_already_stored_starts_its_grace_period_again() {
    let Scene {
        h,
        clock,
        rider_user,
        rider,
        ticket,
        ..
    } = scene(Quotas::default()).await;
    let bytes = photo(30_000, 3);
    upload(&h, &rider.token, &bytes, &ticket).await;
    clock.advance(DAY_MS - 1);
    // Another device of the user is told "already stored"; its ticket change is on its way.
    let tablet = h.login(&rider_user).await;
    let (_, offset) = start(&h, &tablet.token, &bytes, &ticket).await;
    assert_eq!(offset, bytes.len() as u64);
    clock.advance(1);
    assert_eq!(collect_now(&h.state).await.expect("collects").blobs, 0);
    clock.advance(DAY_MS - 1);
    assert_eq!(collect_now(&h.state).await.expect("collects").blobs, 1);
}

#[tokio::test]
async fn a_push_naming_a_blob_while_it_is_collected_keeps_it() {
    let Scene {
        h,
        clock,
        mut rider,
        ticket,
        ..
    } = scene(Quotas::default()).await;
    let bytes = photo(40_000, 4);
    let sha = sha256(&bytes);
    upload(&h, &rider.token, &bytes, &ticket).await;
    clock.advance(2 * DAY_MS);
    // The collector has picked its candidates...
    let store = h.state.store();
    let before = T0 + DAY_MS + 1;
    let candidates = store.unnamed_blobs(before, 10).expect("candidates");
    assert_eq!(candidates.len(), 1);
    // ...when a push names the blob; the check-and-delete sees the push's ref.
    attach(&h, &mut rider, &ticket, &sha, None).await;
    let deleted = store
        .delete_unnamed_blobs(&candidates, before)
        .expect("deletes");
    assert!(deleted.is_empty());
    assert_eq!(blob_rows(&h, &sha), 1);
    assert_eq!(collect_now(&h.state).await.expect("collects").blobs, 0);
    let got = download(&h, &rider.token, &sha, None).await;
    assert_eq!(got.status, StatusCode::OK);
}

#[tokio::test]
async fn quota_used_by_unnamed_blobs_returns_once_they_are_collected() {
    let Scene {
        h,
        clock,
        rider,
        ticket,
        ..
    } = scene(Quotas {
        user_blob_bytes: 1_000_000,
        ..Quotas::default()
    })
    .await;
    upload(&h, &rider.token, &photo(800_000, 5), &ticket).await;
    let next = photo(500_000, 6);
    let refused = create(
        &h,
        &rider.token,
        500_000,
        &metadata(&sha256(&next), &ticket),
    )
    .await;
    assert_over_quota(&refused, "this user's");
    assert_eq!(
        h.admin.usage("acme").expect("usage").tenant.stored_bytes,
        800_000
    );

    // After the grace period the next upload's creation collects the junk first, then fits.
    clock.advance(DAY_MS);
    let (_, offset) = start(&h, &rider.token, &next, &ticket).await;
    assert_eq!(offset, 0);
    let usage = h.admin.usage("acme").expect("usage");
    assert_eq!(
        (usage.tenant.stored_bytes, usage.tenant.stored_blobs),
        (0, 0)
    );
    assert_eq!(usage.users[0].usage.held_bytes(), 500_000);
    assert_eq!(bytes_on_disk(&h), 0, "only an empty partial upload is left");
}

#[tokio::test]
async fn a_file_left_behind_by_a_crash_is_adopted_by_the_next_upload_of_its_bytes() {
    let Scene {
        h,
        mut rider,
        ticket,
        ..
    } = scene(Quotas::default()).await;
    // The collector deleted the row and crashed before removing the file.
    let bytes = photo(20_000, 7);
    let sha = sha256(&bytes);
    let dir = h
        .data_dir()
        .join("blobs")
        .join(&rider.actor.tenant)
        .join("blobs")
        .join(&sha[..2]);
    std::fs::create_dir_all(&dir).expect("dir");
    std::fs::write(dir.join(&sha), &bytes).expect("orphan");

    upload(&h, &rider.token, &bytes, &ticket).await;
    assert_eq!(blob_rows(&h, &sha), 1);
    assert_eq!(
        h.admin.usage("acme").expect("usage").tenant.stored_bytes,
        20_000
    );
    attach(&h, &mut rider, &ticket, &sha, None).await;
    let got = download(&h, &rider.token, &sha, None).await;
    assert_eq!((got.status, got.body), (StatusCode::OK, bytes));
}

#[tokio::test]
async fn empty_uploads_cannot_hold_a_tenants_quota() {
    let Scene {
        h, rider, ticket, ..
    } = scene(Quotas {
        tenant_blob_bytes: 400 * MIB,
        ..Quotas::default()
    })
    .await;
    // Creating an upload costs no traffic; a user's unfinished ones may declare 256 MiB.
    for n in 0..16u64 {
        let meta = metadata(&sha256(&n.to_be_bytes()), &ticket);
        let reply = create(&h, &rider.token, MAX_BLOB_BYTES, &meta).await;
        assert_eq!(reply.status, StatusCode::CREATED, "{reply:?}");
    }
    let one_more = create(
        &h,
        &rider.token,
        MAX_BLOB_BYTES,
        &metadata(&sha256(b"17"), &ticket),
    )
    .await;
    let error = one_more.error(StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(error.code, "too_many_uploads");
    assert!(error.message.contains("per user"), "{}", error.message);

    // Everyone else in the tenant still has room.
    let other = h.user("acme", "rider2", Role::Rider, None);
    let mut other = h.login(&other).await;
    let their_ticket = help_request(&h, &mut other).await;
    let theirs = create(
        &h,
        &other.token,
        MAX_BLOB_BYTES,
        &metadata(&sha256(b"theirs"), &their_ticket),
    )
    .await;
    assert_eq!(theirs.status, StatusCode::CREATED);
}
