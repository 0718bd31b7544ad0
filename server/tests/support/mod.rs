//! A server over a real SQLite file in a temp dir, driven through `app()` with `oneshot`, and
//! devices that make changes the way the app does (`TicketDocument::create` / `apply`).

#![allow(dead_code)]

pub mod api;
pub mod tus;

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode};
use fieldwork_core::clock::{Clock, ManualClock, SystemClock};
use fieldwork_core::ticket::{
    ActorId, Change, ChangeHash, Edit, NewTicket, Part, Ticket, TicketDocument,
};
use fieldwork_core::{Actor, Role};
use fieldwork_protocol::sync::{
    self as protocol, ByteBuf, DeviceRegistration, DeviceSession, ErrorBody, LoginRequest,
    PROTOCOL_VERSION, PullItem, PushChange, SyncRequest, SyncResponse,
};
use fieldwork_server::admin::{Admin, NewUser};
use fieldwork_server::config::Quotas;
use fieldwork_server::{AppState, ServerConfig, app};
use serde::de::DeserializeOwned;
use tower::ServiceExt;

pub const PASSWORD: &str = "correct horse battery";

/// A server on a fresh data directory.
pub struct Harness {
    pub dir: tempfile::TempDir,
    pub state: AppState,
    pub app: Router,
    pub admin: Admin,
}

/// An HTTP answer.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Reply {
    /// The CBOR body of a 200 answer.
    pub fn ok<T: DeserializeOwned>(&self) -> T {
        assert_eq!(self.status, StatusCode::OK, "body: {:?}", self.error_body());
        protocol::decode(&self.body).expect("a CBOR answer")
    }

    fn error_body(&self) -> Option<ErrorBody> {
        protocol::decode(&self.body).ok()
    }

    /// The CBOR error of a failed answer, checked to have `status`.
    pub fn error(&self, status: StatusCode) -> ErrorBody {
        assert_eq!(self.status, status, "body: {:?}", self.error_body());
        assert_eq!(
            self.headers.get("content-type").map(|v| v.as_bytes()),
            Some(protocol::CONTENT_TYPE.as_bytes())
        );
        self.error_body().expect("errors are CBOR ErrorBody")
    }
}

/// A user made by the admin.
#[derive(Debug, Clone)]
pub struct User {
    pub tenant: String,
    pub name: String,
    pub id: String,
    pub api_token: String,
}

impl Harness {
    pub fn new() -> Harness {
        Self::with_doc_cache(fieldwork_server::config::DEFAULT_DOC_CACHE)
    }

    /// A server that keeps at most `doc_cache` documents in memory.
    pub fn with_doc_cache(doc_cache: usize) -> Harness {
        Self::build(doc_cache, Arc::new(SystemClock))
    }

    /// A server whose time moves only when the test moves `clock`.
    pub fn with_clock(clock: Arc<ManualClock>) -> Harness {
        Self::with_quotas(clock, Quotas::default())
    }

    /// A server on `clock` with these server-wide storage quotas and device cap.
    pub fn with_quotas(clock: Arc<ManualClock>, quotas: Quotas) -> Harness {
        Self::with_config(clock, |config| config.quotas = quotas)
    }

    fn build(doc_cache: usize, clock: Arc<dyn Clock>) -> Harness {
        Self::with_config(clock, |config| config.doc_cache = doc_cache)
    }

    /// A server on `clock` whose settings `configure` adjusts.
    pub fn with_config(
        clock: Arc<dyn Clock>,
        configure: impl FnOnce(&mut ServerConfig),
    ) -> Harness {
        let dir = tempfile::tempdir().expect("temp dir");
        let data = dir.path().join("data");
        let mut config = ServerConfig::new(&data);
        configure(&mut config);
        let state = AppState::open_with_clock(&config, clock.clone()).expect("server state opens");
        let admin = Admin::open(&data)
            .expect("admin opens the same data dir")
            .with_clock(clock);
        Harness {
            app: app(state.clone()),
            state,
            admin,
            dir,
        }
    }

    pub fn tenant(&self, name: &str) -> String {
        self.admin.create_tenant(name).expect("tenant").id
    }

    pub fn user(&self, tenant: &str, name: &str, role: Role, team: Option<&str>) -> User {
        let made = self
            .admin
            .create_user(&NewUser {
                tenant: tenant.into(),
                name: name.into(),
                role,
                team: team.map(str::to_owned),
                skills: vec![],
                password: Some(PASSWORD.into()),
            })
            .expect("user");
        User {
            tenant: tenant.into(),
            name: name.into(),
            id: made.user_id,
            api_token: made.token,
        }
    }

    /// The server's data directory (database and blobs).
    pub fn data_dir(&self) -> std::path::PathBuf {
        self.dir.path().join("data")
    }

    /// Sends one request through the router.
    pub async fn request(&self, request: Request<Body>) -> Reply {
        let response = self
            .app
            .clone()
            .oneshot(request)
            .await
            .expect("the router never fails");
        let status = response.status();
        let headers = response.headers().clone();
        let body = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .expect("body");
        Reply {
            status,
            headers,
            body: body.to_vec(),
        }
    }

    /// A call with an optional token and an optional CBOR body.
    pub async fn call(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<Vec<u8>>,
    ) -> Reply {
        let mut builder = Request::builder().method(method).uri(path);
        if let Some(token) = token {
            builder = builder.header("authorization", format!("Bearer {token}"));
        }
        if body.is_some() {
            builder = builder.header("content-type", protocol::CONTENT_TYPE);
        }
        self.request(
            builder
                .body(Body::from(body.unwrap_or_default()))
                .expect("request"),
        )
        .await
    }

    /// Logs a new device in as `user`.
    pub async fn login(&self, user: &User) -> Device {
        let actor_id = ActorId::random();
        let request = LoginRequest {
            tenant: user.tenant.clone(),
            user: user.name.clone(),
            password: PASSWORD.into(),
            device: DeviceRegistration {
                actor_id: actor_id.to_hex_string(),
                name: "test phone".into(),
            },
        };
        let session: DeviceSession = self
            .call("POST", "/v1/login", None, Some(protocol::encode(&request)))
            .await
            .ok();
        Device::new(session, actor_id)
    }
}

/// A device: its token and actor, its cursor, and the documents it holds.
pub struct Device {
    pub token: String,
    pub device_id: String,
    pub actor_id: ActorId,
    pub actor: Actor,
    pub cursor: u64,
    pub docs: HashMap<String, TicketDocument>,
    /// The staff documents this phone holds (staff roles only).
    pub staff: HashMap<String, TicketDocument>,
    /// The document each change this phone made belongs to (public unless listed).
    parts: HashMap<ChangeHash, Part>,
    clock: i64,
    /// The clock offset this phone says it measured (server minus device), sent with each sync.
    pub clock_offset_ms: Option<i64>,
    /// The knowledge-base cursor sent with each sync (none: this phone keeps no knowledge base).
    pub kb_cursor: Option<u64>,
}

impl Device {
    pub fn new(session: DeviceSession, actor_id: ActorId) -> Device {
        let user = session.user;
        Device {
            token: session.token,
            device_id: session.device_id,
            actor_id,
            actor: Actor {
                tenant: user.tenant_id,
                user_id: user.user_id,
                role: user.role,
                name: Some(user.name),
                team: user.team,
            },
            cursor: 0,
            docs: HashMap::new(),
            staff: HashMap::new(),
            parts: HashMap::new(),
            clock: 1_795_400_000_000,
            clock_offset_ms: None,
            kb_cursor: None,
        }
    }

    fn tick(&mut self) -> i64 {
        self.clock += 1000;
        self.clock
    }

    /// Creates a ticket offline; returns its id and the creation change.
    pub fn create(&mut self, new: NewTicket) -> (String, Change) {
        let id = uuid::Uuid::now_v7().to_string();
        let change = self.create_with_id(&id, new);
        (id, change)
    }

    /// Creates a ticket offline under a chosen id; returns the creation change.
    pub fn create_with_id(&mut self, id: &str, new: NewTicket) -> Change {
        let at = self.tick();
        let mut doc = TicketDocument::create(id, &self.actor, &new, self.actor_id.clone(), at)
            .expect("creates");
        let change = doc.changes_since(&[]).pop().expect("one creation change");
        self.docs.insert(id.to_owned(), doc);
        change
    }

    /// Makes an edit offline, without the device's own rule checks (a forged or stale device).
    pub fn edit(&mut self, id: &str, edit: Edit) -> Change {
        let at = self.tick();
        let actor = self.actor.clone();
        let view = self.view(id);
        let part = edit.part(&view);
        let doc = match part {
            Part::Public => self.docs.get_mut(id).expect("the device holds the ticket"),
            Part::Staff => {
                let seen = self.docs.get_mut(id).expect("held").heads();
                let staff = self
                    .staff
                    .entry(id.to_owned())
                    .or_insert_with(|| TicketDocument::staff(self.actor_id.clone()));
                staff.seen_public(seen);
                staff
            }
        };
        let change = doc
            .apply(&view, &edit, &actor, at)
            .expect("edit applies")
            .expect("edit changes something");
        self.parts.insert(change.hash(), part);
        change
    }

    /// The ticket as this phone reads it: with the staff document merged in when it holds one.
    pub fn view(&self, id: &str) -> Ticket {
        let public = self.docs.get(id).expect("held").view().expect("view");
        match self.staff.get(id) {
            Some(staff) => public.with_staff(staff.staff_view().expect("staff view")),
            None => public,
        }
    }

    /// One sync round trip: pushes `changes`, applies what comes back, moves the cursor.
    pub async fn sync(&mut self, h: &Harness, changes: &[(&str, &Change)]) -> SyncResponse {
        let response = self.round(h, changes, 0, 0).await;
        self.apply(&response);
        response
    }

    /// Pulls until `more` is false; returns every response.
    pub async fn pull_all(&mut self, h: &Harness) -> Vec<SyncResponse> {
        let mut all = vec![self.sync(h, &[]).await];
        while all.last().is_some_and(|r| r.more) {
            all.push(self.sync(h, &[]).await);
        }
        all
    }

    /// One request; nothing is applied.
    pub async fn round(
        &self,
        h: &Harness,
        changes: &[(&str, &Change)],
        wait_ms: u32,
        max_bytes: u32,
    ) -> SyncResponse {
        h.call(
            "POST",
            "/v1/sync",
            Some(&self.token),
            Some(protocol::encode(&self.request(changes, wait_ms, max_bytes))),
        )
        .await
        .ok()
    }

    pub fn request(
        &self,
        changes: &[(&str, &Change)],
        wait_ms: u32,
        max_bytes: u32,
    ) -> SyncRequest {
        SyncRequest {
            protocol: PROTOCOL_VERSION,
            cursor: self.cursor,
            changes: changes
                .iter()
                .map(|(id, change)| PushChange {
                    ticket_id: (*id).to_owned(),
                    part: self.parts.get(&change.hash()).copied().unwrap_or_default(),
                    change: ByteBuf::from(change.raw_bytes().to_vec()),
                })
                .collect(),
            wait_ms,
            max_bytes,
            clock_offset_ms: self.clock_offset_ms,
            kb_cursor: self.kb_cursor,
        }
    }

    /// Applies a response as the device engine would, and takes its cursor.
    pub fn apply(&mut self, response: &SyncResponse) {
        if let (Some(_), Some(kb)) = (self.kb_cursor, &response.kb) {
            self.kb_cursor = Some(kb.cursor);
        }
        for item in &response.items {
            match item {
                PullItem::Changes {
                    ticket_id,
                    part,
                    changes,
                } => {
                    let changes = changes
                        .iter()
                        .map(|c| Change::from_bytes(c.to_vec()).expect("a change"))
                        .collect();
                    let doc = match part {
                        Part::Public => self
                            .docs
                            .get_mut(ticket_id)
                            .expect("changes only for held tickets"),
                        Part::Staff => self
                            .staff
                            .entry(ticket_id.clone())
                            .or_insert_with(|| TicketDocument::staff(self.actor_id.clone())),
                    };
                    doc.apply_changes(changes).expect("applies");
                }
                PullItem::Snapshot {
                    ticket_id,
                    doc,
                    staff,
                    ..
                } => {
                    let mut doc = TicketDocument::load(doc).expect("a document");
                    doc.set_actor(self.actor_id.clone());
                    self.docs.insert(ticket_id.clone(), doc);
                    if let Some(staff) = staff {
                        let mut staff =
                            TicketDocument::load_part(Part::Staff, staff).expect("a document");
                        staff.set_actor(self.actor_id.clone());
                        self.staff.insert(ticket_id.clone(), staff);
                    }
                }
                PullItem::Evict { ticket_id } => {
                    self.docs.remove(ticket_id);
                    self.staff.remove(ticket_id);
                }
            }
        }
        self.cursor = response.cursor;
    }
}

/// The ids of the snapshots in a response.
pub fn snapshots(response: &SyncResponse) -> Vec<&str> {
    response
        .items
        .iter()
        .filter(|i| matches!(i, PullItem::Snapshot { .. }))
        .map(PullItem::ticket_id)
        .collect()
}

/// A repair ticket titled `title`.
pub fn repair(title: &str) -> NewTicket {
    NewTicket::titled(fieldwork_core::TicketKind::Repair, title)
}
