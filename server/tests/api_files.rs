//! Photos through the back-office API (`docs/api.md`, "Files"): a ticket's attachments link to
//! their files; a dispatcher signed in at a browser fetches the photo whole or by range; nobody
//! who may not see the ticket gets it, with the same `404` as for no file at all.

mod support;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use fieldwork_core::Role;
use support::api::Browser;
use support::tus::{attach, help_request, photo, sha256, upload};
use support::{Harness, PASSWORD};

#[tokio::test]
async fn a_tickets_photo_is_fetched_through_the_api_by_those_who_see_the_ticket() {
    let h = Harness::new();
    h.tenant("acme");
    h.tenant("globex");
    let rider = h.user("acme", "li", Role::Rider, None);
    h.user("acme", "wu", Role::Rider, None);
    h.user("acme", "ops", Role::Dispatcher, None);
    let other = h.user("globex", "g", Role::Admin, None);
    let mut phone = h.login(&rider).await;
    let id = help_request(&h, &mut phone).await;
    let bytes = photo(200_000, 7);
    let full = sha256(&bytes);
    upload(&h, &phone.token, &bytes, &id).await;
    attach(&h, &mut phone, &id, &full, None).await;

    let (desk, _) = Browser::sign_in(&h, "acme", "ops", PASSWORD).await;
    let ticket = desk.get(&h, &format!("/api/v1/tickets/{id}")).await;
    let url = ticket.json["attachments"][0]["url"]
        .as_str()
        .expect("a link")
        .to_owned();
    assert_eq!(url, format!("/api/v1/files/{full}"));

    let fetched = desk.get(&h, &url).await;
    assert_eq!(fetched.status, StatusCode::OK);
    assert_eq!(sha256(&fetched.reply.body), full, "the stored bytes");
    assert_eq!(fetched.reply.headers["x-content-type-options"], "nosniff");

    let session = desk.session.clone().expect("a session");
    let ranged = h
        .request(
            Request::get(&url)
                .header("cookie", format!("fw_session={session}"))
                .header("range", "bytes=0-99")
                .body(Body::empty())
                .expect("request"),
        )
        .await;
    assert_eq!(ranged.status, StatusCode::PARTIAL_CONTENT);
    assert_eq!(ranged.body, bytes[..100]);

    // Another rider, another tenant, a file nobody has: the same 404.
    let (wu, _) = Browser::sign_in(&h, "acme", "wu", PASSWORD).await;
    assert_eq!(
        wu.get(&h, &url).await.error(StatusCode::NOT_FOUND),
        "not_found"
    );
    let stranger = Browser::with_token(&other.api_token);
    assert_eq!(
        stranger.get(&h, &url).await.error(StatusCode::NOT_FOUND),
        "not_found"
    );
    let nothing = format!("/api/v1/files/{}", "0".repeat(64));
    assert_eq!(
        desk.get(&h, &nothing).await.error(StatusCode::NOT_FOUND),
        "not_found"
    );
    assert_eq!(
        desk.get(&h, "/api/v1/files/not-a-hash")
            .await
            .error(StatusCode::NOT_FOUND),
        "not_found"
    );
    assert_eq!(
        Browser::default()
            .get(&h, &url)
            .await
            .error(StatusCode::UNAUTHORIZED),
        "unauthorized"
    );
}
