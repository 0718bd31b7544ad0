//! The device home itself: binding it to a user for offline use, saying who it is, compacting it.

use std::path::Path;

use fieldwork_core::Actor;
use fieldwork_core::store::TicketStore;

use super::{InitArgs, Result, open_or_create};
use crate::output;

/// `init`: binds a new home to a user with no server (offline use, bundles).
pub(super) fn init(home: &Path, json: bool, args: InitArgs) -> Result<()> {
    let InitArgs {
        tenant,
        user_id,
        role,
        name,
        team,
    } = args;
    let store = open_or_create(home)?;
    let identity = store.init(Actor {
        tenant,
        user_id,
        role,
        name,
        team,
    })?;
    if json {
        output::json(&identity);
    } else {
        println!(
            "device {} ready for {} ({}) in tenant {}",
            identity.device_id, identity.actor.user_id, identity.actor.role, identity.actor.tenant
        );
    }
    Ok(())
}

/// `whoami`: the bound user, how many tickets are here and how many changes wait to be sent.
pub(super) fn whoami(store: &TicketStore, json: bool) -> Result<()> {
    let identity = store.identity()?;
    let summary = serde_json::json!({
        "identity": identity,
        "tickets": store.ticket_count()?,
        "pending_changes": store.outbox_len()?,
    });
    if json {
        output::json(&summary);
    } else {
        println!(
            "{} ({}) in tenant {}; {} ticket(s), {} change(s) waiting to sync",
            identity.actor.user_id,
            identity.actor.role,
            identity.actor.tenant,
            store.ticket_count()?,
            store.outbox_len()?
        );
    }
    Ok(())
}

/// `compact`: every document rewritten as one snapshot, and photo files no ticket names removed.
pub(super) fn compact(store: &TicketStore, json: bool) -> Result<()> {
    let n = store.compact()?;
    let files = store.collect_garbage()?;
    if json {
        output::json(&serde_json::json!({ "compacted": n, "files_removed": files }))
    } else {
        println!("compacted {n} document(s); removed {files} photo file(s) no ticket names")
    }
    Ok(())
}
