//! The device's knowledge base: applying answers (in the cursor's transaction), offline search in
//! Chinese and English ranked by bm25, replacement and removal, suggestions on a ticket.

use fieldwork_protocol::sync::SyncResponse;

use super::super::testkit::device;
use super::*;
use crate::model::{Role, TicketKind};
use crate::ticket::NewTicket;

fn article(id: &str, title: &str, body: &str, category: Option<&str>) -> KbArticle {
    KbArticle {
        id: id.into(),
        version: 1,
        language: "en".into(),
        category: category.map(str::to_owned),
        audience: KbAudience::Everyone,
        title: title.into(),
        body: body.into(),
        tags: Vec::new(),
        published_at: 10,
    }
}

fn answer(kb: KbDelta) -> SyncResponse {
    SyncResponse {
        server_time: 1,
        accepted: vec![],
        rejected: vec![],
        items: vec![],
        cursor: 0,
        more: false,
        people: vec![],
        kb: Some(kb),
    }
}

fn delta(cursor: u64, articles: Vec<KbArticle>, removed: &[&str]) -> KbDelta {
    KbDelta {
        articles,
        removed: removed.iter().map(|s| (*s).to_owned()).collect(),
        cursor,
        more: false,
    }
}

fn ids(hits: &[KbHit]) -> Vec<&str> {
    hits.iter().map(|h| h.id.as_str()).collect()
}

fn library() -> Vec<KbArticle> {
    vec![
        article(
            "jam",
            "打印机卡纸怎么办",
            "先关机，打开盖子，取出卡住的纸。Then close the cover.",
            Some("printer"),
        ),
        article(
            "fridge",
            "Fridge not cooling",
            "Check the compressor. If the printer of the cold-chain label fails, see the printer article.",
            Some("refrigeration"),
        ),
        article(
            "blank",
            "Receipt printer prints blank",
            "The thermal paper is in upside down. 热敏纸装反了。",
            Some("printer"),
        ),
    ]
}

#[test]
fn articles_are_found_offline_in_chinese_and_english_title_first() {
    let d = device("t1", Role::Technician);
    d.store
        .apply_sync_response(&answer(delta(3, library(), &[])), 1)
        .expect("applies");
    assert_eq!(d.store.sync_meta().expect("meta").kb_cursor, 3);
    assert_eq!(d.store.kb_count().expect("count"), 3);
    // Two-character Chinese words, in the title and in the body.
    assert_eq!(
        ids(&d.store.kb_search("卡纸", 10).expect("search")),
        ["jam"]
    );
    assert_eq!(
        ids(&d.store.kb_search("热敏", 10).expect("search")),
        ["blank"]
    );
    assert!(d.store.kb_search("纸卡", 10).expect("search").is_empty());
    // English by word start; a title match ranks above a body match.
    assert_eq!(
        ids(&d.store.kb_search("print", 10).expect("search")),
        ["blank", "fridge"]
    );
    assert_eq!(
        ids(&d.store.kb_search("Cover", 10).expect("search")),
        ["jam"]
    );
    // Every word must match; nothing searchable finds nothing; FTS syntax is only text.
    assert_eq!(
        ids(&d
            .store
            .kb_search("printer fridge cooling", 10)
            .expect("search")),
        ["fridge"]
    );
    assert!(
        d.store
            .kb_search("printer walrus", 10)
            .expect("s")
            .is_empty()
    );
    assert!(d.store.kb_search("  ,. ", 10).expect("s").is_empty());
    assert!(d.store.kb_search("\"NEAR(", 10).expect("s").is_empty());
    let hit = &d.store.kb_search("cover", 10).expect("search")[0];
    assert_eq!(hit.audience, KbAudience::Everyone);
    assert!(hit.excerpt.contains("cover"), "{}", hit.excerpt);
    assert_eq!(
        d.store
            .kb_article("jam")
            .expect("reads")
            .expect("held")
            .body,
        library()[0].body
    );
    assert!(d.store.kb_article("nope").expect("reads").is_none());
}

#[test]
fn a_new_version_replaces_the_old_and_a_removal_takes_it_away() {
    let d = device("t1", Role::Technician);
    d.store
        .apply_sync_response(&answer(delta(3, library(), &[])), 1)
        .expect("applies");
    let mut edited = article(
        "jam",
        "Paper jam in the POS printer",
        "Lift the lever.",
        None,
    );
    edited.version = 2;
    let round = d
        .store
        .apply_sync_response(&answer(delta(4, vec![edited], &["fridge", "never-had"])), 2)
        .expect("applies");
    assert_eq!(
        (round.articles_stored, round.articles_removed),
        (1, 1),
        "an id the device never held is not counted"
    );
    assert!(
        d.store.kb_search("卡纸", 10).expect("search").is_empty(),
        "old title gone"
    );
    assert_eq!(
        ids(&d.store.kb_search("lever", 10).expect("search")),
        ["jam"]
    );
    assert!(
        d.store
            .kb_search("compressor", 10)
            .expect("search")
            .is_empty()
    );
    assert_eq!(d.store.kb_count().expect("count"), 2);
    assert_eq!(
        d.store.kb_article("jam").expect("r").expect("held").version,
        2
    );
    assert_eq!(d.store.sync_meta().expect("meta").kb_cursor, 4);
}

#[test]
fn an_answer_without_a_knowledge_base_keeps_it_and_a_whole_one_replaces_it() {
    let d = device("t1", Role::Technician);
    d.store
        .apply_sync_response(&answer(delta(3, library(), &[])), 1)
        .expect("applies");
    let mut plain = answer(KbDelta::default());
    plain.kb = None;
    plain.cursor = 7;
    d.store.apply_sync_response(&plain, 2).expect("applies");
    assert_eq!(d.store.kb_count().expect("count"), 3);
    assert_eq!(d.store.sync_meta().expect("meta").kb_cursor, 3);
    // A login asks for the whole knowledge base again; the answer replaces what was held.
    d.store
        .set_session(&crate::store::ServerLogin {
            server: "http://127.0.0.1:1".into(),
            device_id: "d".into(),
            token: "t".into(),
        })
        .expect("session");
    assert_eq!(d.store.sync_meta().expect("meta").kb_cursor, 0);
    d.store
        .apply_sync_response(&answer(delta(9, vec![library().remove(2)], &[])), 3)
        .expect("applies");
    assert_eq!(d.store.kb_count().expect("count"), 1);
    assert!(d.store.kb_search("卡纸", 10).expect("search").is_empty());
}

#[test]
fn an_article_beyond_the_limits_is_left_out_and_the_rest_kept() {
    let d = device("t1", Role::Technician);
    let mut huge = article("huge", "Huge", "", None);
    huge.body = "x".repeat(MAX_BODY_BYTES + 1);
    let mut articles = library();
    articles.push(huge);
    d.store
        .apply_sync_response(&answer(delta(5, articles, &[])), 1)
        .expect("applies");
    assert_eq!(d.store.kb_count().expect("count"), 3);
    assert!(d.store.kb_article("huge").expect("reads").is_none());
    assert_eq!(d.store.sync_meta().expect("meta").kb_cursor, 5);
}

#[test]
fn a_ticket_gets_the_articles_of_its_category_and_keywords() {
    let d = device("t1", Role::Technician);
    d.store
        .apply_sync_response(&answer(delta(3, library(), &[])), 1)
        .expect("applies");
    let mut new = NewTicket::titled(TicketKind::Repair, "收银打印机卡纸");
    new.description = "POS prints blank receipts too".into();
    let ticket = d.store.create(new).expect("creates");
    let got = d.store.kb_suggestions(&ticket.id, 5).expect("suggests");
    // jam: 打印, 印机, 机卡, 卡纸 (4); blank: prints, blank (2). Neither is of its category.
    assert_eq!(ids(&got), ["jam", "blank"]);
    let mut printer = NewTicket::titled(TicketKind::Repair, "Screen flickers");
    printer.category = Some("printer".into());
    let ticket = d.store.create(printer).expect("creates");
    let got = d.store.kb_suggestions(&ticket.id, 5).expect("suggests");
    // Both of the category, equally new: in id order.
    assert_eq!(ids(&got), ["blank", "jam"]);
    assert!(got.iter().all(|h| h.category.as_deref() == Some("printer")));
}

#[test]
fn pictures_the_articles_show_are_fetched_once_checked_and_go_with_the_last_article_showing_them() {
    let d = device("t1", Role::Technician);
    let (one, two) = (b"first picture".to_vec(), b"second picture".to_vec());
    let (a, b) = (
        crate::store::sha256_hex(&one),
        crate::store::sha256_hex(&two),
    );
    let body = format!("Look: ![](kb-image:{a}) and ![](kb-image:{b})");
    d.store
        .apply_sync_response(
            &answer(delta(1, vec![article("p", "Pictures", &body, None)], &[])),
            1,
        )
        .expect("applies");
    let mut wanted = d.store.kb_images_wanted(10).expect("wanted");
    wanted.sort();
    let mut both = vec![a.clone(), b.clone()];
    both.sort();
    assert_eq!(wanted, both);
    // Bytes that do not hash to the name are not kept, and count a failed attempt.
    assert!(
        !d.store
            .keep_kb_image(&a, b"something else")
            .expect("checks")
    );
    assert!(d.store.kb_image(&a).expect("reads").is_none());
    assert!(d.store.keep_kb_image(&a, &one).expect("keeps"));
    assert_eq!(d.store.kb_image(&a).expect("reads"), Some(one));
    assert_eq!(
        d.store.kb_images_wanted(10).expect("wanted"),
        std::slice::from_ref(&b)
    );
    // A picture that keeps failing is given up on.
    for _ in 0..5 {
        d.store.kb_image_failed(&b).expect("counts");
    }
    assert!(d.store.kb_images_wanted(10).expect("wanted").is_empty());
    // A new version that shows only the first: the second goes; the first stays fetched.
    let mut edited = article("p", "Pictures", &format!("![](kb-image:{a})"), None);
    edited.version = 2;
    d.store
        .apply_sync_response(&answer(delta(2, vec![edited], &[])), 2)
        .expect("applies");
    assert!(d.store.kb_image(&a).expect("reads").is_some());
    assert!(!d.store.keep_kb_image(&b, &two).expect("no longer shown"));
    // Unpublished: its picture goes with it.
    d.store
        .apply_sync_response(&answer(delta(3, vec![], &["p"])), 3)
        .expect("applies");
    assert!(d.store.kb_image(&a).expect("reads").is_none());
}
