//! The back-office API's way in (`docs/api.md`, "Signing in"): a browser session with its cookie
//! flags and CSRF token, user API tokens for scripts, sign-in limits shared with the devices'
//! login, expiry, password changes, disabled users; and the API's one error shape and its
//! generated OpenAPI document.

mod support;

use std::sync::Arc;

use axum::http::StatusCode;
use fieldwork_core::Role;
use fieldwork_core::clock::ManualClock;
use fieldwork_protocol::sync as protocol;
use serde_json::json;
use support::api::Browser;
use support::{Harness, PASSWORD};

const T0: i64 = 1_800_000_000_000;
const HOUR: i64 = 60 * 60 * 1000;

fn harness(clock: Arc<ManualClock>, secure: bool) -> Harness {
    Harness::with_config(clock, move |config| {
        config.logins.refusal_delay = std::time::Duration::ZERO;
        config.secure_cookies = secure;
    })
}

#[tokio::test]
async fn a_session_is_a_strict_httponly_cookie_and_writes_need_its_csrf_token() {
    let h = harness(Arc::new(ManualClock::at(T0)), false);
    h.tenant("acme");
    h.user("acme", "ana", Role::Dispatcher, None);

    let (browser, opened) = Browser::sign_in(&h, "acme", "ana", PASSWORD).await;
    assert_eq!(opened.status, StatusCode::CREATED, "{}", opened.json);
    assert_eq!(opened.json["user"]["name"], "ana");
    assert_eq!(opened.json["user"]["role"], "dispatcher");
    assert_eq!(opened.json["expires_at"], T0 + 8 * HOUR);
    let session = opened.set_cookie("fw_session").expect("session cookie");
    for flag in ["HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(session.contains(flag), "{session}");
    }
    assert!(!session.contains("Secure"), "plain HTTP here: {session}");
    let csrf = opened.set_cookie("fw_csrf").expect("csrf cookie");
    assert!(
        !csrf.contains("HttpOnly"),
        "the console's script reads it: {csrf}"
    );
    assert_eq!(
        browser.csrf.as_deref(),
        opened.json["csrf_token"].as_str(),
        "the same token in the body and the cookie"
    );
    assert!(
        !opened.reply.body.windows(4).any(|w| w == b"fws_"),
        "the session token stays in the cookie"
    );

    let me = browser.get(&h, "/api/v1/session").await;
    assert_eq!(me.status, StatusCode::OK);
    assert_eq!(
        (me.json["user"]["name"].as_str(), me.json["via"].as_str()),
        (Some("ana"), Some("session"))
    );

    // A write without the CSRF token (a form posted from another site) is refused.
    let forged = Browser {
        forget_csrf: true,
        ..browser.clone()
    };
    let refused = forged.send(&h, "DELETE", "/api/v1/session", None).await;
    assert_eq!(refused.error(StatusCode::FORBIDDEN), "csrf_failed");
    let wrong = Browser {
        csrf: Some("0".repeat(64)),
        ..browser.clone()
    };
    let refused = wrong.send(&h, "DELETE", "/api/v1/session", None).await;
    assert_eq!(refused.error(StatusCode::FORBIDDEN), "csrf_failed");

    // Signing out ends the session and clears the cookies.
    let out = browser.send(&h, "DELETE", "/api/v1/session", None).await;
    assert_eq!(out.status, StatusCode::NO_CONTENT);
    assert!(
        out.set_cookie("fw_session")
            .expect("cleared")
            .contains("Max-Age=0")
    );
    let after = browser.get(&h, "/api/v1/session").await;
    assert_eq!(after.error(StatusCode::UNAUTHORIZED), "unauthorized");
}

#[tokio::test]
async fn cookies_are_secure_when_the_server_is_reached_over_tls() {
    let h = harness(Arc::new(ManualClock::at(T0)), true);
    h.tenant("acme");
    h.user("acme", "ana", Role::Agent, None);
    let (_, opened) = Browser::sign_in(&h, "acme", "ana", PASSWORD).await;
    for name in ["fw_session", "fw_csrf"] {
        assert!(
            opened
                .set_cookie(name)
                .expect("cookie")
                .contains("; Secure")
        );
    }
}

#[tokio::test]
async fn a_session_idles_out_lives_while_used_and_ends_after_a_week() {
    let clock = Arc::new(ManualClock::at(T0));
    let h = harness(clock.clone(), false);
    h.tenant("acme");
    h.user("acme", "ana", Role::Supervisor, None);
    let (idle, _) = Browser::sign_in(&h, "acme", "ana", PASSWORD).await;
    let (busy, _) = Browser::sign_in(&h, "acme", "ana", PASSWORD).await;
    // The busy one is used every 7 hours; the idle one is not.
    for _ in 0..3 {
        clock.advance(7 * HOUR);
        assert_eq!(busy.get(&h, "/api/v1/session").await.status, StatusCode::OK);
    }
    assert_eq!(
        idle.get(&h, "/api/v1/session")
            .await
            .error(StatusCode::UNAUTHORIZED),
        "unauthorized"
    );
    // However busy, a session ends a week after sign-in.
    for _ in 0..21 {
        clock.advance(7 * HOUR);
        busy.get(&h, "/api/v1/session").await;
    }
    assert_eq!(
        busy.get(&h, "/api/v1/session")
            .await
            .error(StatusCode::UNAUTHORIZED),
        "unauthorized"
    );
}

#[tokio::test]
async fn wrong_passwords_are_limited_like_the_devices_login_and_unknown_accounts_alike() {
    let h = harness(Arc::new(ManualClock::at(T0)), false);
    h.tenant("acme");
    h.user("acme", "ana", Role::Agent, None);
    let free = fieldwork_server::LoginLimits::default()
        .per_account
        .free_attempts;
    for name in ["ana", "nobody"] {
        for _ in 0..free {
            let (_, wrong) = Browser::sign_in(&h, "acme", name, "wrong password").await;
            assert_eq!(wrong.error(StatusCode::UNAUTHORIZED), "bad_credentials");
        }
        let (_, limited) = Browser::sign_in(&h, "acme", name, "wrong password").await;
        assert_eq!(
            limited.error(StatusCode::TOO_MANY_REQUESTS),
            "too_many_requests"
        );
        let wait: u64 = limited.reply.headers["retry-after"]
            .to_str()
            .expect("ascii")
            .parse()
            .expect("seconds");
        assert!(wait >= 1);
    }
    // Until the wait is over even the right password is refused.
    let (_, still) = Browser::sign_in(&h, "acme", "ana", PASSWORD).await;
    assert_eq!(
        still.error(StatusCode::TOO_MANY_REQUESTS),
        "too_many_requests"
    );
}

#[tokio::test]
async fn scripts_use_user_tokens_and_device_tokens_are_for_sync_only() {
    let h = harness(Arc::new(ManualClock::at(T0)), false);
    h.tenant("acme");
    let ana = h.user("acme", "ana", Role::Dispatcher, None);
    let script = Browser::with_token(&ana.api_token);
    let me = script.get(&h, "/api/v1/session").await;
    assert_eq!(
        (me.json["via"].as_str(), me.status),
        (Some("token"), StatusCode::OK)
    );
    let device = h.login(&ana).await;
    let phone = Browser::with_token(&device.token);
    assert_eq!(
        phone
            .get(&h, "/api/v1/session")
            .await
            .error(StatusCode::UNAUTHORIZED),
        "unauthorized"
    );
    let nobody = Browser::with_token("fwu_0000");
    assert_eq!(
        nobody
            .get(&h, "/api/v1/session")
            .await
            .error(StatusCode::UNAUTHORIZED),
        "unauthorized"
    );
    assert_eq!(
        Browser::default()
            .get(&h, "/api/v1/session")
            .await
            .error(StatusCode::UNAUTHORIZED),
        "unauthorized"
    );
}

#[tokio::test]
async fn a_password_change_checks_the_old_one_and_ends_the_other_sessions() {
    let h = harness(Arc::new(ManualClock::at(T0)), false);
    h.tenant("acme");
    h.user("acme", "ana", Role::Agent, None);
    let (here, _) = Browser::sign_in(&h, "acme", "ana", PASSWORD).await;
    let (elsewhere, _) = Browser::sign_in(&h, "acme", "ana", PASSWORD).await;
    let change =
        |current: &str, new: &str| json!({ "current_password": current, "new_password": new });
    let wrong = here
        .send(
            &h,
            "PUT",
            "/api/v1/session/password",
            Some(change("nope", "a new long password")),
        )
        .await;
    assert_eq!(wrong.error(StatusCode::UNAUTHORIZED), "bad_credentials");
    let short = here
        .send(
            &h,
            "PUT",
            "/api/v1/session/password",
            Some(change(PASSWORD, "short")),
        )
        .await;
    assert_eq!(short.error(StatusCode::BAD_REQUEST), "bad_request");
    let done = here
        .send(
            &h,
            "PUT",
            "/api/v1/session/password",
            Some(change(PASSWORD, "a new long password")),
        )
        .await;
    assert_eq!(done.status, StatusCode::NO_CONTENT, "{}", done.json);
    assert_eq!(here.get(&h, "/api/v1/session").await.status, StatusCode::OK);
    assert_eq!(
        elsewhere
            .get(&h, "/api/v1/session")
            .await
            .error(StatusCode::UNAUTHORIZED),
        "unauthorized"
    );
    let (_, old) = Browser::sign_in(&h, "acme", "ana", PASSWORD).await;
    assert_eq!(old.error(StatusCode::UNAUTHORIZED), "bad_credentials");
    let (_, new) = Browser::sign_in(&h, "acme", "ana", "a new long password").await;
    assert_eq!(new.status, StatusCode::CREATED);
}

#[tokio::test]
async fn a_disabled_user_is_stopped_everywhere_at_once() {
    let h = harness(Arc::new(ManualClock::at(T0)), false);
    h.tenant("acme");
    h.tenant("globex");
    h.user("acme", "root", Role::Admin, None);
    let tech = h.user("acme", "tech", Role::Technician, None);
    let stranger = h.user("globex", "g", Role::Technician, None);
    h.user("acme", "sup", Role::Supervisor, None);
    let (admin, _) = Browser::sign_in(&h, "acme", "root", PASSWORD).await;
    let (sup, _) = Browser::sign_in(&h, "acme", "sup", PASSWORD).await;
    let (tech_browser, _) = Browser::sign_in(&h, "acme", "tech", PASSWORD).await;
    let phone = h.login(&tech).await;
    let sync_body = || protocol::encode(&phone.request(&[], 0, 1 << 20));

    let path = format!("/api/v1/users/{}/disable", tech.id);
    assert_eq!(
        sup.post(&h, &path, json!({}))
            .await
            .error(StatusCode::FORBIDDEN),
        "forbidden"
    );
    let other = format!("/api/v1/users/{}/disable", stranger.id);
    assert_eq!(
        admin
            .post(&h, &other, json!({}))
            .await
            .error(StatusCode::NOT_FOUND),
        "not_found",
        "another tenant's user is nobody"
    );
    let disabled = admin.post(&h, &path, json!({})).await;
    assert_eq!(disabled.status, StatusCode::OK, "{}", disabled.json);
    assert_eq!(disabled.json["disabled"], true);

    assert_eq!(
        tech_browser
            .get(&h, "/api/v1/session")
            .await
            .error(StatusCode::UNAUTHORIZED),
        "unauthorized"
    );
    let sync = h
        .call("POST", "/v1/sync", Some(&phone.token), Some(sync_body()))
        .await;
    assert_eq!(sync.status, StatusCode::UNAUTHORIZED);
    let (_, again) = Browser::sign_in(&h, "acme", "tech", PASSWORD).await;
    assert_eq!(again.error(StatusCode::UNAUTHORIZED), "bad_credentials");
    let users = sup.get(&h, "/api/v1/users").await;
    let listed = users.json["items"].as_array().expect("items");
    assert!(
        listed
            .iter()
            .any(|u| u["name"] == "tech" && u["disabled"] == true)
    );
    assert!(
        listed.iter().all(|u| u["name"] != "g"),
        "only the tenant's own"
    );

    let enabled = admin
        .post(&h, &format!("/api/v1/users/{}/enable", tech.id), json!({}))
        .await;
    assert_eq!(enabled.json["disabled"], false);
    let (_, back) = Browser::sign_in(&h, "acme", "tech", PASSWORD).await;
    assert_eq!(back.status, StatusCode::CREATED);
    let old = h
        .call("POST", "/v1/sync", Some(&phone.token), Some(sync_body()))
        .await;
    assert_eq!(
        old.status,
        StatusCode::UNAUTHORIZED,
        "what was stopped stays stopped"
    );
}

#[tokio::test]
async fn every_error_has_the_one_shape_and_the_document_lists_every_operation() {
    let h = harness(Arc::new(ManualClock::at(T0)), false);
    h.tenant("acme");
    let ana = h.user("acme", "ana", Role::Admin, None);
    let script = Browser::with_token(&ana.api_token);
    assert_eq!(
        script
            .get(&h, "/api/v1/nothing-here")
            .await
            .error(StatusCode::NOT_FOUND),
        "not_found"
    );
    assert_eq!(
        script
            .send(&h, "PATCH", "/api/v1/session", None)
            .await
            .error(StatusCode::METHOD_NOT_ALLOWED),
        "method_not_allowed"
    );
    let malformed = h
        .request(
            axum::http::Request::post("/api/v1/session")
                .header("content-type", "application/json")
                .body(axum::body::Body::from("{\"tenant\": "))
                .expect("request"),
        )
        .await;
    assert_eq!(malformed.status, StatusCode::BAD_REQUEST);
    let not_json = h
        .request(
            axum::http::Request::post("/api/v1/session")
                .body(axum::body::Body::from("tenant=acme"))
                .expect("request"),
        )
        .await;
    assert_eq!(not_json.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let unknown_field = Browser::default()
        .post(
            &h,
            "/api/v1/session",
            json!({"tenant": "acme", "name": "ana", "password": "x", "admin": true}),
        )
        .await;
    assert_eq!(unknown_field.error(StatusCode::BAD_REQUEST), "bad_request");

    let doc = Browser::default().get(&h, "/api/v1/openapi.json").await;
    assert_eq!(doc.status, StatusCode::OK);
    assert!(
        doc.json["openapi"]
            .as_str()
            .expect("version")
            .starts_with("3.1")
    );
    let paths = doc.json["paths"].as_object().expect("paths");
    for path in [
        "/session",
        "/session/password",
        "/users",
        "/users/{id}/disable",
        "/users/{id}/enable",
    ] {
        assert!(paths.contains_key(path), "{path} in {:?}", paths.keys());
    }
    let codes = doc
        .json
        .pointer("/components/schemas/ErrorCode")
        .expect("the codes are listed")
        .to_string();
    for code in [
        "csrf_failed",
        "too_many_requests",
        "not_found",
        "bad_credentials",
    ] {
        assert!(codes.contains(code), "{code}");
    }
    let page = h
        .request(
            axum::http::Request::get("/api/v1/docs")
                .body(axum::body::Body::empty())
                .expect("request"),
        )
        .await;
    assert_eq!(page.status, StatusCode::OK);
    let html = String::from_utf8(page.body).expect("UTF-8");
    assert!(html.contains("<code>/users/{id}/disable</code>"));
}

#[tokio::test]
async fn an_admin_makes_users_and_the_back_office_reads_the_teams() {
    let h = harness(Arc::new(ManualClock::at(T0)), false);
    h.tenant("acme");
    h.tenant("globex");
    let root = h.user("acme", "root", Role::Admin, None);
    let ops = h.user("acme", "ops", Role::Dispatcher, None);
    let other = h.user("globex", "gil", Role::Admin, Some("north"));
    let admin = Browser::with_token(&root.api_token);

    let made = admin
        .post(
            &h,
            "/api/v1/users",
            json!({ "name": "zhang.min", "role": "technician", "team": "north", "skills": ["fridge"], "password": "staple horse" }),
        )
        .await;
    assert_eq!(made.status, StatusCode::CREATED, "{}", made.json);
    assert_eq!(made.json["user"]["role"], "technician");
    let token = made.json["api_token"].as_str().expect("token shown once");
    assert!(token.starts_with("fwu_"));
    // The new user signs in with the password, and scripts with the token.
    let (_, signed_in) = Browser::sign_in(&h, "acme", "zhang.min", "staple horse").await;
    assert_eq!(signed_in.status, StatusCode::CREATED);
    let me = Browser::with_token(token).get(&h, "/api/v1/session").await;
    assert_eq!(me.json["user"]["name"], "zhang.min");

    // Taken names, bad roles, short passwords: clear answers, nothing made.
    let taken = admin
        .post(
            &h,
            "/api/v1/users",
            json!({ "name": "zhang.min", "role": "agent" }),
        )
        .await;
    assert_eq!(taken.error(StatusCode::CONFLICT), "conflict");
    let role = admin
        .post(
            &h,
            "/api/v1/users",
            json!({ "name": "x", "role": "wizard" }),
        )
        .await;
    assert_eq!(role.error(StatusCode::BAD_REQUEST), "bad_request");
    let short = admin
        .post(
            &h,
            "/api/v1/users",
            json!({ "name": "y", "role": "agent", "password": "short" }),
        )
        .await;
    assert_eq!(short.error(StatusCode::BAD_REQUEST), "bad_request");
    let not_admin = Browser::with_token(&ops.api_token)
        .post(&h, "/api/v1/users", json!({ "name": "z", "role": "agent" }))
        .await;
    assert_eq!(not_admin.error(StatusCode::FORBIDDEN), "forbidden");
    let listed = admin.get(&h, "/api/v1/users").await;
    let names: Vec<&str> = listed.json["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|u| u["name"].as_str())
        .collect();
    assert_eq!(names, ["ops", "root", "zhang.min"]);

    // Teams: from the configuration, and their members from the users.
    let applied = admin
        .send(
            &h,
            "PUT",
            "/api/v1/config",
            Some(json!({ "toml": "[[teams]]\nname = \"north\"\nkinds = [\"repair\"]\nchooser = \"least_loaded\"\nlead = \"ops\"\n\n[[teams]]\nname = \"south\"\n" })),
        )
        .await;
    assert_eq!(applied.status, StatusCode::OK, "{}", applied.json);
    let teams = Browser::with_token(&ops.api_token)
        .get(&h, "/api/v1/teams")
        .await;
    assert_eq!(teams.status, StatusCode::OK, "{}", teams.json);
    assert_eq!(
        teams.json["items"][0],
        json!({
            "name": "north", "configured": true, "lead": "ops", "categories": [],
            "kinds": ["repair"], "chooser": "least_loaded",
            "members": [made.json["user"].clone()]
        })
    );
    assert_eq!(teams.json["items"][1]["name"], "south");
    assert_eq!(teams.json["items"][1]["members"], json!([]));
    assert!(
        !teams.reply.body.windows(3).any(|w| w == b"gil"),
        "another tenant's team of the same name is theirs alone"
    );
    let theirs = Browser::with_token(&other.api_token)
        .get(&h, "/api/v1/teams")
        .await;
    assert_eq!(theirs.json["items"][0]["configured"], false);
    assert_eq!(theirs.json["items"][0]["members"][0]["name"], "gil");
    let rider = h.user("acme", "li", Role::Rider, None);
    let refused = Browser::with_token(&rider.api_token)
        .get(&h, "/api/v1/teams")
        .await;
    assert_eq!(refused.error(StatusCode::FORBIDDEN), "forbidden");
}
