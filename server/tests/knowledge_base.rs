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

/// Publishes an article through the API as `sup`; answers its id.
async fn publish(h: &Harness, sup: &Browser, article: serde_json::Value) -> String {
    let made = sup.post(h, "/api/v1/kb/articles", article).await;
    assert_eq!(made.status, StatusCode::CREATED, "{}", made.json);
    let id = made.json["id"].as_str().expect("an id").to_owned();
    let published = sup
        .post(h, &format!("/api/v1/kb/articles/{id}/publish"), json!({}))
        .await;
    assert_eq!(published.status, StatusCode::OK, "{}", published.json);
    id
}

fn article(title: &str, audience: &str, team: Option<&str>) -> serde_json::Value {
    json!({
        "title": title, "body": format!("{title}: the steps."), "language": "en",
        "audience": audience, "team": team, "category": "printer", "tags": ["pos"]
    })
}

fn kb_ids(response: &fieldwork_protocol::sync::SyncResponse) -> (Vec<String>, Vec<String>) {
    let kb = response.kb.clone().unwrap_or_default();
    (
        kb.articles.into_iter().map(|a| a.title).collect(),
        kb.removed,
    )
}

#[tokio::test]
async fn a_sync_brings_each_user_the_articles_they_read_and_takes_back_the_rest() {
    let h = Harness::new();
    h.tenant("acme");
    let sup = Browser::with_token(&h.user("acme", "sup", Role::Supervisor, None).api_token);
    let mut rider = h.login(&h.user("acme", "r", Role::Rider, None)).await;
    let mut north = h
        .login(&h.user("acme", "n", Role::Technician, Some("north")))
        .await;
    let mut old = h
        .login(&h.user("acme", "o", Role::Technician, Some("north")))
        .await;
    rider.kb_cursor = Some(0);
    north.kb_cursor = Some(0);

    let everyone = publish(&h, &sup, article("Paper jam", "everyone", None)).await;
    let internal = publish(&h, &sup, article("Thermal head", "staff", None)).await;
    publish(&h, &sup, article("South printers", "staff", Some("south"))).await;
    publish(&h, &sup, article("North only", "everyone", Some("north"))).await;

    let got = rider.sync(&h, &[]).await;
    assert_eq!(
        kb_ids(&got),
        (vec!["Paper jam".into()], vec![]),
        "never internal"
    );
    let got = north.sync(&h, &[]).await;
    assert_eq!(
        kb_ids(&got).0,
        ["Paper jam", "Thermal head", "North only"],
        "staff and their team's, in publishing order"
    );
    assert_eq!(north.kb_cursor, Some(4));
    assert!(
        old.sync(&h, &[]).await.kb.is_none(),
        "a device keeping none gets none"
    );
    assert!(north.sync(&h, &[]).await.kb.is_none(), "nothing new");

    // Republished after an edit: sent again. Made internal: taken back from the rider.
    let path = format!("/api/v1/kb/articles/{everyone}");
    let mut edited = article("Paper jam, step by step", "staff", None);
    edited["body"] = json!("Open the cover.");
    sup.send(&h, "PUT", &path, Some(edited)).await;
    let got = rider.sync(&h, &[]).await;
    assert_eq!(kb_ids(&got), (vec![], vec![everyone.clone()]));
    let got = north.sync(&h, &[]).await;
    assert_eq!(
        kb_ids(&got).0,
        ["Paper jam"],
        "the facts moved; the text waits for publishing"
    );
    sup.post(&h, &format!("{path}/publish"), json!({})).await;
    let got = north.sync(&h, &[]).await;
    assert_eq!(kb_ids(&got).0, ["Paper jam, step by step"]);
    assert!(
        rider
            .sync(&h, &[])
            .await
            .kb
            .unwrap_or_default()
            .articles
            .is_empty()
    );

    // Unpublished: taken back.
    sup.post(
        &h,
        &format!("/api/v1/kb/articles/{internal}/unpublish"),
        json!({}),
    )
    .await;
    assert_eq!(kb_ids(&north.sync(&h, &[]).await), (vec![], vec![internal]));

    // With news in the knowledge base, a long-poll answers at once.
    publish(&h, &sup, article("Fresh", "everyone", None)).await;
    let started = std::time::Instant::now();
    let answer = north.round(&h, &[], 20_000, 0).await;
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
    assert_eq!(kb_ids(&answer).0, ["Fresh"]);
}

#[tokio::test]
async fn a_large_knowledge_base_comes_in_pages() {
    let h = Harness::new();
    h.tenant("acme");
    let sup = Browser::with_token(&h.user("acme", "sup", Role::Supervisor, None).api_token);
    let mut tech = h.login(&h.user("acme", "t", Role::Technician, None)).await;
    tech.kb_cursor = Some(0);
    let total = fieldwork_protocol::knowledge::MAX_KB_ARTICLES_PER_RESPONSE + 20;
    for i in 0..total {
        publish(&h, &sup, article(&format!("Article {i}"), "staff", None)).await;
    }
    let answers = tech.pull_all(&h).await;
    assert_eq!(answers.len(), 2, "a full page, then the rest");
    assert!(answers[0].more && !answers[1].more);
    let titles: Vec<String> = answers.iter().flat_map(|a| kb_ids(a).0).collect();
    assert_eq!(titles.len(), total);
    assert_eq!(titles.last().map(String::as_str), Some("Article 119"));
}

/// Stores a picture for articles as `writer`; answers its sha256 and its thumbnail's.
async fn picture(h: &Harness, writer: &Browser) -> (String, String) {
    use base64::Engine;
    let png = fieldwork_test_images::png_screenshot(800, 600);
    let data = base64::engine::general_purpose::STANDARD.encode(png);
    let made = writer
        .post(
            h,
            "/api/v1/kb/images",
            json!({"name": "tray.png", "data": data}),
        )
        .await;
    assert_eq!(made.status, StatusCode::CREATED, "{}", made.json);
    let sha = made.json["sha256"].as_str().expect("sha").to_owned();
    assert_eq!(made.json["markdown"], format!("![](kb-image:{sha})"));
    (sha, made.json["thumb"].as_str().expect("thumb").to_owned())
}

#[tokio::test]
async fn an_articles_picture_is_for_its_writers_and_for_whoever_reads_it_published() {
    let h = Harness::new();
    h.tenant("acme");
    h.tenant("globex");
    let sup = Browser::with_token(&h.user("acme", "sup", Role::Supervisor, None).api_token);
    let agent = Browser::with_token(&h.user("acme", "amy", Role::Agent, None).api_token);
    let rider_user = h.user("acme", "r", Role::Rider, None);
    let rider = h.login(&rider_user).await;
    let tech = Browser::with_token(&h.user("acme", "t", Role::Technician, None).api_token);
    let stranger = Browser::with_token(&h.user("globex", "g", Role::Admin, None).api_token);
    let (sha, thumb) = picture(&h, &agent).await;
    let device_get = |sha: String| {
        let token = rider.token.clone();
        let h = &h;
        async move {
            h.call("GET", &format!("/v1/blobs/{sha}"), Some(&token), None)
                .await
                .status
        }
    };
    let api_get = |who: &Browser, sha: &str| {
        let (who, path) = (who.clone(), format!("/api/v1/files/{sha}"));
        let h = &h;
        async move { who.get(h, &path).await.status }
    };

    // Writers see it at once; nobody else while no published article shows it.
    assert_eq!(api_get(&agent, &sha).await, StatusCode::OK);
    assert_eq!(api_get(&tech, &sha).await, StatusCode::NOT_FOUND);
    assert_eq!(device_get(sha.clone()).await, StatusCode::NOT_FOUND);
    let body = format!("Open the tray.\n\n![the tray](kb-image:{sha})");
    let made = sup
        .post(
            &h,
            "/api/v1/kb/articles",
            json!({"title": "Tray", "body": body, "language": "en", "audience": "everyone"}),
        )
        .await;
    let id = made.json["id"].as_str().expect("id").to_owned();
    assert_eq!(
        device_get(sha.clone()).await,
        StatusCode::NOT_FOUND,
        "a draft shows nothing"
    );
    sup.post(&h, &format!("/api/v1/kb/articles/{id}/publish"), json!({}))
        .await;
    // Published for everyone: the rider's device and the technician get it, thumbnail too.
    assert_eq!(device_get(sha.clone()).await, StatusCode::OK);
    assert_eq!(device_get(thumb.clone()).await, StatusCode::OK);
    assert_eq!(api_get(&tech, &sha).await, StatusCode::OK);
    // Never another tenant's.
    assert_eq!(api_get(&stranger, &sha).await, StatusCode::NOT_FOUND);
    // Made internal: the rider no longer reads the article, nor its picture.
    let internal = json!({"title": "Tray", "body": body, "language": "en", "audience": "staff"});
    sup.send(
        &h,
        "PUT",
        &format!("/api/v1/kb/articles/{id}"),
        Some(internal),
    )
    .await;
    assert_eq!(device_get(sha.clone()).await, StatusCode::NOT_FOUND);
    assert_eq!(
        api_get(&tech, &sha).await,
        StatusCode::OK,
        "staff still read it"
    );
    sup.post(
        &h,
        &format!("/api/v1/kb/articles/{id}/unpublish"),
        json!({}),
    )
    .await;
    assert_eq!(api_get(&tech, &sha).await, StatusCode::NOT_FOUND);
    assert_eq!(
        api_get(&agent, &sha).await,
        StatusCode::OK,
        "the writers keep it"
    );

    // What is not a picture says so, and nothing is stored.
    let bad = agent
        .post(&h, "/api/v1/kb/images", json!({"data": "bm90IGFuIGltYWdl"}))
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad.json);
    let bad = agent
        .post(&h, "/api/v1/kb/images", json!({"data": "%%%"}))
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    let refused = tech
        .post(&h, "/api/v1/kb/images", json!({"data": "bm90IGFuIGltYWdl"}))
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn a_ticket_is_offered_the_published_articles_about_it() {
    let h = Harness::new();
    h.tenant("acme");
    let sup = Browser::with_token(&h.user("acme", "sup", Role::Supervisor, None).api_token);
    let rider = Browser::with_token(&h.user("acme", "r", Role::Rider, None).api_token);
    let mut jam = article("Paper jam in the receipt printer", "everyone", None);
    jam["tags"] = json!(["卡纸"]);
    publish(&h, &sup, jam).await;
    let mut fridge = article("Fridge too warm", "staff", None);
    fridge["category"] = json!("refrigeration");
    publish(&h, &sup, fridge).await;
    let mut south = article("Receipt printer jam, south stores", "staff", Some("south"));
    south["category"] = json!("printer");
    sup.post(
        &h,
        "/api/v1/kb/articles",
        article("Printer jam draft", "staff", None),
    )
    .await;
    publish(&h, &sup, south).await;

    let made = sup
        .post(
            &h,
            "/api/v1/tickets",
            json!({"title": "收银打印机卡纸", "description": "The receipt printer jams", "category": "printer"}),
        )
        .await;
    let id = made.json["id"].as_str().expect("id").to_owned();
    let got = sup.get(&h, &format!("/api/v1/tickets/{id}/articles")).await;
    assert_eq!(got.status, StatusCode::OK, "{}", got.json);
    let titles: Vec<&str> = got.json["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|a| a["title"].as_str())
        .collect();
    // The category (2) and the shared words: receipt, printer, 卡纸 (3) before receipt, printer
    // (2); the fridge shares nothing; a draft is never offered.
    assert_eq!(
        titles,
        [
            "Paper jam in the receipt printer",
            "Receipt printer jam, south stores"
        ],
        "{}",
        got.json
    );
    assert_eq!(got.json["items"][0]["same_category"], true);
    assert_eq!(
        got.json["items"][0]["shared_keywords"],
        json!(["printer", "receipt", "卡纸"])
    );
    // A technician of another team is not offered the south stores' article.
    let tech = h.user("acme", "t", Role::Technician, Some("north"));
    sup.post(
        &h,
        &format!("/api/v1/tickets/{id}/edits"),
        json!({"edits": [{"type": "assign", "assignee": tech.id}]}),
    )
    .await;
    let north = Browser::with_token(&tech.api_token);
    let offered = north
        .get(&h, &format!("/api/v1/tickets/{id}/articles"))
        .await;
    assert_eq!(
        offered.json["items"].as_array().map(Vec::len),
        Some(1),
        "{}",
        offered.json
    );
    let rider_asks = rider
        .get(&h, &format!("/api/v1/tickets/{id}/articles"))
        .await;
    assert_eq!(rider_asks.status, StatusCode::FORBIDDEN);
}
