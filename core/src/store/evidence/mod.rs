//! Evidence on tickets: photos and screenshots run through the pipeline and filed in one
//! transaction with their files, and location fixes that record arrivals on site and queue the
//! technician's position for the server.

use std::io::Read;
use std::path::Path;

use rusqlite::{OptionalExtension, params};
use serde::{Deserialize, Serialize};

use super::blobs;
use super::files::{self, io_error};
use super::{ChangeOrigin, Result, StoreError, TicketStore, edit_in, lock};
use crate::location::{LocationFix, arrival_distance};
use crate::model::Role;
use crate::photo::{self, MIME_JPEG, PhotoOptions, ProcessedPhoto};
use crate::rules;
use crate::ticket::{Edit, NewAttachment, Ticket};
use fieldwork_protocol::blobs::BlobKind;
use fieldwork_protocol::sync::{POSITION_MIN_INTERVAL_MS, PositionReport};

/// What a location fix did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LocateReport {
    /// Tickets on which an arrival on site was recorded.
    pub arrivals: Vec<String>,
    /// The fix waits to be reported to the server as this technician's position.
    pub position_queued: bool,
}

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
        rules::check_edit(
            &identity.actor,
            &ticket,
            &Edit::Attach {
                attachment: placeholder(),
            },
        )?;
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
        identity: &super::Identity,
        id: &str,
        photo: &ProcessedPhoto,
        fix: Option<LocationFix>,
        at: i64,
    ) -> Result<Ticket> {
        let attachment = NewAttachment {
            sha256: photo.full.sha256.clone(),
            thumb: Some(photo.thumb.sha256.clone()),
            mime: MIME_JPEG.to_owned(),
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
            edit_in(tx, identity, id, &[Edit::Attach { attachment }], at)
        });
        match written {
            Ok(view) => {
                self.notify(vec![id.to_owned()], ChangeOrigin::Local);
                Ok(view)
            }
            Err(e) => {
                let conn = lock(&self.writer);
                for (image, _) in files {
                    files::discard_if_unnamed(&conn, &root, &image.sha256);
                }
                Err(e)
            }
        }
    }

    /// Takes a position fix from the OS: records an arrival on every open ticket assigned to this
    /// technician whose site the fix falls inside (once per visit), and queues the position for
    /// the server (technicians only; sent by sync, throttled). Other roles: validated, no effect.
    pub fn locate(&self, fix: LocationFix) -> Result<LocateReport> {
        let identity = self.identity()?;
        let now = self.clock.now_ms();
        fix.validate(now)?;
        if identity.actor.role != Role::Technician {
            return Ok(LocateReport::default());
        }
        let fix = LocationFix {
            at: Some(fix.at.unwrap_or(now)),
            ..fix
        };
        let me = identity.actor.user_id.clone();
        let report = self.write(|tx| {
            let candidates: Vec<String> = tx
                .prepare_cached(
                    "SELECT id FROM tickets WHERE assignee = ?1 AND lat IS NOT NULL
                     AND status NOT IN ('resolved', 'closed', 'cancelled')",
                )?
                .query_map([&me], |r| r.get(0))?
                .collect::<std::result::Result<_, _>>()?;
            let mut arrivals = Vec::new();
            for id in candidates {
                let Some(doc) = super::persist::load_doc(tx, &id)? else {
                    continue;
                };
                let view = doc.view()?;
                let Some(site) = &view.site else { continue };
                let Some(distance) = arrival_distance(&fix, site.lat, site.lon, site.accuracy_m)
                else {
                    continue;
                };
                if view.arrival_due(&me) {
                    let edit = Edit::RecordArrival {
                        distance_m: distance.round() as i64,
                    };
                    edit_in(tx, &identity, &id, &[edit], now)?;
                    arrivals.push(id);
                }
            }
            tx.prepare_cached(
                "INSERT INTO position_report (id, lat, lon, accuracy_m, at, sent_at) VALUES (1, ?1, ?2, ?3, ?4, NULL)
                 ON CONFLICT(id) DO UPDATE SET lat = excluded.lat, lon = excluded.lon,
                     accuracy_m = excluded.accuracy_m, at = excluded.at, sent_at = NULL",
            )?
            .execute(params![fix.lat, fix.lon, fix.accuracy_m, fix.at])?;
            Ok(LocateReport {
                arrivals,
                position_queued: true,
            })
        })?;
        self.notify(report.arrivals.clone(), ChangeOrigin::Local);
        Ok(report)
    }

    /// The position to report to the server at `now`, if one waits and the last report was long
    /// enough ago.
    pub fn due_position_report(&self, now: i64) -> Result<Option<PositionReport>> {
        self.read(|conn| {
            let waiting: Option<(PositionReport, Option<i64>)> = conn
                .prepare_cached(
                    "SELECT lat, lon, accuracy_m, at, last_sent_at FROM position_report
                     WHERE id = 1 AND sent_at IS NULL",
                )?
                .query_row([], |r| {
                    let report = PositionReport {
                        lat: r.get(0)?,
                        lon: r.get(1)?,
                        accuracy_m: r.get(2)?,
                        at: r.get(3)?,
                    };
                    Ok((report, r.get(4)?))
                })
                .optional()?;
            Ok(waiting.and_then(|(report, last_sent)| {
                let throttled = last_sent.is_some_and(|last| now - last < POSITION_MIN_INTERVAL_MS);
                (!throttled).then_some(report)
            }))
        })
    }

    /// The server took (or, for a role that does not report, will never take) the position.
    pub fn record_position_sent(&self, report: &PositionReport, now: i64) -> Result<()> {
        self.write(|tx| {
            tx.prepare_cached(
                "UPDATE position_report SET sent_at = ?2, last_sent_at = ?2 WHERE id = 1 AND at = ?1",
            )?
            .execute(params![report.at, now])?;
            Ok(())
        })
    }
}

/// An attachment with valid values, to ask the rules whether this user may attach at all.
fn placeholder() -> NewAttachment {
    NewAttachment {
        sha256: "0".repeat(64),
        thumb: None,
        mime: MIME_JPEG.to_owned(),
        bytes: 1,
        width: 1,
        height: 1,
        captured_at: None,
        location: None,
    }
}

#[cfg(test)]
mod tests;
