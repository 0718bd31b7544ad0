//! Names in the pull: a device learns the names and roles of the people on the tickets it
//! receives — its own tenant's users only, never a made-up or another tenant's id — once per
//! change of who is on a ticket, not with every change.

mod support;

use fieldwork_core::Role;
use fieldwork_core::ticket::{Edit, NewTicket};
use fieldwork_protocol::sync::{PersonName, SyncResponse};
use support::{Harness, User, snapshots};

/// The (name, role) pairs of an answer, sorted by name.
fn named(response: &SyncResponse) -> Vec<(String, Role)> {
    let mut names: Vec<(String, Role)> = response
        .people
        .iter()
        .map(|p| (p.name.clone(), p.role))
        .collect();
    names.sort();
    names
}

fn pair(name: &str, role: Role) -> (String, Role) {
    (name.to_owned(), role)
}

fn person<'a>(response: &'a SyncResponse, user: &User) -> Option<&'a PersonName> {
    response.people.iter().find(|p| p.user_id == user.id)
}

#[tokio::test]
async fn a_pull_names_the_people_on_its_tickets_within_the_tenant_only() {
    let h = Harness::new();
    h.tenant("acme");
    h.tenant("globex");
    let rider = h.user("acme", "Li Wei", Role::Rider, None);
    let ops = h.user("acme", "Ana Ortiz", Role::Dispatcher, None);
    let tech = h.user("acme", "Zhang San", Role::Technician, None);
    // On no ticket: never named to anyone.
    h.user("acme", "Bo Idle", Role::Technician, None);
    let outsider = h.user("globex", "Zoe Other", Role::Dispatcher, None);
    let mut phone = h.login(&rider).await;
    let mut desk = h.login(&ops).await;
    let mut van = h.login(&tech).await;

    let help = NewTicket::help_request(Some("ORD-9".into()), None, Some("fell".into()));
    let (id, creation) = phone.create(help);
    let pushed = phone.sync(&h, &[(&id, &creation)]).await;
    // The numbering change comes back with the one person on the ticket: the rider.
    assert_eq!(named(&pushed), [pair("Li Wei", Role::Rider)]);
    assert_eq!(
        person(&pushed, &rider).map(|p| p.name.as_str()),
        Some("Li Wei")
    );

    let first = desk.sync(&h, &[]).await;
    assert_eq!(snapshots(&first), [id.as_str()]);
    assert_eq!(named(&first), [pair("Li Wei", Role::Rider)]);

    // The dispatcher first assigns a forged id (another tenant's user), then the technician.
    let forged = desk.edit(
        &id,
        Edit::Assign {
            assignee: Some(outsider.id.clone()),
        },
    );
    let assigned = desk.edit(
        &id,
        Edit::Assign {
            assignee: Some(tech.id.clone()),
        },
    );
    let answer = desk.sync(&h, &[(&id, &forged), (&id, &assigned)]).await;
    assert_eq!(answer.accepted.len(), 2, "rejected: {:?}", answer.rejected);
    // Its own changes do not come back, but the names they brought do.
    assert!(answer.items.is_empty());
    assert_eq!(
        named(&answer),
        [
            pair("Ana Ortiz", Role::Dispatcher),
            pair("Li Wei", Role::Rider),
            pair("Zhang San", Role::Technician),
        ]
    );
    assert!(
        person(&answer, &outsider).is_none(),
        "another tenant's user"
    );

    // The technician receives the ticket whole, with everyone on it.
    let got = van.sync(&h, &[]).await;
    assert_eq!(snapshots(&got), [id.as_str()]);
    assert_eq!(
        named(&got),
        [
            pair("Ana Ortiz", Role::Dispatcher),
            pair("Li Wei", Role::Rider),
            pair("Zhang San", Role::Technician),
        ]
    );
    assert!(person(&got, &outsider).is_none());

    // The rider's device holds the ticket: the assignment arrives as changes, with the new names.
    let news = phone.sync(&h, &[]).await;
    assert!(!news.items.is_empty() && snapshots(&news).is_empty());
    assert_eq!(
        named(&news),
        [
            pair("Ana Ortiz", Role::Dispatcher),
            pair("Li Wei", Role::Rider),
            pair("Zhang San", Role::Technician),
        ]
    );

    // A note by someone already named: the change travels, the names do not again.
    let note = van.edit(
        &id,
        Edit::AddNote {
            text: "on my way".into(),
            internal: false,
        },
    );
    van.sync(&h, &[(&id, &note)]).await;
    let quiet = phone.sync(&h, &[]).await;
    assert_eq!(quiet.items.len(), 1);
    assert!(quiet.people.is_empty(), "{:?}", quiet.people);
    assert_eq!(phone.view(&id).notes.len(), 2);

    // Nobody outside the tenant ever hears these names.
    let mut elsewhere = h.login(&outsider).await;
    let theirs = elsewhere.pull_all(&h).await;
    assert!(
        theirs
            .iter()
            .all(|r| r.people.is_empty() && r.items.is_empty())
    );
}

#[tokio::test]
async fn paged_answers_carry_the_names_of_their_own_tickets() {
    let h = Harness::new();
    h.tenant("acme");
    let ops = h.user("acme", "Ana Ortiz", Role::Dispatcher, None);
    let riders: Vec<User> = (0..3)
        .map(|n| h.user("acme", &format!("Rider {n}"), Role::Rider, None))
        .collect();
    for rider in &riders {
        let mut phone = h.login(rider).await;
        let (id, creation) = phone.create(NewTicket::help_request(None, None, None));
        phone.sync(&h, &[(&id, &creation)]).await;
    }
    let desk = h.login(&ops).await;
    let mut desk = desk;
    let mut pages = Vec::new();
    loop {
        // A budget of one byte: one ticket per answer.
        let page = desk.round(&h, &[], 0, 1).await;
        desk.apply(&page);
        let more = page.more;
        pages.push(page);
        if !more {
            break;
        }
    }
    let with_tickets: Vec<&SyncResponse> = pages.iter().filter(|p| !p.items.is_empty()).collect();
    assert_eq!(with_tickets.len(), 3);
    for (page, rider) in with_tickets.iter().zip(&riders) {
        assert_eq!(page.items.len(), 1);
        assert_eq!(named(page), [pair(&rider.name, Role::Rider)]);
    }
}

#[tokio::test]
async fn a_ticket_stored_before_names_were_kept_names_its_reporter_and_assignee() {
    let h = Harness::new();
    h.tenant("acme");
    let ops = h.user("acme", "Ana Ortiz", Role::Dispatcher, None);
    let tech = h.user("acme", "Zhang San", Role::Technician, None);
    let mut desk = h.login(&ops).await;
    let (id, creation) = desk.create(support::repair("fridge warm"));
    let assigned = {
        desk.sync(&h, &[(&id, &creation)]).await;
        desk.edit(
            &id,
            Edit::Assign {
                assignee: Some(tech.id.clone()),
            },
        )
    };
    desk.sync(&h, &[(&id, &assigned)]).await;
    // As a server before version 6 of its schema left the row.
    let db = rusqlite::Connection::open(h.data_dir().join(fieldwork_server::config::DATABASE_FILE))
        .expect("the server's database");
    db.execute("UPDATE tickets SET people = NULL, people_seq = 0", [])
        .expect("old row");
    drop(db);
    let mut van = h.login(&tech).await;
    let got = van.sync(&h, &[]).await;
    assert_eq!(snapshots(&got), [id.as_str()]);
    assert_eq!(
        named(&got),
        [
            pair("Ana Ortiz", Role::Dispatcher),
            pair("Zhang San", Role::Technician)
        ]
    );
}

#[tokio::test]
async fn the_author_of_an_internal_note_is_named_to_staff_only() {
    let h = Harness::new();
    h.tenant("acme");
    let rider = h.user("acme", "Li Wei", Role::Rider, None);
    let ops = h.user("acme", "Ana Ortiz", Role::Dispatcher, None);
    let lead = h.user("acme", "Chen Jie", Role::Supervisor, None);
    let mut phone = h.login(&rider).await;
    let mut desk = h.login(&ops).await;
    let mut boss = h.login(&lead).await;
    let (id, created) = phone.create(NewTicket::help_request(None, None, Some("help".into())));
    phone.sync(&h, &[(&id, &created)]).await;
    desk.sync(&h, &[]).await;
    boss.sync(&h, &[]).await;
    // The supervisor writes only an internal note: nothing public names them.
    let note = boss.edit(
        &id,
        Edit::AddNote {
            text: "refund approved".into(),
            internal: true,
        },
    );
    assert!(boss.sync(&h, &[(&id, &note)]).await.rejected.is_empty());
    let on_desk = desk.sync(&h, &[]).await;
    assert_eq!(
        person(&on_desk, &lead).map(|p| p.name.as_str()),
        Some("Chen Jie"),
        "staff learn who wrote it"
    );
    let on_phone = phone.sync(&h, &[]).await;
    assert!(
        person(&on_phone, &lead).is_none(),
        "the rider never learns who wrote an internal note"
    );
    // A new staff device gets the name with the snapshot too.
    let mut fresh = h.login(&ops).await;
    let first = fresh.sync(&h, &[]).await;
    assert!(person(&first, &lead).is_some());
}
