//! Who the ids on this device's tickets are: names and roles the server sent with its answers
//! (`SyncResponse::people`) and the device's own user, so screens show "Li Wei" where a ticket
//! says `01a22a74-7ffb-…`. A name only ever comes from the server or the login; an id nobody
//! named is shown short ([`short_id`]), never guessed.

use std::collections::HashMap;

use rusqlite::{Transaction, params};

use super::{Result, TicketStore};
use crate::model::Role;
use fieldwork_protocol::sync::{MAX_PEOPLE_PER_RESPONSE, PersonName};

/// Names for a set of ids, with the fallback for ids nobody named.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Names {
    known: HashMap<String, PersonName>,
}

impl Names {
    /// The person behind `user_id`, if the server (or the login) named them.
    pub fn get(&self, user_id: &str) -> Option<&PersonName> {
        self.known.get(user_id)
    }

    /// What to show for `user_id`: the name, else the id in short.
    pub fn display(&self, user_id: &str) -> String {
        match self.known.get(user_id) {
            Some(person) => person.name.clone(),
            None => short_id(user_id),
        }
    }

    /// How many of the ids asked for have names.
    pub fn len(&self) -> usize {
        self.known.len()
    }

    /// Whether none of the ids asked for has a name.
    pub fn is_empty(&self) -> bool {
        self.known.is_empty()
    }
}

/// An id nobody named, shortened for people: the first 8 characters and "…" (enough to tell
/// people apart and to find them in `--json`). The server's own actors (`fieldwork:brain`) are
/// no one's personal id and are shown whole.
pub fn short_id(id: &str) -> String {
    if id.starts_with("fieldwork:") || id.chars().count() <= 9 {
        return id.to_owned();
    }
    let head: String = id.chars().take(8).collect();
    format!("{head}…")
}

/// Remembers the names in a server answer (at most as many as one answer may carry), replacing
/// what was known of the same ids: the server's word is the latest.
pub(super) fn record(tx: &Transaction, people: &[PersonName]) -> Result<()> {
    if people.is_empty() {
        return Ok(());
    }
    let mut upsert = tx.prepare_cached(
        "INSERT INTO people (user_id, name, role) VALUES (?1, ?2, ?3)
         ON CONFLICT (user_id) DO UPDATE SET name = excluded.name, role = excluded.role",
    )?;
    for person in people.iter().take(MAX_PEOPLE_PER_RESPONSE) {
        upsert.execute(params![person.user_id, person.name, person.role.as_str()])?;
    }
    Ok(())
}

impl TicketStore {
    /// The names of those of `ids` this device knows: from the server's answers, and the
    /// device's own user from its login (or `init`) if the server has not named them.
    pub fn people<'a>(&self, ids: impl IntoIterator<Item = &'a str>) -> Result<Names> {
        let ids: Vec<&str> = ids.into_iter().collect();
        let mut known: HashMap<String, PersonName> = HashMap::new();
        self.read(|conn| {
            let mut stmt =
                conn.prepare_cached("SELECT name, role FROM people WHERE user_id = ?1")?;
            for id in &ids {
                if known.contains_key(*id) {
                    continue;
                }
                let mut rows = stmt.query([id])?;
                let Some(row) = rows.next()? else { continue };
                let (name, role): (String, String) = (row.get(0)?, row.get(1)?);
                // Written by a newer build with a role this one does not know: left unnamed
                // rather than shown under a role that is not theirs.
                let Ok(role) = role.parse::<Role>() else {
                    continue;
                };
                known.insert(
                    (*id).to_owned(),
                    PersonName {
                        user_id: (*id).to_owned(),
                        name,
                        role,
                    },
                );
            }
            Ok(())
        })?;
        if let Ok(identity) = self.identity()
            && let Some(name) = identity.actor.name
            && ids.contains(&identity.actor.user_id.as_str())
            && !known.contains_key(&identity.actor.user_id)
        {
            let user_id = identity.actor.user_id;
            let role = identity.actor.role;
            known.insert(
                user_id.clone(),
                PersonName {
                    user_id,
                    name,
                    role,
                },
            );
        }
        Ok(Names { known })
    }

    /// Remembers people named outside a sync answer (the device's own user at login).
    pub fn remember_people(&self, people: &[PersonName]) -> Result<()> {
        self.write(|tx| record(tx, people))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Actor;
    use crate::store::testkit::device;
    use crate::ticket::TicketDocument;
    use fieldwork_protocol::sync::{ByteBuf, PullItem, SyncResponse};

    const RIDER: &str = "01a22a74-7ffb-7c3e-9d41-5b2f0e8a1c77";
    const TECH: &str = "01a22a75-0000-7000-8000-000000000001";

    fn li_wei() -> PersonName {
        PersonName {
            user_id: RIDER.into(),
            name: "Li Wei".into(),
            role: Role::Rider,
        }
    }

    /// A ticket reported by the rider, as the server would send it whole.
    fn snapshot(id: &str) -> PullItem {
        let rider = Actor {
            tenant: "acme".into(),
            user_id: RIDER.into(),
            role: Role::Rider,
            name: None,
            team: None,
        };
        let new = crate::ticket::NewTicket::help_request(None, None, None);
        let mut doc = TicketDocument::create(id, &rider, &new, crate::ticket::ActorId::random(), 1)
            .expect("creates");
        PullItem::Snapshot {
            ticket_id: id.into(),
            doc: ByteBuf::from(doc.save()),
            staff: None,
            erased: vec![],
            summary: None,
        }
    }

    fn answer(items: Vec<PullItem>, people: Vec<PersonName>) -> SyncResponse {
        SyncResponse {
            server_time: 1,
            accepted: vec![],
            rejected: vec![],
            items,
            cursor: 9,
            more: false,
            people,
            kb: None,
        }
    }

    #[test]
    fn names_from_a_pull_are_kept_with_its_tickets_and_survive_reopening() {
        let d = device(TECH, Role::Technician);
        let before = d.store.people([RIDER]).expect("reads");
        assert!(before.is_empty());
        assert_eq!(before.display(RIDER), "01a22a74…", "unknown: a short id");

        d.store
            .apply_sync_response(&answer(vec![snapshot("t-1")], vec![li_wei()]), 1)
            .expect("applies");
        let names = d
            .store
            .people([RIDER, "someone-else-entirely"])
            .expect("reads");
        assert_eq!(names.get(RIDER), Some(&li_wei()));
        assert_eq!(names.display(RIDER), "Li Wei");
        assert_eq!(names.display("someone-else-entirely"), "someone-…");
        assert_eq!(names.len(), 1);

        let path = d.store.path().to_owned();
        drop(d.store);
        let reopened = TicketStore::open(&path).expect("reopens");
        assert_eq!(
            reopened.people([RIDER]).expect("reads").display(RIDER),
            "Li Wei"
        );
        // The server's latest word replaces the old name.
        let renamed = PersonName {
            name: "Li Wei (scooter 7)".into(),
            ..li_wei()
        };
        reopened
            .apply_sync_response(&answer(vec![], vec![renamed]), 1)
            .expect("applies");
        assert_eq!(
            reopened.people([RIDER]).expect("reads").display(RIDER),
            "Li Wei (scooter 7)"
        );
    }

    #[test]
    fn an_answer_that_fails_to_apply_leaves_no_names_behind() {
        let d = device(TECH, Role::Technician);
        let broken = PullItem::Changes {
            ticket_id: "t-1".into(),
            part: Default::default(),
            changes: vec![ByteBuf::from(b"not a change".to_vec())],
        };
        let items = vec![snapshot("t-1"), broken];
        assert!(
            d.store
                .apply_sync_response(&answer(items, vec![li_wei()]), 1)
                .is_err()
        );
        assert!(d.store.people([RIDER]).expect("reads").is_empty());
        assert!(d.store.ticket("t-1").is_err(), "nor the ticket");
    }

    #[test]
    fn the_devices_own_user_is_named_from_the_login_and_then_by_the_server() {
        let dir = tempfile::tempdir().expect("dir");
        let store = TicketStore::open(&dir.path().join("s.db")).expect("opens");
        store
            .init(Actor {
                tenant: "acme".into(),
                user_id: TECH.into(),
                role: Role::Technician,
                name: Some("Zhang San".into()),
                team: None,
            })
            .expect("init");
        let names = store.people([TECH, RIDER]).expect("reads");
        assert_eq!(names.display(TECH), "Zhang San");
        assert_eq!(names.len(), 1, "only the ids asked for that have names");
        assert!(store.people([RIDER]).expect("reads").is_empty());
        store
            .remember_people(&[PersonName {
                user_id: TECH.into(),
                name: "Zhang San (north)".into(),
                role: Role::Technician,
            }])
            .expect("remembers");
        assert_eq!(
            store.people([TECH]).expect("reads").display(TECH),
            "Zhang San (north)"
        );
    }

    #[test]
    fn short_ids_never_pretend_to_be_names() {
        assert_eq!(short_id(RIDER), "01a22a74…");
        assert_eq!(short_id("u1"), "u1");
        assert_eq!(short_id("fieldwork:brain"), "fieldwork:brain");
        assert_eq!(short_id("李小龍李小龍李小龍李"), "李小龍李小龍李小…");
    }
}
