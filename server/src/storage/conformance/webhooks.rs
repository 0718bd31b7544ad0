//! [`WebhookLog`]: deliveries queued, due in order, attempts recorded until delivered or given
//! up, the log per tenant, and each tenant's secret kept once made.

use super::{TestStore, tenant};
use crate::storage::{Attempt, AttemptNext, DeliveryState, Missing, NewDelivery, StorageError};

fn delivery(tenant: &str, n: u8, at: i64) -> NewDelivery {
    NewDelivery {
        tenant_id: tenant.to_owned(),
        url: format!("http://127.0.0.1:9/hook{n}"),
        source: format!("rule {n}"),
        payload: format!("{{\"n\":{n}}}"),
        created_at: at,
    }
}

pub fn deliveries_are_due_in_order_and_recorded_until_delivered_or_given_up(t: &TestStore) {
    let s = t.store.as_ref();
    let acme = tenant(s, "acme");
    let globex = tenant(s, "globex");
    let ids = s
        .enqueue_deliveries(&[delivery(&acme.id, 1, 10), delivery(&acme.id, 2, 20)])
        .unwrap();
    let other = s
        .enqueue_deliveries(&[delivery(&globex.id, 3, 15)])
        .unwrap();
    assert_eq!(ids.len(), 2);
    let due: Vec<u64> = s
        .due_deliveries(100, 10)
        .unwrap()
        .iter()
        .map(|d| d.id)
        .collect();
    assert_eq!(
        due,
        [ids[0], other[0], ids[1]],
        "every tenant's, oldest due first"
    );
    assert!(
        s.due_deliveries(12, 10).unwrap().len() == 1,
        "only what is due"
    );
    // The first fails and waits; the second is delivered; the third gives up.
    s.record_attempt(
        ids[0],
        &Attempt {
            at: 30,
            status: Some(503),
            error: None,
            next: AttemptNext::RetryAt(500),
        },
    )
    .unwrap();
    s.record_attempt(
        ids[1],
        &Attempt {
            at: 31,
            status: Some(204),
            error: None,
            next: AttemptNext::Delivered,
        },
    )
    .unwrap();
    s.record_attempt(
        other[0],
        &Attempt {
            at: 32,
            status: None,
            error: Some("connection refused".into()),
            next: AttemptNext::GiveUp,
        },
    )
    .unwrap();
    assert!(s.due_deliveries(499, 10).unwrap().is_empty());
    let later = s.due_deliveries(500, 10).unwrap();
    assert_eq!(later.len(), 1);
    assert_eq!((later[0].attempts, later[0].last_status), (1, Some(503)));
    let log = s.deliveries(&acme.id, 10).unwrap();
    let states: Vec<(u64, DeliveryState, u32)> =
        log.iter().map(|d| (d.id, d.state, d.attempts)).collect();
    assert_eq!(
        states,
        [
            (ids[1], DeliveryState::Delivered, 1),
            (ids[0], DeliveryState::Pending, 1)
        ],
        "newest first, this tenant's only"
    );
    assert_eq!(log[0].delivered_at, Some(31));
    let gave_up = &s.deliveries(&globex.id, 10).unwrap()[0];
    assert_eq!(gave_up.state, DeliveryState::GaveUp);
    assert_eq!(gave_up.last_error.as_deref(), Some("connection refused"));
    // A delivered one takes no more attempts.
    s.record_attempt(
        ids[1],
        &Attempt {
            at: 40,
            status: Some(500),
            error: None,
            next: AttemptNext::RetryAt(41),
        },
    )
    .unwrap();
    assert_eq!(
        s.deliveries(&acme.id, 1).unwrap()[0].state,
        DeliveryState::Delivered
    );
}

pub fn a_tenants_webhook_secret_is_made_once_and_rotated(t: &TestStore) {
    let s = t.store.as_ref();
    let acme = tenant(s, "acme");
    let globex = tenant(s, "globex");
    assert_eq!(s.webhook_secret(&acme.id, "first", 1).unwrap(), "first");
    assert_eq!(
        s.webhook_secret(&acme.id, "second", 2).unwrap(),
        "first",
        "kept"
    );
    assert_eq!(s.webhook_secret(&globex.id, "g", 3).unwrap(), "g");
    s.rotate_webhook_secret(&acme.id, "rotated", 4).unwrap();
    assert_eq!(s.webhook_secret(&acme.id, "third", 5).unwrap(), "rotated");
    assert!(matches!(
        s.webhook_secret("tenant-nobody", "x", 6),
        Err(StorageError::NotFound(Missing::Tenant))
    ));
    assert!(matches!(
        s.enqueue_deliveries(&[delivery("tenant-nobody", 1, 1)]),
        Err(StorageError::NotFound(Missing::Tenant))
    ));
}
