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

mod checks;
mod rows;
#[path = "../support/mod.rs"]
mod support;
mod world;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Instant;

use axum::http::StatusCode;
use fieldwork_core::Role;
use fieldwork_core::clock::ManualClock;
use serde_json::{Value, json};
use support::api::{Answer, Browser};
use support::{Harness, PASSWORD};

use checks::*;
use rows::*;
use world::*;

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
