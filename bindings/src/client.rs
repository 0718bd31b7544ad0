//! [`FieldworkClient`]: one device's tickets and sync, opened on a data directory. Every method is
//! a thin call into `fieldwork-core`; the rules, the store and the sync engine live there.
//!
//! Local calls are synchronous and fast (one SQLite transaction; attaching a photo also runs the
//! photo pipeline, ≈ 150 ms for a 12 MP photo). Network calls (`login_*`, `logout`, `sync_now`,
//! `fetch_photo`) block the calling thread; the platform layers run them off the main thread.
//! Background sync runs on its own thread and runtime (`docs/adr/0003-ffi-blocking-calls.md`).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use fieldwork_core::clock::{Clock, SystemClock};
use fieldwork_core::photo::PhotoOptions;
use fieldwork_core::store::{ObserverHandle, Observers, TicketStore};
use fieldwork_core::sync::background::BackgroundSync;
use fieldwork_core::sync::{
    self as core_sync, RetryPolicy, SyncEngine, SyncError, SyncStatus as CoreStatus, engine,
};
use fieldwork_core::ticket::Edit;

use crate::error::FieldworkError;
use crate::knowledge::{KbArticle, KbHit};
use crate::model::Status;
use crate::observe::{Subscription, SyncStatusObserver, TicketChange, TicketObserver};
use crate::sync::{ClientConfig, QuarantinedChange, SyncReport, SyncStatus, UserProfile};
use crate::ticket::{
    LocateReport, LocationFix, Ticket, TicketDraft, TicketEdit, TicketFilter, TicketSummary,
};

type Result<T> = std::result::Result<T, FieldworkError>;

/// The store's file inside the data directory (the same name the CLI uses for a device home).
const STORE_FILE: &str = "fieldwork.db";

/// Attempts of a user-initiated sync: one quick retry for a blip; the background runner is the
/// one that keeps trying with backoff.
const SYNC_NOW_ATTEMPTS: u32 = 2;

/// The engine of the current login and what runs on it.
#[derive(Debug, Default)]
struct SyncSlot {
    engine: Option<Arc<SyncEngine>>,
    /// Forwards the engine's status changes to the client's observers.
    forward: Option<ObserverHandle>,
    background: Option<BackgroundSync>,
}

/// One device: its local tickets, the user it belongs to and its sync with the server.
#[derive(Debug, uniffi::Object)]
pub struct FieldworkClient {
    store: Arc<TicketStore>,
    config: ClientConfig,
    photo_options: PhotoOptions,
    sync: Mutex<SyncSlot>,
    /// Outlives engines, so apps can subscribe before logging in.
    status_observers: Arc<Observers<CoreStatus>>,
    network_available: AtomicBool,
}

#[uniffi::export]
impl FieldworkClient {
    /// Opens (creating if needed) the device's store in `data_dir`. Cheap: nothing is loaded.
    #[uniffi::constructor]
    pub fn open(data_dir: String, config: ClientConfig) -> Result<Arc<Self>> {
        let dir = PathBuf::from(data_dir);
        std::fs::create_dir_all(&dir).map_err(|e| {
            FieldworkError::Storage(format!("cannot create the data directory: {}", e.kind()))
        })?;
        let store = TicketStore::open(&dir.join(STORE_FILE))?;
        Ok(Arc::new(FieldworkClient {
            store: Arc::new(store),
            photo_options: config.photo_options(),
            config,
            sync: Mutex::new(SyncSlot::default()),
            status_observers: Arc::new(Observers::default()),
            network_available: AtomicBool::new(true),
        }))
    }

    // --- who is on this device ------------------------------------------------------------

    /// The user this device belongs to, or `None` before the first login.
    pub fn profile(&self) -> Option<UserProfile> {
        self.store.identity().ok().map(|i| i.actor.into())
    }

    /// Binds the device to a user with no server (kiosks, demos, tests). Repeating it for the same
    /// user is harmless; another user is refused.
    pub fn init_offline(&self, user: UserProfile) -> Result<UserProfile> {
        Ok(self.store.init(user.into())?.actor.into())
    }

    /// Logs in with a password (blocking: one request to the server). The first login binds the
    /// device to the user. A login replaces the previous session: start background sync again.
    pub fn login_with_password(
        &self,
        tenant: String,
        user: String,
        password: String,
    ) -> Result<UserProfile> {
        let server = self.server_url()?;
        let info = core_sync::block_on(engine::login_with_password(
            &self.store,
            &server,
            &tenant,
            &user,
            &password,
            &self.config.device_name,
        ))??;
        self.after_login();
        Ok(info.into())
    }

    /// Logs in with a user API token made by an admin (blocking: one request to the server). Like
    /// a password login, it binds the device on first use and replaces the previous session.
    pub fn login_with_token(&self, user_token: String) -> Result<UserProfile> {
        let server = self.server_url()?;
        let info = core_sync::block_on(engine::login_with_token(
            &self.store,
            &server,
            &user_token,
            &self.config.device_name,
        ))??;
        self.after_login();
        Ok(info.into())
    }

    /// Logs out: stops background sync, revokes the device token on the server if it can be
    /// reached, and forgets it. Tickets and unsent changes stay on the device.
    pub fn logout(&self) -> Result<()> {
        let old = std::mem::take(&mut *self.slot());
        drop(old);
        core_sync::block_on(engine::logout(&self.store))??;
        self.announce_status();
        Ok(())
    }

    // --- tickets ----------------------------------------------------------------------------

    /// The one-button help request: the order and position if known, and what happened. Saved
    /// durably before it returns, with or without a network.
    pub fn help_request(
        &self,
        order_ref: Option<String>,
        location: Option<LocationFix>,
        note: Option<String>,
    ) -> Result<Ticket> {
        // A new ticket holds only this device's own change: nothing unverified.
        let ticket = self
            .store
            .help_request(order_ref, location.map(Into::into), note)?;
        Ok(Ticket::from_core(ticket, 0))
    }

    /// Creates a ticket reported by this device's user.
    pub fn create_ticket(&self, draft: TicketDraft) -> Result<Ticket> {
        let role = self.store.identity()?.actor.role;
        Ok(Ticket::from_core(
            self.store.create(draft.into_core(role))?,
            0,
        ))
    }

    /// Applies `edits` to a ticket in order, all or nothing (update fields, parts, checklist, …).
    pub fn edit_ticket(&self, ticket_id: String, edits: Vec<TicketEdit>) -> Result<Ticket> {
        let edits: Vec<Edit> = edits.into_iter().map(Into::into).collect();
        self.shown(self.store.edit(&ticket_id, &edits)?)
    }

    /// Moves a ticket along the workflow, if this user's role may.
    pub fn change_status(&self, ticket_id: String, status: Status) -> Result<Ticket> {
        self.edit_ticket(ticket_id, vec![TicketEdit::SetStatus { status }])
    }

    /// Assigns a ticket to a user (a technician claims with their own id), or releases it to the
    /// queue with `None`.
    pub fn assign(&self, ticket_id: String, assignee: Option<String>) -> Result<Ticket> {
        self.edit_ticket(ticket_id, vec![TicketEdit::Assign { assignee }])
    }

    /// Adds a note; `internal` notes are for staff only.
    pub fn add_note(&self, ticket_id: String, text: String, internal: bool) -> Result<Ticket> {
        self.edit_ticket(ticket_id, vec![TicketEdit::AddNote { text, internal }])
    }

    /// Takes back one of this user's notes (it stays in the history, without its text).
    pub fn redact_note(&self, ticket_id: String, note_id: String) -> Result<Ticket> {
        self.edit_ticket(ticket_id, vec![TicketEdit::RedactNote { note_id }])
    }

    /// Records a location fix from the OS as the ticket's site (a rider on an open help request,
    /// or the back office). The fix is checked first: ranges, accuracy and time.
    pub fn update_location(&self, ticket_id: String, fix: LocationFix) -> Result<Ticket> {
        let fix: fieldwork_core::location::LocationFix = fix.into();
        fix.validate(SystemClock.now_ms())?;
        let edit = Edit::SetSite { site: fix.into() };
        self.shown(self.store.edit(&ticket_id, &[edit])?)
    }

    /// Rates the service on a resolved or closed ticket (1 to 5).
    pub fn rate(&self, ticket_id: String, score: i64, comment: Option<String>) -> Result<Ticket> {
        self.edit_ticket(ticket_id, vec![TicketEdit::Rate { score, comment }])
    }

    /// The full ticket.
    pub fn ticket(&self, ticket_id: String) -> Result<Ticket> {
        self.shown(self.store.ticket(&ticket_id)?)
    }

    /// The full id of the one ticket whose id starts with `prefix` or whose number is `prefix`.
    pub fn resolve_id(&self, prefix: String) -> Result<String> {
        Ok(self.store.resolve_id(&prefix)?)
    }

    /// One page of tickets from the local index.
    pub fn list_tickets(&self, filter: TicketFilter) -> Result<Vec<TicketSummary>> {
        Ok(self
            .store
            .list(&filter.into())?
            .into_iter()
            .map(Into::into)
            .collect())
    }

    /// Changes the server refused, newest first.
    pub fn quarantine(&self) -> Result<Vec<QuarantinedChange>> {
        Ok(self
            .store
            .quarantine()?
            .into_iter()
            .map(Into::into)
            .collect())
    }

    // --- knowledge base --------------------------------------------------------------------

    /// Articles this device holds that match every word of `query` (Chinese or English), best
    /// first (a title or tag match above a body match), at most `limit` (50 at most). Offline.
    pub fn kb_search(&self, query: String, limit: u32) -> Result<Vec<KbHit>> {
        Ok(self
            .store
            .kb_search(&query, limit as usize)?
            .into_iter()
            .map(Into::into)
            .collect())
    }

    /// One article in full, if this device holds it (`None` once unpublished, or when it is
    /// not for this user).
    pub fn kb_article(&self, article_id: String) -> Result<Option<KbArticle>> {
        Ok(self.store.kb_article(&article_id)?.map(Into::into))
    }

    /// A picture an article shows (its text names it `kb-image:SHA256`): the JPEG's bytes, if
    /// this device has fetched it (a sync fetches them after the articles). Offline.
    pub fn kb_image(&self, sha256: String) -> Result<Option<Vec<u8>>> {
        Ok(self.store.kb_image(&sha256)?)
    }

    /// Articles worth reading for a ticket: of its category or sharing keywords with its title
    /// and description, best first, at most `limit`. Offline.
    pub fn kb_suggestions(&self, ticket_id: String, limit: u32) -> Result<Vec<KbHit>> {
        Ok(self
            .store
            .kb_suggestions(&ticket_id, limit as usize)?
            .into_iter()
            .map(Into::into)
            .collect())
    }

    // --- photos and position ---------------------------------------------------------------

    /// Attaches a photo or screenshot (JPEG, PNG or WebP bytes) to a ticket: turned upright,
    /// stripped of its metadata (EXIF, GPS, …), downscaled with a thumbnail, both files kept on
    /// the device and queued for upload, and the attachment filed on the ticket, all before it
    /// returns. `fix` is the device's position, used when the photo has no GPS of its own. The
    /// same photo attached twice is filed once. A file that is not a usable image fails with
    /// `InvalidPhoto` and nothing is stored.
    pub fn attach_photo(
        &self,
        ticket_id: String,
        bytes: Vec<u8>,
        fix: Option<LocationFix>,
    ) -> Result<Ticket> {
        self.shown(self.store.attach_photo(
            &ticket_id,
            &bytes,
            fix.map(Into::into),
            &self.photo_options,
        )?)
    }

    /// Like `attach_photo`, reading the photo from the file at `path` (e.g. where the camera app
    /// saved it); the file itself is left as it is.
    pub fn attach_photo_file(
        &self,
        ticket_id: String,
        path: String,
        fix: Option<LocationFix>,
    ) -> Result<Ticket> {
        self.shown(self.store.attach_photo_file(
            &ticket_id,
            Path::new(&path),
            fix.map(Into::into),
            &self.photo_options,
        )?)
    }

    /// Takes a position fix from the OS. For a technician: records an arrival on site on each
    /// open ticket assigned to them whose site the fix is inside (once per visit), and queues the
    /// position for the server (sent by sync). For other roles the fix is checked and ignored.
    pub fn report_location(&self, fix: LocationFix) -> Result<LocateReport> {
        Ok(self.store.locate(fix.into())?.into())
    }

    /// The path of photo file `sha256` (an attachment's `sha256` or `thumb`) if it is on this
    /// device, for an image view; `None` if it is not (yet): thumbnails arrive with sync, full
    /// images with `fetch_photo`. Do not modify or delete the file.
    pub fn photo_path(&self, sha256: String) -> Result<Option<String>> {
        self.store.blob_path(&sha256)?.map(path_text).transpose()
    }

    /// The path of photo file `sha256` on this device, downloading it from the server first if it
    /// is not here (blocking like `sync_now`: run it off the main thread). Fails with `NotFound`
    /// when no ticket on this device names the file or the server does not have it yet, and with
    /// `Offline` when the OS reports no network.
    pub fn fetch_photo(&self, sha256: String) -> Result<String> {
        if let Some(path) = self.store.blob_path(&sha256)? {
            return path_text(path);
        }
        if !self.network_available.load(Ordering::SeqCst) {
            return Err(SyncError::Offline("the device reports no network".into()).into());
        }
        let engine = self.engine(&mut self.slot())?;
        core_sync::block_on(engine.fetch_blob(&sha256))?
            .map_err(FieldworkError::from_photo_fetch)?;
        let path = self
            .store
            .blob_path(&sha256)?
            .ok_or_else(|| FieldworkError::Internal("a downloaded photo file is missing".into()))?;
        path_text(path)
    }

    // --- sync -------------------------------------------------------------------------------

    /// Where sync stands. Works before login too (`server` is then `None`).
    pub fn sync_status(&self) -> Result<SyncStatus> {
        Ok(self.core_status()?.into())
    }

    /// Starts syncing in the background: catch up, then keep a long-poll open so news arrives
    /// within a second; local edits are pushed at once. Harmless if already running.
    pub fn start_sync(&self) -> Result<()> {
        let mut slot = self.slot();
        if slot.background.is_some() {
            return Ok(());
        }
        let engine = self.engine(&mut slot)?;
        let background = BackgroundSync::start(engine)?;
        background.set_network_available(self.network_available.load(Ordering::SeqCst));
        slot.background = Some(background);
        Ok(())
    }

    /// Stops background sync and waits for its current step to finish. Harmless if not running.
    pub fn stop_sync(&self) {
        let background = self.slot().background.take();
        if let Some(background) = background {
            background.stop();
        }
    }

    /// Whether background sync is running.
    pub fn is_sync_running(&self) -> bool {
        self.slot().background.is_some()
    }

    /// Syncs now until caught up, blocking the calling thread (run it off the main thread).
    /// Fails with `Offline` at once when the OS reports no network.
    pub fn sync_now(&self) -> Result<SyncReport> {
        if !self.network_available.load(Ordering::SeqCst) {
            return Err(SyncError::Offline("the device reports no network".into()).into());
        }
        // A background run's long-poll gives way (it is woken and waits its turn after this
        // sync), so the two never exchange with the server at once.
        let engine = {
            let mut slot = self.slot();
            if let Some(background) = &slot.background {
                background.sync_now();
            }
            self.engine(&mut slot)?
        };
        let policy = RetryPolicy {
            max_attempts: SYNC_NOW_ATTEMPTS,
            ..RetryPolicy::default()
        };
        Ok(core_sync::block_on(engine.sync(policy))??.into())
    }

    /// Tells sync whether the OS reports a network. While unavailable, background sync waits and
    /// `sync_now` fails with `Offline`; when it comes back, background sync starts at once.
    pub fn set_network_available(&self, available: bool) {
        self.network_available.store(available, Ordering::SeqCst);
        if let Some(background) = &self.slot().background {
            background.set_network_available(available);
        }
    }

    // --- observers --------------------------------------------------------------------------

    /// Calls `observer` after every durable change to tickets, local or pulled, until the
    /// returned subscription is cancelled or dropped.
    pub fn observe_tickets(&self, observer: Arc<dyn TicketObserver>) -> Arc<Subscription> {
        let handle = self
            .store
            .observe(move |event| observer.on_tickets_changed(TicketChange::from(event)));
        Arc::new(Subscription::new(handle))
    }

    /// Calls `observer` on every sync status change, across logins, until the returned
    /// subscription is cancelled or dropped.
    pub fn observe_sync_status(&self, observer: Arc<dyn SyncStatusObserver>) -> Arc<Subscription> {
        let handle = self
            .status_observers
            .add(Arc::new(move |status: &CoreStatus| {
                observer.on_sync_status(status.clone().into())
            }));
        Arc::new(Subscription::new(handle))
    }
}

/// A path inside the data directory as text. The directory came in as a string and file names are
/// hex digits, so this fails only if the platform hands back something else entirely.
fn path_text(path: PathBuf) -> Result<String> {
    path.into_os_string()
        .into_string()
        .map_err(|_| FieldworkError::Storage("a photo file's path is not valid text".into()))
}

impl FieldworkClient {
    /// A ticket as the app shows it: the view, and how much of it the server has not confirmed.
    fn shown(&self, ticket: fieldwork_core::Ticket) -> Result<Ticket> {
        let unverified = self.store.unverified_changes(&ticket.id)?;
        Ok(Ticket::from_core(ticket, unverified))
    }

    fn slot(&self) -> MutexGuard<'_, SyncSlot> {
        // A panic while holding the lock left at worst a stopped engine behind; carry on.
        self.sync
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn server_url(&self) -> Result<String> {
        self.config.server_url.clone().ok_or_else(|| {
            FieldworkError::InvalidInput(
                "no server address is configured (ClientConfig.server_url)".into(),
            )
        })
    }

    /// The engine of the current login, made on first use.
    fn engine(&self, slot: &mut SyncSlot) -> Result<Arc<SyncEngine>> {
        if let Some(engine) = &slot.engine {
            return Ok(engine.clone());
        }
        let engine = Arc::new(SyncEngine::new(self.store.clone())?);
        let observers = self.status_observers.clone();
        slot.forward = Some(engine.observe_status(move |status| observers.notify(status)));
        slot.engine = Some(engine.clone());
        Ok(engine)
    }

    /// A new login has a new token: drop the old engine (and its background run).
    fn after_login(&self) {
        let old = std::mem::take(&mut *self.slot());
        drop(old);
        self.announce_status();
    }

    fn core_status(&self) -> Result<CoreStatus> {
        let engine = self.engine(&mut self.slot());
        if let Ok(engine) = engine {
            return Ok(engine.status()?);
        }
        Ok(CoreStatus::of_store(
            &self.store,
            fieldwork_core::sync::SyncState::Idle,
            None,
        )?)
    }

    /// Tells status observers about a login or logout.
    fn announce_status(&self) {
        if let Ok(status) = self.core_status() {
            self.status_observers.notify(&status);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::mpsc;
    use std::time::Duration;

    use super::*;
    use crate::model::{ChangeOrigin, Role};

    fn rider(dir: &tempfile::TempDir) -> Arc<FieldworkClient> {
        rider_with(dir, None)
    }

    fn rider_with(dir: &tempfile::TempDir, max_photo_edge: Option<u32>) -> Arc<FieldworkClient> {
        let client = FieldworkClient::open(
            dir.path().join("device").display().to_string(),
            ClientConfig {
                server_url: None,
                device_name: "test".into(),
                max_photo_edge,
            },
        )
        .unwrap();
        client
            .init_offline(UserProfile {
                tenant: "acme".into(),
                user_id: "rider7".into(),
                role: Role::Rider,
                name: None,
                team: None,
            })
            .unwrap();
        client
    }

    struct Channel(Mutex<mpsc::Sender<TicketChange>>);

    impl TicketObserver for Channel {
        fn on_tickets_changed(&self, change: TicketChange) {
            let _ = self.0.lock().unwrap().send(change);
        }
    }

    #[test]
    fn help_request_then_refused_edit_maps_to_not_allowed() {
        let dir = tempfile::tempdir().unwrap();
        let client = rider(&dir);
        let ticket = client
            .help_request(Some("ORD-1".into()), None, Some("crashed".into()))
            .unwrap();
        assert_eq!(ticket.status, Status::New);
        let err = client
            .change_status(ticket.id.clone(), Status::Resolved)
            .unwrap_err();
        assert!(matches!(&err, FieldworkError::NotAllowed(m) if m.contains("new to resolved")));
        assert!(matches!(
            client.ticket("nope".into()),
            Err(FieldworkError::NotFound(_))
        ));
        assert_eq!(client.sync_status().unwrap().server, None);
        assert!(matches!(
            client.sync_now(),
            Err(FieldworkError::NotLoggedIn(_))
        ));
    }

    #[test]
    fn subscription_hears_local_edits_until_cancelled() {
        let dir = tempfile::tempdir().unwrap();
        let client = rider(&dir);
        let (tx, rx) = mpsc::channel();
        let subscription = client.observe_tickets(Arc::new(Channel(Mutex::new(tx))));
        let id = client.help_request(None, None, None).unwrap().id;
        let change = rx.recv_timeout(Duration::from_secs(5)).unwrap();
        assert_eq!(change.ids, vec![id.clone()]);
        assert_eq!(change.origin, ChangeOrigin::Local);
        subscription.cancel();
        assert!(!subscription.is_active());
        client.add_note(id, "more".into(), false).unwrap();
        assert!(rx.try_recv().is_err());
    }

    #[test]
    fn photo_is_filed_with_both_files_on_the_device_and_queued() {
        let dir = tempfile::tempdir().unwrap();
        let client = rider(&dir);
        let id = client.help_request(None, None, None).unwrap().id;
        let png = fieldwork_test_images::png_screenshot(400, 300);
        let ticket = client.attach_photo(id.clone(), png.clone(), None).unwrap();
        let [attachment] = ticket.attachments.as_slice() else {
            panic!("attachments: {:?}", ticket.attachments);
        };
        assert_eq!(
            (
                attachment.width,
                attachment.height,
                attachment.mime.as_str()
            ),
            (400, 300, "image/jpeg")
        );
        let thumb = attachment.thumb.clone().expect("a thumbnail");
        let full = client.photo_path(attachment.sha256.clone()).unwrap();
        assert!(
            full.as_deref().is_some_and(|p| Path::new(p).is_file()),
            "{full:?}"
        );
        assert!(client.photo_path(thumb).unwrap().is_some());
        // The device's own photo needs no server.
        assert_eq!(
            Some(client.fetch_photo(attachment.sha256.clone()).unwrap()),
            full
        );
        let again = client.attach_photo(id.clone(), png, None).unwrap();
        assert_eq!(again.attachments.len(), 1);
        let uploads = client.sync_status().unwrap().uploads;
        assert_eq!(uploads.len(), 2, "{uploads:?}");
        assert_eq!(uploads[0].kind, crate::model::BlobKind::Thumb);
        assert!(
            uploads
                .iter()
                .all(|u| u.ticket_id == id && u.sent_bytes == 0)
        );
        assert_eq!(client.photo_path("not-a-sha".into()).unwrap(), None);
    }

    #[test]
    fn unusable_photo_is_invalid_photo_and_changes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let client = rider(&dir);
        let before = client.help_request(None, None, None).unwrap();
        for bytes in [Vec::new(), b"hello".to_vec()] {
            let err = client
                .attach_photo(before.id.clone(), bytes, None)
                .unwrap_err();
            assert!(matches!(err, FieldworkError::InvalidPhoto(_)), "{err:?}");
        }
        let missing = dir.path().join("no-such.jpg").display().to_string();
        // A path that cannot be read is the caller's input, not a broken disk.
        assert!(matches!(
            client.attach_photo_file(before.id.clone(), missing, None),
            Err(FieldworkError::InvalidInput(_))
        ));
        assert_eq!(client.ticket(before.id.clone()).unwrap(), before);
        assert!(client.sync_status().unwrap().uploads.is_empty());
    }

    #[test]
    fn max_photo_edge_sizes_the_stored_image() {
        let dir = tempfile::tempdir().unwrap();
        let client = rider_with(&dir, Some(200));
        let id = client.help_request(None, None, None).unwrap().id;
        let jpeg = fieldwork_test_images::photo_like_jpeg(800, 600);
        let path = dir.path().join("camera.jpg");
        std::fs::write(&path, jpeg).unwrap();
        let ticket = client
            .attach_photo_file(id, path.display().to_string(), None)
            .unwrap();
        let attachment = &ticket.attachments[0];
        assert_eq!((attachment.width, attachment.height), (200, 150));
    }

    #[test]
    fn location_of_a_rider_is_checked_and_has_no_effect() {
        let dir = tempfile::tempdir().unwrap();
        let client = rider(&dir);
        let fix = LocationFix {
            lat: 31.23,
            lon: 121.47,
            accuracy_m: Some(8.0),
            at: None,
        };
        let report = client.report_location(fix).unwrap();
        assert!(report.arrivals.is_empty() && !report.position_queued);
        let bad = LocationFix { lat: 95.0, ..fix };
        assert!(matches!(
            client.report_location(bad),
            Err(FieldworkError::InvalidInput(_))
        ));
    }

    #[test]
    fn network_flag_makes_sync_now_offline() {
        let dir = tempfile::tempdir().unwrap();
        let client = rider(&dir);
        client.set_network_available(false);
        assert!(matches!(client.sync_now(), Err(FieldworkError::Offline(_))));
        assert!(matches!(
            client.fetch_photo("ab".repeat(32)),
            Err(FieldworkError::Offline(_))
        ));
        client.set_network_available(true);
        assert!(matches!(
            client.fetch_photo("ab".repeat(32)),
            Err(FieldworkError::NotLoggedIn(_))
        ));
    }
}
