//! The two tenants the matrix runs in: their people, tickets, photo and configuration, what
//! each caller may see of them, and one call as it is made.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use crate::support::api::{Answer, Browser};
use crate::support::tus::{attach, photo, sha256, upload};
use crate::support::{Harness, PASSWORD, User};
use axum::http::StatusCode;
use fieldwork_core::clock::ManualClock;
use fieldwork_core::ticket::{Customer, Edit, NewAttachment, NewTicket};
use fieldwork_core::{Role, TicketKind};
use fieldwork_server::brain::decide_now;
use serde_json::{Value, json};

use super::*;

/// A ticket as the test knows it, to say who may see it.
#[derive(Debug, Clone)]
pub(crate) struct Known {
    pub(crate) id: String,
    pub(crate) tenant: &'static str,
    pub(crate) reporter: String,
    pub(crate) assignee: Option<String>,
    pub(crate) team: Option<String>,
    pub(crate) tags: BTreeSet<String>,
}

/// One tenant's fixture.
pub(crate) struct Side {
    pub(crate) name: &'static str,
    /// In every text of the tenant.
    pub(crate) mark: &'static str,
    /// In every internal note and tag of the tenant (staff data).
    pub(crate) internal: &'static str,
    pub(crate) tenant_id: String,
    pub(crate) users: BTreeMap<&'static str, User>,
    pub(crate) teams: HashMap<String, String>,
    pub(crate) file: String,
    pub(crate) photo: Vec<u8>,
    pub(crate) photo_sha: String,
    /// The serial of its one registered machine.
    pub(crate) asset: String,
    /// Its one knowledge-base article (published, for staff).
    pub(crate) article: String,
    pub(crate) rider_ticket: String,
    pub(crate) merchant_ticket: String,
    pub(crate) staff_ticket: String,
    /// Device tokens of its phones (never to be shown to anyone).
    pub(crate) device_tokens: Vec<String>,
}

impl Side {
    pub(crate) fn user_ids(&self) -> BTreeSet<&str> {
        self.users.values().map(|u| u.id.as_str()).collect()
    }

    pub(crate) fn ticket_ids<'a>(&self, world: &'a World) -> BTreeSet<&'a str> {
        world
            .tickets
            .iter()
            .filter(|t| t.tenant == self.name)
            .map(|t| t.id.as_str())
            .collect()
    }

    pub(crate) fn is_own(&self, c: &Call) -> bool {
        c.side().name == self.name
    }

    /// What of this tenant nobody of another may ever be shown (lowercase words, and bytes).
    pub(crate) fn secrets(&self, world: &World) -> (Vec<String>, Vec<Vec<u8>>) {
        let mut words = vec![self.name.to_owned(), self.tenant_id.clone()];
        for user in self.users.values() {
            words.push(user.id.clone());
            words.push(user.api_token.to_ascii_lowercase());
        }
        words.extend(self.ticket_ids(world).into_iter().map(str::to_owned));
        words.extend(self.device_tokens.iter().map(|t| t.to_ascii_lowercase()));
        words.push(sha256(self.file.as_bytes()));
        words.push(self.asset.to_ascii_lowercase());
        words.push(self.article.clone());
        (words, vec![self.photo[..64].to_vec()])
    }
}

pub(crate) struct World {
    pub(crate) acme: Side,
    pub(crate) globex: Side,
    pub(crate) tickets: Vec<Known>,
}

impl World {
    pub(crate) fn value(&self, key: &str, call: &Call) -> String {
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
            "asset" => side.asset.clone(),
            "article" => side.article.clone(),
            user => side
                .users
                .get(user)
                .unwrap_or_else(|| panic!("no fixture <{key}>"))
                .id
                .clone(),
        }
    }

    /// `path` with its `<fixture>` values filled in for `call`.
    pub(crate) fn fill(&self, path: &str, call: &Call) -> String {
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
    pub(crate) fn learn(&mut self, tenant: &'static str, json: &Value) {
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
pub(crate) struct Call<'a> {
    pub(crate) world: &'a World,
    pub(crate) who: Who,
}

impl<'a> Call<'a> {
    /// The caller's tenant.
    pub(crate) fn side(&self) -> &'a Side {
        match self.who {
            Who::Other => &self.world.globex,
            _ => &self.world.acme,
        }
    }

    /// The other tenant.
    pub(crate) fn foreign(&self) -> &'a Side {
        match self.who {
            Who::Other => &self.world.acme,
            _ => &self.world.globex,
        }
    }

    pub(crate) fn user(&self) -> Option<&'a User> {
        self.who.key().map(|key| &self.side().users[key])
    }

    /// `core::rules::sees`, restated: whether the caller may see `t`.
    pub(crate) fn sees(&self, t: &Known) -> bool {
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
    pub(crate) fn secrets(&self) -> (Vec<String>, Vec<Vec<u8>>) {
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
pub(crate) fn tenant_file(tenant: &str, tech: &str) -> String {
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
pub(crate) const ROSTER: [(&str, Role, Option<&str>); 11] = [
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

pub(crate) fn people(
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

pub(crate) fn ok(answer: Answer, what: &str) -> Value {
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
pub(crate) async fn populate(
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
    let asset = format!("{}-FRIDGE-7", name.to_ascii_uppercase());
    let register = format!("serial,model,owner_name\n{asset},Frigo 300,{mark} owner\n");
    h.admin
        .import_assets(name, register.as_bytes())
        .expect("the asset register");
    let admin = Browser::with_token(&users["admin"].api_token);
    let desk = Browser::with_token(&users["dispatcher"].api_token);
    let written = admin
        .post(
            h,
            "/api/v1/kb/articles",
            json!({"title": format!("{mark} fridge fix"), "body": "Clean the filter.",
                   "language": "en", "audience": "staff"}),
        )
        .await;
    let article = written.json["id"].as_str().expect("an article").to_owned();
    ok(
        admin
            .post(
                h,
                &format!("/api/v1/kb/articles/{article}/publish"),
                json!({}),
            )
            .await,
        "the article's publication",
    );
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
        asset,
        article,
        rider_ticket,
        merchant_ticket,
        staff_ticket,
        device_tokens: vec![rider.token.clone(), merchant.token.clone()],
    }
}

pub(crate) fn harness(clock: Arc<ManualClock>) -> Harness {
    Harness::with_config(clock, |config| {
        config.logins.refusal_delay = std::time::Duration::ZERO;
        // Wrong passwords are part of the matrix; the limits are tested in api_session.rs.
        config.logins.per_account.free_attempts = 10_000;
        config.logins.per_address.free_attempts = 10_000;
    })
}

// ── Leaks and answers ───────────────────────────────────────────────────────────────────────

/// Everything set up: the harness, the world and every column's credentials.
pub(crate) async fn setup() -> (Harness, World, Vec<Cred>) {
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
                name: None,
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
