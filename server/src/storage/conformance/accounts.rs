//! [`Accounts`]: tenants, users, devices, tokens and sessions.

use fieldwork_core::model::Role;

use super::{TestStore, device, device_record, device_token, tenant, user};
use crate::storage::{
    Conflict, Missing, OverQuota, StorageError, TenantQuotas, TenantRecord, TokenKind, TokenRecord,
    UserRecord,
};

fn exists(result: Result<(), StorageError>) {
    assert!(
        matches!(result, Err(StorageError::Conflict(Conflict::Exists(_)))),
        "{result:?}"
    );
}

pub fn tenants_are_unique_by_name_and_found_by_id_or_name(t: &TestStore) {
    let s = t.store.as_ref();
    let acme = tenant(s, "acme");
    tenant(s, "globex");
    assert_eq!(s.find_tenant(&acme.id).unwrap(), Some(acme.clone()));
    assert_eq!(s.find_tenant("acme").unwrap(), Some(acme.clone()));
    assert_eq!(s.find_tenant("initech").unwrap(), None);
    let again = TenantRecord {
        id: "another-id".into(),
        name: "acme".into(),
    };
    exists(s.create_tenant(&again, 2));
    assert_eq!(s.find_tenant("another-id").unwrap(), None);
}

pub fn users_are_unique_per_tenant_and_listed_by_name(t: &TestStore) {
    let s = t.store.as_ref();
    let acme = tenant(s, "acme");
    let globex = tenant(s, "globex");
    let wei = UserRecord {
        id: "u-wei".into(),
        tenant_id: acme.id.clone(),
        name: "wei".into(),
        role: Role::Technician,
        team: Some("north".into()),
        skills: vec!["fridge".into(), "oven".into()],
        disabled: false,
    };
    s.create_user(&wei, Some("argon2-hash"), None, 5).unwrap();
    let ana = user(s, &acme, "ana", Role::Dispatcher);
    // The same name in another tenant is another user.
    let globex_wei = user(s, &globex, "wei", Role::Rider);
    let twin = UserRecord {
        id: "u-twin".into(),
        ..wei.clone()
    };
    exists(s.create_user(&twin, None, None, 6));
    let stray = UserRecord {
        id: "u-stray".into(),
        tenant_id: "tenant-nobody".into(),
        ..wei.clone()
    };
    let refused = s.create_user(&stray, None, None, 6);
    assert!(matches!(
        refused,
        Err(StorageError::NotFound(Missing::Tenant))
    ));
    assert_eq!(
        s.user_by_name(&acme.id, "wei").unwrap(),
        Some((wei.clone(), Some("argon2-hash".into())))
    );
    assert_eq!(
        s.user_by_name(&globex.id, "wei").unwrap(),
        Some((globex_wei, None))
    );
    assert_eq!(s.user_by_name(&globex.id, "ana").unwrap(), None);
    assert_eq!(s.user_by_name("", "wei").unwrap(), None);
    assert_eq!(s.list_users(&acme.id).unwrap(), [ana, wei]);
    assert!(s.list_users("tenant-nobody").unwrap().is_empty());
}

pub fn users_are_found_by_ids_within_their_tenant_only(t: &TestStore) {
    let s = t.store.as_ref();
    let acme = tenant(s, "acme");
    let globex = tenant(s, "globex");
    let wei = user(s, &acme, "wei", Role::Technician);
    let ana = user(s, &acme, "ana", Role::Rider);
    let outsider = user(s, &globex, "zoe", Role::Dispatcher);
    let ids = |list: &[&str]| list.iter().map(|id| (*id).to_owned()).collect::<Vec<_>>();
    let mut both = vec![ana.clone(), wei.clone()];
    both.sort_by(|a, b| a.id.cmp(&b.id));
    assert_eq!(
        s.users_by_ids(&acme.id, &ids(&[&wei.id, "nobody", &ana.id, &wei.id]))
            .unwrap(),
        both,
        "each once, unknown ids left out"
    );
    // Another tenant's user is unknown here, exactly like an id of nobody.
    assert!(
        s.users_by_ids(&acme.id, &ids(&[&outsider.id]))
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        s.users_by_ids(&globex.id, &ids(&[&outsider.id, &wei.id]))
            .unwrap(),
        [outsider]
    );
    assert!(s.users_by_ids(&acme.id, &[]).unwrap().is_empty());
    assert!(
        s.users_by_ids("tenant-nobody", &ids(&[&wei.id]))
            .unwrap()
            .is_empty()
    );
    // Ids that look like SQL or JSON are only ids.
    assert!(
        s.users_by_ids(&acme.id, &ids(&["' OR 1=1 --", "\"]", "%"]))
            .unwrap()
            .is_empty()
    );
}

pub fn a_token_opens_a_session_until_it_is_revoked(t: &TestStore) {
    let s = t.store.as_ref();
    let acme = tenant(s, "acme");
    let admin = UserRecord {
        id: "u-admin".into(),
        tenant_id: acme.id.clone(),
        name: "admin".into(),
        role: Role::Admin,
        team: None,
        skills: vec![],
        disabled: false,
    };
    let token = TokenRecord {
        hash: "user-token".into(),
        kind: TokenKind::User,
        user_id: admin.id.clone(),
        device_id: None,
        created_at: 3,
    };
    s.create_user(&admin, None, Some(&token), 3).unwrap();
    let session = s.session("user-token").unwrap().unwrap();
    assert_eq!(session.token_hash, "user-token");
    assert_eq!(session.kind, TokenKind::User);
    assert_eq!(session.user, admin);
    assert!(session.device.is_none());
    assert!(s.session("nobody's token").unwrap().is_none());
    assert!(s.revoke_token("user-token", 4).unwrap());
    assert!(s.session("user-token").unwrap().is_none());
    assert!(!s.revoke_token("user-token", 5).unwrap(), "revoked already");
    assert!(!s.revoke_token("nobody's token", 5).unwrap());
}

pub fn a_device_registers_again_under_its_id_and_its_actor_is_its_users(t: &TestStore) {
    let s = t.store.as_ref();
    let acme = tenant(s, "acme");
    let li = user(s, &acme, "li", Role::Rider);
    let ana = user(s, &acme, "ana", Role::Rider);
    let phone = s
        .register_device(
            &device_record(&li, "d1", "ab01"),
            &device_token(&li, "first", 10),
            5,
        )
        .unwrap();
    assert_eq!(phone.id, "d1");
    let session = s.session("first").unwrap().unwrap();
    assert_eq!(session.kind, TokenKind::Device);
    assert_eq!(session.device, Some(phone.clone()));
    // The same actor signs in again (a new login on the same phone): same id, new token.
    let again = s
        .register_device(
            &device_record(&li, "d-new", "ab01"),
            &device_token(&li, "second", 11),
            5,
        )
        .unwrap();
    assert_eq!(again.id, "d1");
    assert!(
        s.session("first").unwrap().is_none(),
        "the older token is revoked"
    );
    assert_eq!(
        s.session("second").unwrap().unwrap().device.map(|d| d.id),
        Some("d1".into())
    );
    // Another user may not take the actor.
    let taken = s.register_device(
        &device_record(&ana, "d2", "ab01"),
        &device_token(&ana, "third", 12),
        5,
    );
    assert!(
        matches!(taken, Err(StorageError::Conflict(Conflict::ActorTaken))),
        "{taken:?}"
    );
    assert!(s.session("third").unwrap().is_none());
    assert!(s.list_devices(&ana.id).unwrap().is_empty());
}

pub fn the_device_cap_counts_devices_an_admin_has_not_removed(t: &TestStore) {
    let s = t.store.as_ref();
    let acme = tenant(s, "acme");
    let li = user(s, &acme, "li", Role::Technician);
    let register = |id: &str, actor: &str, cap: u32| {
        s.register_device(
            &device_record(&li, id, actor),
            &device_token(&li, &format!("token-{id}-{actor}-{cap}"), 20),
            cap,
        )
    };
    register("d1", "cd01", 2).unwrap();
    register("d2", "cd02", 2).unwrap();
    let full = register("d3", "cd03", 2);
    assert!(
        matches!(
            full,
            Err(StorageError::Quota(OverQuota::Devices { limit: 2 }))
        ),
        "{full:?}"
    );
    // A device already counted may always sign in again.
    assert_eq!(register("dx", "cd02", 2).unwrap().id, "d2");
    let removed = s.remove_device("d1", 30).unwrap();
    assert_eq!((removed.removed_at, removed.live_tokens), (Some(30), 0));
    assert!(s.session("token-d1-cd01-2").unwrap().is_none());
    register("d3", "cd03", 2).unwrap();
    // The removed device signing in again counts again, and the cap is full.
    assert!(matches!(
        register("d1b", "cd01", 2),
        Err(StorageError::Quota(OverQuota::Devices { limit: 2 }))
    ));
    // A tenant's own cap replaces the server's.
    let own = TenantQuotas {
        devices_per_user: Some(3),
        ..TenantQuotas::default()
    };
    s.set_tenant_quotas(&acme.id, &own).unwrap();
    let back = register("d1b", "cd01", 2).unwrap();
    assert_eq!(back.id, "d1", "it keeps its id");
    let listed = s.list_devices(&li.id).unwrap();
    assert!(listed.iter().all(|d| d.removed_at.is_none()));
    assert!(matches!(
        register("d4", "cd04", 2),
        Err(StorageError::Quota(OverQuota::Devices { limit: 3 }))
    ));
}

pub fn devices_are_listed_oldest_first_and_unknown_ones_are_refused(t: &TestStore) {
    let s = t.store.as_ref();
    let acme = tenant(s, "acme");
    let li = user(s, &acme, "li", Role::Rider);
    let ana = user(s, &acme, "ana", Role::Rider);
    s.register_device(
        &device_record(&li, "d-b", "ef02"),
        &device_token(&li, "b", 40),
        5,
    )
    .unwrap();
    s.register_device(
        &device_record(&li, "d-a", "ef01"),
        &device_token(&li, "a", 50),
        5,
    )
    .unwrap();
    device(s, &ana, "d-ana", "ef03");
    s.remove_device("d-b", 60).unwrap();
    let listed = s.list_devices(&li.id).unwrap();
    let ids: Vec<&str> = listed.iter().map(|d| d.id.as_str()).collect();
    assert_eq!(ids, ["d-b", "d-a"], "oldest first, removed ones included");
    assert_eq!(listed[0].created_at, 40);
    assert_eq!(listed[0].removed_at, Some(60));
    assert_eq!(
        (listed[1].actor_id.as_str(), listed[1].live_tokens),
        ("ef01", 1)
    );
    let unknown = s.remove_device("d-nobody", 70);
    assert!(
        matches!(unknown, Err(StorageError::NotFound(Missing::Device))),
        "{unknown:?}"
    );
    assert!(s.list_devices("u-nobody").unwrap().is_empty());
}
