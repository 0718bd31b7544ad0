//! Compacting a ticket judged on its tip (ADR 0020, ADR 0021): its judge read the stored
//! document's bytes (`Judge::compactions`), and the commit, once judged, loads them, applies the
//! notes it accepted, and saves the whole proven ([`compact`]), the loaded document dropped before
//! the saved bytes are loaded back to prove them. Nothing of it is held while the commit waits for
//! its turn, nor while its judge holds a read of the store.

use fieldwork_core::ticket::{Change, TicketDocument};

/// The compacted document of a ticket stored as `stored`, with `accepted` applied; `None` when it
/// cannot be compacted (its changes then stay as they are, and a later commit tries again): it
/// does not load or take them, or does not save and load back.
pub(crate) fn compact(stored: &[u8], accepted: &[Change]) -> Option<Vec<u8>> {
    let mut doc = match TicketDocument::load(stored) {
        Ok(doc) => doc,
        Err(error) => {
            tracing::warn!(%error, "a ticket to compact does not load; its changes stay as they are");
            return None;
        }
    };
    if let Err(error) = doc.apply_changes(accepted.to_vec()) {
        tracing::warn!(%error, "a ticket to compact does not take its new notes; its changes stay as they are");
        return None;
    }
    doc.into_proven()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_that_do_not_load_are_not_compacted() {
        assert_eq!(compact(b"not a document", &[]), None);
    }
}
