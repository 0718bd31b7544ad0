//! Technicians' positions: who may report, the throttle on server time, validation without
//! echoing coordinates, and who sees them (the back office of the same tenant only).

mod support;

use std::sync::Arc;

use axum::http::StatusCode;
use fieldwork_core::Role;
use fieldwork_core::clock::ManualClock;
use fieldwork_protocol::sync::{
    self as protocol, POSITION_MIN_INTERVAL_MS, PositionReport, PositionsResponse,
};
use support::Harness;

const NOW: i64 = 1_795_400_000_000;

fn at(lat: f64, lon: f64) -> Vec<u8> {
    protocol::encode(&PositionReport {
        lat,
        lon,
        accuracy_m: Some(12.0),
        at: NOW - 2000,
    })
}

#[tokio::test]
async fn a_technician_reports_throttled_and_the_dispatcher_sees_it() {
    let clock = Arc::new(ManualClock::at(NOW));
    let h = Harness::with_clock(clock.clone());
    h.tenant("acme");
    let tech = h.user("acme", "tech1", Role::Technician, Some("north"));
    let ops = h.user("acme", "ops", Role::Dispatcher, None);
    let phone = h.login(&tech).await;
    let desk = h.login(&ops).await;

    let first = h
        .call(
            "POST",
            "/v1/positions",
            Some(&phone.token),
            Some(at(31.23, 121.47)),
        )
        .await;
    assert_eq!(first.status, StatusCode::NO_CONTENT, "{first:?}");

    clock.advance(10_000);
    let soon = h
        .call(
            "POST",
            "/v1/positions",
            Some(&phone.token),
            Some(at(31.24, 121.48)),
        )
        .await;
    assert_eq!(
        soon.error(StatusCode::TOO_MANY_REQUESTS).code,
        "too_many_reports"
    );
    assert_eq!(
        soon.headers.get("retry-after").map(|v| v.as_bytes()),
        Some(&b"20"[..])
    );

    let seen: PositionsResponse = h
        .call("GET", "/v1/positions", Some(&desk.token), None)
        .await
        .ok();
    assert_eq!(seen.positions.len(), 1);
    let p = &seen.positions[0];
    assert_eq!(p.user_id, tech.id);
    assert_eq!((p.lat, p.lon, p.accuracy_m), (31.23, 121.47, Some(12.0)));
    assert_eq!((p.at, p.received_at), (NOW - 2000, NOW));

    clock.advance(POSITION_MIN_INTERVAL_MS - 10_000);
    let later = h
        .call(
            "POST",
            "/v1/positions",
            Some(&phone.token),
            Some(at(31.25, 121.49)),
        )
        .await;
    assert_eq!(later.status, StatusCode::NO_CONTENT);
    let seen: PositionsResponse = h
        .call("GET", "/v1/positions", Some(&desk.token), None)
        .await
        .ok();
    assert_eq!(seen.positions[0].lat, 31.25);
    assert_eq!(
        seen.positions[0].received_at,
        NOW + POSITION_MIN_INTERVAL_MS
    );
}

#[tokio::test]
async fn a_bad_fix_is_refused_without_repeating_it() {
    let h = Harness::new();
    h.tenant("acme");
    let tech = h.user("acme", "tech1", Role::Technician, None);
    let phone = h.login(&tech).await;
    let reply = h
        .call(
            "POST",
            "/v1/positions",
            Some(&phone.token),
            Some(at(91.5, 10.0)),
        )
        .await;
    let error = reply.error(StatusCode::BAD_REQUEST);
    assert_eq!(error.code, "bad_location");
    assert!(!error.message.contains("91"), "{}", error.message);
    let garbage = h
        .call(
            "POST",
            "/v1/positions",
            Some(&phone.token),
            Some(vec![0xff, 0x00]),
        )
        .await;
    assert_eq!(garbage.error(StatusCode::BAD_REQUEST).code, "bad_request");
    // A refused report does not count against the throttle.
    let good = h
        .call(
            "POST",
            "/v1/positions",
            Some(&phone.token),
            Some(at(1.0, 1.0)),
        )
        .await;
    assert_eq!(good.status, StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn only_technicians_report_and_only_the_back_office_of_the_tenant_looks() {
    let h = Harness::new();
    h.tenant("acme");
    h.tenant("globex");
    let tech = h.user("acme", "tech1", Role::Technician, None);
    let rider = h.user("acme", "rider1", Role::Rider, None);
    let agent = h.user("acme", "agent", Role::Agent, None);
    let stranger = h.user("globex", "ops", Role::Dispatcher, None);
    let phone = h.login(&tech).await;
    let rider = h.login(&rider).await;
    let agent = h.login(&agent).await;
    let stranger = h.login(&stranger).await;

    let riding = h
        .call(
            "POST",
            "/v1/positions",
            Some(&rider.token),
            Some(at(1.0, 1.0)),
        )
        .await;
    assert_eq!(riding.error(StatusCode::FORBIDDEN).code, "forbidden");
    let desk_report = h
        .call(
            "POST",
            "/v1/positions",
            Some(&agent.token),
            Some(at(1.0, 1.0)),
        )
        .await;
    assert_eq!(desk_report.status, StatusCode::FORBIDDEN);
    assert_eq!(
        h.call(
            "POST",
            "/v1/positions",
            Some(&phone.token),
            Some(at(1.0, 1.0))
        )
        .await
        .status,
        StatusCode::NO_CONTENT
    );

    for token in [&rider.token, &phone.token] {
        let looked = h.call("GET", "/v1/positions", Some(token), None).await;
        assert_eq!(looked.error(StatusCode::FORBIDDEN).code, "forbidden");
    }
    let theirs: PositionsResponse = h
        .call("GET", "/v1/positions", Some(&agent.token), None)
        .await
        .ok();
    assert_eq!(theirs.positions.len(), 1);
    let other: PositionsResponse = h
        .call("GET", "/v1/positions", Some(&stranger.token), None)
        .await
        .ok();
    assert!(other.positions.is_empty(), "no data crosses tenants");
    let anonymous = h.call("GET", "/v1/positions", None, None).await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
}
