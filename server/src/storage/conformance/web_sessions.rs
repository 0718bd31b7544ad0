//! [`WebSessions`]: browser sessions live until they idle out, end or are revoked; a password
//! change ends the other sessions; disabling a user stops every token and session at once.

use fieldwork_core::Role;

use super::{TestStore, device, tenant, user};
use crate::storage::{Missing, StorageError, UserRecord, WebSession};

fn session(user: &UserRecord, hash: &str, at: i64) -> WebSession {
    WebSession {
        token_hash: hash.to_owned(),
        tenant_id: user.tenant_id.clone(),
        user_id: user.id.clone(),
        csrf_hash: format!("csrf-{hash}"),
        actor_id: "abcd".to_owned(),
        created_at: at,
        expires_at: at + 100,
        ends_at: at + 1_000,
    }
}

fn live(t: &TestStore, hash: &str, now: i64) -> Option<String> {
    t.store
        .web_session(hash, now)
        .unwrap()
        .map(|(s, u)| format!("{}:{}", s.user_id, u.name))
}

pub fn a_session_lives_until_it_idles_out_ends_or_is_revoked(t: &TestStore) {
    let s = t.store.as_ref();
    let acme = tenant(s, "acme");
    let ana = user(s, &acme, "ana", Role::Dispatcher);
    s.create_web_session(&session(&ana, "s1", 0)).unwrap();
    let (stored, who) = s.web_session("s1", 10).unwrap().unwrap();
    assert_eq!(stored, session(&ana, "s1", 0));
    assert_eq!(who, ana);
    assert_eq!(live(t, "s1", 100), None, "idled out");
    assert_eq!(live(t, "unknown", 10), None);

    // Used: its idle expiry moves, never past its end, never back.
    s.touch_web_session("s1", 600).unwrap();
    s.touch_web_session("s1", 300).unwrap();
    assert!(live(t, "s1", 599).is_some());
    s.touch_web_session("s1", 5_000).unwrap();
    assert!(live(t, "s1", 999).is_some());
    assert_eq!(live(t, "s1", 1_000), None, "ended");

    s.create_web_session(&session(&ana, "s2", 0)).unwrap();
    assert!(s.revoke_web_session("s2", 5).unwrap());
    assert!(!s.revoke_web_session("s2", 6).unwrap(), "already revoked");
    assert_eq!(live(t, "s2", 10), None);
}

pub fn a_session_for_a_user_of_another_tenant_or_nobody_is_refused(t: &TestStore) {
    let s = t.store.as_ref();
    let acme = tenant(s, "acme");
    let globex = tenant(s, "globex");
    let ana = user(s, &acme, "ana", Role::Dispatcher);
    let mut foreign = session(&ana, "s1", 0);
    foreign.tenant_id = globex.id.clone();
    assert!(matches!(
        s.create_web_session(&foreign),
        Err(StorageError::NotFound(Missing::User))
    ));
    let mut nobody = session(&ana, "s2", 0);
    nobody.user_id = "u-nobody".into();
    assert!(matches!(
        s.create_web_session(&nobody),
        Err(StorageError::NotFound(Missing::User))
    ));
    assert!(matches!(
        s.set_password(&globex.id, &ana.id, "hash", None, "root", 1),
        Err(StorageError::NotFound(Missing::User))
    ));
    assert!(matches!(
        s.set_disabled(&globex.id, &ana.id, true, "root", 1),
        Err(StorageError::NotFound(Missing::User))
    ));
    assert_eq!(live(t, "s1", 1), None);
}

pub fn a_password_change_ends_the_other_sessions(t: &TestStore) {
    let s = t.store.as_ref();
    let acme = tenant(s, "acme");
    let ana = user(s, &acme, "ana", Role::Dispatcher);
    let bo = user(s, &acme, "bo", Role::Agent);
    for (who, hash) in [(&ana, "here"), (&ana, "elsewhere"), (&bo, "bo")] {
        s.create_web_session(&session(who, hash, 0)).unwrap();
    }
    s.set_password(&acme.id, &ana.id, "new-hash", Some("here"), &ana.id, 5)
        .unwrap();
    assert!(live(t, "here", 10).is_some(), "the session it was made in");
    assert_eq!(live(t, "elsewhere", 10), None);
    assert!(live(t, "bo", 10).is_some(), "another user's");
    let (_, hash) = s.user_by_name(&acme.id, "ana").unwrap().unwrap();
    assert_eq!(hash.as_deref(), Some("new-hash"));
}

pub fn disabling_a_user_stops_every_token_and_session_at_once(t: &TestStore) {
    let s = t.store.as_ref();
    let acme = tenant(s, "acme");
    let ana = user(s, &acme, "ana", Role::Technician);
    device(s, &ana, "d1", "aa01");
    s.create_web_session(&session(&ana, "s1", 0)).unwrap();
    assert!(s.session("token-d1").unwrap().is_some());

    s.set_disabled(&acme.id, &ana.id, true, "root", 5).unwrap();
    assert_eq!(live(t, "s1", 10), None);
    assert!(s.session("token-d1").unwrap().is_none());
    let (listed, _) = s.user_by_name(&acme.id, "ana").unwrap().unwrap();
    assert!(listed.disabled);
    assert!(matches!(
        s.create_web_session(&session(&ana, "s2", 10)),
        Err(StorageError::NotFound(Missing::User))
    ));

    // Enabled again: they may sign in again, but what was stopped stays stopped.
    s.set_disabled(&acme.id, &ana.id, false, "root", 20)
        .unwrap();
    assert!(!s.user_by_name(&acme.id, "ana").unwrap().unwrap().0.disabled);
    assert_eq!(live(t, "s1", 21), None);
    assert!(s.session("token-d1").unwrap().is_none());
    s.create_web_session(&session(&ana, "s3", 20)).unwrap();
    assert!(live(t, "s3", 21).is_some());

    // Both switches are in the tenant's account log, newest first.
    let events: Vec<(String, String, i64)> = s
        .account_events(&acme.id, 10)
        .unwrap()
        .into_iter()
        .map(|e| (e.kind, e.by, e.at))
        .collect();
    assert_eq!(
        events,
        [
            ("enabled".to_owned(), "root".to_owned(), 20),
            ("disabled".to_owned(), "root".to_owned(), 5)
        ]
    );
    let other = tenant(s, "globex");
    assert!(s.account_events(&other.id, 10).unwrap().is_empty());
}
