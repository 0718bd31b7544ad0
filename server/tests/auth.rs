//! Sign-in, tokens and who may call what.

mod support;

use axum::http::StatusCode;
use fieldwork_core::Role;
use fieldwork_core::ticket::ActorId;
use fieldwork_protocol::sync::{
    self as protocol, DeviceRegistration, DeviceSession, LoginRequest, UserInfo,
};
use support::{Harness, PASSWORD};

fn login(tenant: &str, user: &str, password: &str, actor: &ActorId) -> Vec<u8> {
    protocol::encode(&LoginRequest {
        tenant: tenant.into(),
        user: user.into(),
        password: password.into(),
        device: DeviceRegistration {
            actor_id: actor.to_hex_string(),
            name: "Pixel 8".into(),
        },
    })
}

#[tokio::test]
async fn login_me_and_logout_and_a_revoked_token_is_refused() {
    let h = Harness::new();
    let tenant = h.tenant("acme");
    let user = h.user("acme", "li.wei", Role::Technician, Some("north"));
    let session: DeviceSession = h
        .call(
            "POST",
            "/v1/login",
            None,
            Some(login("acme", "li.wei", PASSWORD, &ActorId::random())),
        )
        .await
        .ok();
    assert!(session.token.starts_with("fwd_"));
    assert_eq!(session.user.user_id, user.id);
    assert_eq!(session.user.tenant_id, tenant);
    assert_eq!(session.user.team.as_deref(), Some("north"));

    let me: UserInfo = h
        .call("GET", "/v1/me", Some(&session.token), None)
        .await
        .ok();
    assert_eq!(
        (me.user_id.as_str(), me.role),
        (user.id.as_str(), Role::Technician)
    );
    let by_api_token: UserInfo = h
        .call("GET", "/v1/me", Some(&user.api_token), None)
        .await
        .ok();
    assert_eq!(by_api_token, me);

    let out = h
        .call("POST", "/v1/logout", Some(&session.token), None)
        .await;
    assert_eq!(out.status, StatusCode::NO_CONTENT);
    let after = h.call("GET", "/v1/me", Some(&session.token), None).await;
    assert_eq!(after.error(StatusCode::UNAUTHORIZED).code, "unauthorized");

    // The admin revokes the user's API token: it stops working at once.
    h.admin.revoke_token(&user.api_token).expect("revokes");
    let revoked = h.call("GET", "/v1/me", Some(&user.api_token), None).await;
    assert_eq!(revoked.error(StatusCode::UNAUTHORIZED).code, "unauthorized");
}

#[tokio::test]
async fn unknown_users_and_wrong_passwords_get_the_same_answer() {
    let h = Harness::new();
    h.tenant("acme");
    h.user("acme", "li.wei", Role::Rider, None);
    let actor = ActorId::random();
    let wrong_password = h
        .call(
            "POST",
            "/v1/login",
            None,
            Some(login("acme", "li.wei", "guess", &actor)),
        )
        .await
        .error(StatusCode::UNAUTHORIZED);
    let unknown_user = h
        .call(
            "POST",
            "/v1/login",
            None,
            Some(login("acme", "nobody", PASSWORD, &actor)),
        )
        .await
        .error(StatusCode::UNAUTHORIZED);
    let unknown_tenant = h
        .call(
            "POST",
            "/v1/login",
            None,
            Some(login("other", "li.wei", PASSWORD, &actor)),
        )
        .await
        .error(StatusCode::UNAUTHORIZED);
    assert_eq!(wrong_password.code, "bad_credentials");
    assert_eq!(
        (&wrong_password.code, &wrong_password.message),
        (&unknown_user.code, &unknown_user.message)
    );
    assert_eq!(unknown_user.message, unknown_tenant.message);
    assert!(!wrong_password.message.contains("li.wei"));
}

#[tokio::test]
async fn missing_or_unknown_tokens_are_unauthorized_and_tokens_only_do_their_own_job() {
    let h = Harness::new();
    h.tenant("acme");
    let user = h.user("acme", "ops", Role::Dispatcher, None);
    let device = h.login(&user).await;
    let sync = protocol::encode(&device.request(&[], 0, 0));

    let none = h.call("POST", "/v1/sync", None, Some(sync.clone())).await;
    assert_eq!(none.error(StatusCode::UNAUTHORIZED).code, "unauthorized");
    let made_up = h
        .call("POST", "/v1/sync", Some("fwd_00"), Some(sync.clone()))
        .await;
    assert_eq!(made_up.error(StatusCode::UNAUTHORIZED).code, "unauthorized");

    // A user API token may register devices, not sync.
    let api = h
        .call("POST", "/v1/sync", Some(&user.api_token), Some(sync))
        .await;
    assert_eq!(api.error(StatusCode::FORBIDDEN).code, "forbidden");
    // A device token may sync, not register more devices.
    let registration = protocol::encode(&DeviceRegistration {
        actor_id: ActorId::random().to_hex_string(),
        name: "kiosk".into(),
    });
    let by_device = h
        .call(
            "POST",
            "/v1/devices",
            Some(&device.token),
            Some(registration.clone()),
        )
        .await;
    assert_eq!(by_device.error(StatusCode::FORBIDDEN).code, "forbidden");
    let registered: DeviceSession = h
        .call(
            "POST",
            "/v1/devices",
            Some(&user.api_token),
            Some(registration),
        )
        .await
        .ok();
    assert!(registered.token.starts_with("fwd_"));
    let me: UserInfo = h
        .call("GET", "/v1/me", Some(&registered.token), None)
        .await
        .ok();
    assert_eq!(me.user_id, user.id);
}

#[tokio::test]
async fn a_device_actor_belongs_to_one_user_and_signing_in_again_replaces_the_token() {
    let h = Harness::new();
    h.tenant("acme");
    h.user("acme", "a", Role::Rider, None);
    h.user("acme", "b", Role::Rider, None);
    let actor = ActorId::random();
    let first: DeviceSession = h
        .call(
            "POST",
            "/v1/login",
            None,
            Some(login("acme", "a", PASSWORD, &actor)),
        )
        .await
        .ok();
    let again: DeviceSession = h
        .call(
            "POST",
            "/v1/login",
            None,
            Some(login("acme", "a", PASSWORD, &actor)),
        )
        .await
        .ok();
    assert_eq!(first.device_id, again.device_id, "same device, new token");
    let old = h.call("GET", "/v1/me", Some(&first.token), None).await;
    assert_eq!(old.error(StatusCode::UNAUTHORIZED).code, "unauthorized");
    let taken = h
        .call(
            "POST",
            "/v1/login",
            None,
            Some(login("acme", "b", PASSWORD, &actor)),
        )
        .await;
    assert_eq!(taken.error(StatusCode::FORBIDDEN).code, "forbidden");
    let bad_actor = protocol::encode(&LoginRequest {
        tenant: "acme".into(),
        user: "a".into(),
        password: PASSWORD.into(),
        device: DeviceRegistration {
            actor_id: "not hex".into(),
            name: String::new(),
        },
    });
    let refused = h.call("POST", "/v1/login", None, Some(bad_actor)).await;
    assert_eq!(refused.error(StatusCode::BAD_REQUEST).code, "bad_request");
}
