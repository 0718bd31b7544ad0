//! Network and server faults during sync: connections cut in the middle of a push and of a pull,
//! responses lost after the server acted, the server killed between rounds, the network down.
//! Always: everything converges, nothing is lost, nothing is applied twice.

mod common;

use common::proxy::Proxy;
use common::{Phone, Server};
use fieldwork_core::ticket::{Edit, NewTicket};
use fieldwork_core::{Role, TicketKind};

struct Setup {
    server: Server,
    tenant: String,
    proxy: Proxy,
    tech: Phone,
    tech_id: String,
    dispatcher: Phone,
}

/// A technician whose phone goes through the faulty proxy, and a dispatcher with a direct line.
fn setup() -> Setup {
    let server = Server::start();
    let tenant = server.tenant("acme");
    let (tech_id, tech_token) = server.user(&tenant, "technician", "tech", Some("north"));
    let (_, disp_token) = server.user(&tenant, "dispatcher", "ops", None);
    let proxy = Proxy::start(server.port);
    let tech = Phone::login(&proxy.url, &tech_token);
    let dispatcher = Phone::login(&server.url, &disp_token);
    Setup {
        server,
        tenant,
        proxy,
        tech,
        tech_id,
        dispatcher,
    }
}

/// A ticket assigned to the technician, on both phones.
fn assigned_ticket(s: &Setup) -> String {
    let id = s
        .dispatcher
        .store
        .create(NewTicket::titled(TicketKind::Repair, "Chiller down"))
        .expect("create")
        .id;
    s.dispatcher
        .store
        .edit(
            &id,
            &[Edit::Assign {
                assignee: Some(s.tech_id.clone()),
            }],
        )
        .expect("assign");
    s.dispatcher.sync(3).expect("dispatcher syncs");
    s.tech.sync(3).expect("tech syncs");
    id
}

fn notes(phone: &Phone, id: &str) -> Vec<String> {
    phone
        .store
        .ticket(id)
        .expect("ticket")
        .notes
        .into_iter()
        .map(|n| n.text)
        .collect()
}

fn add_notes(phone: &Phone, id: &str, n: usize) -> Vec<String> {
    (0..n)
        .map(|i| {
            let text = format!("step {i}: {}", "checked and noted ".repeat(8));
            phone
                .store
                .edit(
                    id,
                    &[Edit::AddNote {
                        text: text.clone(),
                        internal: true,
                    }],
                )
                .expect("note");
            text
        })
        .collect()
}

#[test]
fn a_push_cut_midway_is_resent_and_lands_exactly_once() {
    let s = setup();
    let id = assigned_ticket(&s);
    let written = add_notes(&s.tech, &id, 30);
    for cut_at in [120, 700, 2_500] {
        s.proxy.cut(cut_at, 0, 1);
        let report = s.tech.sync(6).expect("sync recovers from the cut");
        assert_eq!(report.pending, 0);
        if cut_at == 120 {
            assert!(s.proxy.cuts_done() >= 1, "the fault really happened");
        }
    }
    s.dispatcher.sync(3).expect("dispatcher syncs");
    let seen = notes(&s.dispatcher, &id);
    assert_eq!(seen, written, "every note once, in order");
    assert_eq!(notes(&s.tech, &id), written);
}

#[test]
fn a_pull_cut_midway_resumes_and_a_lost_response_applies_nothing_twice() {
    let s = setup();
    let id = assigned_ticket(&s);
    add_notes(&s.dispatcher, &id, 40);
    s.dispatcher.sync(3).expect("dispatcher pushes");
    s.proxy.cut(0, 1_500, 1);
    s.tech.sync(6).expect("pull recovers from the cut");
    assert_eq!(notes(&s.tech, &id).len(), 40);

    // The server stores the push, then the answer is lost: the retry must not double anything.
    s.tech
        .store
        .edit(
            &id,
            &[Edit::SetStatus {
                status: fieldwork_core::Status::Accepted,
            }],
        )
        .expect("accept");
    let before_events = s.tech.store.ticket(&id).expect("ticket").events.len();
    s.proxy.cut(0, 1, 1);
    let report = s.tech.sync(6).expect("sync recovers from the lost answer");
    assert_eq!(report.pending, 0);
    assert_eq!(report.rejected, 0);
    s.dispatcher.sync(3).expect("dispatcher pulls");
    let on_server_side = s.dispatcher.store.ticket(&id).expect("ticket");
    assert_eq!(on_server_side.status, fieldwork_core::Status::Accepted);
    assert_eq!(
        on_server_side.events.len(),
        before_events,
        "no event applied twice"
    );
    assert_eq!(on_server_side, s.tech.store.ticket(&id).expect("ticket"));
}

#[test]
fn the_server_killed_between_rounds_loses_nothing() {
    let mut s = setup();
    let id = assigned_ticket(&s);
    let mut written = add_notes(&s.tech, &id, 3);
    s.tech.sync(3).expect("first half");
    s.server.kill();
    written.extend(add_notes(&s.tech, &id, 3));
    assert!(s.tech.sync(2).expect_err("server is down").is_offline());
    s.server.restart();
    s.tech.sync(6).expect("second half after restart");
    s.dispatcher.sync(3).expect("dispatcher pulls");
    assert_eq!(notes(&s.dispatcher, &id), written);
    assert_eq!(s.tech.store.outbox_len().expect("outbox"), 0);
}

#[test]
fn while_the_network_is_down_work_queues_and_flows_when_it_returns() {
    let s = setup();
    let id = assigned_ticket(&s);
    s.proxy.set_down(true);
    let written = add_notes(&s.tech, &id, 2);
    let err = s.tech.sync(2).expect_err("no network");
    assert!(err.is_offline(), "{err}");
    assert_eq!(s.tech.store.outbox_len().expect("outbox"), 2);
    assert!(s.tech.store.sync_meta().expect("meta").last_error.is_some());
    s.proxy.set_down(false);
    s.tech.sync(3).expect("back online");
    s.dispatcher.sync(3).expect("dispatcher pulls");
    assert_eq!(notes(&s.dispatcher, &id), written);
    assert!(s.tech.store.sync_meta().expect("meta").last_error.is_none());
    let _ = Role::Technician;
}

#[test]
fn a_paged_bootstrap_fetched_ahead_survives_answers_cut_midway() {
    let s = setup();
    for i in 0..40 {
        s.dispatcher
            .store
            .create(NewTicket::titled(
                TicketKind::Repair,
                format!("Freezer {i} above -12 °C"),
            ))
            .expect("create");
    }
    s.dispatcher.sync(3).expect("dispatcher pushes");
    let (_, agent_token) = s.server.user(&s.tenant, "agent", "desk", None);
    let agent = Phone::login(&s.proxy.url, &agent_token);
    // Small pages: each answer brings a few tickets, and while one is applied the next is on
    // its way on the same connection, so the cuts land in pages asked for ahead.
    let engine = agent.engine().with_pull_budget(2_048);
    s.proxy.cut(0, 7_000, 3);
    let policy = fieldwork_core::sync::RetryPolicy {
        base: std::time::Duration::from_millis(10),
        max_delay: std::time::Duration::from_millis(200),
        max_attempts: 12,
    };
    let report = fieldwork_core::sync::block_on(engine.sync(policy))
        .expect("runtime")
        .expect("the bootstrap recovers from every cut");
    assert!(s.proxy.cuts_done() >= 2, "the faults really happened");
    assert!(report.rounds > 10, "paged: {} rounds", report.rounds);
    assert_eq!(agent.store.ticket_count().expect("count"), 40);
    assert_eq!(report.checked.checked, 40, "every listed ticket checked");
    assert_eq!(agent.store.unchecked_count().expect("unchecked"), 0);
    let titles = |phone: &Phone| {
        let mut titles: Vec<String> = phone
            .store
            .list(&fieldwork_core::store::ListQuery {
                limit: 100,
                ..Default::default()
            })
            .expect("list")
            .into_iter()
            .map(|row| row.title)
            .collect();
        titles.sort();
        titles
    };
    assert_eq!(titles(&agent), titles(&s.dispatcher));
    // A second sync has nothing to bring: no page was skipped or half applied.
    let again = agent.sync(3).expect("syncs");
    assert_eq!(again.pulled, 0);
}
