//! [`Peers`] on SQLite: one server per database file, so no peers to tell or hear, and that
//! server leads every duty.

use tokio::sync::mpsc::UnboundedReceiver;

use super::SqliteStore;
use crate::storage::{Lead, PeerEvent, Peers, Result, SoleServer};

impl Peers for SqliteStore {
    fn tell_peers(&self, _message: &str) -> Result<()> {
        Ok(())
    }

    fn hear_peers(&self) -> Option<UnboundedReceiver<PeerEvent>> {
        None
    }

    fn lead(&self, _name: &str) -> Result<Option<Box<dyn Lead>>> {
        Ok(Some(Box::new(SoleServer)))
    }
}
