//! What a decision sends out, as deliveries for the webhook sender (`crate::webhooks`): each
//! webhook a rule or escalation calls, and each notification to people, posted to the tenant's
//! push gateway (`[notifications] webhook`: the tenant's service that turns them into phone
//! pushes, text messages or chat messages). A notification names its recipients by user id and
//! login name, a role standing for every user of the tenant with it; like every delivery it
//! carries none of the ticket's text and none of the reporter's data.

use std::collections::BTreeMap;

use fieldwork_brain::Decisions;
use fieldwork_brain::decisions::Recipient;
use serde_json::json;

use super::names::Directory;
use crate::storage::NewDelivery;

/// The ticket a decision was about.
#[derive(Debug, Clone, Copy)]
pub(super) struct About<'a> {
    pub tenant: &'a str,
    pub ticket_id: &'a str,
    pub number: Option<&'a str>,
    pub now: i64,
}

/// The deliveries `decisions` asks for: its webhooks, then its notifications (one delivery per
/// source and message, to everyone it names) when the tenant has a push gateway. Notifications
/// without one are counted in the log and dropped.
pub(super) fn deliveries(
    decisions: &Decisions,
    push_gateway: Option<&str>,
    directory: &Directory,
    about: About<'_>,
) -> Vec<NewDelivery> {
    let delivery = |url: &str, source: &str, payload: String| NewDelivery {
        tenant_id: about.tenant.to_owned(),
        url: url.to_owned(),
        source: source.to_owned(),
        payload,
        created_at: about.now,
    };
    let mut out: Vec<NewDelivery> = decisions
        .webhooks
        .iter()
        .map(|w| delivery(&w.url, &w.source, w.payload.to_string()))
        .collect();
    if decisions.notifications.is_empty() {
        return out;
    }
    let Some(gateway) = push_gateway else {
        tracing::info!(
            tenant = about.tenant,
            count = decisions.notifications.len(),
            "notifications not delivered: the tenant's file sets no [notifications] webhook"
        );
        return out;
    };
    // (source, message) → recipients by id, each once.
    let mut grouped: BTreeMap<(&str, &str), BTreeMap<&str, &str>> = BTreeMap::new();
    for notification in &decisions.notifications {
        let to = grouped
            .entry((&notification.source, &notification.message))
            .or_default();
        match &notification.recipient {
            Recipient::User(id) => {
                if let Some(name) = directory.known_name(id) {
                    to.insert(id, name);
                }
            }
            Recipient::Role(role) => {
                for (id, name) in directory.with_role(*role) {
                    to.insert(id, name);
                }
            }
        }
    }
    for ((source, message), to) in grouped {
        if to.is_empty() {
            continue;
        }
        let recipients: Vec<_> = to
            .into_iter()
            .map(|(id, name)| json!({ "user_id": id, "name": name }))
            .collect();
        let payload = json!({
            "event": "notification",
            "source": source,
            "message": message,
            "at": about.now,
            "ticket": { "id": about.ticket_id, "number": about.number },
            "recipients": recipients,
        });
        out.push(delivery(gateway, source, payload.to_string()));
    }
    out
}
