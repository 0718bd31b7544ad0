//! The matrix: one row per documented operation and scenario, and the answer each kind of caller
//! must get (what a successful answer must hold is in `checks.rs`).

use crate::support::PASSWORD;
use serde_json::json;

use super::checks::*;
use super::*;

/// One call of the matrix and the answer each column must get.
pub(crate) struct Row {
    /// The operation as the OpenAPI document names it: `METHOD /path/{param}`.
    pub(crate) op: &'static str,
    /// The path under `/api/v1`, with `<fixture>` values.
    pub(crate) path: &'static str,
    /// The status per column, in the order of [`WHO`].
    pub(crate) expect: [u16; 11],
    /// The status per column for bearer tokens, where it differs from a session's.
    pub(crate) by_token: Option<[u16; 11]>,
    pub(crate) body: Option<Body>,
    pub(crate) check: Option<Check>,
    /// The call ends the session it is made with: live sessions sign in anew for it.
    pub(crate) fresh_session: bool,
}

pub(crate) fn row(op: &'static str, path: &'static str, expect: [u16; 11]) -> Row {
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
    pub(crate) fn body(mut self, body: Body) -> Row {
        self.body = Some(body);
        self
    }

    pub(crate) fn check(mut self, check: Check) -> Row {
        self.check = Some(check);
        self
    }

    pub(crate) fn by_token(mut self, expect: [u16; 11]) -> Row {
        self.by_token = Some(expect);
        self
    }

    pub(crate) fn fresh_session(mut self) -> Row {
        self.fresh_session = true;
        self
    }

    pub(crate) fn method(&self) -> &'static str {
        self.op.split_once(' ').expect("METHOD /path").0
    }
}

/// The answers of the eight signed-in columns (other tenant's admin, rider, merchant,
/// technician, agent, dispatcher, supervisor, admin); nobody, an expired session and a disabled
/// user get `401`.
pub(crate) fn auth(live: [u16; 8]) -> [u16; 11] {
    let mut all = [401; 11];
    all[..8].copy_from_slice(&live);
    all
}

/// A 640×480 PNG, for the rows that send a picture.
const TINY_PNG: &str = "iVBORw0KGgoAAAANSUhEUgAAAoAAAAHgAQMAAAAPH06nAAAABlBMVEVgltLIeCgyZ4nLAAAAe0lEQVR42u3MoQEAAAjDsP3/NLhdAC6pbwIAAAAAAAAAAAAAAAAAAAAAAAC8meMMDQ0NDQ0NDQ0NDQ0NDQ0NDQ0NDQ0NDQ0NDQ0NDQ0NDQ0NDQ0NDQ0NDQ0NDQ0NDQ0NDQ0NDQ0NDQ0NDQ0NDQ0NDQ0NDQ0NDQ0NDQ3bApEWXKyqIi2oAAAAAElFTkSuQmCC";

/// The matrix. Columns: other tenant's admin, rider, merchant, technician, agent, dispatcher,
/// supervisor, admin (then nobody, expired, disabled: `401` through [`auth`]).
pub(crate) fn rows() -> Vec<Row> {
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
            "GET /tickets/{id}/sla",
            "/tickets/<acme.staff_ticket>/sla",
            auth([404, 403, 403, 403, 200, 200, 200, 200]),
        ),
        row(
            "GET /tickets/{id}/sla",
            "/tickets/<globex.staff_ticket>/sla",
            auth([200, 403, 403, 403, 404, 404, 404, 404]),
        ),
        // ── Knowledge base (staff read; the back office writes; supervisors, admins publish) ──
        row(
            "GET /kb/articles",
            "/kb/articles",
            auth([200, 403, 403, 200, 200, 200, 200, 200]),
        ),
        row(
            "POST /kb/articles",
            "/kb/articles",
            auth([201, 403, 403, 403, 201, 201, 201, 201]),
        )
        .body(|_| json!({ "title": "Printer jams", "body": "Open the tray.", "language": "en", "audience": "everyone" })),
        row(
            "GET /kb/articles/{id}",
            "/kb/articles/<acme.article>",
            auth([404, 403, 403, 200, 200, 200, 200, 200]),
        ),
        row(
            "GET /kb/articles/{id}",
            "/kb/articles/<globex.article>",
            auth([200, 403, 403, 404, 404, 404, 404, 404]),
        ),
        row(
            "PUT /kb/articles/{id}",
            "/kb/articles/<acme.article>",
            auth([404, 403, 403, 403, 200, 200, 200, 200]),
        )
        .body(|_| json!({ "title": "Fridge fix", "body": "Clean the filter, then wait.", "language": "en", "audience": "staff" })),
        row(
            "POST /kb/articles/{id}/publish",
            "/kb/articles/<acme.article>/publish",
            auth([404, 403, 403, 403, 403, 403, 200, 200]),
        ),
        // No article of this id anywhere: unpublishing one is refused or not found.
        row(
            "POST /kb/articles/{id}/unpublish",
            "/kb/articles/00000000-0000-7000-8000-000000000000/unpublish",
            auth([404, 403, 403, 403, 403, 403, 404, 404]),
        ),
        // Articles for a ticket: staff who see the ticket (the technician it is assigned to).
        row(
            "GET /tickets/{id}/articles",
            "/tickets/<acme.staff_ticket>/articles",
            auth([404, 403, 403, 200, 200, 200, 200, 200]),
        ),
        row(
            "GET /tickets/{id}/articles",
            "/tickets/<globex.staff_ticket>/articles",
            auth([200, 403, 403, 404, 404, 404, 404, 404]),
        ),
        // A picture for articles: the back office adds them, into its own tenant's blobs.
        row(
            "POST /kb/images",
            "/kb/images",
            auth([201, 403, 403, 403, 201, 201, 201, 201]),
        )
        .body(|_| json!({ "name": "tray.png", "data": TINY_PNG })),
        // ── Intake channels (admins) ──
        row(
            "GET /channels",
            "/channels",
            auth([200, 403, 403, 403, 403, 403, 403, 200]),
        ),
        row(
            "POST /channels",
            "/channels",
            auth([201, 403, 403, 403, 403, 403, 403, 201]),
        )
        .body(|_| json!({ "kind": "iot", "name": "Freezer alarms" })),
        // A channel of no tenant (or the other's): nothing to revoke.
        row(
            "DELETE /channels/{id}",
            "/channels/00000000-0000-7000-8000-000000000000",
            auth([404, 403, 403, 403, 403, 403, 403, 404]),
        ),
        // ── Assets (staff read; dispatchers, supervisors and admins import) ──
        row(
            "GET /assets",
            "/assets",
            auth([200, 403, 403, 200, 200, 200, 200, 200]),
        )
        .check(|c, a| {
            let serials: Vec<&str> = a.json["items"]
                .as_array()
                .map(|items| items.iter().filter_map(|i| i["serial"].as_str()).collect())
                .unwrap_or_default();
            // Its own machine (and NEW-1 once an import row has run); the other tenant's never
            // (the leak scan).
            if serials.contains(&c.side().asset.as_str()) {
                Ok(())
            } else {
                Err(format!("listed {serials:?}"))
            }
        }),
        row(
            "GET /assets/{serial}",
            "/assets/<acme.asset>",
            auth([404, 403, 403, 200, 200, 200, 200, 200]),
        ),
        row(
            "GET /assets/{serial}",
            "/assets/<globex.asset>",
            auth([200, 403, 403, 404, 404, 404, 404, 404]),
        ),
        row(
            "POST /assets/import",
            "/assets/import",
            auth([200, 403, 403, 403, 403, 200, 200, 200]),
        )
        .body(|_| json!({ "csv": "serial,model\nNEW-1,Oven\n" }))
        .check(|_, a| {
            if a.json["imported"] == 1 {
                Ok(())
            } else {
                Err(format!("imported {}", a.json))
            }
        }),
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
        // Saved views: each caller's own (what one person's views hold is in api_views.rs).
        row(
            "GET /views",
            "/views",
            auth([200, 403, 403, 403, 200, 200, 200, 200]),
        ),
        row(
            "POST /views",
            "/views",
            auth([201, 403, 403, 403, 201, 201, 201, 201]),
        )
        .body(|c| json!({ "name": format!("{} view", c.side().mark), "query": "status=open" })),
        row(
            "DELETE /views/{id}",
            "/views/no-such-view",
            auth([404, 403, 403, 403, 404, 404, 404, 404]),
        ),
        // The event stream, for as long as it takes to say `ready` (its seq is of the caller's
        // own tenant; what the events name is tested in api_events.rs).
        row(
            "GET /events",
            "/events?seconds=0",
            auth([200, 403, 403, 403, 200, 200, 200, 200]),
        ),
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
