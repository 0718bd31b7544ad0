//! Loading tickets' documents on every core, outside the write lock: a pulled response's
//! snapshots before it is applied, and listed tickets' stored documents when they are checked
//! (`check.rs`). The write transaction that follows only merges and writes.

use std::collections::HashMap;

use super::super::{Result, StoreError};
use crate::ticket::{Part, Ticket, TicketDocument};

/// A ticket's documents, loaded and read.
pub(super) struct Decoded {
    pub doc: TicketDocument,
    pub staff: Option<TicketDocument>,
    /// The public view.
    pub view: Ticket,
}

impl Decoded {
    pub fn load(bytes: &[u8], staff: Option<&[u8]>) -> Result<Decoded> {
        let doc = TicketDocument::load(bytes)?;
        let view = doc.view()?;
        let staff = staff
            .map(|bytes| {
                let staff = TicketDocument::load_part(Part::Staff, bytes)?;
                staff.staff_view()?;
                Ok::<_, StoreError>(staff)
            })
            .transpose()?;
        Ok(Decoded { doc, staff, view })
    }

    /// The view with the staff document merged in, as the device's user reads the ticket.
    pub fn full_view(&self) -> Result<Ticket> {
        Ok(match &self.staff {
            Some(staff) => self.view.clone().with_staff(staff.staff_view()?),
            None => self.view.clone(),
        })
    }
}

/// A ticket's documents as bytes: its id, the public document, the staff document if any.
pub(super) type Encoded<'a> = (&'a str, &'a [u8], Option<&'a [u8]>);

/// Loads every ticket of `docs` on all cores (a thread per core, each taking every n-th).
/// Errors are kept per ticket and surface when that ticket is applied.
pub(super) fn load_all(docs: Vec<Encoded<'_>>) -> HashMap<String, Result<Decoded>> {
    let load = |(id, bytes, staff): Encoded<'_>| (id.to_owned(), Decoded::load(bytes, staff));
    let threads = std::thread::available_parallelism()
        .map_or(1, usize::from)
        .min(8)
        .min(docs.len() / 16)
        .max(1);
    if threads == 1 {
        return docs.into_iter().map(load).collect();
    }
    std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|k| {
                let mine: Vec<Encoded<'_>> =
                    docs.iter().skip(k).step_by(threads).copied().collect();
                scope.spawn(move || mine.into_iter().map(load).collect::<Vec<_>>())
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().unwrap_or_default())
            .collect()
    })
}
