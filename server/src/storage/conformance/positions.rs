//! [`PositionLog`]: technicians' last known positions.

use fieldwork_core::model::Role;

use super::{TestStore, tenant, user};
use crate::storage::{PositionRecord, PositionWrite, UserRecord};

fn at(user: &UserRecord, lat: f64, received_at: i64) -> PositionRecord {
    PositionRecord {
        tenant_id: user.tenant_id.clone(),
        user_id: user.id.clone(),
        lat,
        lon: 121.47,
        accuracy_m: Some(8.0),
        at: received_at - 500,
        received_at,
    }
}

pub fn a_position_is_kept_per_user_and_throttled_by_server_time(t: &TestStore) {
    let s = t.store.as_ref();
    let acme = tenant(s, "acme");
    let tech = user(s, &acme, "tech", Role::Technician);
    let first = at(&tech, 31.23, 10_000);
    assert_eq!(
        s.record_position(&first, 1_000).unwrap(),
        PositionWrite::Stored
    );
    assert_eq!(
        s.record_position(&at(&tech, 31.24, 10_400), 1_000).unwrap(),
        PositionWrite::TooSoon {
            retry_after_ms: 600
        }
    );
    assert_eq!(s.technician_positions(&acme.id).unwrap(), [first]);
    let later = PositionRecord {
        accuracy_m: None,
        ..at(&tech, 31.25, 11_000)
    };
    assert_eq!(
        s.record_position(&later, 1_000).unwrap(),
        PositionWrite::Stored
    );
    assert_eq!(s.technician_positions(&acme.id).unwrap(), [later]);
}

pub fn only_the_tenants_technicians_are_listed(t: &TestStore) {
    let s = t.store.as_ref();
    let acme = tenant(s, "acme");
    let globex = tenant(s, "globex");
    let zed = user(s, &acme, "zed", Role::Technician);
    let amy = user(s, &acme, "amy", Role::Technician);
    let rider = user(s, &acme, "rider", Role::Rider);
    let other = user(s, &globex, "bo", Role::Technician);
    for (u, lat) in [(&zed, 1.0), (&amy, 2.0), (&rider, 3.0), (&other, 4.0)] {
        assert_eq!(
            s.record_position(&at(u, lat, 5_000), 0).unwrap(),
            PositionWrite::Stored
        );
    }
    let mut expected = vec![at(&zed, 1.0, 5_000), at(&amy, 2.0, 5_000)];
    expected.sort_by(|a, b| a.user_id.cmp(&b.user_id));
    assert_eq!(
        s.technician_positions(&acme.id).unwrap(),
        expected,
        "by user id"
    );
    assert_eq!(
        s.technician_positions(&globex.id).unwrap(),
        [at(&other, 4.0, 5_000)]
    );
    assert!(s.technician_positions("tenant-nobody").unwrap().is_empty());
}
