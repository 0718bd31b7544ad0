//! Searching a device's or the server's files for words the way someone holding the disk would:
//! the raw bytes, *and* what Automerge keeps compressed. Automerge deflates a document's or a
//! change's columns beyond a few hundred bytes, so a note's text can sit in a file without its
//! bytes appearing there; a raw search alone would say it is gone when it is not. Every Automerge
//! chunk found in a file is therefore decoded and searched again uncompressed, and every SQLite
//! database is also read row by row (its write-ahead log applied), so a document spread over
//! several pages is decoded whole.

use std::path::{Path, PathBuf};

/// Automerge's chunk magic.
const MAGIC: [u8; 4] = [0x85, 0x6f, 0x4a, 0x83];
/// SQLite's file header.
const SQLITE: &[u8] = b"SQLite format 3\0";

/// The files under `dir` (recursively) that hold `needle`, raw or inside an Automerge chunk.
pub fn files_containing(dir: &Path, needle: &str) -> Vec<PathBuf> {
    assert!(!needle.is_empty(), "a search for nothing");
    let mut found = Vec::new();
    let mut pending = vec![dir.to_owned()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).expect("a readable directory") {
            let path = entry.expect("an entry").path();
            if path.is_dir() {
                pending.push(path);
            } else if file_contains(&path, needle.as_bytes()) {
                found.push(path);
            }
        }
    }
    found.sort();
    found
}

fn file_contains(path: &Path, needle: &[u8]) -> bool {
    let Ok(bytes) = std::fs::read(path) else {
        return false;
    };
    bytes_contain(&bytes, needle) || (bytes.starts_with(SQLITE) && database_contains(path, needle))
}

/// Whether `bytes` hold `needle` raw or in an Automerge chunk they contain.
pub fn bytes_contain(bytes: &[u8], needle: &[u8]) -> bool {
    raw(bytes, needle) || chunks(bytes).any(|chunk| chunk_contains(chunk, needle))
}

fn raw(bytes: &[u8], needle: &[u8]) -> bool {
    bytes.windows(needle.len()).any(|w| w == needle)
}

/// Every whole Automerge chunk in `bytes`: magic, checksum, type, LEB128 length, body.
fn chunks(bytes: &[u8]) -> impl Iterator<Item = &[u8]> {
    (0..bytes.len().saturating_sub(9)).filter_map(move |start| {
        if bytes[start..start + 4] != MAGIC {
            return None;
        }
        let mut len: u64 = 0;
        let mut at = start + 9;
        for shift in (0..64).step_by(7) {
            let byte = *bytes.get(at)?;
            at += 1;
            len |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                break;
            }
        }
        let end = at.checked_add(usize::try_from(len).ok()?)?;
        bytes.get(start..end)
    })
}

/// Whether an Automerge chunk holds `needle` once decoded: a document re-saved uncompressed, a
/// change by its uncompressed bytes.
fn chunk_contains(chunk: &[u8], needle: &[u8]) -> bool {
    match chunk[8] {
        0 => automerge::Automerge::load(chunk).is_ok_and(|doc| raw(&doc.save_nocompress(), needle)),
        _ => automerge::Change::from_bytes(chunk.to_vec())
            .is_ok_and(|change| raw(change.raw_bytes(), needle)),
    }
}

/// Whether any cell of the SQLite database at `path` (a copy of it, with its WAL applied) holds
/// `needle`, raw or in an Automerge chunk.
fn database_contains(path: &Path, needle: &[u8]) -> bool {
    let dir = tempfile::tempdir().expect("temp dir");
    let copy = dir.path().join("copy.db");
    std::fs::copy(path, &copy).expect("copies the database");
    let wal = PathBuf::from(format!("{}-wal", path.display()));
    if wal.exists() {
        std::fs::copy(&wal, dir.path().join("copy.db-wal")).expect("copies the WAL");
    }
    let Ok(db) = rusqlite::Connection::open(&copy) else {
        return false;
    };
    let tables: Vec<String> = db
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table'")
        .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect())
        .unwrap_or_default();
    tables.iter().any(|table| {
        let Ok(mut stmt) = db.prepare(&format!("SELECT * FROM \"{table}\"")) else {
            return false;
        };
        let columns = stmt.column_count();
        let Ok(mut rows) = stmt.query([]) else {
            return false;
        };
        while let Ok(Some(row)) = rows.next() {
            for i in 0..columns {
                let held = match row.get_ref(i) {
                    Ok(rusqlite::types::ValueRef::Blob(b) | rusqlite::types::ValueRef::Text(b)) => {
                        bytes_contain(b, needle)
                    }
                    _ => false,
                };
                if held {
                    return true;
                }
            }
        }
        false
    })
}
