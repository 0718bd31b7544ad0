//! The knowledge base through the API (`docs/knowledge-base.md`): a draft is the writers' alone;
//! publishing shows it to technicians (of its team, when it has one), an edit stays a draft
//! beside the published text until published, unpublishing takes it back, every version is
//! kept; riders and merchants are refused here (they read it on their devices).

mod support;

use axum::http::StatusCode;
use fieldwork_core::Role;
use serde_json::json;
use support::Harness;
use support::api::Browser;

#[tokio::test]
async fn a_supervisor_publishes_what_technicians_then_read_and_drafts_stay_drafts() {
    let h = Harness::new();
    h.tenant("acme");
    let sup = Browser::with_token(&h.user("acme", "sup", Role::Supervisor, None).api_token);
    let agent = Browser::with_token(&h.user("acme", "amy", Role::Agent, None).api_token);
    let north = Browser::with_token(
        &h.user("acme", "n", Role::Technician, Some("north"))
            .api_token,
    );
    let south = Browser::with_token(
        &h.user("acme", "s", Role::Technician, Some("south"))
            .api_token,
    );
    let rider = Browser::with_token(&h.user("acme", "r", Role::Rider, None).api_token);

    let article = json!({
        "title": "空调不制冷怎么办", "body": "# 检查滤网\nClean the filter first.",
        "language": "zh", "audience": "staff", "category": "aircon", "team": "north",
        "tags": ["空调", "filter"]
    });
    let made = agent.post(&h, "/api/v1/kb/articles", article.clone()).await;
    assert_eq!(made.status, StatusCode::CREATED, "{}", made.json);
    let id = made.json["id"].as_str().expect("an id").to_owned();
    assert_eq!(made.json["latest"]["version"], 1);
    assert!(made.json["published"].is_null(), "a draft");
    let path = format!("/api/v1/kb/articles/{id}");
    assert_eq!(
        north.get(&h, &path).await.status,
        StatusCode::NOT_FOUND,
        "drafts are the writers'"
    );
    let refused = agent.post(&h, &format!("{path}/publish"), json!({})).await;
    assert_eq!(
        refused.status,
        StatusCode::FORBIDDEN,
        "agents write, supervisors publish"
    );

    let published = sup.post(&h, &format!("{path}/publish"), json!({})).await;
    assert_eq!(published.status, StatusCode::OK, "{}", published.json);
    let read = north.get(&h, &path).await;
    assert_eq!(read.status, StatusCode::OK);
    assert_eq!(read.json["published"]["title"], "空调不制冷怎么办");
    assert!(
        read.json["latest"].is_null(),
        "a technician reads the published text only"
    );
    assert_eq!(
        south.get(&h, &path).await.status,
        StatusCode::NOT_FOUND,
        "another team's"
    );
    assert_eq!(rider.get(&h, &path).await.status, StatusCode::FORBIDDEN);

    // An edit is a draft beside the published text.
    let mut edited = article.clone();
    edited["title"] = json!("空调不制冷：先查滤网");
    let saved = agent.send(&h, "PUT", &path, Some(edited)).await;
    assert_eq!(saved.json["latest"]["version"], 2, "{}", saved.json);
    assert_eq!(
        north.get(&h, &path).await.json["published"]["title"],
        "空调不制冷怎么办"
    );
    sup.post(&h, &format!("{path}/publish"), json!({})).await;
    assert_eq!(
        north.get(&h, &path).await.json["published"]["title"],
        "空调不制冷：先查滤网"
    );

    // Bad input says why; unpublished, it is gone for technicians and kept for writers.
    let bad = agent
        .post(
            &h,
            "/api/v1/kb/articles",
            json!({"title": "", "body": "", "language": "zh", "audience": "staff"}),
        )
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    let bad = agent
        .post(
            &h,
            "/api/v1/kb/articles",
            json!({"title": "t", "body": "", "language": "zh", "audience": "all"}),
        )
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    sup.post(&h, &format!("{path}/unpublish"), json!({})).await;
    assert_eq!(north.get(&h, &path).await.status, StatusCode::NOT_FOUND);
    let kept = agent.get(&h, &path).await;
    assert_eq!(kept.json["latest"]["version"], 2);
    assert!(kept.json["published"].is_null());
    assert_eq!(
        north.get(&h, "/api/v1/kb/articles").await.json["items"],
        json!([])
    );
}
