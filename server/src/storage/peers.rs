//! [`Peers`]: what servers sharing one store tell each other, and which of them runs a duty.
//!
//! Several `fieldwork serve` replicas on one PostgreSQL database each serve devices, but some
//! news must cross between them (a push on one wakes the long-polls on another), and some work
//! must run on exactly one of them at a time (the brain's decisions, webhook deliveries). The
//! store is the one thing they share, so it carries both: messages (PostgreSQL `NOTIFY`), and
//! leases (a session advisory lock, held as long as the holder's connection lives). The embedded
//! SQLite store has one server: it has no peers, and that server leads every duty.

use tokio::sync::mpsc::UnboundedReceiver;

use super::Result;

/// What a server hears from its peers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PeerEvent {
    /// A message another server sent ([`Peers::tell_peers`]).
    Message(String),
    /// This server hears its peers from now on — for the first time, or again after the way to
    /// them broke: messages sent before may be lost, so whoever listens catches up from the store.
    Missed,
}

/// A duty this server leads until the value is dropped (or [`Lead::still_leads`] says it lost
/// it).
pub trait Lead: Send + Sync + std::fmt::Debug {
    /// Whether this server still holds the duty; `false` once the store took it back (the
    /// connection holding it broke). Blocks for at most a few seconds.
    fn still_leads(&self) -> bool;
}

/// Messages between the servers of one store, and leases on duties.
pub trait Peers {
    /// Sends `message` (at most [`MAX_PEER_MESSAGE`] bytes) to every other server of this store;
    /// a hint that may be lost, never a promise (listeners fall back to the store on
    /// [`PeerEvent::Missed`]).
    fn tell_peers(&self, message: &str) -> Result<()>;
    /// What the other servers send from now on; `None` for a store with no other servers, or
    /// when called a second time (one listener per server).
    fn hear_peers(&self) -> Option<UnboundedReceiver<PeerEvent>>;
    /// Takes the duty `name` if no other server of this store holds it: `Some` while this server
    /// leads it, `None` if another does.
    fn lead(&self, name: &str) -> Result<Option<Box<dyn Lead>>>;
}

/// The largest message [`Peers::tell_peers`] carries (PostgreSQL's `NOTIFY` takes 8,000 bytes,
/// less the sender's mark).
pub const MAX_PEER_MESSAGE: usize = 7_900;

/// A duty held for good: the only server of a store that has no peers.
#[derive(Debug)]
pub struct SoleServer;

impl Lead for SoleServer {
    fn still_leads(&self) -> bool {
        true
    }
}
