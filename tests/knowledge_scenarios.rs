//! The knowledge base end to end (`docs/knowledge-base.md`): a supervisor publishes through the
//! back-office API on a real `fieldwork serve`; devices driven through the `fieldwork` binary sync
//! what their user reads and find it offline, in Chinese and in English; an edit reaches them, an
//! unpublish takes it away, and a rider never receives an internal article.

mod common;

use common::{ApiAuth, Org, api_call, id_of};
use reqwest::Method;
use serde_json::{Value, json};

struct Supervisor {
    api: String,
    token: String,
}

impl Supervisor {
    fn call(&self, method: Method, path: &str, body: Option<Value>) -> Value {
        let url = format!("{}{path}", self.api);
        let (status, answer, _) = api_call(method, &url, ApiAuth::Bearer(&self.token), body);
        assert!((200..300).contains(&status), "{path}: {status} {answer}");
        answer
    }

    fn write(&self, article: Value) -> String {
        let made = self.call(Method::POST, "/kb/articles", Some(article));
        made["id"].as_str().expect("an id").to_owned()
    }

    fn publish(&self, id: &str) {
        self.call(Method::POST, &format!("/kb/articles/{id}/publish"), None);
    }

    /// Stores a picture for articles; answers its sha256.
    fn picture(&self) -> String {
        use base64::Engine;
        let png = fieldwork_test_images::png_screenshot(640, 400);
        let data = base64::engine::general_purpose::STANDARD.encode(png);
        let made = self.call(
            Method::POST,
            "/kb/images",
            Some(json!({"name": "cover.png", "data": data})),
        );
        made["sha256"].as_str().expect("a sha256").to_owned()
    }
}

fn titles(hits: &Value) -> Vec<String> {
    hits.as_array()
        .expect("hits are a list")
        .iter()
        .map(|h| h["title"].as_str().expect("a title").to_owned())
        .collect()
}

#[test]
fn a_published_article_is_found_offline_updated_and_withdrawn_and_never_internal_for_riders() {
    let mut org = Org::new();
    let (_, sup_token) = org.server.user(&org.tenant, "supervisor", "boss", None);
    let sup = Supervisor {
        api: format!("{}/api/v1", org.server.url),
        token: sup_token,
    };
    let (_, tech) = org.member("technician", "tech.a", Some("north"));
    let (_, rider) = org.member("rider", "li.wei", None);

    let cover = sup.picture();
    let jam = sup.write(json!({
        "title": "打印机卡纸怎么办", "language": "zh", "audience": "everyone",
        "category": "printer", "tags": ["收银", "POS"],
        "body": format!("1. 关机。\n2. 打开盖子，取出卡住的纸。\n![盖子](kb-image:{cover})\n3. 重新装纸。")
    }));
    let head = sup.write(json!({
        "title": "Replacing the thermal print head", "language": "en", "audience": "staff",
        "category": "printer", "team": "north",
        "body": "Unplug the printer. Release the **head latch** and lift the ribbon cable."
    }));
    let draft = sup.write(json!({
        "title": "打印机缺纸 draft", "language": "zh", "audience": "everyone", "body": "未发布"
    }));
    sup.publish(&jam);
    sup.publish(&head);

    assert_eq!(
        tech.sync()["articles"],
        2,
        "the article for everyone and the team's internal one"
    );
    assert_eq!(rider.sync()["articles"], 1);
    // Offline from here: what the devices find, they find on their own.
    org.server.kill();
    assert_eq!(
        titles(&tech.json(&["kb", "search", "卡纸"])),
        ["打印机卡纸怎么办"]
    );
    assert_eq!(
        titles(&tech.json(&["kb", "search", "收银"])),
        ["打印机卡纸怎么办"],
        "tags"
    );
    assert_eq!(
        titles(&tech.json(&["kb", "search", "latch"])),
        ["Replacing the thermal print head"]
    );
    let both = titles(&tech.json(&["kb", "search", "print"]));
    assert_eq!(
        both,
        ["Replacing the thermal print head"],
        "English words, not 打印"
    );
    assert_eq!(
        titles(&tech.json(&["kb", "search", "打印"])),
        ["打印机卡纸怎么办"],
        "a drafted 打印机缺纸 was never sent"
    );
    let shown = tech.json(&["kb", "show", &head]);
    assert_eq!(shown["audience"], "staff");
    assert!(shown["body"].as_str().expect("body").contains("head latch"));
    let text = tech.run(&["kb", "show", &head]);
    assert!(String::from_utf8_lossy(&text.stdout).contains("internal"));
    // The article's picture came down with the sync, and is there offline.
    let with_picture = tech.json(&["kb", "show", &jam]);
    assert_eq!(
        with_picture["images"],
        json!([{"sha256": cover, "on_device": true}])
    );
    let saved = tech.home.join("cover.jpg");
    tech.json(&[
        "kb",
        "picture",
        &cover,
        "--out",
        saved.to_str().expect("a path"),
    ]);
    let bytes = std::fs::read(&saved).expect("the picture was written");
    assert_eq!(&bytes[..2], b"\xff\xd8", "a JPEG from the photo pipeline");
    assert!(
        rider
            .fails(&["kb", "picture", &"0".repeat(64), "--out", "x.jpg"])
            .contains("not on this device")
    );

    // The rider holds the article for everyone, never the internal one.
    assert_eq!(
        titles(&rider.json(&["kb", "search", "卡纸"])),
        ["打印机卡纸怎么办"]
    );
    assert!(titles(&rider.json(&["kb", "search", "latch"])).is_empty());
    let refused = rider.fails(&["kb", "show", &head]);
    assert!(refused.contains("no such article"), "{refused}");
    assert!(
        rider
            .fails(&["kb", "show", &draft])
            .contains("no such article")
    );

    // A ticket on the technician's device is offered the articles about it.
    let ticket = id_of(&tech.json(&[
        "create",
        "--title",
        "收银台打印机卡纸",
        "--category",
        "printer",
    ]));
    let offered = titles(&tech.json(&["kb", "suggest", &ticket]));
    assert_eq!(offered[0], "打印机卡纸怎么办", "{offered:?}");
    assert!(offered.contains(&"Replacing the thermal print head".to_owned()));

    // An edit, once published, replaces the device's copy; an unpublish takes it away.
    org.server.restart();
    sup.call(
        Method::PUT,
        &format!("/kb/articles/{jam}"),
        Some(json!({
            "title": "打印机卡纸与缺纸", "language": "zh", "audience": "everyone",
            "category": "printer", "body": "缺纸时换一卷热敏纸。"
        })),
    );
    sup.publish(&jam);
    sup.call(
        Method::POST,
        &format!("/kb/articles/{head}/unpublish"),
        None,
    );
    tech.sync();
    rider.sync();
    assert_eq!(
        titles(&tech.json(&["kb", "search", "缺纸"])),
        ["打印机卡纸与缺纸"]
    );
    assert_eq!(tech.json(&["kb", "show", &jam])["version"], 2);
    assert!(
        titles(&tech.json(&["kb", "search", "latch"])).is_empty(),
        "withdrawn"
    );
    assert!(
        tech.fails(&["kb", "show", &head])
            .contains("no such article")
    );
    assert_eq!(
        titles(&rider.json(&["kb", "search", "热敏纸"])),
        ["打印机卡纸与缺纸"]
    );
}
