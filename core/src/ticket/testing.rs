//! What the crate's tests share about documents: hostile changes a newer or forged app makes.

use automerge::transaction::Transactable;
use automerge::{ObjType, ROOT};

use super::{Change, TicketDocument};

/// A change to `doc` by its actor that nests maps `depth` levels deep under a key this version
/// does not know (`x_future`), as a hostile app would to exhaust a recursive reader.
pub(crate) fn deeply_nested_change(doc: &mut TicketDocument, depth: usize) -> Change {
    let raw = doc.raw_mut();
    let mut obj = raw.put_object(ROOT, "x_future", ObjType::Map).expect("put");
    for _ in 0..depth {
        obj = raw.put_object(&obj, "k", ObjType::Map).expect("nest");
    }
    raw.commit();
    raw.get_last_local_change().expect("change").clone()
}
