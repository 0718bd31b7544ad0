//! Server-authored writes of several edits as one change: the service brain's decisions (fields,
//! its events and internal notes, the SLA) by the store's server actor, in the name of an author
//! no device may claim (`fieldwork:brain`). Like the ticket number, they are judged by nobody but
//! the store's limits (`server/src/service/trusted.rs`); the brain has checked what it decides.

use automerge::transaction::{CommitOptions, Transactable};
use automerge::{ActorId, ObjType, ROOT, ReadDoc, ScalarValue};

use super::document::{DocumentError, TicketDocument};
use super::write::{push_event, put_opt};
use super::{AlertFold, AssetHistoryEntry, Change, Edit, Sla, Ticket};
use crate::model::{Actor, TicketKind};

/// The writes of one server batch ([`TicketDocument::server_batch`]).
#[derive(Debug)]
pub struct ServerBatch<'a> {
    doc: &'a mut TicketDocument,
    author: &'a Actor,
    at: i64,
    /// For a staff document: the public view its edits are read with.
    public: Option<&'a Ticket>,
}

impl TicketDocument {
    /// Runs `write` as one change by `actor_id` at `at` (the document's own actor is restored
    /// after): the events and notes it writes name `author`. For a staff document, `public` is
    /// the ticket's public view. `None` when nothing changed; on an error nothing is written.
    pub fn server_batch(
        &mut self,
        actor_id: ActorId,
        author: &Actor,
        public: Option<&Ticket>,
        at: i64,
        message: &str,
        write: impl FnOnce(&mut ServerBatch<'_>) -> Result<(), DocumentError>,
    ) -> Result<Option<Change>, DocumentError> {
        let previous = self.actor();
        let message = self.commit_message(message);
        self.inner_mut().set_actor(actor_id);
        let written = write(&mut ServerBatch {
            doc: self,
            author,
            at,
            public,
        });
        let doc = self.inner_mut();
        let hash = match written {
            Ok(()) => doc.commit_with(CommitOptions::default().with_message(message).with_time(at)),
            Err(e) => {
                doc.rollback();
                doc.set_actor(previous);
                return Err(e);
            }
        };
        doc.set_actor(previous);
        let Some(hash) = hash else {
            return Ok(None);
        };
        let change = doc.get_change_by_hash(&hash).cloned();
        self.check_local_write()?;
        Ok(change)
    }
}

impl ServerBatch<'_> {
    /// An edit by the batch's author, written as a person's would be (its events, the status an
    /// assignment implies), read against the ticket as the batch has written it so far.
    pub fn edit(&mut self, edit: &Edit) -> Result<(), DocumentError> {
        let current = self.doc.read_with(self.public)?;
        self.doc.write_edit(&current, edit, self.author, self.at)?;
        Ok(())
    }

    /// An entry in the document's history by the batch's author.
    pub fn event(&mut self, kind: &str, data: &[(&str, &str)]) -> Result<(), DocumentError> {
        let by = self.author.user_id.clone();
        push_event(self.doc.inner_mut(), kind, &by, self.at, data)
    }

    /// The ticket's kind (no person changes it; classification may).
    pub fn kind(&mut self, kind: TicketKind) -> Result<(), DocumentError> {
        self.doc.inner_mut().put(ROOT, "kind", kind.as_str())?;
        Ok(())
    }

    /// The ticket's SLA, in place of what it had.
    pub fn sla(&mut self, sla: &Sla) -> Result<(), DocumentError> {
        let doc = self.doc.inner_mut();
        let obj = match doc.get(ROOT, "sla")? {
            Some((automerge::Value::Object(ObjType::Map), id)) => id,
            _ => doc.put_object(ROOT, "sla", ObjType::Map)?,
        };
        let time = |value: Option<i64>| value.map_or(ScalarValue::Null, ScalarValue::Int);
        doc.put(&obj, "first_response_due", time(sla.first_response_due))?;
        doc.put(&obj, "resolution_due", time(sla.resolution_due))?;
        doc.put(&obj, "update_due", time(sla.update_due))?;
        doc.put(&obj, "paused", sla.paused)?;
        put_opt(doc, &obj, "policy", sla.policy.as_deref())?;
        let stored: Vec<String> = match doc.get(&obj, "breaches")? {
            Some((automerge::Value::Object(ObjType::List), list)) => (0..doc.length(&list))
                .filter_map(|i| doc.get(&list, i).ok().flatten())
                .filter_map(|(v, _)| v.to_str().map(str::to_owned))
                .collect(),
            _ => Vec::new(),
        };
        if stored != sla.breaches {
            let list = doc.put_object(&obj, "breaches", ObjType::List)?;
            for (i, breach) in sla.breaches.iter().enumerate() {
                doc.insert(&list, i, breach.as_str())?;
            }
        }
        Ok(())
    }

    /// The machine alarms folded into the ticket, in place of what it had (IoT intake).
    pub fn alert(&mut self, alert: &AlertFold) -> Result<(), DocumentError> {
        let doc = self.doc.inner_mut();
        let obj = match doc.get(ROOT, "alert")? {
            Some((automerge::Value::Object(ObjType::Map), id)) => id,
            _ => doc.put_object(ROOT, "alert", ObjType::Map)?,
        };
        doc.put(&obj, "metric", alert.metric.as_str())?;
        doc.put(&obj, "count", alert.count)?;
        doc.put(&obj, "first_at", alert.first_at)?;
        doc.put(&obj, "last_at", alert.last_at)?;
        doc.put(&obj, "threshold", alert.threshold)?;
        doc.put(&obj, "last_value", alert.last_value)?;
        doc.put(&obj, "worst_value", alert.worst_value)?;
        doc.put(&obj, "severity", alert.severity.as_str())?;
        let resolved = alert
            .resolved_at
            .map_or(ScalarValue::Null, ScalarValue::Int);
        doc.put(&obj, "resolved_at", resolved)?;
        Ok(())
    }

    /// The machine's earlier tickets, in place of the list the (staff) document had.
    pub fn asset_history(&mut self, entries: &[AssetHistoryEntry]) -> Result<(), DocumentError> {
        let doc = self.doc.inner_mut();
        let list = doc.put_object(ROOT, "asset_history", ObjType::List)?;
        for (i, e) in entries.iter().enumerate() {
            let obj = doc.insert_object(&list, i, ObjType::Map)?;
            doc.put(&obj, "ticket_id", e.ticket_id.as_str())?;
            put_opt(doc, &obj, "number", e.number.as_deref())?;
            doc.put(&obj, "title", e.title.as_str())?;
            doc.put(&obj, "status", e.status.as_str())?;
            doc.put(&obj, "created_at", e.created_at)?;
            doc.put(&obj, "parts", e.parts.as_str())?;
        }
        Ok(())
    }
}
