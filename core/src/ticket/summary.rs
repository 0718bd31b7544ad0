//! A ticket's summary: what a device lists it by ([`SnapshotSummary`]), read from its public view.
//! The server keeps it beside each stored document and sends it with a snapshot; the device
//! lists a new ticket by it and checks it against the document later
//! (`docs/adr/0018-list-first-check-later.md`).

use fieldwork_protocol::blobs::BlobKind;
use fieldwork_protocol::sync::{SnapshotSummary, SummaryFile};

use super::Ticket;

impl Ticket {
    /// What a list shows of this ticket. For a view with the staff document merged in, the
    /// conflicts count the staff document's too.
    pub fn summary(&self) -> SnapshotSummary {
        SnapshotSummary {
            number: self.number.clone(),
            kind: self.kind,
            status: self.status,
            priority: self.priority,
            assignee: self.assignee.clone(),
            category: self.category.clone(),
            title: self.title.clone(),
            reporter_id: self.reporter.user_id.clone(),
            created_at: self.created_at,
            due: self
                .sla
                .as_ref()
                .and_then(|s| s.resolution_due.or(s.first_response_due)),
            site: self.site.as_ref().map(|s| (s.lat, s.lon)),
            conflicts: u32::try_from(self.conflicts.len()).unwrap_or(u32::MAX),
            files: self.files(),
        }
    }

    /// The files the attachments name, the thumbnail before the full image of each: an erased
    /// photo names none. A photo already smaller than a thumbnail is its own thumbnail (one
    /// file, one hash, listed twice; whoever records it keeps the first, a thumbnail, which is
    /// fetched eagerly).
    pub fn files(&self) -> Vec<SummaryFile> {
        let mut files = Vec::new();
        for attachment in self.attachments.iter().filter(|a| !a.erased) {
            if let Some(thumb) = &attachment.thumb {
                files.push(SummaryFile {
                    sha256: thumb.clone(),
                    kind: BlobKind::Thumb,
                    mime: attachment.mime.clone(),
                    bytes: 0,
                });
            }
            files.push(SummaryFile {
                sha256: attachment.sha256.clone(),
                kind: BlobKind::Full,
                mime: attachment.mime.clone(),
                bytes: attachment.bytes,
            });
        }
        files
    }
}
