//! [`ConnectionCaps`]: how many connections are open per client address and in total, and
//! whether one more may be.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

/// Live connection counts. The table holds only addresses with a live connection, so it is
/// never larger than the total cap.
#[derive(Debug)]
pub(crate) struct ConnectionCaps {
    per_address: usize,
    total: usize,
    open: Mutex<Open>,
}

#[derive(Debug, Default)]
struct Open {
    total: usize,
    by_address: HashMap<IpAddr, usize>,
}

/// One admitted connection; dropping it frees its place.
#[derive(Debug)]
pub(crate) struct ConnectionPermit {
    caps: Arc<ConnectionCaps>,
    address: IpAddr,
}

impl ConnectionCaps {
    pub fn new(per_address: usize, total: usize) -> Self {
        ConnectionCaps {
            per_address: per_address.max(1),
            total: total.max(1),
            open: Mutex::default(),
        }
    }

    fn open(&self) -> std::sync::MutexGuard<'_, Open> {
        // Counts are updated in one step each, so a poisoned lock holds consistent numbers.
        self.open.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A place for one more connection from `address` (already grouped), if both caps allow.
    pub fn admit(self: &Arc<Self>, address: IpAddr) -> Option<ConnectionPermit> {
        let mut open = self.open();
        if open.total >= self.total {
            return None;
        }
        let count = open.by_address.entry(address).or_insert(0);
        if *count >= self.per_address {
            return None;
        }
        *count += 1;
        open.total += 1;
        Some(ConnectionPermit {
            caps: self.clone(),
            address,
        })
    }

    /// Connections open now: in total, and from `address`.
    #[cfg(test)]
    fn counts(&self, address: IpAddr) -> (usize, usize) {
        let open = self.open();
        (
            open.total,
            open.by_address.get(&address).copied().unwrap_or(0),
        )
    }
}

impl Drop for ConnectionPermit {
    fn drop(&mut self) {
        let mut open = self.caps.open();
        open.total = open.total.saturating_sub(1);
        if let Some(count) = open.by_address.get_mut(&self.address) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                open.by_address.remove(&self.address);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use super::*;

    fn ip(last: u8) -> IpAddr {
        IpAddr::V4(Ipv4Addr::new(198, 51, 100, last))
    }

    #[test]
    fn one_address_gets_its_share_and_no_more() {
        let caps = Arc::new(ConnectionCaps::new(3, 100));
        let held: Vec<_> = (0..3)
            .map(|_| caps.admit(ip(1)).expect("under the cap"))
            .collect();
        assert!(caps.admit(ip(1)).is_none());
        assert!(
            caps.admit(ip(2)).is_some(),
            "another address is not affected"
        );
        drop(held);
        assert_eq!(caps.counts(ip(1)), (0, 0));
        assert!(caps.admit(ip(1)).is_some(), "places come back when closed");
    }

    #[test]
    fn the_total_cap_holds_across_addresses_and_the_table_empties() {
        let caps = Arc::new(ConnectionCaps::new(10, 5));
        let held: Vec<_> = (0..5).filter_map(|i| caps.admit(ip(i))).collect();
        assert_eq!(held.len(), 5);
        assert!(caps.admit(ip(99)).is_none());
        drop(held);
        assert_eq!(caps.open().by_address.len(), 0);
    }
}
