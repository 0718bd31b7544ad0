//! [`Peers`] on PostgreSQL: messages by `NOTIFY` on one channel, heard on a connection of its own
//! that `LISTEN`s (a pooled connection would drop notifications), and leases as session advisory
//! locks, each on a connection of its own: the lock lives exactly as long as that connection, so
//! a server that dies or loses the database loses its duties, and another takes them.

use std::sync::Mutex;
use std::time::Duration;

use sha2::{Digest, Sha256};
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender, unbounded_channel};
use tokio_postgres::{AsyncMessage, Config, NoTls};

use super::PgStore;
use super::db::Db;
use crate::storage::{Lead, MAX_PEER_MESSAGE, PeerEvent, Peers, Result, StorageError};

/// The one channel the servers of a database talk on.
const CHANNEL: &str = "fieldwork_peers";
/// How long a lease's holder waits for the database to say it still holds it.
const LEASE_CHECK: Duration = Duration::from_secs(5);
/// How long the listener waits before it connects again after losing its connection.
const RECONNECT: Duration = Duration::from_secs(1);

/// The key of the advisory lock of duty `name`: the first 8 bytes of a SHA-256, the same in
/// every server and every version (servers of two versions run side by side in an upgrade).
fn lock_key(name: &str) -> i64 {
    let digest = Sha256::digest(format!("fieldwork duty {name}").as_bytes());
    let mut key = [0u8; 8];
    key.copy_from_slice(&digest[..8]);
    i64::from_be_bytes(key)
}

/// A duty held by a session advisory lock on `db`, a connection of its own.
struct PgLead {
    db: Mutex<Db>,
    runtime: tokio::runtime::Handle,
}

impl std::fmt::Debug for PgLead {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgLead").finish_non_exhaustive()
    }
}

impl Lead for PgLead {
    fn still_leads(&self) -> bool {
        let db = self.db.lock().unwrap_or_else(|p| p.into_inner());
        db.answers_within(LEASE_CHECK, &self.runtime)
    }
}

impl Peers for PgStore {
    fn tell_peers(&self, message: &str) -> Result<()> {
        if message.len() > MAX_PEER_MESSAGE {
            return Err(StorageError::backend(
                "a message to the other servers is too long for NOTIFY",
            ));
        }
        let payload = format!("{}|{message}", self.origin);
        self.with_reader(|db| {
            db.execute("SELECT pg_notify($1, $2)", &[&CHANNEL, &payload])?;
            Ok(())
        })
    }

    fn hear_peers(&self) -> Option<UnboundedReceiver<PeerEvent>> {
        let mut listening = self.listening.lock().unwrap_or_else(|p| p.into_inner());
        if *listening {
            return None;
        }
        *listening = true;
        let (tx, rx) = unbounded_channel();
        let config = self.pool.config().clone();
        let origin = self.origin.clone();
        self.pool.runtime().spawn(listen(config, origin, tx));
        Some(rx)
    }

    fn lead(&self, name: &str) -> Result<Option<Box<dyn Lead>>> {
        let db = self.pool.connect()?;
        let held: bool = db
            .query_one("SELECT pg_try_advisory_lock($1)", &[&lock_key(name)])?
            .try_get(0)?;
        Ok(held.then(|| {
            Box::new(PgLead {
                db: Mutex::new(db),
                runtime: self.pool.runtime().clone(),
            }) as Box<dyn Lead>
        }))
    }
}

/// Listens on [`CHANNEL`] until nobody hears any more, connecting again whenever the connection
/// breaks; says [`PeerEvent::Missed`] each time it starts listening (the first time too: what
/// was sent while this server started and connected was not heard); forwards every message not
/// sent by `origin`.
async fn listen(config: Config, origin: String, out: UnboundedSender<PeerEvent>) {
    while !out.is_closed() {
        match listen_once(&config, &origin, &out).await {
            None => return,
            Some(error) => {
                tracing::warn!(%error, "lost the connection that hears other servers; connecting again")
            }
        }
        tokio::time::sleep(RECONNECT).await;
    }
}

/// One connection's worth of listening: `None` when nobody hears any more, why otherwise (the
/// connection broke).
async fn listen_once(
    config: &Config,
    origin: &str,
    out: &UnboundedSender<PeerEvent>,
) -> Option<String> {
    let (client, mut connection) = match config.connect(NoTls).await {
        Ok(connected) => connected,
        Err(error) => return Some(error.to_string()),
    };
    let (heard, mut hearing) = unbounded_channel();
    // The connection only does its work while it is polled: this task polls it and hands over
    // what the server sends on its own.
    let driver = tokio::spawn(async move {
        loop {
            match std::future::poll_fn(|cx| connection.poll_message(cx)).await {
                Some(Ok(AsyncMessage::Notification(note))) => {
                    let _ = heard.send(note.payload().to_owned());
                }
                Some(Ok(_)) => {}
                Some(Err(error)) => return Err(error),
                None => return Ok(()),
            }
        }
    });
    if let Err(error) = client.batch_execute(&format!("LISTEN {CHANNEL}")).await {
        driver.abort();
        return Some(error.to_string());
    }
    if out.send(PeerEvent::Missed).is_err() {
        return None;
    }
    while let Some(payload) = hearing.recv().await {
        let Some((from, message)) = payload.split_once('|') else {
            continue;
        };
        if from != origin && out.send(PeerEvent::Message(message.to_owned())).is_err() {
            return None;
        }
    }
    drop(client);
    match driver.await {
        Ok(Err(error)) => Some(error.to_string()),
        _ => Some("the database closed the connection".to_owned()),
    }
}
