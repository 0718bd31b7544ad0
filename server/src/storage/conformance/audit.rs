//! [`AuditLog`]: a tenant's stored changes newest first, by ticket or author, each with how it
//! came in, never another tenant's.

use fieldwork_core::Role;

use super::{TestStore, change, commit, device, tenant, ticket, user};
use crate::storage::{AuditQuery, ChangeTimes, NewChange, Via};

fn by(ticket_id: &str, hash: &str, actor: &str, author: Option<&str>) -> NewChange {
    NewChange {
        actor_id: actor.to_owned(),
        times: author.map(|a| ChangeTimes {
            author_id: a.to_owned(),
            device_time: 5,
            effective_at: 6,
        }),
        ..change(ticket_id, hash)
    }
}

pub fn the_audit_log_names_who_and_how_newest_first_per_tenant(t: &TestStore) {
    let s = t.store.as_ref();
    let acme = tenant(s, "acme");
    let globex = tenant(s, "globex");
    let ana = user(s, &acme, "ana", Role::Technician);
    device(s, &ana, "van", "aa01");
    let server = s.server_actor().to_hex_string();
    s.commit(&commit(
        &acme,
        vec![ticket("t1", &ana.id, None), ticket("t2", &ana.id, None)],
        vec![
            by("t1", "h1", "aa01", Some(&ana.id)),
            by("t2", "h2", "bb02", Some("u-ops")),
            by("t1", "h3", &server, None),
        ],
    ))
    .unwrap();
    s.commit(&commit(
        &globex,
        vec![ticket("g1", "x", None)],
        vec![by("g1", "hg", "aa01", Some("x"))],
    ))
    .unwrap();

    let all = s
        .audit_changes(&AuditQuery {
            tenant_id: acme.id.clone(),
            limit: 10,
            ..AuditQuery::default()
        })
        .unwrap();
    let seen: Vec<(&str, &str)> = all
        .iter()
        .map(|c| (c.hash.as_str(), c.ticket_id.as_str()))
        .collect();
    assert_eq!(
        seen,
        [("h3", "t1"), ("h2", "t2"), ("h1", "t1")],
        "newest first, own tenant only"
    );
    assert_eq!(all[0].via, Via::Server);
    assert_eq!(all[0].author_id, None);
    assert_eq!(all[1].via, Via::Token);
    assert_eq!(
        all[2].via,
        Via::Device {
            id: "van".into(),
            name: "phone van".into()
        }
    );
    assert_eq!(
        (all[2].author_id.as_deref(), all[2].effective_at),
        (Some(ana.id.as_str()), Some(6))
    );
    assert_eq!(all[2].received_at, 1);

    let of_t1 = s
        .audit_changes(&AuditQuery {
            tenant_id: acme.id.clone(),
            ticket_id: Some("t1".into()),
            limit: 10,
            ..AuditQuery::default()
        })
        .unwrap();
    assert_eq!(of_t1.len(), 2);
    let by_ana = s
        .audit_changes(&AuditQuery {
            tenant_id: acme.id.clone(),
            author_id: Some(ana.id.clone()),
            limit: 10,
            ..AuditQuery::default()
        })
        .unwrap();
    assert_eq!(
        by_ana.iter().map(|c| c.hash.as_str()).collect::<Vec<_>>(),
        ["h1"]
    );
    let page = s
        .audit_changes(&AuditQuery {
            tenant_id: acme.id.clone(),
            before_seq: Some(all[1].seq),
            limit: 10,
            ..AuditQuery::default()
        })
        .unwrap();
    assert_eq!(
        page.iter().map(|c| c.hash.as_str()).collect::<Vec<_>>(),
        ["h1"]
    );
    let later = s
        .audit_changes(&AuditQuery {
            tenant_id: acme.id.clone(),
            from: Some(2),
            limit: 10,
            ..AuditQuery::default()
        })
        .unwrap();
    assert!(later.is_empty());
}
