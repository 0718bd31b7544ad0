//! [`QuotaLedger`]: a tenant's own quotas and what its users hold.

use fieldwork_core::model::Role;

use super::blobs::{roomy, store_blob, upload};
use super::{TestStore, device, tenant, user};
use crate::storage::{BlobUsage, TenantQuotas};

pub fn a_tenants_own_quotas_are_replaced_whole(t: &TestStore) {
    let s = t.store.as_ref();
    let acme = tenant(s, "acme");
    let globex = tenant(s, "globex");
    assert_eq!(s.tenant_quotas(&acme.id).unwrap(), TenantQuotas::default());
    let own = TenantQuotas {
        blob_bytes: Some(5 << 30),
        user_blob_bytes: Some(1 << 30),
        devices_per_user: Some(3),
    };
    s.set_tenant_quotas(&acme.id, &own).unwrap();
    assert_eq!(s.tenant_quotas(&acme.id).unwrap(), own);
    assert_eq!(
        s.tenant_quotas(&globex.id).unwrap(),
        TenantQuotas::default()
    );
    let back = TenantQuotas {
        user_blob_bytes: None,
        ..own
    };
    s.set_tenant_quotas(&acme.id, &back).unwrap();
    assert_eq!(
        s.tenant_quotas(&acme.id).unwrap(),
        back,
        "a field set to None returns to the default"
    );
    assert_eq!(
        s.tenant_quotas("tenant-nobody").unwrap(),
        TenantQuotas::default()
    );
}

pub fn usage_counts_stored_blobs_and_open_uploads_per_tenant_and_user(t: &TestStore) {
    let s = t.store.as_ref();
    let acme = tenant(s, "acme");
    let globex = tenant(s, "globex");
    let li = user(s, &acme, "li", Role::Rider);
    let ana = user(s, &acme, "ana", Role::Rider);
    let idle = user(s, &acme, "idle", Role::Rider);
    let bo = user(s, &globex, "bo", Role::Rider);
    let (li_phone, ana_phone) = (
        device(s, &li, "d-li", "2001"),
        device(s, &ana, "d-ana", "2002"),
    );
    let bo_phone = device(s, &bo, "d-bo", "2003");
    store_blob(s, &upload(&li_phone, "a", 1, 100, 10), 10);
    store_blob(s, &upload(&li_phone, "b", 2, 50, 10), 10);
    store_blob(s, &upload(&ana_phone, "c", 3, 400, 10), 10);
    s.create_upload(&upload(&li_phone, "open", 4, 1_000, 20), &roomy())
        .unwrap();
    s.create_upload(&upload(&li_phone, "expired", 5, 7, 5), &roomy())
        .unwrap();
    store_blob(s, &upload(&bo_phone, "d", 6, 9_999, 10), 10);
    let usage = s.tenant_usage(&acme.id, 6).unwrap();
    assert_eq!(
        usage.tenant,
        BlobUsage {
            stored_bytes: 550,
            stored_blobs: 3,
            open_bytes: 1_000,
            open_uploads: 1,
        }
    );
    assert_eq!(
        (usage.unnamed_bytes, usage.unnamed_blobs),
        (550, 3),
        "no ticket names them"
    );
    let users: Vec<(&str, u64, u64)> = usage
        .users
        .iter()
        .map(|u| (u.name.as_str(), u.usage.stored_bytes, u.usage.open_bytes))
        .collect();
    assert_eq!(
        users,
        [("li", 150, 1_000), ("ana", 400, 0)],
        "most held first; idle users left out"
    );
    assert_eq!(usage.users[0].user_id, li.id);
    assert_eq!(usage.users[0].usage.held_bytes(), 1_150);
    assert!(
        !usage
            .users
            .iter()
            .any(|u| u.user_id == idle.id || u.user_id == bo.id)
    );
    let globex_usage = s.tenant_usage(&globex.id, 6).unwrap();
    assert_eq!(globex_usage.tenant.stored_bytes, 9_999);
    assert_eq!(globex_usage.users.len(), 1);
    assert_eq!(
        s.tenant_usage("tenant-nobody", 0).unwrap().tenant,
        BlobUsage::default()
    );
}
