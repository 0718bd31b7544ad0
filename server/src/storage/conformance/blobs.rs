//! [`BlobRecords`]: uploads, their admission under quotas, PATCH records, stored blobs, the blobs
//! commits name, and the collector's check-and-delete.

use fieldwork_core::model::Role;
use fieldwork_protocol::blobs::BlobKind;

use super::{TestStore, change, commit, create_ticket, device, tenant, ticket, user};
use crate::storage::{
    Admission, BlobRecord, BlobRef, Claim, Conflict, DeviceRecord, PatchRecord, QuotaRefusal,
    QuotaScope, ServerStore, StorageError, TenantQuotas, UploadFinish, UploadLimits, UploadRecord,
    UploadState,
};

const TTL: i64 = 1_000;

/// Room for everything unless a test lowers a limit.
pub fn roomy() -> UploadLimits {
    UploadLimits {
        max_open_per_device: 10,
        max_open_bytes_per_user: 1 << 40,
        tenant_blob_bytes: 1 << 40,
        user_blob_bytes: 1 << 40,
        upload_ttl_ms: TTL,
    }
}

pub(super) fn sha(n: u8) -> String {
    format!("{n:02x}").repeat(32)
}

/// An upload of `length` bytes of blob `sha(n)` by `device`, created at `at`.
pub fn upload(device: &DeviceRecord, id: &str, n: u8, length: u64, at: i64) -> UploadRecord {
    UploadRecord {
        id: id.to_owned(),
        tenant_id: device.tenant_id.clone(),
        user_id: device.user_id.clone(),
        device_id: device.id.clone(),
        sha256: sha(n),
        kind: BlobKind::Full,
        mime: "image/jpeg".into(),
        ticket_id: "t1".into(),
        length,
        offset: 0,
        state: UploadState::Uploading,
        created_at: at,
        patch_requests: 0,
        bytes_received: 0,
    }
}

/// Stores the blob of `up` through a finishing PATCH at `at`.
pub fn store_blob(s: &dyn ServerStore, up: &UploadRecord, at: i64) -> BlobRecord {
    assert_eq!(s.create_upload(up, &roomy()).unwrap(), Admission::Created);
    let blob = BlobRecord {
        tenant_id: up.tenant_id.clone(),
        sha256: up.sha256.clone(),
        length: up.length,
        mime: up.mime.clone(),
        created_at: at,
        user_id: Some(up.user_id.clone()),
    };
    s.record_patch(&PatchRecord {
        upload_id: up.id.clone(),
        bytes_received: up.length,
        advance: Some((0, up.length)),
        finish: Some(UploadFinish::Stored(blob.clone())),
        at,
    })
    .unwrap();
    blob
}

pub(super) fn phone(
    s: &dyn ServerStore,
    tenant_name: &str,
    user_name: &str,
    actor: &str,
) -> DeviceRecord {
    let tenant = s
        .find_tenant(tenant_name)
        .unwrap()
        .unwrap_or_else(|| tenant(s, tenant_name));
    let rider = user(s, &tenant, user_name, Role::Rider);
    device(s, &rider, &format!("d-{user_name}"), actor)
}

pub fn an_upload_is_found_by_id_and_resumed_by_its_device(t: &TestStore) {
    let s = t.store.as_ref();
    let li = phone(s, "acme", "li", "0a01");
    let ana = phone(s, "acme", "ana", "0a02");
    let up = upload(&li, "up1", 1, 500, 10);
    assert_eq!(s.create_upload(&up, &roomy()).unwrap(), Admission::Created);
    assert_eq!(s.upload("up1").unwrap(), Some(up.clone()));
    assert_eq!(s.upload("up-nobody").unwrap(), None);
    let newer = upload(&li, "up2", 1, 500, 20);
    s.create_upload(&newer, &roomy()).unwrap();
    assert_eq!(
        s.open_upload(&li.id, &sha(1), 500).unwrap(),
        Some(newer),
        "the newest"
    );
    assert_eq!(
        s.open_upload(&li.id, &sha(1), 501).unwrap(),
        None,
        "another length"
    );
    assert_eq!(
        s.open_upload(&ana.id, &sha(1), 500).unwrap(),
        None,
        "another device"
    );
    // A finished upload is no longer open.
    store_blob(s, &upload(&ana, "up3", 2, 10, 30), 30);
    assert_eq!(s.open_upload(&ana.id, &sha(2), 10).unwrap(), None);
    assert_eq!(
        s.upload("up3").unwrap().map(|u| u.state),
        Some(UploadState::Done)
    );
}

pub fn open_uploads_are_bounded_per_device_and_per_user(t: &TestStore) {
    let s = t.store.as_ref();
    let li = phone(s, "acme", "li", "0b01");
    let limits = UploadLimits {
        max_open_per_device: 2,
        max_open_bytes_per_user: 1_000,
        ..roomy()
    };
    assert_eq!(
        s.create_upload(&upload(&li, "a", 1, 100, 10), &limits)
            .unwrap(),
        Admission::Created
    );
    assert_eq!(
        s.create_upload(&upload(&li, "b", 2, 100, 10), &limits)
            .unwrap(),
        Admission::Created
    );
    assert_eq!(
        s.create_upload(&upload(&li, "c", 3, 100, 10), &limits)
            .unwrap(),
        Admission::TooManyOpen,
        "a third open upload on one device"
    );
    assert_eq!(
        s.upload("c").unwrap(),
        None,
        "a refused upload is not stored"
    );
    let tight = UploadLimits {
        max_open_per_device: 10,
        max_open_bytes_per_user: 250,
        ..roomy()
    };
    assert_eq!(
        s.create_upload(&upload(&li, "d", 4, 51, 10), &tight)
            .unwrap(),
        Admission::TooManyOpen,
        "the user's open uploads would declare more than allowed"
    );
    assert_eq!(
        s.create_upload(&upload(&li, "e", 5, 50, 10), &tight)
            .unwrap(),
        Admission::Created
    );
}

pub fn an_upload_over_a_quota_is_refused_with_what_is_held(t: &TestStore) {
    let s = t.store.as_ref();
    let li = phone(s, "acme", "li", "0c01");
    let ana = phone(s, "acme", "ana", "0c02");
    let other = phone(s, "globex", "bo", "0c03");
    store_blob(s, &upload(&li, "stored", 1, 300, 10), 10);
    s.create_upload(&upload(&li, "open", 2, 200, 10), &roomy())
        .unwrap();
    let quota = UploadLimits {
        tenant_blob_bytes: 1_000,
        user_blob_bytes: 600,
        ..roomy()
    };
    // Li holds 300 stored + 200 open: 150 more would pass 600.
    assert_eq!(
        s.create_upload(&upload(&li, "u1", 3, 150, 20), &quota)
            .unwrap(),
        Admission::OverQuota(QuotaRefusal {
            scope: QuotaScope::User,
            limit: 600,
            used: 500,
        })
    );
    // The tenant holds 500: 600 more by Ana would pass 1,000.
    assert_eq!(
        s.create_upload(&upload(&ana, "u2", 4, 600, 20), &quota)
            .unwrap(),
        Admission::OverQuota(QuotaRefusal {
            scope: QuotaScope::Tenant,
            limit: 1_000,
            used: 500,
        })
    );
    // Another tenant's bytes are not counted here.
    assert_eq!(
        s.create_upload(&upload(&other, "u3", 5, 600, 20), &quota)
            .unwrap(),
        Admission::Created
    );
    // An open upload past its time to live holds nothing.
    assert_eq!(
        s.create_upload(&upload(&li, "u4", 6, 150, 10 + TTL), &quota)
            .unwrap(),
        Admission::Created
    );
    // A tenant's own quota replaces the server's.
    let own = TenantQuotas {
        blob_bytes: Some(2_000),
        user_blob_bytes: Some(2_000),
        devices_per_user: None,
    };
    s.set_tenant_quotas(&li.tenant_id, &own).unwrap();
    assert_eq!(
        s.create_upload(&upload(&ana, "u5", 7, 600, 20 + TTL), &quota)
            .unwrap(),
        Admission::Created
    );
}

pub fn a_patch_moves_the_offset_only_from_where_it_stands(t: &TestStore) {
    let s = t.store.as_ref();
    let li = phone(s, "acme", "li", "0d01");
    s.create_upload(&upload(&li, "up", 1, 100, 10), &roomy())
        .unwrap();
    let patch = |advance, read, at| PatchRecord {
        upload_id: "up".into(),
        bytes_received: read,
        advance,
        finish: None,
        at,
    };
    s.record_patch(&patch(Some((0, 40)), 40, 11)).unwrap();
    // A PATCH from a stale offset changes nothing, its counters included.
    let stale = s.record_patch(&patch(Some((0, 60)), 60, 12));
    assert!(
        matches!(stale, Err(StorageError::Conflict(Conflict::Moved))),
        "{stale:?}"
    );
    // A refused PATCH only counts.
    s.record_patch(&patch(None, 7, 13)).unwrap();
    let now = s.upload("up").unwrap().unwrap();
    assert_eq!(
        (now.offset, now.patch_requests, now.bytes_received),
        (40, 2, 47)
    );
    assert_eq!(now.state, UploadState::Uploading);
    let gone = s.record_patch(&PatchRecord {
        upload_id: "up-nobody".into(),
        ..patch(None, 1, 14)
    });
    assert!(
        matches!(gone, Err(StorageError::Conflict(Conflict::Moved))),
        "{gone:?}"
    );
    s.record_patch(&PatchRecord {
        finish: Some(UploadFinish::Failed),
        ..patch(None, 0, 15)
    })
    .unwrap();
    assert_eq!(
        s.upload("up").unwrap().map(|u| u.state),
        Some(UploadState::Failed)
    );
    let after_fail = s.record_patch(&patch(Some((40, 50)), 10, 16));
    assert!(matches!(
        after_fail,
        Err(StorageError::Conflict(Conflict::Moved))
    ));
}

pub fn a_finished_upload_stores_its_blob_once_and_charges_its_uploader(t: &TestStore) {
    let s = t.store.as_ref();
    let li = phone(s, "acme", "li", "0e01");
    let ana = phone(s, "acme", "ana", "0e02");
    let blob = store_blob(s, &upload(&li, "first", 1, 300, 10), 10);
    assert_eq!(s.blob(&li.tenant_id, &sha(1)).unwrap(), Some(blob.clone()));
    assert_eq!(s.blob(&li.tenant_id, &sha(2)).unwrap(), None);
    // The same bytes uploaded again by someone else: still one blob, charged to the first.
    store_blob(s, &upload(&ana, "second", 1, 300, 20), 20);
    assert_eq!(s.blob(&li.tenant_id, &sha(1)).unwrap(), Some(blob));
    let usage = s.tenant_usage(&li.tenant_id, 0).unwrap();
    assert_eq!(
        (usage.tenant.stored_bytes, usage.tenant.stored_blobs),
        (300, 1)
    );
    let holders: Vec<(&str, u64)> = usage
        .users
        .iter()
        .map(|u| (u.name.as_str(), u.usage.stored_bytes))
        .collect();
    assert_eq!(holders, [("li", 300)]);
}

pub fn a_stored_blob_is_claimed_in_its_own_tenant_only(t: &TestStore) {
    let s = t.store.as_ref();
    let li = phone(s, "acme", "li", "0f01");
    let bo = phone(s, "globex", "bo", "0f02");
    assert_eq!(
        s.claim_stored_blob(&upload(&li, "c0", 1, 300, 5)).unwrap(),
        Claim::NotStored
    );
    assert_eq!(s.upload("c0").unwrap(), None, "nothing recorded");
    store_blob(s, &upload(&li, "up", 1, 300, 10), 10);
    let claim = upload(&li, "c1", 1, 300, 50);
    assert_eq!(s.claim_stored_blob(&claim).unwrap(), Claim::Claimed);
    let recorded = s.upload("c1").unwrap().unwrap();
    assert_eq!((recorded.state, recorded.offset), (UploadState::Done, 300));
    assert_eq!(
        s.claim_stored_blob(&upload(&li, "c2", 1, 299, 50)).unwrap(),
        Claim::LengthMismatch
    );
    assert_eq!(
        s.claim_stored_blob(&upload(&bo, "c3", 1, 300, 50)).unwrap(),
        Claim::NotStored,
        "another tenant does not have it"
    );
    assert_eq!(s.blob(&bo.tenant_id, &sha(1)).unwrap(), None);
    // A claim starts the blob's grace period again: not collectable before it.
    assert!(s.unnamed_blobs(50, 10).unwrap().is_empty());
    assert_eq!(s.unnamed_blobs(51, 10).unwrap().len(), 1);
}

pub fn a_commit_names_blobs_in_its_tenant_only(t: &TestStore) {
    let s = t.store.as_ref();
    let acme = tenant(s, "acme");
    let globex = tenant(s, "globex");
    let mut named = commit(
        &acme,
        vec![ticket("t1", "u1", None), ticket("t2", "u1", None)],
        vec![change("t1", "h1"), change("t2", "h2")],
    );
    named.blob_refs = vec![
        BlobRef {
            ticket_id: "t1".into(),
            sha256: sha(1),
        },
        BlobRef {
            ticket_id: "t2".into(),
            sha256: sha(1),
        },
    ];
    s.commit(&named).unwrap();
    create_ticket(s, &globex, "t3", "u2", "h3");
    assert_eq!(s.blob_ref_tickets(&acme.id, &sha(1)).unwrap(), ["t1", "t2"]);
    assert!(s.blob_ref_tickets(&globex.id, &sha(1)).unwrap().is_empty());
    assert!(s.blob_ref_tickets(&acme.id, &sha(2)).unwrap().is_empty());
    // Naming it again is harmless.
    let mut again = commit(
        &acme,
        vec![ticket("t1", "u1", Some(1))],
        vec![change("t1", "h4")],
    );
    again.blob_refs = vec![BlobRef {
        ticket_id: "t1".into(),
        sha256: sha(1),
    }];
    s.commit(&again).unwrap();
    assert_eq!(s.blob_ref_tickets(&acme.id, &sha(1)).unwrap(), ["t1", "t2"]);
}

pub fn only_blobs_still_unnamed_and_unclaimed_are_collected(t: &TestStore) {
    let s = t.store.as_ref();
    let li = phone(s, "acme", "li", "1001");
    let acme = s.find_tenant("acme").unwrap().unwrap();
    let junk = store_blob(s, &upload(&li, "u1", 1, 100, 10), 10);
    let soon_named = store_blob(s, &upload(&li, "u2", 2, 200, 11), 11);
    let claimed = store_blob(s, &upload(&li, "u3", 3, 300, 12), 12);
    let fresh = store_blob(s, &upload(&li, "u4", 4, 400, 90), 90);
    let named = store_blob(s, &upload(&li, "u5", 5, 500, 13), 13);
    let mut refs = commit(
        &acme,
        vec![ticket("t5", &li.user_id, None)],
        vec![change("t5", "h5")],
    );
    refs.blob_refs = vec![BlobRef {
        ticket_id: "t5".into(),
        sha256: named.sha256.clone(),
    }];
    s.commit(&refs).unwrap();
    let candidates = s.unnamed_blobs(50, 10).unwrap();
    let listed: Vec<&str> = candidates.iter().map(|b| b.sha256.as_str()).collect();
    assert_eq!(
        listed,
        [&junk.sha256, &soon_named.sha256, &claimed.sha256],
        "oldest claim first"
    );
    assert_eq!(s.unnamed_blobs(50, 1).unwrap().len(), 1);
    assert!(!listed.contains(&fresh.sha256.as_str()));
    // Between listing and deleting, a commit names one and an upload claims another.
    let mut naming = commit(
        &acme,
        vec![ticket("t2", &li.user_id, None)],
        vec![change("t2", "h2")],
    );
    naming.blob_refs = vec![BlobRef {
        ticket_id: "t2".into(),
        sha256: soon_named.sha256.clone(),
    }];
    s.commit(&naming).unwrap();
    assert_eq!(
        s.claim_stored_blob(&upload(&li, "u6", 3, 300, 60)).unwrap(),
        Claim::Claimed
    );
    let deleted = s.delete_unnamed_blobs(&candidates, 50).unwrap();
    assert_eq!(deleted, std::slice::from_ref(&junk));
    assert_eq!(s.blob(&acme.id, &junk.sha256).unwrap(), None);
    assert!(s.blob(&acme.id, &soon_named.sha256).unwrap().is_some());
    assert!(s.blob(&acme.id, &claimed.sha256).unwrap().is_some());
    let usage = s.tenant_usage(&acme.id, 0).unwrap();
    assert_eq!(
        (usage.tenant.stored_bytes, usage.tenant.stored_blobs),
        (200 + 300 + 400 + 500, 4),
        "the deleted blob's bytes left the counters"
    );
    assert!(
        s.delete_unnamed_blobs(&deleted, 50).unwrap().is_empty(),
        "gone already"
    );
    assert_eq!(
        s.unnamed_blobs(50, 10).unwrap().len(),
        0,
        "named or claimed since"
    );
}

pub fn old_uploads_are_listed_oldest_first_and_deleted(t: &TestStore) {
    let s = t.store.as_ref();
    let li = phone(s, "acme", "li", "1101");
    let bo = phone(s, "globex", "bo", "1102");
    s.create_upload(&upload(&li, "b", 2, 10, 20), &roomy())
        .unwrap();
    s.create_upload(&upload(&bo, "a", 1, 10, 10), &roomy())
        .unwrap();
    store_blob(s, &upload(&li, "c", 3, 10, 30), 30);
    s.create_upload(&upload(&li, "d", 4, 10, 40), &roomy())
        .unwrap();
    let ids = |before, limit| -> Vec<String> {
        s.uploads_created_before(before, limit)
            .unwrap()
            .into_iter()
            .map(|u| u.id)
            .collect()
    };
    assert_eq!(
        ids(40, 10),
        ["a", "b", "c"],
        "every tenant and state, oldest first"
    );
    assert_eq!(ids(40, 2), ["a", "b"]);
    s.delete_uploads(&["a".into(), "c".into(), "nobody".into()])
        .unwrap();
    assert_eq!(ids(100, 10), ["b", "d"]);
    assert_eq!(s.upload("a").unwrap(), None);
    assert!(
        s.blob(&li.tenant_id, &sha(3)).unwrap().is_some(),
        "the blob stays"
    );
}
