//! Photos and screenshots on tickets: run through the pipeline ([`crate::photo`]) and filed in one
//! transaction with the files they name, after the rules say the user may attach at all.

use std::io::Read;
use std::path::Path;

use fieldwork_protocol::blobs::BlobKind;

use crate::location::LocationFix;
use crate::photo::{self, MIME_JPEG, PhotoOptions, ProcessedPhoto};
use crate::rules;
use crate::store::blobs;
use crate::store::files::{self, io_error};
use crate::store::{ChangeOrigin, Identity, Result, StoreError, TicketStore, edit_in};
use crate::ticket::{Edit, NewAttachment, Ticket};

impl TicketStore {
    /// Attaches a photo or screenshot to ticket `id`: decoded, turned upright, stripped of
    /// metadata, downscaled and re-encoded with a thumbnail ([`crate::photo`]), both files stored
    /// once per sha256, and the attachment filed on the ticket in the same transaction that names
    /// the files. `fix` is the device's position, used when the photo carries no GPS of its own.
    /// Attaching the same photo twice stores and files it once.
    pub fn attach_photo(
        &self,
        id: &str,
        input: &[u8],
        fix: Option<LocationFix>,
        options: &PhotoOptions,
    ) -> Result<Ticket> {
        let identity = self.identity()?;
        let now = self.clock.now_ms();
        if let Some(fix) = &fix {
            fix.validate(now)?;
        }
        // The rules first: a refused attach should not cost the user a photo's processing time.
        let ticket = self.ticket(id)?;
        rules::may_attach(&identity.actor, &ticket)?;
        let photo = photo::process(input, options)?;
        self.file_photo(&identity, id, &photo, fix, now)
    }

    /// Like [`Self::attach_photo`], reading the photo from `path` (no more than the pipeline's
    /// input limit is read).
    pub fn attach_photo_file(
        &self,
        id: &str,
        path: &Path,
        fix: Option<LocationFix>,
        options: &PhotoOptions,
    ) -> Result<Ticket> {
        let unreadable = |e: std::io::Error| StoreError::PhotoFile(e.kind());
        let file = std::fs::File::open(path).map_err(unreadable)?;
        let mut input = Vec::new();
        file.take(options.max_input_bytes as u64 + 1)
            .read_to_end(&mut input)
            .map_err(unreadable)?;
        self.attach_photo(id, &input, fix, options)
    }

    fn file_photo(
        &self,
        identity: &Identity,
        id: &str,
        photo: &ProcessedPhoto,
        fix: Option<LocationFix>,
        at: i64,
    ) -> Result<Ticket> {
        let attachment = NewAttachment {
            sha256: photo.full.sha256.clone(),
            thumb: Some(photo.thumb.sha256.clone()),
            mime: MIME_JPEG.to_owned(),
            name: None,
            bytes: photo.full.bytes.len() as i64,
            width: i64::from(photo.full.width),
            height: i64::from(photo.full.height),
            captured_at: photo.captured_at,
            location: photo.location.or(fix),
        };
        let root = self.blob_root();
        let files = [
            (&photo.thumb, BlobKind::Thumb),
            (&photo.full, BlobKind::Full),
        ];
        for (image, _) in files {
            files::write_file(&root, &image.sha256, &image.bytes).map_err(io_error)?;
        }
        let written = self.write(|tx| {
            for (image, kind) in files {
                blobs::insert_local(
                    tx,
                    &image.sha256,
                    kind,
                    MIME_JPEG,
                    image.bytes.len(),
                    id,
                    at,
                )?;
            }
            edit_in(
                tx,
                &self.held,
                identity,
                id,
                &[Edit::Attach { attachment }],
                at,
            )
        });
        match written {
            Ok(view) => {
                self.notify(vec![id.to_owned()], ChangeOrigin::Local);
                Ok(view)
            }
            Err(e) => {
                let conn = self.writer.first();
                for (image, _) in files {
                    files::discard_if_unnamed(&conn, &root, &image.sha256);
                }
                Err(e)
            }
        }
    }
}
