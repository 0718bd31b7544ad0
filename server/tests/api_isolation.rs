//! The back-office API's isolation matrix (`docs/api.md`): every operation of the OpenAPI
//! document × every kind of caller → exactly the allowed answer, and nothing of another tenant in
//! any answer — lists, counts, search, files, links, settings or audit rows, success or error.
//!
//! Two tenants, `acme` and `globex`, each with a user of every role and real data: tickets made
//! by a rider's and a merchant's phones (synced) and by a dispatcher through the API, public and
//! internal notes, tags, an assignment, a photo, a team queue of the same name in both, a user
//! of the same name in both, an applied configuration with an SLA policy and a webhook rule, and
//! the brain's decisions and deliveries. Every text of a tenant carries its name (`ACME-PRIVATE`,
//! `GLOBEX-SECRET`), so a leak is found by scanning the raw bytes of each answer for the other
//! tenant's name, ticket ids, user ids, tokens, photo bytes and configuration hash (what the
//! caller sent itself is not counted). Riders and merchants are also scanned for their own
//! tenant's staff data (internal notes and tags, all marked `…-INTERNAL`).
//!
//! The columns ([`Who`]): globex's admin calling acme's ids and the shared lists; acme's rider,
//! merchant, technician, agent, dispatcher, supervisor and admin; nobody (no credentials, a
//! made-up token, a device token, a rating link's token, a made-up session); an expired session
//! (idle past 8 h; signed out); a disabled user (their session and their token). Every live
//! caller is tried with a browser session (pass 1) and with their user API token (pass 2). Every
//! write that needs a session is also sent without its CSRF token (pass 1): `403 csrf_failed`,
//! and nothing written. Afterwards each admin reads everything of their tenant (nothing of the
//! other got in), and a rating link's page is opened (nothing of the other tenant, no staff data).
//!
//! **Adding an endpoint**: [`every_documented_operation_has_a_row`] fails, naming it. Add a row
//! to [`rows`]: `row("METHOD /path/{as} /in/the/document", "/the/path/<fixture.value>",
//! auth([other, rider, merchant, technician, agent, dispatcher, supervisor, admin]))` with the
//! status each caller must get (`auth` adds `401` for nobody, expired and disabled; give all 11
//! for an operation without sign-in), `.body(|c| json!(…))` for a JSON body (`c.side()` is the
//! caller's tenant, `c.foreign()` the other), and `.check(…)` to assert what a successful answer
//! holds (lists: exactly what that caller may see). Path values: `<acme.KEY>` / `<globex.KEY>`
//! with KEY a user (`rider`, `merchant`, `tech`, `agent`, `dispatcher`, `supervisor`, `admin`,
//! `sleeper`, `gone`, `spare`, `twin`), `rider_ticket`, `merchant_ticket`, `staff_ticket`,
//! `photo`; `<self>` (the caller's own user id) and `<nothing>` (an id that exists nowhere).
//! A write must be safe to repeat, or leave things as they were: every row is sent once per
//! credential (25 of them), and a write once more without its CSRF token. A row that ends the
//! session it is made with says `.fresh_session()`; one whose answer differs for a bearer token
//! says `.by_token(…)`.
//!
//! What the code does that a reader might not expect, pinned here: a role check comes before
//! the lookup, so `403` for a role that may never call an operation even on another tenant's id
//! (suggestions, users) — that tells nothing about the id; an `assign` edit naming someone who
//! is no user of the tenant is `400` before the ticket is looked up; an audit or ticket list
//! filtered by another tenant's ids is an empty `200`.

mod support;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;
use std::time::Instant;

use axum::http::StatusCode;
use fieldwork_core::clock::ManualClock;
use fieldwork_core::ticket::{Customer, Edit, NewAttachment, NewTicket};
use fieldwork_core::{Role, TicketKind};
use fieldwork_server::brain::decide_now;
use serde_json::{Value, json};
use support::api::{Answer, Browser};
use support::tus::{attach, photo, sha256, upload};
use support::{Harness, PASSWORD, User};

const T0: i64 = 1_795_400_060_000;
const HOUR: i64 = 60 * 60 * 1000;
/// An id no tenant has.
const NOTHING: &str = "00000000-0000-7000-8000-000000000000";

// ── The callers ─────────────────────────────────────────────────────────────────────────────

/// A column of the matrix: who calls. All but `Other` are acme's; `Other` is globex's admin.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Who {
    Other,
    Rider,
    Merchant,
    Technician,
    Agent,
    Dispatcher,
    Supervisor,
    Admin,
    NoAuth,
    Expired,
    Disabled,
}

const WHO: [Who; 11] = [
    Who::Other,
    Who::Rider,
    Who::Merchant,
    Who::Technician,
    Who::Agent,
    Who::Dispatcher,
    Who::Supervisor,
    Who::Admin,
    Who::NoAuth,
    Who::Expired,
    Who::Disabled,
];

impl Who {
    fn index(self) -> usize {
        WHO.iter().position(|w| *w == self).expect("a column")
    }

    /// The user (key in [`Side::users`]) behind the column, if any.
    fn key(self) -> Option<&'static str> {
        Some(match self {
            Who::Other | Who::Admin => "admin",
            Who::Rider => "rider",
            Who::Merchant => "merchant",
            Who::Technician => "tech",
            Who::Agent => "agent",
            Who::Dispatcher => "dispatcher",
            Who::Supervisor => "supervisor",
            Who::Expired => "sleeper",
            Who::Disabled => "gone",
            Who::NoAuth => return None,
        })
    }

    fn role(self) -> Option<Role> {
        Some(match self {
            Who::Rider => Role::Rider,
            Who::Merchant => Role::Merchant,
            Who::Technician => Role::Technician,
            Who::Agent => Role::Agent,
            Who::Dispatcher => Role::Dispatcher,
            Who::Supervisor => Role::Supervisor,
            Who::Other | Who::Admin | Who::Expired | Who::Disabled => Role::Admin,
            Who::NoAuth => return None,
        })
    }
}

/// One way a column calls: a browser or a script with some credential.
struct Cred {
    who: Who,
    label: &'static str,
    /// 1: sessions and no credentials; 2: tokens and the rest (after every session is used,
    /// since a password change made with a token ends all of its user's sessions).
    pass: u8,
    browser: Browser,
    /// Sent as a bearer token (rows may expect another answer, e.g. signing out).
    token: bool,
    /// A live session: rows that end it (`.fresh_session()`) sign in anew for it.
    fresh: Option<(&'static str, String)>,
}

// ── The rows ────────────────────────────────────────────────────────────────────────────────

type Body = fn(&Call) -> Value;
type Check = fn(&Call, &Answer) -> Result<(), String>;

/// One call of the matrix and the answer each column must get.
struct Row {
    /// The operation as the OpenAPI document names it: `METHOD /path/{param}`.
    op: &'static str,
    /// The path under `/api/v1`, with `<fixture>` values.
    path: &'static str,
    /// The status per column, in the order of [`WHO`].
    expect: [u16; 11],
    /// The status per column for bearer tokens, where it differs from a session's.
    by_token: Option<[u16; 11]>,
    body: Option<Body>,
    check: Option<Check>,
    /// The call ends the session it is made with: live sessions sign in anew for it.
    fresh_session: bool,
}

fn row(op: &'static str, path: &'static str, expect: [u16; 11]) -> Row {
    Row {
        op,
        path,
        expect,
        by_token: None,
        body: None,
        check: None,
        fresh_session: false,
    }
}

impl Row {
    fn body(mut self, body: Body) -> Row {
        self.body = Some(body);
        self
    }

    fn check(mut self, check: Check) -> Row {
        self.check = Some(check);
        self
    }

    fn by_token(mut self, expect: [u16; 11]) -> Row {
        self.by_token = Some(expect);
        self
    }

    fn fresh_session(mut self) -> Row {
        self.fresh_session = true;
        self
    }

    fn method(&self) -> &'static str {
        self.op.split_once(' ').expect("METHOD /path").0
    }
}

/// The answers of the eight signed-in columns (other tenant's admin, rider, merchant,
/// technician, agent, dispatcher, supervisor, admin); nobody, an expired session and a disabled
/// user get `401`.
fn auth(live: [u16; 8]) -> [u16; 11] {
    let mut all = [401; 11];
    all[..8].copy_from_slice(&live);
    all
}

/// The matrix. Columns: other tenant's admin, rider, merchant, technician, agent, dispatcher,
/// supervisor, admin (then nobody, expired, disabled: `401` through [`auth`]).
fn rows() -> Vec<Row> {
    vec![
        // ── Session ──
        row("GET /session", "/session", auth([200; 8])).check(whoami),
        // Signing in: each column with its own name and password for acme; globex's admin is
        // nobody in acme; nobody sends a wrong password; a disabled user is refused.
        row(
            "POST /session",
            "/session",
            [401, 201, 201, 201, 201, 201, 201, 201, 401, 201, 401],
        )
        .body(sign_in),
        // The same password again: safe to repeat; ends the user's other sessions.
        row("PUT /session/password", "/session/password", auth([204; 8])).body(|_| {
            json!({ "current_password": PASSWORD, "new_password": PASSWORD })
        }),
        row("DELETE /session", "/session", auth([204; 8]))
            .by_token(auth([400; 8]))
            .fresh_session(),
        // ── Users ──
        row(
            "GET /users",
            "/users",
            auth([200, 403, 403, 403, 403, 403, 200, 200]),
        )
        .check(users_listed),
        // Making a user: `twin` is taken in both tenants, so admins get `409` (each in their own
        // tenant), safe to repeat; making one for real is `api_session.rs`'s.
        row(
            "POST /users",
            "/users",
            auth([409, 403, 403, 403, 403, 403, 403, 409]),
        )
        .body(|_| json!({ "name": "twin", "role": "agent" })),
        row(
            "POST /users",
            "/users",
            auth([400, 403, 403, 403, 403, 403, 403, 400]),
        )
        .body(|_| json!({ "name": "nobody-new", "role": "wizard" })),
        row(
            "GET /teams",
            "/teams",
            auth([200, 403, 403, 403, 200, 200, 200, 200]),
        ),
        row(
            "POST /users/{id}/disable",
            "/users/<acme.spare>/disable",
            auth([404, 403, 403, 403, 403, 403, 403, 200]),
        ),
        row(
            "POST /users/{id}/enable",
            "/users/<acme.spare>/enable",
            auth([404, 403, 403, 403, 403, 403, 403, 200]),
        ),
        row(
            "POST /users/{id}/disable",
            "/users/<globex.spare>/disable",
            auth([200, 403, 403, 403, 403, 403, 403, 404]),
        ),
        row(
            "POST /users/{id}/enable",
            "/users/<globex.spare>/enable",
            auth([200, 403, 403, 403, 403, 403, 403, 404]),
        ),
        row(
            "POST /users/{id}/disable",
            "/users/<self>/disable",
            auth([400, 403, 403, 403, 403, 403, 403, 400]),
        ),
        row(
            "POST /users/{id}/enable",
            "/users/<self>/enable",
            auth([200, 403, 403, 403, 403, 403, 403, 200]),
        ),
        row(
            "POST /users/{id}/disable",
            "/users/<nothing>/disable",
            auth([404, 403, 403, 403, 403, 403, 403, 404]),
        ),
        // ── Tickets: lists, counts, search, filters ──
        row("GET /tickets", "/tickets?limit=200", auth([200; 8]))
            .check(|c, a| tickets_where(c, a, |_| true)),
        row("GET /tickets", "/tickets?limit=200&q=globex", auth([200; 8]))
            .check(|c, a| tickets_where(c, a, |t| t.tenant == "globex")),
        row("GET /tickets", "/tickets?limit=200&q=acme", auth([200; 8]))
            .check(|c, a| tickets_where(c, a, |t| t.tenant == "acme")),
        row(
            "GET /tickets",
            "/tickets?limit=200&assignee=<globex.tech>",
            auth([200; 8]),
        )
        .check(|c, a| {
            let tech = &c.world.globex.users["tech"].id;
            tickets_where(c, a, |t| t.assignee.as_ref() == Some(tech))
        }),
        row(
            "GET /tickets",
            "/tickets?limit=200&reporter=<acme.rider>",
            auth([200; 8]),
        )
        .check(|c, a| {
            let rider = &c.world.acme.users["rider"].id;
            tickets_where(c, a, |t| &t.reporter == rider)
        }),
        row("GET /tickets", "/tickets?limit=200&team=north", auth([200; 8]))
            .check(|c, a| tickets_where(c, a, |t| t.team.as_deref() == Some("north"))),
        row(
            "GET /tickets",
            "/tickets?limit=200&tag=globex-internal-tag",
            auth([200, 403, 403, 200, 200, 200, 200, 200]),
        )
        .check(|c, a| tickets_where(c, a, |t| t.tags.contains("globex-internal-tag"))),
        // ── Tickets: one by id (another tenant's, or one not seen: 404, never 403) ──
        row(
            "GET /tickets/{id}",
            "/tickets/<acme.rider_ticket>",
            auth([404, 200, 404, 200, 200, 200, 200, 200]),
        )
        .check(|c, a| is_ticket(a, &c.world.acme.rider_ticket)),
        row(
            "GET /tickets/{id}",
            "/tickets/<acme.merchant_ticket>",
            auth([404, 404, 200, 404, 200, 200, 200, 200]),
        )
        .check(|c, a| is_ticket(a, &c.world.acme.merchant_ticket)),
        // In acme's team "north" queue, which acme's technician sees.
        row(
            "GET /tickets/{id}",
            "/tickets/<acme.staff_ticket>",
            auth([404, 404, 404, 200, 200, 200, 200, 200]),
        )
        .check(|c, a| is_ticket(a, &c.world.acme.staff_ticket)),
        row(
            "GET /tickets/{id}",
            "/tickets/<globex.rider_ticket>",
            auth([200, 404, 404, 404, 404, 404, 404, 404]),
        ),
        // In globex's team "north" queue: acme's technician of a team "north" sees nothing.
        row(
            "GET /tickets/{id}",
            "/tickets/<globex.staff_ticket>",
            auth([200, 404, 404, 404, 404, 404, 404, 404]),
        ),
        row("GET /tickets/{id}", "/tickets/<nothing>", auth([404; 8])),
        // ── Tickets: create (every success is a new ticket, followed in the lists) ──
        row("POST /tickets", "/tickets", auth([201; 8])).body(|c| {
            json!({
                "title": format!("{} made by {:?}", c.side().mark, c.who),
                "description": format!("{} description", c.side().mark),
            })
        }),
        row(
            "POST /tickets",
            "/tickets",
            auth([201, 422, 422, 201, 201, 201, 201, 201]),
        )
        .body(|c| {
            json!({ "title": format!("{} repair by {:?}", c.side().mark, c.who), "kind": "repair" })
        }),
        row("POST /tickets", "/tickets", auth([400; 8]))
            .body(|_| json!({ "title": "a kind that is none", "kind": "no-such-kind" })),
        // ── Tickets: edits ──
        row(
            "POST /tickets/{id}/edits",
            "/tickets/<acme.rider_ticket>/edits",
            auth([404, 200, 404, 200, 200, 200, 200, 200]),
        )
        .body(public_note),
        row(
            "POST /tickets/{id}/edits",
            "/tickets/<acme.rider_ticket>/edits",
            auth([404, 422, 404, 200, 200, 200, 200, 200]),
        )
        .body(|c| {
            let text = format!("{} internal note by {:?}", c.side().internal, c.who);
            json!({ "edits": [{ "type": "add_note", "internal": true, "text": text }] })
        }),
        row(
            "POST /tickets/{id}/edits",
            "/tickets/<globex.rider_ticket>/edits",
            auth([200, 404, 404, 404, 404, 404, 404, 404]),
        )
        .body(public_note),
        // Assigning to a user of another tenant: acme's callers are told that is nobody of
        // theirs (400); globex's admin names its own technician and finds no such ticket (404).
        row(
            "POST /tickets/{id}/edits",
            "/tickets/<acme.staff_ticket>/edits",
            auth([404, 400, 400, 400, 400, 400, 400, 400]),
        )
        .body(|c| {
            json!({ "edits": [{ "type": "assign", "assignee": c.world.globex.users["tech"].id }] })
        }),
        row(
            "POST /tickets/{id}/edits",
            "/tickets/<globex.staff_ticket>/edits",
            auth([400, 404, 404, 404, 404, 404, 404, 404]),
        )
        .body(|c| {
            json!({ "edits": [{ "type": "assign", "assignee": c.world.acme.users["tech"].id }] })
        }),
        row(
            "POST /tickets/{id}/edits",
            "/tickets/<nothing>/edits",
            auth([404; 8]),
        )
        .body(|_| json!({ "edits": [{ "type": "add_note", "text": "to nothing" }] })),
        // ── Rating links (back office; for a resolved ticket; each new one ends the last) ──
        row(
            "POST /tickets/{id}/csat-link",
            "/tickets/<acme.merchant_ticket>/csat-link",
            auth([404, 403, 403, 403, 201, 201, 201, 201]),
        )
        .check(rating_link),
        row(
            "POST /tickets/{id}/csat-link",
            "/tickets/<globex.merchant_ticket>/csat-link?valid_hours=1",
            auth([201, 403, 403, 403, 404, 404, 404, 404]),
        )
        .check(rating_link),
        row(
            "POST /tickets/{id}/csat-link",
            "/tickets/<acme.rider_ticket>/csat-link",
            auth([404, 403, 403, 403, 422, 422, 422, 422]),
        ),
        row(
            "POST /tickets/{id}/csat-link",
            "/tickets/<nothing>/csat-link",
            auth([404, 403, 403, 403, 404, 404, 404, 404]),
        ),
        // ── Files ──
        row(
            "GET /files/{sha256}",
            "/files/<acme.photo>",
            auth([404, 200, 404, 200, 200, 200, 200, 200]),
        ),
        // Acme's merchant named this hash in an attachment of their own ticket (a forged
        // attach): still nobody of acme gets globex's bytes.
        row(
            "GET /files/{sha256}",
            "/files/<globex.photo>",
            auth([200, 404, 404, 404, 404, 404, 404, 404]),
        ),
        // ── Dispatch (back office; the role is refused before the ticket is looked up) ──
        row(
            "GET /tickets/{id}/suggestions",
            "/tickets/<acme.staff_ticket>/suggestions",
            auth([404, 403, 403, 403, 200, 200, 200, 200]),
        )
        .check(suggested),
        row(
            "GET /tickets/{id}/suggestions",
            "/tickets/<globex.staff_ticket>/suggestions",
            auth([200, 403, 403, 403, 404, 404, 404, 404]),
        )
        .check(suggested),
        row(
            "GET /technicians",
            "/technicians",
            auth([200, 403, 403, 403, 200, 200, 200, 200]),
        )
        .check(workers_listed),
        row(
            "GET /sla/board",
            "/sla/board?within=600",
            auth([200, 403, 403, 403, 200, 200, 200, 200]),
        )
        .check(board),
        row(
            "GET /sla/board",
            "/sla/board?within=600&team=north",
            auth([200, 403, 403, 403, 200, 200, 200, 200]),
        )
        .check(board),
        // ── Settings ──
        row(
            "GET /config",
            "/config",
            auth([200, 403, 403, 403, 403, 403, 200, 200]),
        )
        .check(|c, a| {
            let own = a.json["toml"].as_str() == Some(c.side().file.as_str());
            own.then_some(()).ok_or_else(|| "not the tenant's own file".to_owned())
        }),
        row(
            "GET /config/history",
            "/config/history",
            auth([200, 403, 403, 403, 403, 403, 200, 200]),
        )
        .check(|c, a| {
            let items = items(a)?;
            let by_own = items
                .iter()
                .all(|v| c.side().user_ids().contains(v["applied_by"].as_str().unwrap_or("")));
            (by_own && !items.is_empty())
                .then_some(())
                .ok_or_else(|| format!("versions not all applied by the tenant's own: {items:?}"))
        }),
        row(
            "POST /config/check",
            "/config/check",
            auth([200, 403, 403, 403, 403, 403, 200, 200]),
        )
        .body(|c| json!({ "toml": c.side().file }))
        .check(|_, a| valid(a, true)),
        // A file naming the other tenant's technician: no user of this tenant.
        row(
            "POST /config/check",
            "/config/check",
            auth([200, 403, 403, 403, 403, 403, 200, 200]),
        )
        .body(foreign_file)
        .check(|_, a| valid(a, false)),
        // The file in force again: nothing changes.
        row(
            "PUT /config",
            "/config",
            auth([200, 403, 403, 403, 403, 403, 403, 200]),
        )
        .body(|c| json!({ "toml": c.side().file }))
        .check(|_, a| {
            (a.json["changed"] == false)
                .then_some(())
                .ok_or_else(|| format!("the same file changed something: {}", a.json))
        }),
        row(
            "PUT /config",
            "/config",
            auth([400, 403, 403, 403, 403, 403, 403, 400]),
        )
        .body(foreign_file),
        row(
            "GET /webhooks/deliveries",
            "/webhooks/deliveries",
            auth([200, 403, 403, 403, 403, 403, 403, 200]),
        )
        .check(|c, a| {
            let items = items(a)?;
            let host = format!("hooks.{}.example", c.side().name);
            let own = items
                .iter()
                .all(|d| d["url"].as_str().is_some_and(|u| u.contains(&host)));
            (own && !items.is_empty())
                .then_some(())
                .ok_or_else(|| format!("deliveries not all the tenant's own: {items:?}"))
        }),
        // ── Reports (dispatchers, supervisors, admins): counts of the tenant's own only ──
        row(
            "GET /reports",
            "/reports?from=2026-11-01&to=2026-11-30",
            auth([200, 403, 403, 403, 403, 200, 200, 200]),
        )
        .check(reported),
        row(
            "GET /reports",
            "/reports?from=2026-11-01&to=2026-11-30&by=assignee",
            auth([200, 403, 403, 403, 403, 200, 200, 200]),
        )
        .check(reported),
        // Both tenants have a team "north".
        row(
            "GET /reports",
            "/reports?from=2026-11-01&to=2026-11-30&by=team",
            auth([200, 403, 403, 403, 403, 200, 200, 200]),
        )
        .check(reported),
        row(
            "GET /reports",
            "/reports?from=2026-11-01&to=2026-11-30&format=csv",
            auth([200, 403, 403, 403, 403, 200, 200, 200]),
        )
        .check(|_, a| {
            is_csv(a)
                .then_some(())
                .ok_or_else(|| format!("not CSV: {}", excerpt(a)))
        }),
        // ── Audit ──
        row(
            "GET /audit/changes",
            "/audit/changes?limit=1000",
            auth([200, 403, 403, 403, 403, 403, 200, 200]),
        )
        .check(audited),
        row(
            "GET /audit/changes",
            "/audit/changes?limit=1000&format=csv",
            auth([200, 403, 403, 403, 403, 403, 200, 200]),
        )
        .check(audited_csv),
        row(
            "GET /audit/changes",
            "/audit/changes?ticket=<globex.rider_ticket>",
            auth([200, 403, 403, 403, 403, 403, 200, 200]),
        )
        .check(|c, a| only_if_own(c, a, c.world.globex.is_own(c))),
        row(
            "GET /audit/changes",
            "/audit/changes?author=<globex.rider>",
            auth([200, 403, 403, 403, 403, 403, 200, 200]),
        )
        .check(|c, a| only_if_own(c, a, c.world.globex.is_own(c))),
        row(
            "GET /audit/changes",
            "/audit/changes?author=<acme.rider>",
            auth([200, 403, 403, 403, 403, 403, 200, 200]),
        )
        .check(|c, a| only_if_own(c, a, c.world.acme.is_own(c))),
        row(
            "GET /audit/settings",
            "/audit/settings",
            auth([200, 403, 403, 403, 403, 403, 200, 200]),
        )
        .check(|c, a| {
            let items = items(a)?;
            let ids = c.side().user_ids();
            let own = items
                .iter()
                .all(|e| ids.contains(e["by"].as_str().unwrap_or("")));
            (own && !items.is_empty())
                .then_some(())
                .ok_or_else(|| format!("settings changes not all by the tenant's own: {items:?}"))
        }),
        row(
            "GET /audit/settings",
            "/audit/settings?format=csv",
            auth([200, 403, 403, 403, 403, 403, 200, 200]),
        )
        .check(|c, a| {
            let text = String::from_utf8_lossy(&a.reply.body);
            let admin = &c.side().users["admin"].id;
            (is_csv(a) && text.starts_with("at,kind,by,detail") && text.contains(admin.as_str()))
                .then_some(())
                .ok_or_else(|| format!("not the tenant's settings as CSV: {text}"))
        }),
    ]
}

// ── Bodies ──────────────────────────────────────────────────────────────────────────────────

fn sign_in(c: &Call) -> Value {
    match c.user() {
        // Globex's admin with their own name and password, at acme.
        _ if c.who == Who::Other => {
            json!({ "tenant": "acme", "name": c.side().users["admin"].name, "password": PASSWORD })
        }
        Some(user) => json!({ "tenant": "acme", "name": user.name, "password": PASSWORD }),
        None => json!({ "tenant": "acme", "name": "acme-admin", "password": "not the password" }),
    }
}

fn public_note(c: &Call) -> Value {
    let text = format!("{} note by {:?}", c.side().mark, c.who);
    json!({ "edits": [{ "type": "add_note", "text": text }] })
}

fn foreign_file(c: &Call) -> Value {
    let tech = format!("{}-tech", c.foreign().name);
    json!({ "toml": tenant_file(c.side().name, &tech) })
}

// ── Checks of successful answers ────────────────────────────────────────────────────────────

fn items(a: &Answer) -> Result<&Vec<Value>, String> {
    a.json["items"]
        .as_array()
        .ok_or_else(|| format!("no items: {}", a.json))
}

fn whoami(c: &Call, a: &Answer) -> Result<(), String> {
    let me = c.user().map(|u| u.id.as_str());
    (a.json["user"]["id"].as_str() == me)
        .then_some(())
        .ok_or_else(|| format!("signed in as someone else: {}", a.json))
}

fn is_ticket(a: &Answer, id: &str) -> Result<(), String> {
    (a.json["id"].as_str() == Some(id))
        .then_some(())
        .ok_or_else(|| format!("another ticket: {}", a.json["id"]))
}

/// The list holds exactly the tickets the caller may see that `pred` keeps, and counts them.
fn tickets_where(c: &Call, a: &Answer, pred: impl Fn(&Known) -> bool) -> Result<(), String> {
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

fn users_listed(c: &Call, a: &Answer) -> Result<(), String> {
    let got: BTreeSet<&str> = items(a)?.iter().filter_map(|u| u["id"].as_str()).collect();
    let want = c.side().user_ids();
    (got == want)
        .then_some(())
        .ok_or_else(|| format!("users {got:?}, expected the tenant's {want:?}"))
}

fn workers_listed(c: &Call, a: &Answer) -> Result<(), String> {
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

fn suggested(c: &Call, a: &Answer) -> Result<(), String> {
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

fn board(c: &Call, a: &Answer) -> Result<(), String> {
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
fn reported(c: &Call, a: &Answer) -> Result<(), String> {
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

fn rating_link(_: &Call, a: &Answer) -> Result<(), String> {
    let token = a.json["token"].as_str().unwrap_or("");
    (token.starts_with("fwr_") && a.json["path"] == format!("/csat/{token}"))
        .then_some(())
        .ok_or_else(|| format!("not a rating link: {}", a.json))
}

fn valid(a: &Answer, expected: bool) -> Result<(), String> {
    (a.json["valid"] == expected)
        .then_some(())
        .ok_or_else(|| format!("valid should be {expected}: {}", a.json))
}

fn audited(c: &Call, a: &Answer) -> Result<(), String> {
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

fn is_csv(a: &Answer) -> bool {
    a.reply
        .headers
        .get("content-type")
        .is_some_and(|v| v.as_bytes().starts_with(b"text/csv"))
}

fn audited_csv(c: &Call, a: &Answer) -> Result<(), String> {
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
fn only_if_own(_: &Call, a: &Answer, own: bool) -> Result<(), String> {
    let items = items(a)?;
    (items.is_empty() != own).then_some(()).ok_or_else(|| {
        format!(
            "expected {} changes: {items:?}",
            if own { "some" } else { "no" }
        )
    })
}

// ── The world: two tenants and what is known of their tickets ───────────────────────────────

/// A ticket as the test knows it, to say who may see it.
#[derive(Debug, Clone)]
struct Known {
    id: String,
    tenant: &'static str,
    reporter: String,
    assignee: Option<String>,
    team: Option<String>,
    tags: BTreeSet<String>,
}

/// One tenant's fixture.
struct Side {
    name: &'static str,
    /// In every text of the tenant.
    mark: &'static str,
    /// In every internal note and tag of the tenant (staff data).
    internal: &'static str,
    tenant_id: String,
    users: BTreeMap<&'static str, User>,
    teams: HashMap<String, String>,
    file: String,
    photo: Vec<u8>,
    photo_sha: String,
    rider_ticket: String,
    merchant_ticket: String,
    staff_ticket: String,
    /// Device tokens of its phones (never to be shown to anyone).
    device_tokens: Vec<String>,
}

impl Side {
    fn user_ids(&self) -> BTreeSet<&str> {
        self.users.values().map(|u| u.id.as_str()).collect()
    }

    fn ticket_ids<'a>(&self, world: &'a World) -> BTreeSet<&'a str> {
        world
            .tickets
            .iter()
            .filter(|t| t.tenant == self.name)
            .map(|t| t.id.as_str())
            .collect()
    }

    fn is_own(&self, c: &Call) -> bool {
        c.side().name == self.name
    }

    /// What of this tenant nobody of another may ever be shown (lowercase words, and bytes).
    fn secrets(&self, world: &World) -> (Vec<String>, Vec<Vec<u8>>) {
        let mut words = vec![self.name.to_owned(), self.tenant_id.clone()];
        for user in self.users.values() {
            words.push(user.id.clone());
            words.push(user.api_token.to_ascii_lowercase());
        }
        words.extend(self.ticket_ids(world).into_iter().map(str::to_owned));
        words.extend(self.device_tokens.iter().map(|t| t.to_ascii_lowercase()));
        words.push(sha256(self.file.as_bytes()));
        (words, vec![self.photo[..64].to_vec()])
    }
}

struct World {
    acme: Side,
    globex: Side,
    tickets: Vec<Known>,
}

impl World {
    fn value(&self, key: &str, call: &Call) -> String {
        if key == "self" {
            return call.user().unwrap_or(&self.acme.users["admin"]).id.clone();
        }
        if key == "nothing" {
            return NOTHING.to_owned();
        }
        let (tenant, what) = key.split_once('.').expect("<tenant.key>");
        let side = match tenant {
            "acme" => &self.acme,
            "globex" => &self.globex,
            other => panic!("no tenant {other} in <{key}>"),
        };
        match what {
            "rider_ticket" => side.rider_ticket.clone(),
            "merchant_ticket" => side.merchant_ticket.clone(),
            "staff_ticket" => side.staff_ticket.clone(),
            "photo" => side.photo_sha.clone(),
            user => side
                .users
                .get(user)
                .unwrap_or_else(|| panic!("no fixture <{key}>"))
                .id
                .clone(),
        }
    }

    /// `path` with its `<fixture>` values filled in for `call`.
    fn fill(&self, path: &str, call: &Call) -> String {
        let mut out = String::new();
        let mut rest = path;
        while let Some(start) = rest.find('<') {
            out.push_str(&rest[..start]);
            let end = rest[start..].find('>').expect("a closing >") + start;
            out.push_str(&self.value(&rest[start + 1..end], call));
            rest = &rest[end + 1..];
        }
        out.push_str(rest);
        out
    }

    /// Takes in a ticket an answer showed (`POST /tickets`, an edit): who may see it now.
    fn learn(&mut self, tenant: &'static str, json: &Value) {
        let (Some(id), Some(reporter)) =
            (json["id"].as_str(), json["reporter"]["user_id"].as_str())
        else {
            return;
        };
        let assignee = json["assignee"].as_str().map(str::to_owned);
        let team = json["team"].as_str().map(str::to_owned);
        let tags: BTreeSet<String> = json["tags"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|t| t.as_str().map(str::to_owned))
            .collect();
        match self.tickets.iter_mut().find(|t| t.id == id) {
            Some(known) => {
                known.assignee = assignee;
                known.team = team;
                if !tags.is_empty() {
                    known.tags = tags;
                }
            }
            None => self.tickets.push(Known {
                id: id.to_owned(),
                tenant,
                reporter: reporter.to_owned(),
                assignee,
                team,
                tags,
            }),
        }
    }
}

/// One column's view of the world.
struct Call<'a> {
    world: &'a World,
    who: Who,
}

impl<'a> Call<'a> {
    /// The caller's tenant.
    fn side(&self) -> &'a Side {
        match self.who {
            Who::Other => &self.world.globex,
            _ => &self.world.acme,
        }
    }

    /// The other tenant.
    fn foreign(&self) -> &'a Side {
        match self.who {
            Who::Other => &self.world.acme,
            _ => &self.world.globex,
        }
    }

    fn user(&self) -> Option<&'a User> {
        self.who.key().map(|key| &self.side().users[key])
    }

    /// `core::rules::sees`, restated: whether the caller may see `t`.
    fn sees(&self, t: &Known) -> bool {
        let (Some(me), Some(role)) = (self.user(), self.who.role()) else {
            return false;
        };
        if t.tenant != self.side().name {
            return false;
        }
        match role {
            Role::Rider | Role::Merchant => t.reporter == me.id,
            Role::Technician => {
                t.reporter == me.id
                    || t.assignee.as_deref() == Some(me.id.as_str())
                    || (t.assignee.is_none()
                        && t.team.is_some()
                        && t.team.as_ref() == self.side().teams.get(&me.id))
            }
            _ => true,
        }
    }

    /// What the caller must never be shown: the other tenant's secrets, and for riders and
    /// merchants their own tenant's staff data.
    fn secrets(&self) -> (Vec<String>, Vec<Vec<u8>>) {
        let (mut words, bytes) = self.foreign().secrets(self.world);
        if matches!(self.who, Who::Rider | Who::Merchant) {
            words.push(self.side().internal.to_ascii_lowercase());
        }
        (words, bytes)
    }
}

/// A tenant file: a team "north" that takes only a category no ticket has (so the brain never
/// routes by itself), its technician and the twin, an SLA policy for every ticket, and a rule
/// with a webhook on every new ticket.
fn tenant_file(tenant: &str, tech: &str) -> String {
    let mark = tenant.to_ascii_uppercase();
    format!(
        r#"# {mark}-SECRET tenant file of {tenant}
[[teams]]
name = "north"
categories = ["{tenant}-never"]
chooser = "nearest"

[[technicians]]
user = "{tech}"
team = "north"
home = [31.2304, 121.4737]

[[technicians]]
user = "twin"
team = "north"
home = [31.30, 121.60]

[[sla_policies]]
name = "standard"
first_response_minutes = 30
resolution_minutes = 240

[[rules]]
name = "{tenant}-hook"
on = "create"
actions = {{ webhook = "https://hooks.{tenant}.example/new" }}
"#
    )
}

/// The people of a tenant: key, role, team. Names are `TENANT-KEY`, but the twin has the same
/// name in both tenants.
const ROSTER: [(&str, Role, Option<&str>); 11] = [
    ("rider", Role::Rider, None),
    ("merchant", Role::Merchant, None),
    ("tech", Role::Technician, Some("north")),
    ("agent", Role::Agent, None),
    ("dispatcher", Role::Dispatcher, None),
    ("supervisor", Role::Supervisor, None),
    ("admin", Role::Admin, None),
    // An admin whose session idles out.
    ("sleeper", Role::Admin, None),
    // An admin disabled by the admin.
    ("gone", Role::Admin, None),
    // Disabled and enabled again and again by the matrix.
    ("spare", Role::Technician, None),
    ("twin", Role::Technician, Some("north")),
];

fn people(
    h: &Harness,
    tenant: &'static str,
) -> (BTreeMap<&'static str, User>, HashMap<String, String>) {
    let mut users = BTreeMap::new();
    let mut teams = HashMap::new();
    for (key, role, team) in ROSTER {
        let name = if key == "twin" {
            "twin".to_owned()
        } else {
            format!("{tenant}-{key}")
        };
        let user = h.user(tenant, &name, role, team);
        if let Some(team) = team {
            teams.insert(user.id.clone(), team.to_owned());
        }
        users.insert(key, user);
    }
    (users, teams)
}

fn ok(answer: Answer, what: &str) -> Value {
    assert!(
        answer.status.is_success(),
        "{what}: {} {}",
        answer.status,
        answer.json
    );
    answer.json
}

/// A tenant's configuration and data: a rider's help request (with a photo, an internal note
/// and a tag, assigned by a dispatcher to the technician), a merchant's fault report, and a
/// dispatcher's ticket in team "north"'s queue (internal note, tag); the brain has decided about
/// the phones' tickets (SLA, webhook).
async fn populate(
    h: &Harness,
    name: &'static str,
    tenant_id: String,
    (users, teams): (BTreeMap<&'static str, User>, HashMap<String, String>),
    seed: u64,
) -> Side {
    let (mark, internal) = match name {
        "acme" => ("ACME-PRIVATE", "ACME-INTERNAL"),
        _ => ("GLOBEX-SECRET", "GLOBEX-INTERNAL"),
    };
    let file = tenant_file(name, &format!("{name}-tech"));
    let admin = Browser::with_token(&users["admin"].api_token);
    let desk = Browser::with_token(&users["dispatcher"].api_token);
    ok(
        admin
            .send(h, "PUT", "/api/v1/config", Some(json!({ "toml": file })))
            .await,
        "configure",
    );

    let mut rider = h.login(&users["rider"]).await;
    let (rider_ticket, created) = rider.create(NewTicket {
        description: format!("{mark} the rider's description"),
        customer: Some(Customer {
            name: Some(format!("{mark} customer")),
            phone: Some("+86 138 0000 0000".into()),
        }),
        note: Some(format!("{mark} the rider's first note")),
        ..NewTicket::titled(TicketKind::HelpRequest, format!("{mark} flat tyre"))
    });
    let pushed = rider.sync(h, &[(&rider_ticket, &created)]).await;
    assert!(pushed.rejected.is_empty(), "{:?}", pushed.rejected);
    let bytes = photo(40_000, seed);
    let photo_sha = sha256(&bytes);
    upload(h, &rider.token, &bytes, &rider_ticket).await;
    attach(h, &mut rider, &rider_ticket, &photo_sha, None).await;

    let mut merchant = h.login(&users["merchant"]).await;
    let (merchant_ticket, created) = merchant.create(NewTicket {
        description: format!("{mark} the merchant's description"),
        ..NewTicket::titled(TicketKind::FaultReport, format!("{mark} printer jam"))
    });
    let pushed = merchant.sync(h, &[(&merchant_ticket, &created)]).await;
    assert!(pushed.rejected.is_empty(), "{:?}", pushed.rejected);

    let made = ok(
        desk.post(
            h,
            "/api/v1/tickets",
            json!({
                "title": format!("{mark} till jammed"),
                "channel": "phone",
                "description": format!("{mark} the caller's description"),
                "customer": { "name": format!("{mark} shop owner"), "phone": "+86 139 0000 0000" },
                "note": format!("{mark} taken on the phone"),
            }),
        )
        .await,
        "a staff ticket",
    );
    let staff_ticket = made["id"].as_str().expect("id").to_owned();
    let tag = format!("{name}-internal-tag");
    ok(
        desk.post(
            h,
            &format!("/api/v1/tickets/{staff_ticket}/edits"),
            json!({ "edits": [
                { "type": "set_team", "team": "north" },
                { "type": "add_tag", "tag": tag },
                { "type": "add_note", "internal": true, "text": format!("{internal} staff only") },
            ] }),
        )
        .await,
        "staff edits",
    );
    ok(
        desk.post(
            h,
            &format!("/api/v1/tickets/{rider_ticket}/edits"),
            json!({ "edits": [
                { "type": "set_team", "team": "north" },
                { "type": "assign", "assignee": users["tech"].id },
                { "type": "add_tag", "tag": tag },
                { "type": "add_note", "internal": true, "text": format!("{internal} rider") },
                { "type": "add_note", "text": format!("{mark} on our way") },
            ] }),
        )
        .await,
        "the assignment",
    );
    for id in [&rider_ticket, &merchant_ticket] {
        decide_now(&h.state, &tenant_id, id).await;
    }
    // The twin fixes the merchant's printer: resolved, so it may be rated through a link.
    ok(
        desk.post(
            h,
            &format!("/api/v1/tickets/{merchant_ticket}/edits"),
            json!({ "edits": [
                { "type": "assign", "assignee": users["twin"].id },
                { "type": "set_status", "status": "accepted" },
                { "type": "set_status", "status": "in_progress" },
                { "type": "set_status", "status": "resolved" },
            ] }),
        )
        .await,
        "the resolution",
    );
    Side {
        name,
        mark,
        internal,
        tenant_id,
        users,
        teams,
        file,
        photo: bytes,
        photo_sha,
        rider_ticket,
        merchant_ticket,
        staff_ticket,
        device_tokens: vec![rider.token.clone(), merchant.token.clone()],
    }
}

fn harness(clock: Arc<ManualClock>) -> Harness {
    Harness::with_config(clock, |config| {
        config.logins.refusal_delay = std::time::Duration::ZERO;
        // Wrong passwords are part of the matrix; the limits are tested in api_session.rs.
        config.logins.per_account.free_attempts = 10_000;
        config.logins.per_address.free_attempts = 10_000;
    })
}

// ── Leaks and answers ───────────────────────────────────────────────────────────────────────

/// The secrets in `body` that the request did not carry itself.
fn leaks(body: &[u8], request: &str, (words, bytes): &(Vec<String>, Vec<Vec<u8>>)) -> Vec<String> {
    let text = String::from_utf8_lossy(body).to_ascii_lowercase();
    let request = request.to_ascii_lowercase();
    let mut found: Vec<String> = words
        .iter()
        .filter(|w| text.contains(w.as_str()) && !request.contains(w.as_str()))
        .cloned()
        .collect();
    for needle in bytes {
        if body.windows(needle.len()).any(|w| w == needle.as_slice()) {
            found.push(format!("{} bytes of a photo", needle.len()));
        }
    }
    found
}

/// Whether an error answer has the API's shape and the code that goes with its status.
fn error_shape(a: &Answer) -> Result<(), String> {
    let json_type = a
        .reply
        .headers
        .get("content-type")
        .is_some_and(|v| v.as_bytes() == b"application/json");
    let code = a.json["error"]["code"].as_str().unwrap_or("");
    let fits = match a.status.as_u16() {
        400 => code == "bad_request",
        401 => code == "unauthorized" || code == "bad_credentials",
        403 => code == "forbidden" || code == "csrf_failed",
        404 => code == "not_found",
        422 => code == "refused",
        _ => !code.is_empty(),
    };
    (json_type && fits && a.json["error"]["message"].is_string())
        .then_some(())
        .ok_or_else(|| format!("not the API's error shape for {}: {}", a.status, a.json))
}

fn excerpt(a: &Answer) -> String {
    let text = String::from_utf8_lossy(&a.reply.body);
    text.chars().take(300).collect()
}

/// Everything set up: the harness, the world and every column's credentials.
async fn setup() -> (Harness, World, Vec<Cred>) {
    let clock = Arc::new(ManualClock::at(T0));
    let h = harness(clock.clone());
    let acme_id = h.tenant("acme");
    let acme_people = people(&h, "acme");
    let globex_id = h.tenant("globex");
    let globex_people = people(&h, "globex");

    // Acme's sleeper signs in, then nine hours pass with no use: the session idles out.
    // Everything else happens after, so no other session is near its end and the SLA clocks
    // run from now.
    let (idle, _) = Browser::sign_in(&h, "acme", "acme-sleeper", PASSWORD).await;
    assert!(idle.session.is_some(), "the sleeper signs in");
    clock.advance(9 * HOUR);
    let (ended, _) = Browser::sign_in(&h, "acme", "acme-sleeper", PASSWORD).await;
    let out = ended.send(&h, "DELETE", "/api/v1/session", None).await;
    assert_eq!(out.status, StatusCode::NO_CONTENT);

    let globex = populate(&h, "globex", globex_id, globex_people, 7).await;
    let mut acme = populate(&h, "acme", acme_id, acme_people, 11).await;

    // Acme's merchant names globex's photo in an attachment of their own ticket (a forged
    // attach: they never uploaded it). The server may refuse it; either way its bytes stay
    // globex's. (So the hash itself is no secret of globex's; its bytes are.)
    let mut merchant = h.login(&acme.users["merchant"]).await;
    merchant.pull_all(&h).await;
    let change = merchant.edit(
        &acme.merchant_ticket,
        Edit::Attach {
            attachment: NewAttachment {
                sha256: globex.photo_sha.clone(),
                thumb: None,
                mime: "image/jpeg".into(),
                bytes: 40_000,
                width: 640,
                height: 480,
                captured_at: None,
                location: None,
            },
        },
    );
    let forged = merchant
        .sync(&h, &[(acme.merchant_ticket.as_str(), &change)])
        .await;
    println!(
        "forged attach of globex's photo by acme's merchant: {}",
        if forged.rejected.is_empty() {
            "stored".to_owned()
        } else {
            format!("refused ({:?})", forged.rejected)
        }
    );
    acme.device_tokens.push(merchant.token.clone());

    // Acme's admin disables "gone", who had a session and has a token.
    let (gone_session, _) = Browser::sign_in(&h, "acme", "acme-gone", PASSWORD).await;
    assert!(gone_session.session.is_some());
    let root = Browser::with_token(&acme.users["admin"].api_token);
    let disabled = root
        .post(
            &h,
            &format!("/api/v1/users/{}/disable", acme.users["gone"].id),
            json!({}),
        )
        .await;
    assert_eq!(disabled.status, StatusCode::OK, "{}", disabled.json);

    // A rating link's token (for its page only) for acme's merchant.
    let link = root
        .post(
            &h,
            &format!("/api/v1/tickets/{}/csat-link", acme.merchant_ticket),
            json!({}),
        )
        .await;
    assert_eq!(link.status, StatusCode::CREATED, "{}", link.json);
    let link_token = link.json["token"].as_str().expect("a token").to_owned();

    // A device token (for sync only) of acme's admin.
    let phone = h.login(&acme.users["admin"]).await;
    acme.device_tokens.push(phone.token.clone());

    let mut creds = Vec::new();
    for who in WHO {
        let side = if who == Who::Other { &globex } else { &acme };
        match who {
            Who::NoAuth => {
                creds.push(Cred {
                    who,
                    label: "no credentials",
                    pass: 1,
                    browser: Browser::default(),
                    token: false,
                    fresh: None,
                });
                let made_up = Browser::with_token(&format!("fwu_{}", "0".repeat(64)));
                let link = Browser::with_token(&link_token);
                let device = Browser::with_token(&phone.token);
                let cookie = Browser {
                    session: Some(format!("fws_{}", "0".repeat(64))),
                    csrf: Some("0".repeat(64)),
                    ..Browser::default()
                };
                for (label, browser, token) in [
                    ("a made-up token", made_up, true),
                    ("a device token", device, true),
                    ("a rating link's token", link, true),
                    ("a made-up session", cookie, false),
                ] {
                    creds.push(Cred {
                        who,
                        label,
                        pass: 2,
                        browser,
                        token,
                        fresh: None,
                    });
                }
            }
            Who::Expired => {
                for (label, pass, browser) in [
                    ("an idle session", 1, idle.clone()),
                    ("a signed-out session", 2, ended.clone()),
                ] {
                    creds.push(Cred {
                        who,
                        label,
                        pass,
                        browser,
                        token: false,
                        fresh: None,
                    });
                }
            }
            Who::Disabled => {
                let token = Browser::with_token(&acme.users["gone"].api_token);
                creds.push(Cred {
                    who,
                    label: "their session",
                    pass: 1,
                    browser: gone_session.clone(),
                    token: false,
                    fresh: None,
                });
                creds.push(Cred {
                    who,
                    label: "their token",
                    pass: 2,
                    browser: token,
                    token: true,
                    fresh: None,
                });
            }
            _ => {
                let user = &side.users[who.key().expect("a user")];
                let (session, opened) = Browser::sign_in(&h, side.name, &user.name, PASSWORD).await;
                assert_eq!(opened.status, StatusCode::CREATED, "{}", opened.json);
                creds.push(Cred {
                    who,
                    label: "a session",
                    pass: 1,
                    browser: session,
                    token: false,
                    fresh: Some((side.name, user.name.clone())),
                });
                creds.push(Cred {
                    who,
                    label: "a token",
                    pass: 2,
                    browser: Browser::with_token(&user.api_token),
                    token: true,
                    fresh: None,
                });
            }
        }
    }

    let mut world = World {
        acme,
        globex,
        tickets: Vec::new(),
    };
    // Each tenant's tickets as its admin reads them now, after the brain.
    for who in [Who::Admin, Who::Other] {
        let call = Call { world: &world, who };
        let (name, admin) = (
            call.side().name,
            Browser::with_token(&call.side().users["admin"].api_token),
        );
        let ids = [
            call.side().rider_ticket.clone(),
            call.side().merchant_ticket.clone(),
            call.side().staff_ticket.clone(),
        ];
        for id in ids {
            let json = ok(
                admin.get(&h, &format!("/api/v1/tickets/{id}")).await,
                "read",
            );
            world.learn(name, &json);
        }
    }
    (h, world, creds)
}

// ── The tests ───────────────────────────────────────────────────────────────────────────────

/// The scan is not blind: what globex's admin is shown of globex holds globex's secrets as
/// acme's callers would look for them, and acme's staff see the internal notes its riders must
/// not.
async fn scanner_finds_what_it_looks_for(h: &Harness, world: &World) {
    let acme_view = Call {
        world,
        who: Who::Rider,
    };
    let globex = Browser::with_token(&world.globex.users["admin"].api_token);
    let ticket = globex
        .get(h, &format!("/api/v1/tickets/{}", world.globex.rider_ticket))
        .await;
    let found = leaks(&ticket.reply.body, "", &acme_view.secrets());
    for secret in [
        "globex",
        world.globex.rider_ticket.as_str(),
        world.globex.users["rider"].id.as_str(),
    ] {
        assert!(found.iter().any(|f| f == secret), "{secret} in {found:?}");
    }
    let file = globex
        .get(h, &format!("/api/v1/files/{}", world.globex.photo_sha))
        .await;
    assert_eq!(file.status, StatusCode::OK);
    assert!(
        !leaks(&file.reply.body, "", &acme_view.secrets()).is_empty(),
        "the photo's bytes are found"
    );
    let acme = Browser::with_token(&world.acme.users["admin"].api_token);
    let staff_view = acme
        .get(h, &format!("/api/v1/tickets/{}", world.acme.rider_ticket))
        .await;
    assert!(
        leaks(&staff_view.reply.body, "", &acme_view.secrets())
            .contains(&"acme-internal".to_owned()),
        "staff see the internal note and tag: {}",
        staff_view.json
    );
}

/// The operations of the OpenAPI document, as `METHOD /path`.
async fn documented(h: &Harness) -> BTreeSet<String> {
    let doc = Browser::default().get(h, "/api/v1/openapi.json").await;
    assert_eq!(doc.status, StatusCode::OK);
    let mut ops = BTreeSet::new();
    for (path, item) in doc.json["paths"].as_object().expect("paths") {
        for method in [
            "get", "put", "post", "delete", "patch", "head", "options", "trace",
        ] {
            if item.get(method).is_some() {
                ops.insert(format!("{} {path}", method.to_ascii_uppercase()));
            }
        }
    }
    ops
}

#[tokio::test]
async fn every_documented_operation_has_a_row() {
    let h = harness(Arc::new(ManualClock::at(T0)));
    let documented = documented(&h).await;
    let covered: BTreeSet<String> = rows().iter().map(|r| r.op.to_owned()).collect();
    let missing: Vec<&String> = documented.difference(&covered).collect();
    let stale: Vec<&String> = covered.difference(&documented).collect();
    assert!(
        missing.is_empty() && stale.is_empty(),
        "the isolation matrix (server/tests/api_isolation.rs, fn rows) must cover exactly the \
         OpenAPI document's operations.\n  in the document without a row: {missing:?}\n  rows \
         for no documented operation: {stale:?}\nAdd a row per operation with the status every \
         kind of caller must get (see the module's documentation)."
    );
}

#[tokio::test]
async fn every_operation_answers_each_kind_of_caller_exactly_and_leaks_nothing_across_tenants() {
    let started = Instant::now();
    let (h, mut world, creds) = setup().await;
    let set_up = started.elapsed();
    let documented = documented(&h).await;
    scanner_finds_what_it_looks_for(&h, &world).await;
    let open: BTreeSet<&str> = ["POST /session"].into_iter().collect();
    let rows = rows();
    let mut failures: Vec<String> = Vec::new();
    let mut calls = 0usize;

    for pass in [1, 2] {
        for row in &rows {
            let method = row.method();
            for cred in creds.iter().filter(|c| c.pass == pass) {
                let (answer, tenant) = {
                    let call = Call {
                        world: &world,
                        who: cred.who,
                    };
                    let path = format!("/api/v1{}", world.fill(row.path, &call));
                    let body = row.body.map(|f| f(&call));
                    let browser = match &cred.fresh {
                        Some((tenant, name)) if row.fresh_session => {
                            let (fresh, opened) =
                                Browser::sign_in(&h, tenant, name, PASSWORD).await;
                            assert_eq!(opened.status, StatusCode::CREATED, "{}", opened.json);
                            fresh
                        }
                        _ => cred.browser.clone(),
                    };
                    let answer = browser.send(&h, method, &path, body.clone()).await;
                    calls += 1;
                    let request = format!(
                        "{path} {}",
                        body.as_ref().map(Value::to_string).unwrap_or_default()
                    );
                    let want = if cred.token {
                        row.by_token.unwrap_or(row.expect)
                    } else {
                        row.expect
                    }[cred.who.index()];
                    let whose = format!("{method} {path} as {:?} with {}", cred.who, cred.label);
                    if answer.status.as_u16() != want {
                        failures.push(format!(
                            "{whose}: expected {want}, got {} {}",
                            answer.status,
                            excerpt(&answer)
                        ));
                    } else if answer.status.is_success() {
                        if let Some(check) = row.check
                            && let Err(problem) = check(&call, &answer)
                        {
                            failures.push(format!("{whose}: {problem}"));
                        }
                    } else if let Err(problem) = error_shape(&answer) {
                        failures.push(format!("{whose}: {problem}"));
                    }
                    let leaked = leaks(&answer.reply.body, &request, &call.secrets());
                    if !leaked.is_empty() {
                        failures.push(format!(
                            "{whose}: LEAK of {leaked:?} in {} {}",
                            answer.status,
                            excerpt(&answer)
                        ));
                    }
                    (answer, call.side().name)
                };
                if answer.status.is_success() {
                    world.learn(tenant, &answer.json);
                }
            }
            // A write with a session but without its CSRF token: refused, nothing written.
            let writes = !matches!(method, "GET" | "HEAD");
            if pass == 1 && writes && !open.contains(row.op) {
                let admin = creds
                    .iter()
                    .find(|c| c.who == Who::Admin && !c.token)
                    .expect("the admin's session");
                let call = Call {
                    world: &world,
                    who: Who::Admin,
                };
                let path = format!("/api/v1{}", world.fill(row.path, &call));
                let forged = Browser {
                    forget_csrf: true,
                    ..admin.browser.clone()
                };
                let answer = forged
                    .send(&h, method, &path, row.body.map(|f| f(&call)))
                    .await;
                calls += 1;
                let code = answer.json["error"]["code"].as_str().unwrap_or("");
                if (answer.status, code) != (StatusCode::FORBIDDEN, "csrf_failed") {
                    failures.push(format!(
                        "{method} {path} with a session but no CSRF token: got {} {}",
                        answer.status,
                        excerpt(&answer)
                    ));
                }
            }
        }
    }

    // Afterwards each tenant's admin reads everything of theirs: every ticket the test knows
    // of and no other, and none holding anything of the other tenant (no write crossed over).
    for who in [Who::Admin, Who::Other] {
        let call = Call { world: &world, who };
        let admin = Browser::with_token(&call.side().users["admin"].api_token);
        let secrets = call.secrets();
        let list = admin.get(&h, "/api/v1/tickets?limit=200").await;
        if let Err(problem) = tickets_where(&call, &list, |_| true) {
            failures.push(format!("afterwards, {who:?}'s tickets: {problem}"));
        }
        let mut paths: Vec<String> = call
            .side()
            .ticket_ids(&world)
            .into_iter()
            .map(|id| format!("/api/v1/tickets/{id}"))
            .collect();
        paths.extend(
            [
                "/users",
                "/technicians",
                "/sla/board?within=10080",
                "/config",
                "/config/history",
                "/webhooks/deliveries",
                "/audit/changes?limit=1000",
                "/audit/changes?limit=1000&format=csv",
                "/audit/settings",
                "/audit/settings?format=csv",
            ]
            .map(|p| format!("/api/v1{p}")),
        );
        for path in paths {
            let answer = admin.get(&h, &path).await;
            calls += 1;
            if answer.status != StatusCode::OK {
                failures.push(format!("afterwards, {path} as {who:?}: {}", answer.status));
            }
            let leaked = leaks(&answer.reply.body, &path, &secrets);
            if !leaked.is_empty() {
                failures.push(format!(
                    "afterwards, {path} as {who:?}: LEAK of {leaked:?} in {}",
                    excerpt(&answer)
                ));
            }
        }
    }

    // A rating link's page, as the reporter opens it: nothing of the other tenant, no staff data.
    for who in [Who::Merchant, Who::Other] {
        let call = Call { world: &world, who };
        let agent = Browser::with_token(&call.side().users["agent"].api_token);
        let link = agent
            .post(
                &h,
                &format!("/api/v1/tickets/{}/csat-link", call.side().merchant_ticket),
                json!({}),
            )
            .await;
        let Some(page) = link.json["path"].as_str() else {
            failures.push(format!("no rating link for {who:?}: {}", link.json));
            continue;
        };
        let answer = Browser::default().get(&h, page).await;
        calls += 2;
        let mut secrets = call.secrets();
        secrets.0.push(call.side().internal.to_ascii_lowercase());
        let leaked = leaks(&answer.reply.body, page, &secrets);
        if answer.status != StatusCode::OK || !leaked.is_empty() {
            failures.push(format!(
                "the rating page of {who:?}'s link: {} leaking {leaked:?}",
                answer.status
            ));
        }
    }

    let ops: BTreeSet<&str> = rows.iter().map(|r| r.op).collect();
    println!(
        "isolation matrix: {} rows ({} of {} documented operations) × {} columns ({} credentials): \
         {calls} calls; set up in {:.1?}, all in {:.1?}",
        rows.len(),
        ops.iter().filter(|op| documented.contains(**op)).count(),
        documented.len(),
        WHO.len(),
        creds.len(),
        set_up,
        started.elapsed()
    );
    assert!(
        failures.is_empty(),
        "{} of the matrix's answers are wrong:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
