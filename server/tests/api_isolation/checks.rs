//! What the matrix's rows send and what a successful answer must hold: request bodies built for
//! each caller, and checks of answers (lists hold exactly what the caller may see, counts match,
//! nothing of the other tenant).

use std::collections::BTreeSet;

use crate::support::PASSWORD;
use crate::support::api::Answer;
use serde_json::{Value, json};

use super::world::*;
use super::*;

// ── Bodies ──────────────────────────────────────────────────────────────────────────────────

pub(crate) fn sign_in(c: &Call) -> Value {
    match c.user() {
        // Globex's admin with their own name and password, at acme.
        _ if c.who == Who::Other => {
            json!({ "tenant": "acme", "name": c.side().users["admin"].name, "password": PASSWORD })
        }
        Some(user) => json!({ "tenant": "acme", "name": user.name, "password": PASSWORD }),
        None => json!({ "tenant": "acme", "name": "acme-admin", "password": "not the password" }),
    }
}

pub(crate) fn public_note(c: &Call) -> Value {
    let text = format!("{} note by {:?}", c.side().mark, c.who);
    json!({ "edits": [{ "type": "add_note", "text": text }] })
}

pub(crate) fn foreign_file(c: &Call) -> Value {
    let tech = format!("{}-tech", c.foreign().name);
    json!({ "toml": tenant_file(c.side().name, &tech) })
}

// ── Checks of successful answers ────────────────────────────────────────────────────────────

pub(crate) fn items(a: &Answer) -> Result<&Vec<Value>, String> {
    a.json["items"]
        .as_array()
        .ok_or_else(|| format!("no items: {}", a.json))
}

pub(crate) fn whoami(c: &Call, a: &Answer) -> Result<(), String> {
    let me = c.user().map(|u| u.id.as_str());
    (a.json["user"]["id"].as_str() == me)
        .then_some(())
        .ok_or_else(|| format!("signed in as someone else: {}", a.json))
}

pub(crate) fn is_ticket(a: &Answer, id: &str) -> Result<(), String> {
    (a.json["id"].as_str() == Some(id))
        .then_some(())
        .ok_or_else(|| format!("another ticket: {}", a.json["id"]))
}

/// The list holds exactly the tickets the caller may see that `pred` keeps, and counts them.
pub(crate) fn tickets_where(
    c: &Call,
    a: &Answer,
    pred: impl Fn(&Known) -> bool,
) -> Result<(), String> {
    let want: BTreeSet<&str> = c
        .world
        .tickets
        .iter()
        .filter(|t| c.sees(t) && pred(t))
        .map(|t| t.id.as_str())
        .collect();
    let got: BTreeSet<&str> = items(a)?.iter().filter_map(|t| t["id"].as_str()).collect();
    let total = a.json["total"].as_u64();
    if got != want || total != Some(want.len() as u64) {
        return Err(format!(
            "listed {} (total {total:?}), expected {}: missing {:?}, not theirs {:?}",
            got.len(),
            want.len(),
            want.difference(&got).collect::<Vec<_>>(),
            got.difference(&want).collect::<Vec<_>>()
        ));
    }
    Ok(())
}

pub(crate) fn users_listed(c: &Call, a: &Answer) -> Result<(), String> {
    let got: BTreeSet<&str> = items(a)?.iter().filter_map(|u| u["id"].as_str()).collect();
    let want = c.side().user_ids();
    (got == want)
        .then_some(())
        .ok_or_else(|| format!("users {got:?}, expected the tenant's {want:?}"))
}

pub(crate) fn workers_listed(c: &Call, a: &Answer) -> Result<(), String> {
    let got: BTreeSet<&str> = items(a)?
        .iter()
        .filter_map(|u| u["user_id"].as_str())
        .collect();
    let ids = c.side().user_ids();
    let tech = c.side().users["tech"].id.as_str();
    (got.is_subset(&ids) && got.contains(tech))
        .then_some(())
        .ok_or_else(|| format!("people {got:?}, expected the tenant's own with {tech}"))
}

pub(crate) fn suggested(c: &Call, a: &Answer) -> Result<(), String> {
    let ids = c.side().user_ids();
    let candidates = a.json["candidates"]
        .as_array()
        .ok_or_else(|| format!("no candidates: {}", a.json))?;
    let own = candidates
        .iter()
        .all(|p| p["user_id"].as_str().is_some_and(|id| ids.contains(id)));
    (own && !candidates.is_empty() && a.json["configured"] == true)
        .then_some(())
        .ok_or_else(|| format!("candidates not the tenant's own: {}", a.json))
}

pub(crate) fn board(c: &Call, a: &Answer) -> Result<(), String> {
    let mine: BTreeSet<&str> = c.side().ticket_ids(c.world);
    let mut seen = Vec::new();
    for column in a.json["columns"].as_array().into_iter().flatten() {
        for kind in ["breached", "due_soon", "paused"] {
            for t in column[kind].as_array().into_iter().flatten() {
                seen.push(t["id"].as_str().unwrap_or("?").to_owned());
            }
        }
    }
    let own = seen.iter().all(|id| mine.contains(id.as_str()));
    (own && !seen.is_empty())
        .then_some(())
        .ok_or_else(|| format!("board tickets not the tenant's own (or none): {seen:?}"))
}

/// A report counts the tenant's own tickets, every one of them (all made this month).
pub(crate) fn reported(c: &Call, a: &Answer) -> Result<(), String> {
    let own = c.side().ticket_ids(c.world).len() as u64;
    let created = a.json["total"]["created"].as_u64();
    let by_rows: u64 = a.json["rows"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| r["created"].as_u64())
        .sum();
    (created == Some(own) && by_rows == own)
        .then_some(())
        .ok_or_else(|| {
            format!(
                "created {created:?} (rows {by_rows}), the tenant has {own}: {}",
                a.json["total"]
            )
        })
}

pub(crate) fn rating_link(_: &Call, a: &Answer) -> Result<(), String> {
    let token = a.json["token"].as_str().unwrap_or("");
    (token.starts_with("fwr_") && a.json["path"] == format!("/csat/{token}"))
        .then_some(())
        .ok_or_else(|| format!("not a rating link: {}", a.json))
}

pub(crate) fn valid(a: &Answer, expected: bool) -> Result<(), String> {
    (a.json["valid"] == expected)
        .then_some(())
        .ok_or_else(|| format!("valid should be {expected}: {}", a.json))
}

pub(crate) fn audited(c: &Call, a: &Answer) -> Result<(), String> {
    let mine = c.side().ticket_ids(c.world);
    let ids = c.side().user_ids();
    let items = items(a)?;
    let stray: Vec<&Value> = items
        .iter()
        .filter(|e| {
            !e["ticket_id"].as_str().is_some_and(|t| mine.contains(t))
                || e["author_id"].as_str().is_some_and(|u| !ids.contains(u))
        })
        .collect();
    (stray.is_empty() && !items.is_empty())
        .then_some(())
        .ok_or_else(|| format!("changes not of the tenant's own (or none): {stray:?}"))
}

pub(crate) fn is_csv(a: &Answer) -> bool {
    a.reply
        .headers
        .get("content-type")
        .is_some_and(|v| v.as_bytes().starts_with(b"text/csv"))
}

pub(crate) fn audited_csv(c: &Call, a: &Answer) -> Result<(), String> {
    let text = String::from_utf8_lossy(&a.reply.body);
    let mine = c.side().ticket_ids(c.world);
    let mut lines = text.lines();
    let header = lines.next().unwrap_or_default();
    let rows: Vec<&str> = lines.collect();
    let stray: Vec<&&str> = rows
        .iter()
        .filter(|l| !l.split(',').nth(3).is_some_and(|t| mine.contains(t)))
        .collect();
    (is_csv(a) && header.starts_with("seq,at,") && !rows.is_empty() && stray.is_empty())
        .then_some(())
        .ok_or_else(|| format!("CSV rows not of the tenant's own tickets: {stray:?}"))
}

/// An audit page filtered by another tenant's ticket or person is empty; by one's own, not.
pub(crate) fn only_if_own(_: &Call, a: &Answer, own: bool) -> Result<(), String> {
    let items = items(a)?;
    (items.is_empty() != own).then_some(()).ok_or_else(|| {
        format!(
            "expected {} changes: {items:?}",
            if own { "some" } else { "no" }
        )
    })
}

// ── The world: two tenants and what is known of their tickets ───────────────────────────────
