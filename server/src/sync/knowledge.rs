//! The knowledge base in a sync answer (`docs/knowledge-base.md`, "On devices"): the articles
//! whose readers' view changed after the device's `kb_cursor`, in sequence order, each sent whole
//! if this user reads it now ([`reads_article`]) or named for removal if not. A device that asks
//! from 0 gets everything it reads, and replaces what it held with it.

use fieldwork_core::knowledge::{KbArticle, KbDelta, reads_article};
use fieldwork_protocol::knowledge::{KB_BYTES_PER_RESPONSE, MAX_KB_ARTICLES_PER_RESPONSE};

use crate::error::Error;
use crate::storage::{Article, StoreRead, UserRecord};

/// What `user`'s device, whose copy goes to `cursor`, must apply; `None` when nothing changed
/// (a device asking from 0 always gets an answer: it replaces what it held).
pub(crate) fn delta(
    reader: &dyn StoreRead,
    user: &UserRecord,
    cursor: u64,
) -> Result<Option<KbDelta>, Error> {
    let changed =
        reader.articles_changed_since(&user.tenant_id, cursor, MAX_KB_ARTICLES_PER_RESPONSE + 1)?;
    let mut delta = KbDelta {
        cursor,
        more: changed.len() > MAX_KB_ARTICLES_PER_RESPONSE,
        ..KbDelta::default()
    };
    let mut bytes = 0;
    for article in changed.into_iter().take(MAX_KB_ARTICLES_PER_RESPONSE) {
        let seq = article.seq;
        match readable(article, user) {
            Ok(wire) => {
                // Always at least one, however long, so a device is never stuck.
                if !delta.articles.is_empty() && bytes + wire.wire_bytes() > KB_BYTES_PER_RESPONSE {
                    delta.more = true;
                    break;
                }
                bytes += wire.wire_bytes();
                delta.articles.push(wire);
            }
            // A device asking from 0 holds nothing to remove.
            Err(id) if cursor > 0 => delta.removed.push(id),
            Err(_) => {}
        }
        delta.cursor = seq;
    }
    Ok((cursor == 0 || delta.cursor != cursor).then_some(delta))
}

/// The article as `user` gets it, or its id when they do not read it (any more).
fn readable(article: Article, user: &UserRecord) -> Result<KbArticle, String> {
    let reads = reads_article(
        user.role,
        user.team.as_deref(),
        article.meta.audience.wire(),
        article.meta.team.as_deref(),
    );
    match (article.published, article.published_at) {
        (Some(text), Some(published_at)) if reads => Ok(KbArticle {
            id: article.meta.id,
            version: text.version,
            language: article.meta.language,
            category: article.meta.category,
            audience: article.meta.audience.wire(),
            title: text.title,
            body: text.body,
            tags: text.tags,
            published_at,
        }),
        _ => Err(article.meta.id),
    }
}

#[cfg(test)]
mod tests {
    //! Whatever the writers do and whenever devices sync (or log in again), a device ends up
    //! holding exactly the published text of the articles its user reads, and a rider's device
    //! never receives an internal article.

    use std::collections::BTreeMap;

    use fieldwork_core::Role;
    use fieldwork_core::knowledge::KbAudience;
    use proptest::prelude::*;

    use super::*;
    use crate::storage::conformance::{tenant, user};
    use crate::storage::{
        ArticleMeta, ArticleVersion, Audience, ReadWith, ServerStore, SqliteStore,
    };

    const ARTICLES: usize = 4;
    const TEAMS: [Option<&str>; 3] = [None, Some("north"), Some("south")];

    #[derive(Debug, Clone)]
    enum Op {
        Write {
            article: usize,
            staff: bool,
            team: usize,
        },
        Publish(usize),
        Unpublish(usize),
        Sync(usize),
        LogInAgain(usize),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            (0..ARTICLES, any::<bool>(), 0..TEAMS.len()).prop_map(|(article, staff, team)| {
                Op::Write {
                    article,
                    staff,
                    team,
                }
            }),
            (0..ARTICLES).prop_map(Op::Publish),
            (0..ARTICLES).prop_map(Op::Unpublish),
            (0..4usize).prop_map(Op::Sync),
            (0..4usize).prop_map(Op::LogInAgain),
        ]
    }

    /// A device as the store applies an answer: from 0 it replaces everything.
    #[derive(Debug, Default)]
    struct Device {
        cursor: u64,
        held: BTreeMap<String, (u32, String)>,
    }

    impl Device {
        fn sync(&mut self, store: &dyn ServerStore, user: &UserRecord) {
            loop {
                let kb = store.read_with(|r| delta(r, user, self.cursor));
                let Some(kb) = kb.expect("a delta") else {
                    return;
                };
                if self.cursor == 0 {
                    self.held.clear();
                }
                for id in &kb.removed {
                    self.held.remove(id);
                }
                for a in &kb.articles {
                    if matches!(user.role, Role::Rider | Role::Merchant) {
                        assert_eq!(
                            a.audience,
                            KbAudience::Everyone,
                            "an internal article sent to a rider"
                        );
                    }
                    self.held.insert(a.id.clone(), (a.version, a.title.clone()));
                }
                self.cursor = kb.cursor;
                if !kb.more {
                    return;
                }
            }
        }
    }

    fn run(ops: Vec<Op>) {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = SqliteStore::open(&dir.path().join("kb.db")).expect("opens");
        let s: &dyn ServerStore = &store;
        let acme = tenant(s, "acme");
        let mut users = vec![
            user(s, &acme, "rider", Role::Rider),
            user(s, &acme, "north", Role::Technician),
            user(s, &acme, "south", Role::Technician),
            user(s, &acme, "agent", Role::Agent),
        ];
        users[1].team = Some("north".into());
        users[2].team = Some("south".into());
        let mut devices: Vec<Device> = users.iter().map(|_| Device::default()).collect();
        let mut written = [false; ARTICLES];
        for (step, op) in ops.into_iter().enumerate() {
            let at = step as i64 + 1;
            match op {
                Op::Write {
                    article,
                    staff,
                    team,
                } => {
                    let meta = ArticleMeta {
                        tenant_id: acme.id.clone(),
                        id: format!("a{article}"),
                        language: "en".into(),
                        category: None,
                        audience: if staff {
                            Audience::Staff
                        } else {
                            Audience::Everyone
                        },
                        team: TEAMS[team].map(str::to_owned),
                        created_at: at,
                        created_by: "w".into(),
                    };
                    let title = format!("a{article} at {at}");
                    if written[article] {
                        s.save_article(&meta, &title, "b", &[], at, "w")
                            .expect("saves");
                    } else {
                        let first = ArticleVersion {
                            version: 1,
                            title,
                            body: "b".into(),
                            tags: vec![],
                            written_at: at,
                            written_by: "w".into(),
                        };
                        s.create_article(&meta, &first).expect("creates");
                        written[article] = true;
                    }
                }
                Op::Publish(a) => {
                    s.publish_article(&acme.id, &format!("a{a}"), false, at)
                        .expect("publishes");
                }
                Op::Unpublish(a) => {
                    s.publish_article(&acme.id, &format!("a{a}"), true, at)
                        .expect("unpublishes");
                }
                Op::Sync(u) => devices[u].sync(s, &users[u]),
                Op::LogInAgain(u) => devices[u].cursor = 0,
            }
        }
        for (device, user) in devices.iter_mut().zip(&users) {
            device.sync(s, user);
            let expected: BTreeMap<String, (u32, String)> = s
                .articles(&acme.id, 100)
                .expect("lists")
                .into_iter()
                .filter(|a| {
                    reads_article(
                        user.role,
                        user.team.as_deref(),
                        a.meta.audience.wire(),
                        a.meta.team.as_deref(),
                    )
                })
                .filter_map(|a| a.published.map(|p| (a.meta.id, (p.version, p.title))))
                .collect();
            assert_eq!(device.held, expected, "{}'s device", user.name);
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        #[test]
        fn devices_converge_on_what_their_user_reads(ops in prop::collection::vec(op(), 1..40)) {
            run(ops);
        }
    }
}
