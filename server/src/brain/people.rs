//! What routing needs of a tenant's people — who they are by name, where they last were, how
//! many open tickets each holds — read at most once a second per tenant (a decision per push
//! would otherwise read the whole tenant each time), with the brain's own assignments counted
//! in meanwhile.

use std::collections::BTreeMap;
use std::sync::Arc;

use fieldwork_brain::routing::Position;

use super::names::Directory;
use super::{BrainHost, lock};
use crate::error::Error;
use crate::storage::{ReadWith, ServerStore};

/// How long a tenant's people, positions and loads are used before they are read again: a
/// decision per push would otherwise read the whole tenant each time.
const PEOPLE_FRESH_MS: i64 = 1_000;

/// What routing needs of a tenant's people, as read at `read_at`.
#[derive(Debug)]
pub(super) struct People {
    pub directory: Directory,
    pub positions: BTreeMap<String, Position>,
    /// Open tickets per login name.
    pub load: BTreeMap<String, u32>,
    read_at: i64,
}

impl BrainHost {
    /// The tenant's people, positions and loads, read again when older than [`PEOPLE_FRESH_MS`].
    pub(super) fn people(
        &self,
        store: &dyn ServerStore,
        tenant: &str,
        now: i64,
    ) -> Result<Arc<People>, Error> {
        if let Some(people) = lock(&self.people).get(tenant)
            && now.saturating_sub(people.read_at) < PEOPLE_FRESH_MS
            && people.read_at <= now
        {
            return Ok(people.clone());
        }
        let directory = Directory::new(store.list_users(tenant)?);
        let positions = store
            .technician_positions(tenant)?
            .into_iter()
            .map(|p| {
                let position = Position {
                    lat: p.lat,
                    lon: p.lon,
                    at: p.received_at,
                };
                (directory.name(&p.user_id).to_owned(), position)
            })
            .collect();
        let load = store
            .read_with(|r| r.open_load(tenant))?
            .into_iter()
            .map(|(user, n)| (directory.name(&user).to_owned(), n))
            .collect();
        let people = Arc::new(People {
            directory,
            positions,
            load,
            read_at: now,
        });
        lock(&self.people).insert(tenant.to_owned(), people.clone());
        lock(&self.assigned_since).remove(tenant);
        Ok(people)
    }

    /// Counts one more open ticket for `name` on top of the loads read (until they are read
    /// again), so a burst of new tickets does not all go to whoever was least loaded.
    pub(super) fn took_one(&self, tenant: &str, name: &str) {
        *lock(&self.assigned_since)
            .entry(tenant.to_owned())
            .or_default()
            .entry(name.to_owned())
            .or_default() += 1;
    }

    /// The loads routing weighs: as read, plus what the brain assigned since.
    pub(super) fn load(&self, tenant: &str, people: &People) -> BTreeMap<String, u32> {
        let mut load = people.load.clone();
        if let Some(since) = lock(&self.assigned_since).get(tenant) {
            for (name, n) in since {
                *load.entry(name.clone()).or_default() += n;
            }
        }
        load
    }
}
