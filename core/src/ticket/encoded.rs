//! Reading an encoded change safely: what it claims is checked before Automerge parses it, because
//! Automerge's own parsing is where two cheap attacks land. A compressed change chunk is inflated
//! without any bound (a few megabytes of deflate become gigabytes), and parsing walks every
//! operation the columns claim, which run-length encoding lets a 100-byte change put at billions
//! (minutes of CPU per change, with nothing allocated to notice). So: only plain change chunks,
//! and the operations counted from the run lengths of the action column alone (linear in the
//! bytes, not in the claim) must be within [`MAX_CHANGE_OPS`] before [`Change::from_bytes`] runs.
//! The actor columns are read too: an operation names the author of the object, element or
//! predecessor it refers to by an index into the change's authors, and Automerge indexes with it
//! unchecked (decoding and applying a change with an index past them panicked; found by the fuzz
//! target).
//! Layout: the Automerge binary format's change chunk (header, dependencies, actor, seq, startOp,
//! time, message, other actors, column metadata, column data).

use std::collections::HashMap;

use automerge::{AutoCommit, Change, ObjType};

use super::document::DocumentError;
use super::limits::{LimitError, MAX_CHANGE_BYTES, MAX_CHANGE_OPS, check_change_size};

/// The first bytes of every Automerge chunk.
const MAGIC: [u8; 4] = [0x85, 0x6f, 0x4a, 0x83];
/// Chunk type of a plain (uncompressed) change.
const CHANGE_CHUNK: u8 = 1;
/// The action column's id: every operation has exactly one action, and Automerge reads operations
/// until this column is done.
const ACTION_COLUMN: u32 = 4;
/// A column specification is `id << 4 | deflate << 3 | type`.
const DEFLATE_BIT: u32 = 1 << 3;
const TYPE_BITS: u32 = 0b111;
/// The column type of actor indexes (the object's, the element's and the predecessors' authors).
const ACTOR_TYPE: u32 = 1;
const HASH_BYTES: usize = 32;

/// Why bytes were refused before parsing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EncodedError {
    #[error("the bytes are not an uncompressed Automerge change")]
    NotAChange,
    #[error("the change refers to an author it does not list")]
    UnknownActor,
    #[error(transparent)]
    Limit(#[from] LimitError),
}

impl From<EncodedError> for DocumentError {
    fn from(error: EncodedError) -> Self {
        match error {
            EncodedError::Limit(limit) => DocumentError::Limit(limit),
            EncodedError::NotAChange | EncodedError::UnknownActor => DocumentError::Malformed {
                field: "change",
                reason: error.to_string(),
            },
        }
    }
}

/// Decodes one change from bytes sent by anyone: a plain change chunk within the change limits
/// (bytes and operations) whose operations name only authors it lists, checked before Automerge
/// parses it.
pub fn decode_change(bytes: &[u8]) -> Result<Change, EncodedError> {
    if bytes.len() > MAX_CHANGE_BYTES {
        return Err(LimitError::ChangeBytes(bytes.len()).into());
    }
    let layout = Layout::read(bytes)?;
    let claimed = layout.ops(MAX_CHANGE_OPS)?;
    if claimed > MAX_CHANGE_OPS {
        return Err(LimitError::ChangeOps(claimed).into());
    }
    layout.check_actors()?;
    // Automerge panics on some columns it should refuse (an object id's counter too large for
    // its type, found by the bundle-import fuzz target): that is this change's error, not the
    // process's end.
    let parsed = std::panic::catch_unwind(|| Change::from_bytes(bytes.to_vec()));
    let change = parsed
        .map_err(|_| EncodedError::NotAChange)?
        .map_err(|_| EncodedError::NotAChange)?;
    check_change_size(change.len(), bytes.len())?;
    Ok(change)
}

/// Checks that every operation of `change` writes into an object `doc` has (or the change makes)
/// with the kind of key that object takes: a name for a map, a position for a list or text.
/// Automerge applies an operation with the wrong kind of key and then panics comparing keys
/// (found by the fuzz target), and an operation on an object nobody made is never meaningful.
pub(crate) fn check_targets(doc: &AutoCommit, change: &Change) -> Result<(), DocumentError> {
    let refuse = |reason: &str| DocumentError::Malformed {
        field: "change",
        reason: reason.to_owned(),
    };
    // The operations' targets are only reachable through the change's serde form.
    let expanded = serde_json::to_value(change.decode())
        .map_err(|_| refuse("its operations cannot be read"))?;
    let ops = expanded
        .get("ops")
        .and_then(|ops| ops.as_array())
        .ok_or_else(|| refuse("its operations cannot be read"))?;
    let author = change.actor_id().to_hex_string();
    let mut made: HashMap<String, ObjType> = HashMap::new();
    for (i, op) in ops.iter().enumerate() {
        let obj = op.get("obj").and_then(|o| o.as_str()).unwrap_or_default();
        let kind = match made.get(obj) {
            Some(kind) => *kind,
            // `import` names an object by its id as the serde form writes it.
            None => match doc.import(obj) {
                Ok((_, kind)) => kind,
                Err(_) => return Err(refuse("it writes into an object the ticket does not have")),
            },
        };
        let named = op.get("key").is_some();
        let inserts = op.get("insert").and_then(|i| i.as_bool()).unwrap_or(false);
        let fits = match kind {
            ObjType::Map | ObjType::Table => named && !inserts,
            ObjType::List | ObjType::Text => !named,
        };
        if !fits {
            return Err(refuse(
                "it writes a list position into a map, or a name into a list",
            ));
        }
        let made_kind = match op.get("action").and_then(|a| a.as_str()) {
            Some("makeMap") => Some(ObjType::Map),
            Some("makeTable") => Some(ObjType::Table),
            Some("makeList") => Some(ObjType::List),
            Some("makeText") => Some(ObjType::Text),
            _ => None,
        };
        if let Some(kind) = made_kind {
            let id = format!("{}@{author}", change.start_op().get() + i as u64);
            made.insert(id, kind);
        }
    }
    Ok(())
}

/// A cursor over the bytes, every read bounds-checked.
struct Reader<'a> {
    bytes: &'a [u8],
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], EncodedError> {
        if n > self.bytes.len() {
            return Err(EncodedError::NotAChange);
        }
        let (head, rest) = self.bytes.split_at(n);
        self.bytes = rest;
        Ok(head)
    }

    fn byte(&mut self) -> Result<u8, EncodedError> {
        Ok(self.take(1)?[0])
    }

    fn uleb(&mut self) -> Result<u64, EncodedError> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.byte()?;
            value |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(EncodedError::NotAChange)
    }

    fn sleb(&mut self) -> Result<i64, EncodedError> {
        let mut value = 0i64;
        let mut shift = 0;
        loop {
            let b = self.byte()?;
            if shift >= 64 {
                return Err(EncodedError::NotAChange);
            }
            value |= i64::from(b & 0x7f) << shift;
            shift += 7;
            if b & 0x80 == 0 {
                if shift < 64 && b & 0x40 != 0 {
                    value |= -1i64 << shift;
                }
                return Ok(value);
            }
        }
    }

    fn len(&mut self) -> Result<usize, EncodedError> {
        usize::try_from(self.uleb()?).map_err(|_| EncodedError::NotAChange)
    }

    fn skip_prefixed(&mut self) -> Result<(), EncodedError> {
        let n = self.len()?;
        self.take(n).map(|_| ())
    }
}

/// What a change chunk's header says about its operation columns: how many other authors it
/// lists, and each column's specification and data.
struct Layout<'a> {
    other_actors: usize,
    columns: Vec<(u32, &'a [u8])>,
}

impl<'a> Layout<'a> {
    fn read(bytes: &'a [u8]) -> Result<Self, EncodedError> {
        let mut r = Reader { bytes };
        if r.take(4)? != MAGIC {
            return Err(EncodedError::NotAChange);
        }
        r.take(4)?; // checksum
        if r.byte()? != CHANGE_CHUNK {
            return Err(EncodedError::NotAChange);
        }
        let body_len = r.len()?;
        let mut r = Reader {
            bytes: r.take(body_len)?,
        };
        let deps = r.len()?;
        r.take(
            deps.checked_mul(HASH_BYTES)
                .ok_or(EncodedError::NotAChange)?,
        )?;
        r.skip_prefixed()?; // actor
        r.uleb()?; // seq
        r.uleb()?; // startOp
        r.sleb()?; // time
        r.skip_prefixed()?; // message
        let other_actors = r.len()?;
        for _ in 0..other_actors {
            r.skip_prefixed()?;
        }
        let count = r.len()?;
        // Every column takes at least two bytes to describe.
        if count > r.bytes.len() {
            return Err(EncodedError::NotAChange);
        }
        let mut specs = Vec::with_capacity(count);
        for _ in 0..count {
            let spec = u32::try_from(r.uleb()?).map_err(|_| EncodedError::NotAChange)?;
            // Automerge refuses deflated columns in a change chunk too; refusing them here keeps
            // every column below plain run-length data.
            if spec & DEFLATE_BIT != 0 {
                return Err(EncodedError::NotAChange);
            }
            specs.push((spec, r.len()?));
        }
        let mut columns = Vec::with_capacity(count);
        for (spec, len) in specs {
            columns.push((spec, r.take(len)?));
        }
        Ok(Layout {
            other_actors,
            columns,
        })
    }

    /// How many operations the action column claims, counted up to just past `cap` (the count
    /// stops there, so the work is bounded by the bytes and the cap, never by the claim).
    fn ops(&self, cap: usize) -> Result<usize, EncodedError> {
        let mut total = 0usize;
        for (spec, data) in &self.columns {
            if spec >> 4 == ACTION_COLUMN {
                total = total.saturating_add(rle_entries(data, cap.saturating_sub(total))?);
                if total > cap {
                    return Ok(total);
                }
            }
        }
        Ok(total)
    }

    /// Every actor index in every actor column names the change's author (0) or one of the
    /// others it lists. Linear in the columns' bytes: a run names one index however long it is.
    fn check_actors(&self) -> Result<(), EncodedError> {
        let highest = u64::try_from(self.other_actors).unwrap_or(u64::MAX);
        for (spec, data) in &self.columns {
            if spec & TYPE_BITS != ACTOR_TYPE {
                continue;
            }
            let mut r = Reader { bytes: data };
            while !r.bytes.is_empty() {
                let header = r.sleb()?;
                let values = match header {
                    n if n > 0 => 1,
                    n if n < 0 => n.unsigned_abs(),
                    _ => {
                        r.uleb()?; // a run of nulls: no index
                        0
                    }
                };
                for _ in 0..values {
                    if r.uleb()? > highest {
                        return Err(EncodedError::UnknownActor);
                    }
                }
            }
        }
        Ok(())
    }
}

/// Entries in a run-length encoded column of unsigned integers (runs, literal runs and null runs
/// all count), stopping once past `cap`.
fn rle_entries(data: &[u8], cap: usize) -> Result<usize, EncodedError> {
    let mut r = Reader { bytes: data };
    let mut total = 0usize;
    while !r.bytes.is_empty() {
        let header = r.sleb()?;
        let run = match header {
            n if n > 0 => {
                r.uleb()?;
                n.unsigned_abs()
            }
            n if n < 0 => n.unsigned_abs(),
            _ => r.uleb()?,
        };
        total = total.saturating_add(usize::try_from(run).unwrap_or(usize::MAX));
        if total > cap {
            return Ok(total);
        }
        if header < 0 {
            for _ in 0..run {
                r.uleb()?;
            }
        }
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use automerge::transaction::Transactable;
    use automerge::{AutoCommit, ObjType, ROOT, ScalarValue};

    use super::*;

    fn list_change(items: usize, value: ScalarValue) -> Vec<u8> {
        let mut doc = AutoCommit::new();
        let list = doc.put_object(ROOT, "x", ObjType::List).expect("list");
        doc.splice(&list, 0, 0, (0..items).map(|_| value.clone()))
            .expect("splice");
        doc.commit();
        doc.get_last_local_change()
            .expect("a change")
            .raw_bytes()
            .to_vec()
    }

    #[test]
    fn the_claimed_count_matches_what_automerge_reads() {
        for (items, value) in [
            (0, ScalarValue::Null),
            (5, ScalarValue::Int(7)),
            (1_000, ScalarValue::Null),
            (1_000, ScalarValue::Str("冷".into())),
        ] {
            let bytes = list_change(items, value);
            let change = Change::from_bytes(bytes.clone()).expect("a change");
            let claimed = Layout::read(&bytes).and_then(|layout| layout.ops(usize::MAX));
            assert_eq!(claimed, Ok(change.len()));
            assert_eq!(decode_change(&bytes).map(|c| c.len()), Ok(change.len()));
        }
    }

    #[test]
    fn a_hundred_byte_change_claiming_many_operations_is_refused_unparsed() {
        let bytes = list_change(4 * MAX_CHANGE_OPS, ScalarValue::Null);
        assert!(
            bytes.len() < 200,
            "run-length encoding: {} bytes",
            bytes.len()
        );
        assert!(matches!(
            decode_change(&bytes),
            Err(EncodedError::Limit(LimitError::ChangeOps(n))) if n > MAX_CHANGE_OPS
        ));
    }

    /// The bytes of `change`, with the last actor index of its object-actor column set to `index`.
    fn with_object_actor(change: &Change, index: u8) -> Vec<u8> {
        let mut bytes = change.raw_bytes().to_vec();
        let at = {
            let layout = Layout::read(&bytes).expect("a change");
            let (_, column) = layout
                .columns
                .iter()
                .find(|(spec, _)| *spec == ACTOR_TYPE)
                .expect("the object-actor column (id 0)");
            column.as_ptr() as usize - bytes.as_ptr() as usize + column.len() - 1
        };
        assert_eq!(bytes[at], 0, "the change's own author");
        bytes[at] = index;
        bytes
    }

    #[test]
    fn an_operation_naming_an_author_the_change_does_not_list_is_refused_unparsed() {
        // Found by the fuzz target: Automerge parses such a change, then panics indexing its
        // authors when it decodes or applies the operation.
        let mut doc = AutoCommit::new();
        let list = doc.put_object(ROOT, "x", ObjType::List).expect("list");
        doc.commit();
        doc.insert(&list, 0, 1_i64).expect("insert");
        doc.commit();
        let insert = doc.get_last_local_change().expect("a change").clone();
        assert!(insert.other_actor_ids().is_empty());
        assert!(decode_change(&with_object_actor(&insert, 0)).is_ok());
        let forged = with_object_actor(&insert, 1);
        assert!(
            Change::from_bytes(forged.clone()).is_ok(),
            "Automerge's own parse lets it through"
        );
        assert_eq!(decode_change(&forged), Err(EncodedError::UnknownActor));
        let message = DocumentError::from(EncodedError::UnknownActor).to_string();
        assert!(message.contains("author"), "{message}");
    }

    #[test]
    fn compressed_chunks_garbage_and_truncations_are_not_changes() {
        let mut doc = AutoCommit::new();
        doc.put(ROOT, "note", "x".repeat(4096)).expect("put");
        doc.commit();
        let mut change = doc.get_last_local_change().expect("change").clone();
        let compressed = change.bytes().to_vec();
        assert_eq!(compressed[8], 2, "Automerge compressed it");
        assert_eq!(decode_change(&compressed), Err(EncodedError::NotAChange));
        let plain = change.raw_bytes().to_vec();
        for cut in 0..plain.len() {
            assert!(decode_change(&plain[..cut]).is_err());
        }
        assert_eq!(decode_change(&[1, 2, 3]), Err(EncodedError::NotAChange));
        assert!(decode_change(&plain).is_ok());
    }
}
