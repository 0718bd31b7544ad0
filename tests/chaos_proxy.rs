//! Devices behind a chaos proxy: every connection to the server may be refused, held back, cut
//! on the way up or down, or sent again later (a late duplicate), drawn from a seed
//! (`common/chaos.rs`). The devices write notes and change fields of shared tickets and sync
//! through it; once the chaos stops they converge with the server, every note once
//! (`docs/reliability.md`).
//!
//! `FIELDWORK_CHAOS_ROUNDS=N` runs longer; `FIELDWORK_CHAOS_SEED=S` replays a run (every run prints
//! its seed, and a failure names it).

mod common;

use std::collections::BTreeSet;

use common::rng::Rng;
use common::{Phone, Server};
use fieldwork_core::ticket::Edit;
use fieldwork_core::{Priority, Status, Ticket};

const TICKETS: usize = 3;

#[test]
fn devices_behind_a_chaos_proxy_converge_with_the_server_and_lose_nothing() {
    let rounds: usize = std::env::var("FIELDWORK_CHAOS_ROUNDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(40);
    let (mut dice, seed) = Rng::from_env("FIELDWORK_CHAOS_SEED", "chaos proxy");
    let server = Server::start();
    let tenant = server.tenant("acme");
    let phones = common::staff_behind_proxies(&server, &tenant);

    // Shared tickets, assigned to the technician so all three hold them; set up without chaos.
    let tech = phones[1].0.user_id();
    let desk = &phones[0].0;
    let ids: Vec<String> = common::tickets_assigned(
        desk,
        &tech,
        &(0..TICKETS)
            .map(|n| format!("chaos {n}"))
            .collect::<Vec<_>>(),
    );
    for (phone, _) in &phones {
        phone.sync(3).expect("set-up sync");
    }

    for (i, (_, proxy)) in phones.iter().enumerate() {
        proxy.set_chaos(Some(seed.wrapping_add(i as u64 + 1)));
    }
    let mut written = BTreeSet::new();
    let mut failed_syncs = 0usize;
    for round in 0..rounds {
        for (p, (phone, _)) in phones.iter().enumerate() {
            let id = &ids[dice.below(TICKETS as u64) as usize];
            let mut note = None;
            let edit = match dice.below(4) {
                0 => Edit::SetStatus {
                    status: [Status::Accepted, Status::InProgress][dice.below(2) as usize],
                },
                1 => Edit::SetPriority {
                    priority: Priority::ALL[dice.below(4) as usize],
                },
                _ => {
                    let text = format!("chaos note r{round}p{p}#");
                    note = Some(text.clone());
                    Edit::AddNote {
                        text,
                        internal: false,
                    }
                }
            };
            // A status the role may not set is refused on the device: only what it took counts.
            if phone.store.edit(id, &[edit]).is_ok() {
                written.extend(note);
            }
            if phone.sync(2).is_err() {
                failed_syncs += 1;
            }
        }
    }
    let mut counts = Vec::new();
    for (_, proxy) in &phones {
        counts.push(proxy.set_chaos(None).expect("chaos was on"));
    }
    eprintln!("chaos proxy: {rounds} rounds, {failed_syncs} syncs failed; per device {counts:?}");

    // Calm again: everyone converges.
    for _ in 0..2 {
        for (phone, _) in &phones {
            phone
                .sync(5)
                .unwrap_or_else(|e| panic!("seed {seed}: final sync: {e}"));
        }
    }
    let (_, agent_token) = server.user(&tenant, "agent", "fresh-agent", None);
    let fresh = Phone::login(&server.url, &agent_token);
    fresh.sync(5).expect("a fresh device's sync");
    for id in &ids {
        let views: Vec<Ticket> = phones
            .iter()
            .map(|(p, _)| p)
            .chain([&fresh])
            .map(|p| p.store.ticket(id).expect("every device holds it"))
            .collect();
        for v in &views[1..] {
            assert_eq!(v, &views[0], "seed {seed}: devices differ on {id}");
        }
    }
    let mut seen = Vec::new();
    for id in &ids {
        let view = fresh.store.ticket(id).expect("ticket");
        seen.extend(view.notes.iter().map(|n| n.text.clone()));
    }
    let held: BTreeSet<String> = seen.iter().cloned().collect();
    assert_eq!(seen.len(), held.len(), "seed {seed}: a note arrived twice");
    let lost: Vec<_> = written.difference(&held).collect();
    assert!(lost.is_empty(), "seed {seed}: notes lost: {lost:?}");
    for (phone, _) in &phones {
        assert!(
            phone.store.quarantine().expect("quarantine").is_empty(),
            "seed {seed}: honest work was refused"
        );
        assert_eq!(phone.store.outbox_len().expect("outbox"), 0, "seed {seed}");
    }
}
