//! Notices between the servers of one store (replicas on PostgreSQL, `storage::Peers`): this
//! server's notices go out, the others' come in and are published here as if committed here —
//! a push on one replica wakes the long-polls on every replica, and the brain, wherever it runs,
//! hears of every commit. Runs on every server; with SQLite (no peers) it ends at once.
//!
//! A notice travels as JSON in one message; one too long for a message (a commit touching many
//! tickets) goes as several, each with part of its tickets and the same `max_seq`.

use std::sync::Arc;

use super::{Notice, Tickets};
use crate::state::blocking;
use crate::storage::{MAX_PEER_MESSAGE, PeerEvent, ServerStore};
use crate::tasks::StopToken;

/// Sends this server's notices to its peers and publishes theirs here, until the server stops.
pub(crate) async fn relay(tickets: Tickets, store: Arc<dyn ServerStore>, mut stop: StopToken) {
    let Some(mut heard) = store.hear_peers() else {
        return;
    };
    let mut outbox = tickets.inner.notices.outbox();
    loop {
        tokio::select! {
            notice = outbox.recv() => {
                let Some(notice) = notice else { break };
                let store = store.clone();
                let sent = blocking(move || {
                    for message in messages(&notice) {
                        store.tell_peers(&message)?;
                    }
                    Ok::<_, crate::error::Error>(())
                })
                .await;
                if let Err(error) = sent {
                    // A hint lost: the peers' long-polls answer at their deadline instead.
                    tracing::warn!(%error, "could not tell the other servers of a commit");
                }
            }
            event = heard.recv() => match event {
                Some(PeerEvent::Message(message)) => match serde_json::from_str::<Notice>(&message) {
                    Ok(notice) => tickets.inner.notices.publish_from_peer(notice),
                    Err(error) => tracing::warn!(%error, "a message from another server was not a notice"),
                },
                Some(PeerEvent::Missed) => {
                    tracing::info!("hearing the other servers (again); catching up from the store on what they said before");
                    tickets.inner.notices.resync();
                }
                None => break,
            },
            () = stop.stopped() => break,
        }
    }
}

/// `notice` as messages of at most [`MAX_PEER_MESSAGE`] bytes: one, or several with its tickets
/// split between them.
fn messages(notice: &Notice) -> Vec<String> {
    let whole = serde_json::to_string(notice).unwrap_or_default();
    if whole.len() <= MAX_PEER_MESSAGE || notice.tickets.len() <= 1 {
        // A single ticket id never comes near the limit (ids are bounded by the judge).
        return vec![whole];
    }
    let (first, second) = notice.tickets.split_at(notice.tickets.len() / 2);
    let part = |tickets: &[String]| Notice {
        tickets: tickets.to_vec(),
        created: notice
            .created
            .iter()
            .filter(|id| tickets.contains(id))
            .cloned()
            .collect(),
        assets: notice
            .assets
            .iter()
            .filter(|(id, _)| tickets.contains(id))
            .cloned()
            .collect(),
        ..notice.clone()
    };
    let mut out = messages(&part(first));
    out.extend(messages(&part(second)));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::service::Writer;

    #[test]
    fn a_long_notice_goes_in_parts_that_each_fit_and_together_say_all() {
        let tickets: Vec<String> = (0..600).map(|i| format!("01a2{i:032}")).collect();
        let notice = Notice {
            tenant: "acme".into(),
            created: tickets[..10].to_vec(),
            assets: vec![(tickets[599].clone(), "SN-1".into())],
            tickets: tickets.clone(),
            max_seq: 42,
            writer: Writer::Device {
                user_id: "u".into(),
                device_id: "d".into(),
            },
        };
        let parts: Vec<Notice> = messages(&notice)
            .iter()
            .inspect(|m| assert!(m.len() <= MAX_PEER_MESSAGE))
            .map(|m| serde_json::from_str(m).expect("a notice"))
            .collect();
        assert!(parts.len() > 1);
        assert!(
            parts
                .iter()
                .all(|p| p.max_seq == 42 && p.writer == notice.writer)
        );
        let back: Vec<String> = parts.iter().flat_map(|p| p.tickets.clone()).collect();
        assert_eq!(back, tickets);
        let created: Vec<String> = parts.iter().flat_map(|p| p.created.clone()).collect();
        assert_eq!(created, notice.created);
        let assets: Vec<_> = parts.iter().flat_map(|p| p.assets.clone()).collect();
        assert_eq!(assets, notice.assets);

        let small = Notice {
            tickets: tickets[..2].to_vec(),
            created: Vec::new(),
            assets: Vec::new(),
            ..notice
        };
        assert_eq!(messages(&small).len(), 1);
    }
}
