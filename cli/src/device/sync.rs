//! The device and its server: logging in and out, syncing, the sync status and the changes the
//! server refused.

use std::path::Path;
use std::sync::Arc;

use fieldwork_core::store::{CheckReport, TicketStore};
use fieldwork_core::sync::{self, RetryPolicy, SyncEngine, SyncError};

use super::{CliError, LoginArgs, Result, open_or_create};
use crate::output;

/// `login`: by API token or by password; the first login binds the home to the server's user.
pub(super) fn login(home: &Path, json: bool, args: LoginArgs) -> Result<()> {
    let LoginArgs {
        server,
        token,
        user,
        password,
        tenant,
        device_name,
    } = args;
    let store = open_or_create(home)?;
    let user = match (token, user, password) {
        (Some(token), _, _) => sync::block_on(sync::engine::login_with_token(
            &store,
            &server,
            &token,
            &device_name,
        ))?,
        (None, Some(user), Some(password)) => sync::block_on(sync::engine::login_with_password(
            &store,
            &server,
            &tenant,
            &user,
            &password,
            &device_name,
        ))?,
        _ => return Err(CliError::NothingToDo),
    }?;
    if json {
        output::json(&user);
    } else {
        println!(
            "logged in to {server} as {} ({}) in tenant {}",
            user.user_id, user.role, user.tenant_id
        );
    }
    Ok(())
}

/// `sync`: push and pull until caught up; an error (and a non-zero exit) while changes remain.
pub(super) fn sync(store: TicketStore, json: bool, attempts: u32) -> Result<()> {
    let engine = SyncEngine::new(Arc::new(store))?;
    let policy = RetryPolicy {
        max_attempts: attempts.max(1),
        ..RetryPolicy::default()
    };
    let report = sync::block_on(engine.sync(policy))??;
    if json {
        output::json(&report);
    } else {
        println!(
            "synced in {} round(s): {} pushed, {} pulled, {} refused, {} pending; \
             files: {} uploaded, {} downloaded, {} failed (retried later){}{}{}",
            report.rounds,
            report.pushed,
            report.pulled,
            report.rejected,
            report.pending,
            report.blobs.uploaded,
            report.blobs.downloaded,
            report.blobs.failed,
            if report.articles + report.articles_removed > 0 {
                format!(
                    "; knowledge base: {} article(s) new or updated, {} taken away",
                    report.articles, report.articles_removed
                )
            } else {
                String::new()
            },
            if report.position_reported {
                "; position reported"
            } else {
                ""
            },
            checked(&report.checked)
        );
    }
    if report.pending > 0 {
        return Err(CliError::Sync(SyncError::Protocol(format!(
            "{} change(s) still pending after sync",
            report.pending
        ))));
    }
    Ok(())
}

/// What checking the tickets listed from the server's summaries found, if it checked any.
fn checked(report: &CheckReport) -> String {
    if report.checked + report.dropped == 0 {
        return String::new();
    }
    let mut text = format!(
        "; {} pulled ticket(s) checked against their documents",
        report.checked
    );
    if report.corrected > 0 {
        text += &format!(", {} listed anew from them", report.corrected);
    }
    if report.dropped > 0 {
        text += &format!(", {} removed (not a valid ticket)", report.dropped);
    }
    text
}

/// `status`: the link to the server, pending changes and uploads; or that there is no login.
pub(super) fn status(store: TicketStore, json: bool) -> Result<()> {
    let status = match store.session()? {
        Some(_) => Some(SyncEngine::new(Arc::new(store))?.status()?),
        None => None,
    };
    match (&status, json) {
        (Some(s), true) => output::json(s),
        (Some(s), false) => print!("{}", output::sync_status(s)),
        (None, true) => output::json(&serde_json::json!({ "state": "not_logged_in" })),
        (None, false) => println!("not logged in to a server (offline use only)"),
    }
    Ok(())
}

/// `quarantine`: the changes the server refused, kept on the device for the user to see.
pub(super) fn quarantine(store: &TicketStore, json: bool) -> Result<()> {
    let list = store.quarantine()?;
    if json {
        output::json(&list);
    } else if list.is_empty() {
        println!("no refused changes");
    } else {
        for q in &list {
            println!(
                "{}  ticket {}  {}: {}",
                output::time(q.rejected_at),
                q.ticket_id,
                q.code,
                q.message
            );
        }
    }
    Ok(())
}

/// `logout`: the server forgets this device's token; the tickets stay on the device.
pub(super) fn logout(store: &TicketStore, json: bool) -> Result<()> {
    sync::block_on(sync::engine::logout(store))??;
    if json {
        output::json(&serde_json::json!({ "logged_out": true }))
    } else {
        println!("logged out")
    }
    Ok(())
}
