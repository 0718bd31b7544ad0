//! A ticket's view packed for keeping in the cache ([`PackedView`]): the ticket without its
//! notes as it is, and its notes without their texts written one after another into one buffer.
//! A note held as a [`Note`] costs three allocations and the struct around them, ~220 bytes for a
//! short note; packed, its id (a UUID) 16 bytes, its author and role an index into the ticket's
//! people, its time the difference from the note before: ~20 bytes. A ticket grows by notes and
//! little else, so a thousand long tickets fit where a few hundred did (`docs/benchmarks.md`,
//! "Kept views packed", "Kept views without the notes' texts").
//!
//! The texts are left out because nothing that reads a kept view reads them: judging a note on
//! the ticket's tip reads the notes' number and ids (`rules::judge::judge_append_in_place`), the
//! report facts and SLA clocks their authors, roles, times and flags, visibility the head. A
//! packed view reads back with every note's text empty ([`PackedView::unpack`]); what shows a
//! ticket or judges on its document loads the document. With the texts, a ticket noted every
//! second grew its kept view by ~55 bytes a second and a thousand of them filled the cache's half
//! for views in twenty minutes.
//!
//! Only this process packs and unpacks, so a buffer that does not read back is a bug, not input:
//! [`PackedView::unpack`] then gives `None`, and the cache treats it as a miss.

use std::collections::HashMap;

use fieldwork_core::Role;
use fieldwork_core::ticket::{Note, Ticket};
use uuid::Uuid;

/// A note's flags, one byte.
const INTERNAL: u8 = 1;
const REDACTED: u8 = 2;
const ERASED: u8 = 4;
/// The id is a UUID in lowercase hex (as devices write them), written as its 16 bytes.
const UUID_ID: u8 = 8;
/// With [`UUID_ID`]: in hyphenated form, not the simple 32 digits.
const HYPHENATED: u8 = 16;

/// A ticket's view with its notes packed without their texts; [`Self::unpack`] gives the view
/// back as it was but for those.
#[derive(Debug)]
pub struct PackedView {
    /// The ticket with no notes.
    head: Ticket,
    /// The notes' authors with their roles, in the order they first wrote.
    people: Vec<(String, Role)>,
    /// How many notes the buffer holds.
    count: usize,
    /// The last note's time: the next is written as the difference from it.
    last_at: i64,
    /// [`Self::public_chars`].
    public_chars: usize,
    notes: Vec<u8>,
}

impl PackedView {
    /// Packs `view`.
    pub fn pack(mut view: Ticket) -> Self {
        let notes = std::mem::take(&mut view.notes);
        let mut packed = PackedView {
            head: view,
            people: Vec::new(),
            count: 0,
            last_at: 0,
            public_chars: 0,
            notes: Vec::with_capacity(notes.len() * NOTE_BYTES),
        };
        // Each author's index looked up by hash: a ticket may hold notes by thousands of people.
        let mut people: HashMap<(&str, Role), usize> = HashMap::new();
        for note in &notes {
            let person = *people
                .entry((note.author.as_str(), note.role))
                .or_insert_with(|| packed.person(note));
            packed.push(note, person);
        }
        packed.notes.shrink_to_fit();
        packed
    }

    /// [`Self::pack`] of `view` when it is this ticket with notes appended and nothing else
    /// changed (a writer judged notes on the ticket's tip): the packed notes are copied and the new
    /// ones written after them, without packing the rest again. The head is checked, and packed
    /// whole when it differs; that the notes before are this view's is the caller's word (checked
    /// in debug builds).
    pub fn appended(&self, mut view: Ticket) -> Self {
        let notes = std::mem::take(&mut view.notes);
        if view != self.head || notes.len() < self.count {
            view.notes = notes;
            return Self::pack(view);
        }
        let mut packed = PackedView {
            head: view,
            people: self.people.clone(),
            count: self.count,
            last_at: self.last_at,
            public_chars: self.public_chars,
            notes: Vec::with_capacity(self.notes.len() + (notes.len() - self.count) * NOTE_BYTES),
        };
        packed.notes.extend_from_slice(&self.notes);
        for note in &notes[self.count..] {
            let person = packed
                .people
                .iter()
                .position(|(id, role)| *id == note.author && *role == note.role)
                .unwrap_or_else(|| packed.person(note));
            packed.push(note, person);
        }
        packed.notes.shrink_to_fit();
        debug_assert_eq!(
            packed.unpack().map(|t| t.notes),
            Some(without_texts(notes)),
            "only notes appended"
        );
        packed
    }

    /// Adds `note`'s author, with the role they wrote it in, to the people; their index.
    fn person(&mut self, note: &Note) -> usize {
        self.people.push((note.author.clone(), note.role));
        self.people.len() - 1
    }

    /// Writes `note`, by the people's `person`, after the others.
    fn push(&mut self, note: &Note, person: usize) {
        let buffer = &mut self.notes;
        write_varint(buffer, person as u64);
        let uuid = as_uuid(&note.id);
        let flags = [
            (note.internal, INTERNAL),
            (note.redacted, REDACTED),
            (note.erased, ERASED),
            (uuid.is_some(), UUID_ID),
            (uuid.is_some_and(|(_, hyphenated)| hyphenated), HYPHENATED),
        ]
        .iter()
        .filter(|(set, _)| *set)
        .fold(0, |flags, (_, flag)| flags | flag);
        buffer.push(flags);
        match uuid {
            Some((uuid, _)) => buffer.extend_from_slice(uuid.as_bytes()),
            None => write_bytes(buffer, note.id.as_bytes()),
        }
        write_varint(buffer, zigzag(note.at.wrapping_sub(self.last_at)));
        self.last_at = note.at;
        if note.text_public() {
            self.public_chars += note.text.chars().count() + 1;
        }
        self.count += 1;
    }

    /// The view as it was packed, every note's text empty; `None` if the buffer does not read (a
    /// bug: see the module's note).
    pub fn unpack(&self) -> Option<Ticket> {
        let mut notes = Vec::with_capacity(self.count);
        let mut reader = Reader(&self.notes);
        let mut at = 0i64;
        for _ in 0..self.count {
            let (author, role) = self.people.get(usize::try_from(reader.varint()?).ok()?)?;
            let flags = reader.byte()?;
            let id = if flags & UUID_ID != 0 {
                let uuid = Uuid::from_bytes(reader.take(16)?.try_into().ok()?);
                if flags & HYPHENATED != 0 {
                    uuid.hyphenated().to_string()
                } else {
                    uuid.simple().to_string()
                }
            } else {
                reader.string()?
            };
            at = at.wrapping_add(unzigzag(reader.varint()?));
            notes.push(Note {
                id,
                author: author.clone(),
                role: *role,
                text: String::new(),
                internal: flags & INTERNAL != 0,
                at,
                redacted: flags & REDACTED != 0,
                erased: flags & ERASED != 0,
            });
        }
        if !reader.0.is_empty() {
            return None;
        }
        Some(Ticket {
            notes,
            ..self.head.clone()
        })
    }

    /// The characters of the texts it left out that everyone reads ([`Note::text_public`]), each
    /// text's end counting one: what the ticket's search terms count them against their limit
    /// (`service::listing`), so the terms of notes appended to it follow on from them.
    pub fn public_chars(&self) -> usize {
        self.public_chars
    }

    /// How many notes it holds.
    pub fn notes(&self) -> usize {
        self.count
    }

    /// The ticket without its notes, for the cache's estimate of its size.
    pub fn head(&self) -> &Ticket {
        &self.head
    }

    /// The bytes of the packed notes and the people they name (the head is estimated apart).
    pub fn packed_bytes(&self) -> usize {
        self.notes.capacity()
            + self
                .people
                .iter()
                .map(|(id, _)| id.len() + std::mem::size_of::<(String, Role)>())
                .sum::<usize>()
    }
}

/// Bytes a packed note usually takes: person, flags, a UUID, a time step.
const NOTE_BYTES: usize = 21;

/// `notes` as they read back once packed: without their texts.
fn without_texts(mut notes: Vec<Note>) -> Vec<Note> {
    for note in &mut notes {
        note.text = String::new();
    }
    notes
}

/// `id` as a UUID, and whether hyphenated, when it is one written as this module writes it back
/// (lowercase hex, simple or hyphenated).
fn as_uuid(id: &str) -> Option<(Uuid, bool)> {
    let uuid = Uuid::try_parse(id).ok()?;
    let mut simple = [0u8; uuid::fmt::Simple::LENGTH];
    let mut hyphenated = [0u8; uuid::fmt::Hyphenated::LENGTH];
    if uuid.simple().encode_lower(&mut simple).as_bytes() == id.as_bytes() {
        Some((uuid, false))
    } else if uuid.hyphenated().encode_lower(&mut hyphenated).as_bytes() == id.as_bytes() {
        Some((uuid, true))
    } else {
        None
    }
}

fn write_varint(buffer: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        buffer.push((value as u8) | 0x80);
        value >>= 7;
    }
    buffer.push(value as u8);
}

fn write_bytes(buffer: &mut Vec<u8>, bytes: &[u8]) {
    write_varint(buffer, bytes.len() as u64);
    buffer.extend_from_slice(bytes);
}

fn zigzag(value: i64) -> u64 {
    ((value << 1) ^ (value >> 63)) as u64
}

fn unzigzag(value: u64) -> i64 {
    ((value >> 1) as i64) ^ -((value & 1) as i64)
}

/// Reads a buffer from its start.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.0.len() < n {
            return None;
        }
        let (taken, rest) = self.0.split_at(n);
        self.0 = rest;
        Some(taken)
    }

    fn byte(&mut self) -> Option<u8> {
        Some(self.take(1)?[0])
    }

    fn varint(&mut self) -> Option<u64> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let byte = self.byte()?;
            value |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Some(value);
            }
        }
        None
    }

    fn string(&mut self) -> Option<String> {
        let len = usize::try_from(self.varint()?).ok()?;
        String::from_utf8(self.take(len)?.to_vec()).ok()
    }
}

#[cfg(test)]
mod tests;
