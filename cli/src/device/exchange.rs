//! Bundles: work carried between devices with no server, as files of Automerge changes.

use std::fs;
use std::path::Path;

use fieldwork_core::bundle::Bundle;
use fieldwork_core::store::TicketStore;

use super::{CliError, ExportArgs, MAX_BUNDLE_BYTES, Result, file_error, write_atomically};
use crate::output;

/// `export`: one ticket, or every ticket changed since an earlier export's `until_seq`.
pub(super) fn export(store: &TicketStore, json: bool, args: ExportArgs) -> Result<()> {
    let ExportArgs {
        id,
        out,
        since,
        staff,
    } = args;
    let id = id.map(|id| store.resolve_id(&id)).transpose()?;
    let bundle = if staff {
        store.export_with_staff(id.as_deref(), since)?
    } else {
        store.export(id.as_deref(), since)?
    };
    write_atomically(&out, &bundle.encode())?;
    let summary = serde_json::json!({
        "file": out,
        "tickets": bundle.tickets.len(),
        "changes": bundle.change_count(),
        "until_seq": bundle.until_seq,
    });
    if json {
        output::json(&summary);
    } else {
        println!(
            "wrote {} ticket(s), {} change(s) to {}; next time use --since {}",
            bundle.tickets.len(),
            bundle.change_count(),
            out.display(),
            bundle.until_seq
        );
    }
    Ok(())
}

/// `import`: a bundle judged change by change and merged whole, or refused whole. The size is
/// checked before the file is read, so a huge file is refused without filling memory.
pub(super) fn import(store: &TicketStore, json: bool, file: &Path) -> Result<()> {
    let size = fs::metadata(file).map_err(file_error("read", file))?.len();
    if size > MAX_BUNDLE_BYTES {
        return Err(CliError::TooLarge(size));
    }
    let bytes = fs::read(file).map_err(file_error("read", file))?;
    let report = store.import(&Bundle::decode(&bytes)?)?;
    if json {
        output::json(&report);
    } else {
        println!(
            "imported {} new and {} updated ticket(s): {} new change(s), {} already known",
            report.tickets_new,
            report.tickets_updated,
            report.changes_applied,
            report.changes_known
        );
        if report.changes_applied > 0 {
            println!("the new changes show as unverified until the server confirms them (sync)");
        }
        if report.staff_dropped > 0 {
            println!(
                "{} staff change(s) left out: this user does not read staff data",
                report.staff_dropped
            );
        }
        if report.changes_superseded > 0 {
            println!(
                "{} change(s) left out: they belong to a history the server rewrote to erase personal data",
                report.changes_superseded
            );
        }
    }
    Ok(())
}
