//! Sign-ins under attack (issue 9, finding 2): bursts of wrong passwords are limited per account
//! and per address with `429` and `Retry-After`, the real user still gets in after the wait,
//! unknown accounts are limited exactly like real ones, and password hashing never runs more
//! than its slots at once.

mod support;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Request, StatusCode};
use fieldwork_core::Role;
use fieldwork_core::clock::{ManualClock, SystemClock};
use fieldwork_core::ticket::ActorId;
use fieldwork_protocol::sync::{self as protocol, DeviceRegistration, DeviceSession, LoginRequest};
use fieldwork_server::LoginLimits;
use support::{Harness, PASSWORD, Reply};

/// A server on `clock` that answers refusals at once (the refusal delay only slows attackers;
/// sequential tests would just wait for it).
fn quick_refusals(clock: Arc<ManualClock>) -> Harness {
    Harness::with_config(clock, |config| {
        config.logins.refusal_delay = std::time::Duration::ZERO;
    })
}

fn address(last: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(203, 0, 113, last))
}

/// `POST /v1/login` as it arrives through the listener from `from`.
async fn login(h: &Harness, from: IpAddr, tenant: &str, user: &str, password: &str) -> Reply {
    let body = protocol::encode(&LoginRequest {
        tenant: tenant.into(),
        user: user.into(),
        password: password.into(),
        device: DeviceRegistration {
            actor_id: ActorId::random().to_hex_string(),
            name: "phone".into(),
        },
    });
    let mut request = Request::builder()
        .method("POST")
        .uri("/v1/login")
        .header("content-type", protocol::CONTENT_TYPE)
        .body(Body::from(body))
        .expect("request");
    request
        .extensions_mut()
        .insert(ConnectInfo(SocketAddr::new(from, 40_000)));
    h.request(request).await
}

/// The `Retry-After` of a `429 too_many_requests`, checked to be whole seconds.
fn retry_after(reply: &Reply) -> u64 {
    assert_eq!(
        reply.error(StatusCode::TOO_MANY_REQUESTS).code,
        "too_many_requests"
    );
    let seconds = reply
        .headers
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
        .expect("Retry-After in seconds");
    assert!(seconds >= 1);
    seconds
}

#[tokio::test(flavor = "multi_thread")]
async fn a_burst_of_wrong_passwords_gets_429s_and_the_real_user_gets_in_after_the_wait() {
    let clock = Arc::new(ManualClock::at(1_800_000_000_000));
    // Every attempt that gets past the limits must reach the password check, however slowly a
    // busy machine hashes (shedding a full queue is tested on its own).
    let h = Arc::new(Harness::with_config(clock.clone(), |config| {
        config.logins.hashing_wait = std::time::Duration::from_secs(600);
    }));
    h.tenant("acme");
    h.user("acme", "li.wei", Role::Technician, None);
    let free = LoginLimits::default().per_account.free_attempts as usize;

    // 32 wrong passwords at once, from one address.
    let attacker = address(66);
    let burst: Vec<_> = (0..32)
        .map(|_| {
            let h = h.clone();
            tokio::spawn(async move { login(&h, attacker, "acme", "li.wei", "hunter2").await })
        })
        .collect();
    let mut refused = 0;
    let mut checked = 0;
    for reply in burst {
        let reply = reply.await.expect("task");
        if reply.status == StatusCode::TOO_MANY_REQUESTS {
            retry_after(&reply);
            refused += 1;
        } else {
            let error = reply.error(StatusCode::UNAUTHORIZED);
            assert_eq!(error.code, "bad_credentials");
            checked += 1;
        }
    }
    // Attempts count when they begin, so a burst gets no further than a sequence would.
    assert_eq!((checked, refused), (free, 32 - free));

    // The real user, elsewhere, with the right password: the account waits, then lets them in.
    let real_user = address(7);
    let locked = login(&h, real_user, "acme", "li.wei", PASSWORD).await;
    let wait = retry_after(&locked);
    clock.advance(wait as i64 * 1000);
    let session: DeviceSession = login(&h, real_user, "acme", "li.wei", PASSWORD).await.ok();
    assert!(session.token.starts_with("fwd_"));

    // Signing in started the account over: a typo now is an ordinary wrong password.
    let typo = login(&h, real_user, "acme", "li.wei", "correct horse").await;
    assert_eq!(typo.error(StatusCode::UNAUTHORIZED).code, "bad_credentials");
}

#[tokio::test]
async fn an_attacker_polling_a_locked_account_is_stopped_by_its_address() {
    let clock = Arc::new(ManualClock::at(1_800_000_000_000));
    let h = quick_refusals(clock.clone());
    h.tenant("acme");
    h.user("acme", "li.wei", Role::Technician, None);
    let limits = LoginLimits::default();
    let attacker = address(66);
    // The attacker keeps trying once a second, long after the account locked, until its own
    // address has to wait (for any account it names).
    for tries in 0.. {
        assert!(tries < 200, "the attacker's address never had to wait");
        let _ = login(&h, attacker, "acme", "li.wei", "guess").await;
        clock.advance(1000);
        let other_account = login(&h, attacker, "acme", "nobody", "x").await;
        if other_account.status == StatusCode::TOO_MANY_REQUESTS {
            retry_after(&other_account);
            break;
        }
    }
    // Other addresses are not affected.
    let elsewhere = login(&h, address(67), "acme", "someone.else", "x").await;
    assert_eq!(
        elsewhere.error(StatusCode::UNAUTHORIZED).code,
        "bad_credentials"
    );
    // The account's own lock is short: the real user gets in after at most its longest wait.
    let first = login(&h, address(7), "acme", "li.wei", PASSWORD).await;
    if first.status != StatusCode::OK {
        let wait = retry_after(&first);
        assert!(wait <= limits.per_account.max_wait.as_secs(), "{wait}");
        clock.advance(wait as i64 * 1000);
        let session: DeviceSession = login(&h, address(7), "acme", "li.wei", PASSWORD).await.ok();
        assert!(session.token.starts_with("fwd_"));
    }
}

#[tokio::test]
async fn unknown_tenants_and_users_are_limited_exactly_like_real_accounts() {
    let clock = Arc::new(ManualClock::at(1_800_000_000_000));
    let h = quick_refusals(clock);
    h.tenant("acme");
    h.user("acme", "li.wei", Role::Technician, None);
    let mut answers = Vec::new();
    for (tenant, user) in [
        ("acme", "li.wei"),
        ("acme", "no.such.user"),
        ("no-such-tenant", "li.wei"),
    ] {
        let mut seen = Vec::new();
        for i in 0..8 {
            let reply = login(&h, address(i), tenant, user, "wrong").await;
            let error = reply.error(reply.status);
            let retry = reply.headers.get("retry-after").cloned();
            seen.push((reply.status, error.code, error.message, retry));
        }
        answers.push(seen);
    }
    assert_eq!(answers[0], answers[1]);
    assert_eq!(answers[0], answers[2]);
    assert!(
        answers[0]
            .iter()
            .any(|(status, ..)| *status == StatusCode::TOO_MANY_REQUESTS)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn password_hashing_never_runs_more_than_its_slots_at_once() {
    let h = Arc::new(Harness::with_config(Arc::new(SystemClock), |config| {
        config.logins.hashing_slots = 2;
        config.logins.hashing_queue = 64;
        config.logins.hashing_wait = std::time::Duration::from_secs(600);
    }));
    h.tenant("acme");
    // 40 sign-ins at once, each from its own address to its own account, so no rate limit
    // stands in the way: only the gate does.
    let logins: Vec<_> = (0..40u8)
        .map(|i| {
            let h = h.clone();
            tokio::spawn(async move {
                login(&h, address(i), "acme", &format!("user{i}"), "wrong").await
            })
        })
        .collect();
    for reply in logins {
        let reply = reply.await.expect("task");
        assert_eq!(
            reply.error(StatusCode::UNAUTHORIZED).code,
            "bad_credentials"
        );
    }
    let peak = h.state.password_hashing_peak();
    assert!((1..=2).contains(&peak), "{peak} hashes ran at once");
}

#[tokio::test(flavor = "multi_thread")]
async fn beyond_the_hashing_queue_sign_ins_are_told_the_server_is_busy() {
    let h = Arc::new(Harness::with_config(Arc::new(SystemClock), |config| {
        config.logins.hashing_slots = 1;
        config.logins.hashing_queue = 0;
    }));
    h.tenant("acme");
    h.user("acme", "li.wei", Role::Technician, None);
    let logins: Vec<_> = (0..16u8)
        .map(|i| {
            let h = h.clone();
            tokio::spawn(async move {
                login(&h, address(i), "acme", &format!("user{i}"), "wrong").await
            })
        })
        .collect();
    for reply in logins {
        let reply = reply.await.expect("task");
        if reply.status == StatusCode::SERVICE_UNAVAILABLE {
            assert_eq!(
                reply.error(StatusCode::SERVICE_UNAVAILABLE).code,
                "server_busy"
            );
            assert!(reply.headers.contains_key("retry-after"));
        } else {
            assert_eq!(
                reply.error(StatusCode::UNAUTHORIZED).code,
                "bad_credentials"
            );
        }
    }
    assert_eq!(h.state.password_hashing_peak(), 1);
    // A sign-in told "busy" cost its address nothing: the real user gets in right after.
    let session: DeviceSession = login(&h, address(3), "acme", "li.wei", PASSWORD).await.ok();
    assert!(session.token.starts_with("fwd_"));
}

#[tokio::test]
async fn oversized_sign_ins_are_refused_before_any_hashing() {
    let h = Harness::new();
    h.tenant("acme");
    // Anyone may send a sign-in: its body is not buffered up to the 8 MiB other requests get.
    let huge = "x".repeat(1 << 20);
    let reply = login(&h, address(1), "acme", "li.wei", &huge).await;
    assert_eq!(
        reply.error(StatusCode::PAYLOAD_TOO_LARGE).code,
        "body_too_large"
    );
    // A password over 1 KiB in a small body: argon2's work grows with it.
    let long = "x".repeat(2000);
    let reply = login(&h, address(1), "acme", "li.wei", &long).await;
    assert_eq!(reply.error(StatusCode::BAD_REQUEST).code, "bad_request");
    assert_eq!(h.state.password_hashing_peak(), 0);
}
