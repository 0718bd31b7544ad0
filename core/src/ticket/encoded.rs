//! Reading an encoded change safely: what it claims is checked before Automerge parses it, because
//! Automerge's own parsing is where two cheap attacks land. A compressed change chunk is inflated
//! without any bound (a few megabytes of deflate become gigabytes), and parsing walks every
//! operation the columns claim, which run-length encoding lets a 100-byte change put at billions
//! (minutes of CPU per change, with nothing allocated to notice). So: only plain change chunks,
//! and the operations counted from the run lengths of the action column alone (linear in the
//! bytes, not in the claim) must be within [`MAX_CHANGE_OPS`] before [`Change::from_bytes`] runs.
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
const HASH_BYTES: usize = 32;

/// Why bytes were refused before parsing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EncodedError {
    #[error("the bytes are not an uncompressed Automerge change")]
    NotAChange,
    #[error(transparent)]
    Limit(#[from] LimitError),
}

impl From<EncodedError> for DocumentError {
    fn from(error: EncodedError) -> Self {
        match error {
            EncodedError::Limit(limit) => DocumentError::Limit(limit),
            EncodedError::NotAChange => DocumentError::Malformed {
                field: "change",
                reason: error.to_string(),
            },
        }
    }
}

/// Decodes one change from bytes sent by anyone: a plain change chunk within the change limits
/// (bytes and operations), checked before Automerge parses it.
pub fn decode_change(bytes: &[u8]) -> Result<Change, EncodedError> {
    if bytes.len() > MAX_CHANGE_BYTES {
        return Err(LimitError::ChangeBytes(bytes.len()).into());
    }
    let claimed = claimed_ops(bytes, MAX_CHANGE_OPS)?;
    if claimed > MAX_CHANGE_OPS {
        return Err(LimitError::ChangeOps(claimed).into());
    }
    let change = Change::from_bytes(bytes.to_vec()).map_err(|_| EncodedError::NotAChange)?;
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

/// How many operations the change's columns claim, counted up to just past `cap` (the count
/// stops there, so the work is bounded by the bytes and the cap, never by the claim).
pub fn claimed_ops(bytes: &[u8], cap: usize) -> Result<usize, EncodedError> {
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
    let others = r.len()?;
    for _ in 0..others {
        r.skip_prefixed()?;
    }
    let columns = r.len()?;
    if columns > r.bytes.len() {
        return Err(EncodedError::NotAChange); // every column takes at least two bytes to describe
    }
    let mut layout = Vec::with_capacity(columns);
    for _ in 0..columns {
        let spec = u32::try_from(r.uleb()?).map_err(|_| EncodedError::NotAChange)?;
        layout.push((spec, r.len()?));
    }
    let mut total = 0usize;
    for (spec, len) in layout {
        let data = r.take(len)?;
        if spec >> 4 == ACTION_COLUMN {
            total = total.saturating_add(rle_entries(data, cap.saturating_sub(total))?);
            if total > cap {
                return Ok(total);
            }
        }
    }
    Ok(total)
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
            assert_eq!(claimed_ops(&bytes, usize::MAX), Ok(change.len()));
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
