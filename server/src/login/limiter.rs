//! [`LoginLimiter`]: how many sign-in attempts an account and a client address may make, as a
//! plain type driven by the time passed in (no clock, no I/O), so every rule is unit-tested.
//!
//! Each key (an account, an address) has a few attempts back to back; after that each attempt
//! makes the key wait before the next one, the wait doubling up to a cap. A key with no attempt
//! for a while starts over. Attempts are counted when they begin, not when the password check
//! ends, so a burst of concurrent attempts is limited like a sequence of them. The reasoning
//! behind the two kinds of key is in docs/security.md ("Logins and password hashing").

use std::collections::HashMap;
use std::hash::Hash;
use std::net::IpAddr;

use sha2::{Digest, Sha256};

use super::{Backoff, LoginLimits};

/// An account as the client named it (tenant and user name), hashed so the limiter never keeps
/// what an attacker typed, and every key has the same small size.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct AccountKey([u8; 16]);

impl AccountKey {
    /// The key of the account `user` in `tenant`, whether or not it exists: an unknown account is
    /// limited exactly like a real one, so the limits tell nothing about which accounts exist.
    pub fn new(tenant: &str, user: &str) -> Self {
        let mut hasher = Sha256::new();
        for part in [tenant, user] {
            hasher.update((part.len() as u64).to_le_bytes());
            hasher.update(part.as_bytes());
        }
        let digest = hasher.finalize();
        let mut key = [0; 16];
        key.copy_from_slice(&digest[..16]);
        AccountKey(key)
    }
}

/// Why an attempt may not begin now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Refused {
    /// Whole seconds until the key that refused may try again (at least 1).
    pub retry_after_s: u64,
}

/// An attempt that began: report how it ended with [`LoginLimiter::succeeded`] or
/// [`LoginLimiter::abandoned`]; otherwise it stays counted as a failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Attempt {
    account: AccountKey,
    address: IpAddr,
}

/// The attempts of every account and address seen lately, bounded in size.
#[derive(Debug)]
pub(crate) struct LoginLimiter {
    accounts: Tracker<AccountKey>,
    addresses: Tracker<IpAddr>,
}

impl LoginLimiter {
    pub fn new(limits: &LoginLimits) -> Self {
        LoginLimiter {
            accounts: Tracker::new(limits.per_account, limits.tracked_keys),
            addresses: Tracker::new(limits.per_address, limits.tracked_keys),
        }
    }

    /// Begins an attempt on `account` from `address` (already grouped, see
    /// `connections::address_group`) at `now_ms`, or says how long to wait.
    ///
    /// The address is asked first. An attempt the address may make counts against it even when
    /// the account then refuses it: an attacker polling a locked account from one address is
    /// what the address limit stops, so the account's lock ends for its real user. An attempt
    /// refused by the address itself counts nowhere (it cost nothing, and counting it would
    /// only lengthen the wait of others behind the same address).
    pub fn begin(
        &mut self,
        account: AccountKey,
        address: IpAddr,
        now_ms: i64,
    ) -> Result<Attempt, Refused> {
        if let Some(wait_ms) = self.addresses.wait(&address, now_ms) {
            return Err(refused(wait_ms));
        }
        self.addresses.count(address, now_ms);
        if let Some(wait_ms) = self.accounts.wait(&account, now_ms) {
            return Err(refused(wait_ms));
        }
        self.accounts.count(account, now_ms);
        Ok(Attempt { account, address })
    }

    /// The password was right: the account starts over, and the attempt is given back to the
    /// address (people behind one office address signing in are not a flood).
    pub fn succeeded(&mut self, attempt: Attempt) {
        self.accounts.forget(&attempt.account);
        self.addresses.refund(&attempt.address);
    }

    /// Nothing was checked (the server was too busy): the attempt is given back to both.
    pub fn abandoned(&mut self, attempt: Attempt) {
        self.accounts.refund(&attempt.account);
        self.addresses.refund(&attempt.address);
    }

    /// How many accounts and addresses are tracked now.
    #[cfg(test)]
    fn tracked(&self) -> (usize, usize) {
        (self.accounts.entries.len(), self.addresses.entries.len())
    }
}

fn refused(wait_ms: i64) -> Refused {
    let seconds = u64::try_from(wait_ms.max(1))
        .unwrap_or(u64::MAX)
        .div_ceil(1000);
    Refused {
        retry_after_s: seconds.max(1),
    }
}

/// One key's recent attempts.
#[derive(Debug, Clone, Copy)]
struct Entry {
    /// Attempts counted since the key last started over.
    attempts: u32,
    /// No attempt may begin before this time (ms).
    blocked_until: i64,
    /// When the last attempt was counted (ms).
    last_attempt: i64,
}

/// Attempts per key under one [`Backoff`], at most `capacity` keys.
#[derive(Debug)]
struct Tracker<K> {
    policy: Backoff,
    capacity: usize,
    entries: HashMap<K, Entry>,
}

impl<K: Hash + Eq + Copy> Tracker<K> {
    fn new(policy: Backoff, capacity: usize) -> Self {
        Tracker {
            policy,
            capacity: capacity.max(4),
            entries: HashMap::new(),
        }
    }

    fn forgotten(&self, entry: &Entry, now_ms: i64) -> bool {
        now_ms >= entry.blocked_until
            && now_ms.saturating_sub(entry.last_attempt) >= millis(self.policy.forget_after)
    }

    /// How long `key` must still wait, if it must.
    fn wait(&mut self, key: &K, now_ms: i64) -> Option<i64> {
        let entry = *self.entries.get(key)?;
        if self.forgotten(&entry, now_ms) {
            self.entries.remove(key);
            return None;
        }
        (now_ms < entry.blocked_until).then(|| entry.blocked_until - now_ms)
    }

    /// Counts an attempt of `key`; from the `free_attempts`-th on, the key waits before the next.
    fn count(&mut self, key: K, now_ms: i64) {
        if !self.entries.contains_key(&key) {
            self.make_room(now_ms);
        }
        let entry = self.entries.entry(key).or_insert(Entry {
            attempts: 0,
            blocked_until: i64::MIN,
            last_attempt: now_ms,
        });
        entry.attempts = entry.attempts.saturating_add(1);
        entry.last_attempt = now_ms;
        if let Some(beyond) = entry.attempts.checked_sub(self.policy.free_attempts.max(1)) {
            entry.blocked_until = now_ms.saturating_add(self.policy.wait_ms(beyond));
        }
    }

    /// Gives one counted attempt back; a key back within its free attempts waits no more.
    fn refund(&mut self, key: &K) {
        if let Some(entry) = self.entries.get_mut(key) {
            entry.attempts = entry.attempts.saturating_sub(1);
            if entry.attempts < self.policy.free_attempts.max(1) {
                entry.blocked_until = i64::MIN;
            }
            if entry.attempts == 0 {
                self.entries.remove(key);
            }
        }
    }

    fn forget(&mut self, key: &K) {
        self.entries.remove(key);
    }

    /// Keeps the table under its capacity: first drop the keys that have started over anyway;
    /// if that is not enough (an attacker cycling names or addresses), drop the quarter whose
    /// last attempt is oldest. Each full sweep frees a quarter of the table, so its cost is
    /// shared by that many later insertions.
    fn make_room(&mut self, now_ms: i64) {
        if self.entries.len() < self.capacity {
            return;
        }
        let (forget_after, entries) = (millis(self.policy.forget_after), &mut self.entries);
        entries.retain(|_, e| {
            now_ms < e.blocked_until || now_ms.saturating_sub(e.last_attempt) < forget_after
        });
        if self.entries.len() < self.capacity {
            return;
        }
        let mut by_age: Vec<(i64, K)> = self
            .entries
            .iter()
            .map(|(key, e)| (e.last_attempt, *key))
            .collect();
        let drop = (by_age.len() / 4).max(1);
        by_age.select_nth_unstable_by_key(drop - 1, |(at, _)| *at);
        for (_, key) in &by_age[..drop] {
            self.entries.remove(key);
        }
    }
}

impl Backoff {
    /// The wait after the `beyond`-th attempt past the free ones (0 = the first wait).
    fn wait_ms(&self, beyond: u32) -> i64 {
        let first = millis(self.first_wait).max(1);
        let max = millis(self.max_wait).max(first);
        first
            .checked_mul(1_i64.checked_shl(beyond.min(62)).unwrap_or(i64::MAX))
            .map_or(max, |wait| wait.min(max))
    }
}

fn millis(duration: std::time::Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;
    use std::time::Duration;

    use super::*;

    const T0: i64 = 1_800_000_000_000;

    fn limits() -> LoginLimits {
        LoginLimits {
            per_account: Backoff {
                free_attempts: 3,
                first_wait: Duration::from_secs(1),
                max_wait: Duration::from_secs(60),
                forget_after: Duration::from_secs(3600),
            },
            per_address: Backoff {
                free_attempts: 10,
                first_wait: Duration::from_secs(1),
                max_wait: Duration::from_secs(3600),
                forget_after: Duration::from_secs(6 * 3600),
            },
            tracked_keys: 1000,
            ..LoginLimits::default()
        }
    }

    fn ip(last: u8) -> IpAddr {
        IpAddr::V4(Ipv4Addr::new(203, 0, 113, last))
    }

    fn account(name: &str) -> AccountKey {
        AccountKey::new("acme", name)
    }

    #[test]
    fn an_account_gets_a_few_attempts_then_waits_that_double_up_to_the_cap() {
        let mut limiter = LoginLimiter::new(&limits());
        let li = account("li.wei");
        // Every attempt from a different address, so only the account's limit is at work.
        let mut now = T0;
        let mut next = 0u8;
        let mut from = || {
            next += 1;
            ip(next)
        };
        for _ in 0..3 {
            limiter.begin(li, from(), now).expect("free attempts");
        }
        assert_eq!(
            limiter.begin(li, from(), now),
            Err(Refused { retry_after_s: 1 })
        );
        let mut waits = vec![];
        for _ in 0..9 {
            let Err(refused) = limiter.begin(li, from(), now) else {
                panic!("still waiting");
            };
            now += refused.retry_after_s as i64 * 1000;
            limiter
                .begin(li, from(), now)
                .expect("allowed after the wait");
            waits.push(refused.retry_after_s);
        }
        assert_eq!(waits, [1, 2, 4, 8, 16, 32, 60, 60, 60]);
    }

    #[test]
    fn a_burst_of_concurrent_attempts_is_limited_like_a_sequence() {
        // Attempts count when they begin: 64 at once get no more than 3 in.
        let mut limiter = LoginLimiter::new(&limits());
        let allowed = (0..64)
            .filter(|i| limiter.begin(account("li.wei"), ip(*i as u8), T0).is_ok())
            .count();
        assert_eq!(allowed, 3);
    }

    #[test]
    fn the_right_password_after_the_wait_works_and_starts_the_account_over() {
        let mut limiter = LoginLimiter::new(&limits());
        let li = account("li.wei");
        for i in 0..20 {
            let _ = limiter.begin(li, ip(i), T0);
        }
        let refused = limiter.begin(li, ip(200), T0).expect_err("locked");
        let later = T0 + refused.retry_after_s as i64 * 1000;
        let attempt = limiter
            .begin(li, ip(200), later)
            .expect("the real user's turn");
        limiter.succeeded(attempt);
        for _ in 0..3 {
            limiter
                .begin(li, ip(200), later)
                .expect("free attempts again");
        }
    }

    #[test]
    fn an_address_polling_a_locked_account_is_stopped_so_the_lock_ends_for_the_real_user() {
        let mut limiter = LoginLimiter::new(&limits());
        let (li, attacker, real_user) = (account("li.wei"), ip(66), ip(7));
        let mut now = T0;
        // The attacker tries once a second for an hour; the account locks after 3.
        let mut checked = 0;
        for _ in 0..3600 {
            if limiter.begin(li, attacker, now).is_ok() {
                checked += 1;
            }
            now += 1000;
        }
        // Polling the locked account made the attacker's address wait longer and longer: of 3,600
        // tries, only a handful reached a password check.
        assert!(checked <= 20, "{checked}");
        assert!(limiter.addresses.wait(&attacker, now).is_some());
        // The account's own lock is short-lived: the real user gets in within its cap.
        let attempt = match limiter.begin(li, real_user, now) {
            Ok(attempt) => attempt,
            Err(refused) => {
                assert!(refused.retry_after_s <= 60, "{refused:?}");
                let later = now + refused.retry_after_s as i64 * 1000;
                limiter
                    .begin(li, real_user, later)
                    .expect("the real user may try")
            }
        };
        limiter.succeeded(attempt);
    }

    #[test]
    fn an_address_cycling_account_names_is_limited_by_its_address() {
        let mut limiter = LoginLimiter::new(&limits());
        let attacker = ip(66);
        let allowed = (0..100)
            .filter(|i| {
                limiter
                    .begin(account(&format!("user{i}")), attacker, T0)
                    .is_ok()
            })
            .count();
        assert_eq!(allowed, 10);
        // Someone else, elsewhere, is not affected.
        limiter
            .begin(account("user5"), ip(7), T0)
            .expect("another address may try");
    }

    #[test]
    fn successes_are_given_back_to_the_address_and_a_quiet_key_starts_over() {
        let mut limiter = LoginLimiter::new(&limits());
        let office = ip(10);
        // Fifty people behind one office address sign in, each at the first try.
        for i in 0..50 {
            let attempt = limiter
                .begin(account(&format!("user{i}")), office, T0)
                .expect("an office signing in is not a flood");
            limiter.succeeded(attempt);
        }
        // A user who mistyped twice and came back the next day starts with fresh attempts.
        let li = account("li.wei");
        for _ in 0..3 {
            let _ = limiter.begin(li, office, T0);
        }
        assert!(limiter.begin(li, office, T0).is_err());
        let tomorrow = T0 + 24 * 3600 * 1000;
        for _ in 0..3 {
            limiter.begin(li, office, tomorrow).expect("started over");
        }
    }

    #[test]
    fn an_abandoned_attempt_is_given_back() {
        let mut limiter = LoginLimiter::new(&limits());
        let li = account("li.wei");
        for _ in 0..10 {
            let attempt = limiter.begin(li, ip(1), T0).expect("given back each time");
            limiter.abandoned(attempt);
        }
        assert_eq!(limiter.tracked(), (0, 0));
    }

    #[test]
    fn cycling_names_and_addresses_never_grows_the_table_past_its_capacity() {
        let mut limiter = LoginLimiter::new(&limits());
        let mut now = T0;
        for i in 0..200_000u32 {
            let address = IpAddr::V6(std::net::Ipv6Addr::from(u128::from(i) << 64));
            let _ = limiter.begin(account(&format!("user{i}")), address, now);
            now += 1;
            let (accounts, addresses) = limiter.tracked();
            assert!(
                accounts <= 1000 && addresses <= 1000,
                "{accounts} {addresses}"
            );
        }
        // A key hammered right now keeps its lock through the sweeps.
        let li = account("li.wei");
        for _ in 0..3 {
            let _ = limiter.begin(li, ip(1), now);
        }
        assert!(limiter.begin(li, ip(2), now).is_err());
    }

    #[test]
    fn unknown_and_known_accounts_share_nothing_but_are_limited_alike() {
        assert_ne!(AccountKey::new("acme", "li"), AccountKey::new("acm", "eli"));
        assert_ne!(AccountKey::new("acme", "li"), AccountKey::new("acme", "Li"));
        assert_eq!(AccountKey::new("acme", "li"), AccountKey::new("acme", "li"));
    }

    #[test]
    fn waits_are_rounded_up_to_whole_seconds() {
        assert_eq!(refused(1).retry_after_s, 1);
        assert_eq!(refused(1000).retry_after_s, 1);
        assert_eq!(refused(1001).retry_after_s, 2);
        assert_eq!(
            refused(i64::MAX).retry_after_s,
            (i64::MAX as u64).div_ceil(1000)
        );
    }
}
