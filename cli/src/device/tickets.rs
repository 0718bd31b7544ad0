//! The ticket commands: ask for help, create, change, show and list tickets. Each change is one
//! transaction in the store, judged by the same rules the server applies.

use fieldwork_core::store::{ListQuery, SortBy, TicketStore};
use fieldwork_core::ticket::{Edit, NewTicket, Site};

use super::evidence::fix_of;
use super::{CliError, CreateArgs, HelpArgs, ListArgs, Result, SortArg, UpdateArgs, print_ticket};
use crate::output;

/// `help`: the one button; position, order and note when the device has them.
pub(super) fn help(store: &TicketStore, json: bool, args: HelpArgs) -> Result<()> {
    let HelpArgs {
        lat,
        lon,
        accuracy,
        order,
        note,
    } = args;
    let ticket = store.help_request(order, fix_of(lat, lon, accuracy), note)?;
    print_ticket(store, json, &ticket)
}

/// `create`: a new ticket of the given kind, or the kind the user's role files by default.
pub(super) fn create(store: &TicketStore, json: bool, args: CreateArgs) -> Result<()> {
    let CreateArgs {
        title,
        category,
        priority,
        description,
        kind,
        order,
    } = args;
    let role = store.identity()?.actor.role;
    let new = NewTicket {
        category,
        priority,
        description,
        order_ref: order,
        ..NewTicket::titled(kind.unwrap_or(role.default_kind()), title)
    };
    print_ticket(store, json, &store.create(new)?)
}

/// `update`: the given fields as one edit, applied together or not at all.
pub(super) fn update(store: &TicketStore, json: bool, args: UpdateArgs) -> Result<()> {
    let UpdateArgs {
        id,
        title,
        priority,
        category,
        description,
        assignee,
        unassign,
        team,
        status,
        site_lat,
        site_lon,
    } = args;
    let mut edits = Vec::new();
    edits.extend(title.map(|title| Edit::SetTitle { title }));
    edits.extend(priority.map(|priority| Edit::SetPriority { priority }));
    edits.extend(category.map(|c| Edit::SetCategory { category: Some(c) }));
    edits.extend(description.map(|description| Edit::SetDescription { description }));
    edits.extend(team.map(|t| Edit::SetTeam { team: Some(t) }));
    if let (Some(lat), Some(lon)) = (site_lat, site_lon) {
        let site = Site {
            lat,
            lon,
            accuracy_m: None,
            address: None,
        };
        edits.push(Edit::SetSite { site });
    }
    // Assignment first: it moves the status to `assigned`, from where --status goes on.
    edits.extend(assignee.map(|a| Edit::Assign { assignee: Some(a) }));
    if unassign {
        edits.push(Edit::Assign { assignee: None });
    }
    edits.extend(status.map(|status| Edit::SetStatus { status }));
    if edits.is_empty() {
        return Err(CliError::NothingToDo);
    }
    edit(store, json, &id, &edits)
}

/// `note`: a note, public or for staff only.
pub(super) fn note(
    store: &TicketStore,
    json: bool,
    id: &str,
    text: String,
    internal: bool,
) -> Result<()> {
    edit(store, json, id, &[Edit::AddNote { text, internal }])
}

/// `redact`: a note's text hidden; the note stays in the history for audit.
pub(super) fn redact(store: &TicketStore, json: bool, id: &str, note_id: String) -> Result<()> {
    edit(store, json, id, &[Edit::RedactNote { note_id }])
}

/// `part`: a part used on the job.
pub(super) fn part(store: &TicketStore, json: bool, id: &str, sku: String, qty: i64) -> Result<()> {
    edit(store, json, id, &[Edit::AddPart { sku, qty }])
}

/// `check`: a checklist item ticked, or unticked with `--undo`.
pub(super) fn check(
    store: &TicketStore,
    json: bool,
    id: &str,
    item: String,
    undo: bool,
) -> Result<()> {
    edit(
        store,
        json,
        id,
        &[Edit::TickChecklist { item, done: !undo }],
    )
}

/// `tag`: a tag added, or removed with `--remove`.
pub(super) fn tag(
    store: &TicketStore,
    json: bool,
    id: &str,
    tag: String,
    remove: bool,
) -> Result<()> {
    let edit_one = if remove {
        Edit::RemoveTag { tag }
    } else {
        Edit::AddTag { tag }
    };
    edit(store, json, id, &[edit_one])
}

/// `rate`: the service rated once the ticket is resolved.
pub(super) fn rate(
    store: &TicketStore,
    json: bool,
    id: &str,
    score: i64,
    comment: Option<String>,
) -> Result<()> {
    edit(store, json, id, &[Edit::Rate { score, comment }])
}

/// `show`: one ticket in full.
pub(super) fn show(store: &TicketStore, json: bool, id: &str) -> Result<()> {
    print_ticket(store, json, &store.ticket(&store.resolve_id(id)?)?)
}

/// `list`: one page of tickets, filtered and sorted.
pub(super) fn list(store: &TicketStore, json: bool, args: ListArgs) -> Result<()> {
    let ListArgs {
        status,
        priority,
        assignee,
        category,
        search,
        sort,
        limit,
        offset,
    } = args;
    let query = ListQuery {
        status,
        priority,
        assignee: assignee.map(|a| if a == "none" { String::new() } else { a }),
        category,
        text: search,
        sort: match sort {
            SortArg::Updated => SortBy::Updated,
            SortArg::Sla => SortBy::SlaDue,
            SortArg::Priority => SortBy::Priority,
        },
        limit,
        offset,
    };
    let rows = store.list(&query)?;
    if json {
        output::json(&rows)
    } else {
        let names = store.people(rows.iter().filter_map(|r| r.assignee.as_deref()))?;
        print!("{}", output::summaries(&rows, &names))
    }
    Ok(())
}

/// Applies `edits` to the ticket named by `id` (an id prefix or its number) and prints it.
fn edit(store: &TicketStore, json: bool, id: &str, edits: &[Edit]) -> Result<()> {
    let ticket = store.edit(&store.resolve_id(id)?, edits)?;
    print_ticket(store, json, &ticket)
}
