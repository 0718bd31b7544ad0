//! What a device records on site: photos attached to tickets, photo files fetched back, and
//! position fixes (arrival at assigned sites, the technician's position for the server).

use std::path::Path;
use std::sync::Arc;

use fieldwork_core::location::LocationFix;
use fieldwork_core::photo::PhotoOptions;
use fieldwork_core::store::TicketStore;
use fieldwork_core::sync::{self, SyncEngine, SyncError};

use super::{AttachArgs, CliError, LocateArgs, Result, print_ticket, write_atomically};
use crate::output;

/// `attach`: a photo stored upright, without metadata, downscaled, with a thumbnail.
pub(super) fn attach(store: &TicketStore, json: bool, args: AttachArgs) -> Result<()> {
    let AttachArgs {
        id,
        file,
        lat,
        lon,
        accuracy,
        max_edge,
    } = args;
    let options = PhotoOptions {
        max_edge,
        ..PhotoOptions::default()
    };
    let id = store.resolve_id(&id)?;
    let ticket = store.attach_photo_file(&id, &file, fix_of(lat, lon, accuracy), &options)?;
    print_ticket(store, json, &ticket)
}

/// `fetch-blob`: a photo file written to `out`, from the device or else from the server.
pub(super) fn fetch_blob(store: TicketStore, json: bool, sha256: &str, out: &Path) -> Result<()> {
    let bytes = match store.blob(sha256)? {
        Some(bytes) => bytes,
        None if store.session()?.is_some() => {
            let engine = SyncEngine::new(Arc::new(store))?;
            sync::block_on(engine.fetch_blob(sha256))??
        }
        None => return Err(CliError::Sync(SyncError::NotLoggedIn)),
    };
    write_atomically(out, &bytes)?;
    let summary = serde_json::json!({ "file": out, "sha256": sha256, "bytes": bytes.len() });
    if json {
        output::json(&summary)
    } else {
        println!("wrote {} bytes to {}", bytes.len(), out.display())
    }
    Ok(())
}

/// `locate`: a position fix; arrivals at assigned sites are recorded, the position queued.
pub(super) fn locate(store: &TicketStore, json: bool, args: LocateArgs) -> Result<()> {
    let LocateArgs { lat, lon, accuracy } = args;
    let report = store.locate(LocationFix {
        lat,
        lon,
        accuracy_m: accuracy,
        at: None,
    })?;
    if json {
        output::json(&report)
    } else {
        println!(
            "arrived on site at {} ticket(s){}",
            report.arrivals.len(),
            if report.position_queued {
                "; position queued for the server"
            } else {
                ""
            }
        )
    }
    Ok(())
}

/// The device's position from the `--lat`/`--lon`/`--accuracy` flags, if given (clap makes
/// `--lat` and `--lon` come together).
pub(super) fn fix_of(
    lat: Option<f64>,
    lon: Option<f64>,
    accuracy: Option<f64>,
) -> Option<LocationFix> {
    match (lat, lon) {
        (Some(lat), Some(lon)) => Some(LocationFix {
            lat,
            lon,
            accuracy_m: accuracy,
            at: None,
        }),
        _ => None,
    }
}
