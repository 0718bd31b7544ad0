//! [`KnowledgeBase`]: an article keeps every saved version; publishing points readers at the
//! newest and moves the tenant's sequence, unpublishing takes it back; tenants never meet.

use super::{TestStore, tenant};
use crate::storage::{
    Article, ArticleMeta, ArticleVersion, Audience, Missing, ReadWith, ServerStore, StorageError,
};

fn meta(tenant_id: &str, id: &str) -> ArticleMeta {
    ArticleMeta {
        tenant_id: tenant_id.to_owned(),
        id: id.to_owned(),
        language: "zh".into(),
        category: Some("fridge".into()),
        audience: Audience::Staff,
        team: None,
        created_at: 10,
        created_by: "u1".into(),
    }
}

fn first(title: &str) -> ArticleVersion {
    ArticleVersion {
        version: 1,
        title: title.into(),
        body: "# 空调不制冷\n先检查滤网。".into(),
        tags: vec!["空调".into(), "filter".into()],
        written_at: 10,
        written_by: "u1".into(),
    }
}

pub fn an_article_keeps_its_versions_and_publishing_moves_the_sequence(t: &TestStore) {
    let s = t.store.as_ref();
    let acme = tenant(s, "acme");
    let globex = tenant(s, "globex");
    assert!(matches!(
        s.create_article(&meta("nobody", "a1"), &first("x")),
        Err(StorageError::NotFound(Missing::Tenant))
    ));
    s.create_article(&meta(&acme.id, "a1"), &first("空调不制冷"))
        .unwrap();
    let a = s.article(&acme.id, "a1").unwrap().unwrap();
    assert_eq!(a.latest.title, "空调不制冷");
    assert_eq!(a.latest.tags, ["空调", "filter"]);
    assert_eq!((a.published.is_none(), a.seq), (true, 0), "a draft");
    assert_eq!(s.article(&globex.id, "a1").unwrap(), None);

    assert!(s.publish_article(&acme.id, "a1", false, 20).unwrap());
    let published = s.article(&acme.id, "a1").unwrap().unwrap();
    assert_eq!(published.published.as_ref().map(|v| v.version), Some(1));
    assert_eq!((published.published_at, published.seq), (Some(20), 1));

    // An edit is a draft beside the published text until it is published too.
    let mut edited = meta(&acme.id, "a1");
    edited.audience = Audience::Everyone;
    let v = s
        .save_article(&edited, "空调不制冷怎么办", "body 2", &[], 30, "u2")
        .unwrap();
    assert_eq!(v, Some(2));
    let a = s.article(&acme.id, "a1").unwrap().unwrap();
    assert_eq!(
        (a.latest.version, a.published.as_ref().map(|v| v.version)),
        (2, Some(1))
    );
    assert_eq!(a.meta.audience, Audience::Everyone);
    assert_eq!(a.seq, 2, "who reads the published text changed");
    assert!(s.publish_article(&acme.id, "a1", false, 40).unwrap());
    let a = s.article(&acme.id, "a1").unwrap().unwrap();
    assert_eq!((a.published.map(|v| v.version), a.seq), (Some(2), 3));
    assert!(s.publish_article(&acme.id, "a1", true, 50).unwrap());
    let a = s.article(&acme.id, "a1").unwrap().unwrap();
    assert_eq!(
        (a.published, a.seq),
        (None, 4),
        "unpublished, and the sequence moved"
    );
    assert_eq!(s.article_versions(&acme.id, "a1").unwrap().len(), 2);

    // Another tenant's article is not this tenant's to save or publish; its sequence is its own.
    assert_eq!(
        s.save_article(&meta(&globex.id, "a1"), "t", "b", &[], 60, "u")
            .unwrap(),
        None
    );
    assert!(!s.publish_article(&globex.id, "a1", false, 60).unwrap());
    s.create_article(&meta(&globex.id, "g1"), &first("Oven"))
        .unwrap();
    assert!(s.publish_article(&globex.id, "g1", false, 70).unwrap());
    assert_eq!(s.article(&globex.id, "g1").unwrap().unwrap().seq, 1);
    assert_eq!(s.articles(&acme.id, 10).unwrap().len(), 1);
}

/// [`crate::storage::StoreRead::articles_changed_since`] in a read of its own.
fn changed_since(s: &dyn ServerStore, tenant_id: &str, since: u64, limit: usize) -> Vec<Article> {
    s.read_with(|r| r.articles_changed_since(tenant_id, since, limit))
        .unwrap()
}

/// What devices are told: the articles whose readers' view changed after a sequence, in order.
pub fn articles_changed_since_a_sequence_come_in_order_per_tenant(t: &TestStore) {
    let s = t.store.as_ref();
    let acme = tenant(s, "acme");
    let globex = tenant(s, "globex");
    for id in ["a1", "a2", "a3"] {
        s.create_article(&meta(&acme.id, id), &first(id)).unwrap();
    }
    s.create_article(&meta(&globex.id, "g1"), &first("g"))
        .unwrap();
    assert!(changed_since(s, &acme.id, 0, 10).is_empty(), "drafts only");
    assert!(s.publish_article(&acme.id, "a2", false, 10).unwrap());
    assert!(s.publish_article(&acme.id, "a1", false, 11).unwrap());
    assert!(s.publish_article(&globex.id, "g1", false, 12).unwrap());
    let ids = |since, limit| -> Vec<(String, u64)> {
        changed_since(s, &acme.id, since, limit)
            .into_iter()
            .map(|a| (a.meta.id, a.seq))
            .collect()
    };
    assert_eq!(ids(0, 10), [("a2".into(), 1), ("a1".into(), 2)]);
    assert_eq!(ids(0, 1), [("a2".into(), 1)]);
    assert_eq!(ids(2, 10), []);
    // A new draft changes nothing readers get; new facts of a published article do.
    s.save_article(&meta(&acme.id, "a2"), "a2 v2", "b", &[], 20, "u")
        .unwrap();
    assert_eq!(ids(2, 10), []);
    let mut narrower = meta(&acme.id, "a2");
    narrower.team = Some("north".into());
    s.save_article(&narrower, "a2 v3", "b", &[], 21, "u")
        .unwrap();
    assert_eq!(ids(2, 10), [("a2".into(), 3)]);
    // So does an unpublish; a draft's facts moving does not.
    let mut other = meta(&acme.id, "a3");
    other.audience = Audience::Everyone;
    s.save_article(&other, "a3 v2", "b", &[], 22, "u").unwrap();
    assert!(s.publish_article(&acme.id, "a1", true, 23).unwrap());
    let changed = changed_since(s, &acme.id, 3, 10);
    assert_eq!(changed.len(), 1);
    assert_eq!(
        (changed[0].meta.id.as_str(), changed[0].published.is_none()),
        ("a1", true)
    );
}
