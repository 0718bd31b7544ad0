//! [`Channels`]: a channel is found by its id and its token's hash, listed per tenant and
//! revoked once; a delivery's receipt stands for its key; alerts fold per asset into one open
//! ticket, counted once each, and a clear with nothing open is ignored.

use super::{TestStore, create_ticket, tenant};
use crate::storage::{
    AlertIn, AlertOutcome, ChannelKind, ChannelRecord, IntakeReceipt, Missing, OPENING_GRACE_MS,
    StorageError,
};

fn channel(id: &str, tenant_id: &str) -> ChannelRecord {
    ChannelRecord {
        id: id.to_owned(),
        tenant_id: tenant_id.to_owned(),
        kind: ChannelKind::Iot,
        name: format!("channel {id}"),
        token_hash: format!("hash-{id}"),
        signing_key: format!("key-{id}"),
        actor_id: format!("actor-{id}"),
        created_at: 10,
        revoked_at: None,
    }
}

pub fn channels_are_found_by_id_and_token_and_revoked_once(t: &TestStore) {
    let s = t.store.as_ref();
    let acme = tenant(s, "acme");
    let globex = tenant(s, "globex");
    let c1 = channel("c1", &acme.id);
    s.create_channel(&c1).unwrap();
    s.create_channel(&channel("c2", &globex.id)).unwrap();
    assert!(matches!(
        s.create_channel(&channel("c3", "nobody")),
        Err(StorageError::NotFound(Missing::Tenant))
    ));
    assert_eq!(s.channel("c1").unwrap(), Some(c1.clone()));
    assert_eq!(s.channel_by_token("hash-c1").unwrap(), Some(c1.clone()));
    assert_eq!(s.channel_by_token("hash-none").unwrap(), None);
    assert_eq!(s.channels(&acme.id).unwrap(), vec![c1]);
    assert!(
        !s.revoke_channel(&globex.id, "c1", 20).unwrap(),
        "not globex's"
    );
    assert!(s.revoke_channel(&acme.id, "c1", 20).unwrap());
    assert!(!s.revoke_channel(&acme.id, "c1", 30).unwrap(), "once");
    assert_eq!(s.channel("c1").unwrap().unwrap().revoked_at, Some(20));
}

pub fn a_receipt_stands_for_its_key(t: &TestStore) {
    let s = t.store.as_ref();
    let acme = tenant(s, "acme");
    let first = IntakeReceipt {
        channel_id: "c1".into(),
        key: "k".into(),
        tenant_id: acme.id.clone(),
        ticket_id: Some("t1".into()),
        outcome: "created".into(),
        at: 5,
        done: false,
    };
    assert_eq!(s.intake_receipt("c1", "k").unwrap(), None);
    assert_eq!(s.record_intake(&first).unwrap(), (first.clone(), true));
    let second = IntakeReceipt {
        ticket_id: Some("t2".into()),
        at: 6,
        ..first.clone()
    };
    assert_eq!(
        s.record_intake(&second).unwrap(),
        (first.clone(), false),
        "the first stands"
    );
    assert_eq!(
        s.record_intake(&first).unwrap(),
        (first.clone(), false),
        "even the same receipt again is not recorded twice"
    );
    assert_eq!(s.intake_receipt("c1", "k").unwrap(), Some(first));
    assert_eq!(
        s.intake_receipt("c2", "k").unwrap(),
        None,
        "keys are per channel"
    );
    // Not done: a retry after `stale_before` takes it over, once.
    assert!(!s.retake_intake("c1", "k", 7, 5).unwrap(), "not stale yet");
    assert!(s.retake_intake("c1", "k", 20, 10).unwrap());
    assert!(
        !s.retake_intake("c1", "k", 21, 10).unwrap(),
        "taken over already"
    );
    s.complete_intake("c1", "k").unwrap();
    assert!(s.intake_receipt("c1", "k").unwrap().unwrap().done);
    assert!(!s.retake_intake("c1", "k", 100, 99).unwrap(), "done");
}

pub fn contacts_and_messages_find_their_tickets(t: &TestStore) {
    let s = t.store.as_ref();
    let acme = tenant(s, "acme");
    let globex = tenant(s, "globex");
    create_ticket(s, &acme, "t1", "reporter", "h1");
    create_ticket(s, &acme, "t2", "reporter", "h2");
    s.link_contact(&acme.id, "+8613800000000", "t1", 10)
        .unwrap();
    s.link_contact(&acme.id, "+8613800000000", "t2", 20)
        .unwrap();
    s.link_contact(&acme.id, "+8613800000000", "t2", 30)
        .unwrap();
    s.link_contact(&acme.id, "+8613800000000", "never-stored", 40)
        .unwrap();
    assert_eq!(
        s.open_ticket_of_contact(&acme.id, "+8613800000000")
            .unwrap(),
        Some("t2".into()),
        "the newest stored open one"
    );
    assert_eq!(
        s.open_ticket_of_contact(&globex.id, "+8613800000000")
            .unwrap(),
        None
    );
    assert_eq!(s.open_ticket_of_contact(&acme.id, "+1").unwrap(), None);
    s.link_message(&acme.id, "<a@x>", "t1", 10).unwrap();
    s.link_message(&acme.id, "<a@x>", "t2", 20).unwrap();
    let ids = vec!["<none@x>".to_owned(), "<a@x>".to_owned()];
    assert_eq!(
        s.ticket_of_messages(&acme.id, &ids).unwrap(),
        Some("t1".into()),
        "the first link stands"
    );
    assert_eq!(s.ticket_of_messages(&globex.id, &ids).unwrap(), None);
}

fn alert(tenant_id: &str, key: &str, value: f64, at: i64, received_at: i64) -> AlertIn {
    AlertIn {
        tenant_id: tenant_id.to_owned(),
        channel_id: "c1".into(),
        key: key.to_owned(),
        asset: "FR-1".into(),
        metric: "temperature_c".into(),
        value,
        threshold: -12.0,
        severity: "critical".into(),
        at,
        cleared: false,
        new_ticket_id: format!("ticket-{key}"),
        received_at,
    }
}

pub fn alerts_fold_into_one_open_ticket_per_asset_counted_once(t: &TestStore) {
    let s = t.store.as_ref();
    let acme = tenant(s, "acme");
    let globex = tenant(s, "globex");
    let AlertOutcome::Opened(fold) = s
        .fold_alert(&alert(&acme.id, "a", -3.0, 100, 1_000))
        .unwrap()
    else {
        panic!("the first alert opens a ticket");
    };
    assert_eq!((fold.ticket_id.as_str(), fold.count), ("ticket-a", 1));
    // While its ticket is being written (no index row yet), alerts fold into it.
    let AlertOutcome::Folded(fold) = s
        .fold_alert(&alert(&acme.id, "b", -1.0, 300, 1_100))
        .unwrap()
    else {
        panic!("folded");
    };
    assert_eq!(fold.count, 2);
    assert_eq!((fold.last_value, fold.worst_value), (-1.0, -1.0));
    // An older alert arriving late counts, and moves the first time, not the last value.
    let AlertOutcome::Folded(fold) = s
        .fold_alert(&alert(&acme.id, "c", -7.0, 50, 1_200))
        .unwrap()
    else {
        panic!("folded");
    };
    assert_eq!((fold.count, fold.first_at, fold.last_at), (3, 50, 300));
    assert_eq!((fold.last_value, fold.worst_value), (-1.0, -1.0));
    // The same delivery again: its receipt, nothing counted.
    let AlertOutcome::Repeat(receipt) = s
        .fold_alert(&alert(&acme.id, "c", -7.0, 50, 1_300))
        .unwrap()
    else {
        panic!("a repeat");
    };
    assert_eq!(receipt.outcome, "folded");
    assert_eq!(
        s.alert_fold(&acme.id, "ticket-a").unwrap().unwrap().count,
        3
    );
    // Another tenant's asset of the same serial is its own (through its own channel).
    let theirs = AlertIn {
        channel_id: "c2".into(),
        ..alert(&globex.id, "a", -3.0, 100, 1_000)
    };
    assert!(matches!(
        s.fold_alert(&theirs).unwrap(),
        AlertOutcome::Opened(_)
    ));
    // Written: the count the document shows; nothing left to write.
    assert_eq!(s.unwritten_alert_folds(10).unwrap().len(), 2);
    s.alert_fold_written(&acme.id, "ticket-a", 3).unwrap();
    assert_eq!(s.unwritten_alert_folds(10).unwrap().len(), 1);
    // A clear marks it; a ticket never made is taken as gone after the grace period, and
    // then a clear is ignored and the next alert opens a new ticket.
    let mut clear = alert(&acme.id, "d", -14.0, 400, 1_400);
    clear.cleared = true;
    let AlertOutcome::Cleared(fold) = s.fold_alert(&clear).unwrap() else {
        panic!("cleared");
    };
    assert_eq!(fold.resolved_at, Some(400));
    let late = 1_000 + OPENING_GRACE_MS;
    let mut clear = alert(&acme.id, "e", -14.0, 500, late);
    clear.cleared = true;
    assert_eq!(s.fold_alert(&clear).unwrap(), AlertOutcome::Ignored);
    let AlertOutcome::Opened(fold) = s
        .fold_alert(&alert(&acme.id, "f", -2.0, 600, late))
        .unwrap()
    else {
        panic!("a new ticket");
    };
    assert_eq!((fold.ticket_id.as_str(), fold.count), ("ticket-f", 1));
    // A stored open ticket stays open past the grace period.
    create_ticket(s, &acme, "ticket-f", "reporter", "h-f");
    let later = late + 10 * OPENING_GRACE_MS;
    assert!(matches!(
        s.fold_alert(&alert(&acme.id, "g", -2.0, 700, later))
            .unwrap(),
        AlertOutcome::Folded(_)
    ));
}
