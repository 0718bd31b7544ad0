//! Printing results: JSON for scripts (`--json`, ids as stored), readable tables for people
//! (names where the device knows them, `TicketStore::people`; short ids where it does not).

use std::fmt::Write as _;

use fieldwork_core::store::{Names, TicketSummary};
use fieldwork_core::ticket::Ticket;
use serde::Serialize;

/// A ticket as `show --json` prints it: the document's view, plus how many of its changes came
/// from a bundle and still wait for the server's confirmation.
#[derive(Debug, Serialize)]
pub struct ShownTicket<'a> {
    #[serde(flatten)]
    pub ticket: &'a Ticket,
    pub unverified_changes: u32,
}

/// The warning on a ticket that holds changes from a bundle the server has not confirmed.
fn unverified(n: u32) -> Option<String> {
    (n > 0).then(|| {
        let changes = if n == 1 { "change" } else { "changes" };
        format!("unverified: {n} {changes} from a bundle, not yet confirmed by the server")
    })
}

/// Prints `value` as pretty JSON on stdout.
pub fn json<T: Serialize>(value: &T) {
    match serde_json::to_string_pretty(value) {
        Ok(text) => println!("{text}"),
        Err(e) => eprintln!("error: cannot render JSON: {e}"),
    }
}

/// `2026-11-23 01:35Z` from milliseconds since the Unix epoch (UTC, minute precision).
pub fn time(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60
    )
}

/// The sync status as a few lines.
pub fn sync_status(s: &fieldwork_core::sync::SyncStatus) -> String {
    let when = |t: Option<i64>| t.map_or_else(|| "never".to_owned(), time);
    let mut out = format!(
        "server {}\nstate {:?}, {} change(s) pending, {} refused\nlast success {}\nlast error {}\n",
        s.server.as_deref().unwrap_or("-"),
        s.state,
        s.pending,
        s.quarantined,
        when(s.last_success),
        s.last_error.as_deref().unwrap_or("none"),
    );
    let _ = writeln!(out, "{} file(s) waiting to upload", s.uploads.len());
    for u in &s.uploads {
        let percent = (u.sent_bytes * 100).checked_div(u.bytes).unwrap_or(0);
        let _ = writeln!(
            out,
            "  {} {:<5} {:>3}% of {} bytes, ticket {}{}",
            &u.sha256[..12],
            u.kind.as_str(),
            percent,
            u.bytes,
            short(&u.ticket_id),
            u.last_error
                .as_deref()
                .map(|e| format!(", {} failure(s), last: {e}", u.attempts))
                .unwrap_or_default()
        );
    }
    out
}

fn short(id: &str) -> &str {
    id.get(..13).unwrap_or(id)
}

/// A table of list rows; `names` for the assignees (`TicketStore::people`).
pub fn summaries(rows: &[TicketSummary], names: &Names) -> String {
    if rows.is_empty() {
        return "no tickets\n".to_owned();
    }
    let mut out = format!(
        "{:<13}  {:<10}  {:<17}  {:<6}  {:<12}  {:<17}  {}\n",
        "ID", "NUMBER", "STATUS", "PRIO", "ASSIGNEE", "UPDATED", "TITLE"
    );
    for r in rows {
        let mut flag = if r.conflicts > 0 { " (conflict)" } else { "" }.to_owned();
        if r.unverified_changes > 0 {
            flag.push_str(" (unverified)");
        }
        let _ = writeln!(
            out,
            "{:<13}  {:<10}  {:<17}  {:<6}  {:<12}  {:<17}  {}{flag}",
            short(&r.id),
            r.number.as_deref().unwrap_or("-"),
            r.status.as_str(),
            r.priority.as_str(),
            r.assignee
                .as_deref()
                .map_or_else(|| "-".to_owned(), |a| names.display(a)),
            time(r.updated_at),
            r.title,
        );
    }
    out
}

/// A readable page for one ticket; `unverified_changes` as in [`ShownTicket`]; `names` for the
/// people it names (`TicketStore::people` of `Ticket::people`).
/// A ticket's SLA in one line: what is due when, what was missed, the policy.
fn sla_line(sla: &fieldwork_core::ticket::Sla) -> String {
    let due = |what: &str, at: Option<i64>| at.map(|at| format!("  {what} due {}", time(at)));
    let mut line = String::from("sla");
    if let Some(policy) = &sla.policy {
        line.push_str(&format!(" {policy}"));
    }
    line.extend(due("first response", sla.first_response_due));
    line.extend(due("update", sla.update_due));
    line.extend(due("resolution", sla.resolution_due));
    if sla.paused {
        line.push_str("  (paused)");
    }
    if !sla.breaches.is_empty() {
        line.push_str(&format!("  missed: {}", sla.breaches.join(", ")));
    }
    line
}

pub fn ticket(t: &Ticket, unverified_changes: u32, names: &Names) -> String {
    let name = |id: &str| names.display(id);
    let mut out = String::new();
    let number = t.number.as_deref().unwrap_or("(no number yet)");
    let _ = writeln!(out, "{number}  {}\n{}", t.id, t.title);
    if let Some(warning) = unverified(unverified_changes) {
        let _ = writeln!(out, "{warning}");
    }
    let _ = writeln!(
        out,
        "kind {}  status {}  priority {}  category {}",
        t.kind,
        t.status,
        t.priority,
        t.category.as_deref().unwrap_or("-")
    );
    let _ = writeln!(
        out,
        "reporter {} ({})  assignee {}  team {}",
        name(&t.reporter.user_id),
        t.reporter.role,
        t.assignee.as_deref().map_or_else(|| "-".to_owned(), name),
        t.team.as_deref().unwrap_or("-")
    );
    if let Some(sla) = &t.sla {
        let _ = writeln!(out, "{}", sla_line(sla));
    }
    if let Some(order) = &t.order_ref {
        let _ = writeln!(out, "order {order}");
    }
    if let Some(site) = &t.site {
        let acc = site
            .accuracy_m
            .map(|a| format!(" ±{a:.0} m"))
            .unwrap_or_default();
        let _ = writeln!(out, "site {:.5}, {:.5}{acc}", site.lat, site.lon);
    }
    if !t.description.is_empty() {
        let _ = writeln!(out, "\n{}", t.description);
    }
    if !t.notes.is_empty() {
        let _ = writeln!(out, "\nnotes:");
        for n in &t.notes {
            let tag = if n.internal { " [internal]" } else { "" };
            let text = if n.erased {
                "[erased]"
            } else if n.redacted {
                "[redacted]"
            } else {
                n.text.as_str()
            };
            let _ = writeln!(
                out,
                "  {} {} ({}){tag}: {text}",
                time(n.at),
                name(&n.author),
                n.role
            );
        }
    }
    if !t.attachments.is_empty() {
        let _ = writeln!(out, "\nphotos and files:");
        for a in &t.attachments {
            if a.erased {
                let _ = writeln!(out, "  {} [erased]", a.sha256);
                continue;
            }
            if let Some(file) = a.name.as_deref().filter(|_| !a.is_photo()) {
                let _ = writeln!(
                    out,
                    "  {} file \"{}\" {} {} bytes by {} at {} (fetch-blob to save it)",
                    a.sha256,
                    file,
                    a.mime,
                    a.bytes,
                    name(&a.by),
                    time(a.at)
                );
                continue;
            }
            let _ = writeln!(
                out,
                "  {} {}×{} {} bytes by {} at {}",
                a.sha256,
                a.width,
                a.height,
                a.bytes,
                name(&a.by),
                time(a.at)
            );
        }
    }
    if !t.parts_used.is_empty() {
        let _ = writeln!(out, "\nparts:");
        for p in &t.parts_used {
            let _ = writeln!(out, "  {} × {} ({})", p.qty, p.sku, name(&p.by));
        }
    }
    if !t.checklist.is_empty() {
        let _ = writeln!(out, "\nchecklist:");
        for (item, state) in &t.checklist {
            let mark = if state.done { "x" } else { " " };
            let _ = writeln!(out, "  [{mark}] {item}");
        }
    }
    if !t.tags.is_empty() {
        let _ = writeln!(out, "\ntags: {}", t.tags.join(", "));
    }
    if let Some(csat) = &t.csat {
        let _ = writeln!(out, "\nrating: {}/5", csat.score);
    }
    if !t.asset_history.is_empty() {
        let _ = writeln!(out, "\nthe machine's earlier tickets:");
        for e in &t.asset_history {
            let parts = if e.parts.is_empty() {
                String::new()
            } else {
                format!("  parts: {}", e.parts)
            };
            let _ = writeln!(
                out,
                "  {}  {}  {}{parts}",
                e.number.as_deref().unwrap_or("-"),
                e.status,
                e.title
            );
        }
    }
    if let Some(a) = &t.alert {
        let cleared = if a.resolved_at.is_some() {
            ", cleared since"
        } else {
            ""
        };
        let _ = writeln!(
            out,
            "\nalarms: {} × {} (threshold {}, last {}, worst {}, {}{cleared})",
            a.count, a.metric, a.threshold, a.last_value, a.worst_value, a.severity
        );
    }
    if !t.conflicts.is_empty() {
        let _ = writeln!(
            out,
            "\nconflicts (concurrent edits; the last value is shown above):"
        );
        for c in &t.conflicts {
            let values: Vec<String> = c.values.iter().map(|v| v.to_string()).collect();
            let _ = writeln!(out, "  {}: {}", c.field, values.join(" | "));
        }
    }
    let _ = writeln!(out, "\nhistory:");
    for e in &t.events {
        // `assignee` in an assignment is a user id like `by` (empty when unassigned).
        let data: Vec<String> = e
            .data
            .iter()
            .map(|(k, v)| match k.as_str() {
                "assignee" if !v.is_empty() => format!("{k}={}", name(v)),
                _ => format!("{k}={v}"),
            })
            .collect();
        let _ = writeln!(
            out,
            "  {} {} by {} {}",
            time(e.at_device),
            e.kind,
            name(&e.by),
            data.join(" ")
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::time;

    #[test]
    fn the_unverified_mark_counts_changes() {
        assert_eq!(super::unverified(0), None);
        assert_eq!(
            super::unverified(2).as_deref(),
            Some("unverified: 2 changes from a bundle, not yet confirmed by the server")
        );
        assert!(super::unverified(1).is_some_and(|w| w.contains("1 change from")));
    }

    #[test]
    fn formats_utc_dates() {
        assert_eq!(time(0), "1970-01-01 00:00Z");
        assert_eq!(time(951_782_400_000), "2000-02-29 00:00Z");
        assert_eq!(time(1_795_400_100_000), "2026-11-23 02:15Z");
    }
}
