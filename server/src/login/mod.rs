//! What stands between `POST /v1/login` and argon2: the rate limits per account and per client
//! address ([`limiter`]), the gate that bounds how many password hashes run at once ([`gate`])
//! and the low-priority threads they run on ([`threads`]). docs/security.md ("Logins and
//! password hashing") explains the choices.

mod gate;
mod limiter;
mod threads;

use std::net::IpAddr;
use std::sync::Mutex;
use std::time::Duration;

pub(crate) use gate::HashingSlot;
pub(crate) use limiter::Attempt;

use crate::auth;
use crate::connections::address_group;
use crate::error::{AppError, Error};
use crate::state::AppState;
use crate::storage::UserRecord;
use gate::PasswordGate;
use limiter::{AccountKey, LoginLimiter};
use threads::HashingThreads;

/// Seconds a client is told to wait when the password gate is full.
const BUSY_RETRY_AFTER_S: u64 = 2;

/// How the failed attempts of one kind of key (an account, an address) are limited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// Attempts allowed back to back; the last of them starts the first wait.
    pub free_attempts: u32,
    /// The first wait; each attempt after it doubles the wait.
    pub first_wait: Duration,
    /// The longest wait.
    pub max_wait: Duration,
    /// A key with no attempt for this long (and not waiting) starts over.
    pub forget_after: Duration,
}

/// Limits on sign-ins and on the password hashing they cost.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginLimits {
    /// Per account (tenant and user name as sent, whether or not the account exists).
    pub per_account: Backoff,
    /// Per client address (an IPv4 address, or an IPv6 /64).
    pub per_address: Backoff,
    /// Most accounts, and most addresses, remembered at once.
    pub tracked_keys: usize,
    /// Password hashes that may run at once (each on its own thread, at a lower CPU priority).
    pub hashing_slots: usize,
    /// Sign-ins that may queue for a hashing slot; beyond that they are answered busy at once.
    pub hashing_queue: usize,
    /// Longest time a sign-in waits in that queue.
    pub hashing_wait: Duration,
    /// How long a refused sign-in (`429`, `503 server_busy`) is held before its answer, so a
    /// client hammering the server gets about one answer per connection per this much time
    /// instead of thousands per second. A held answer costs a timer, nothing else.
    pub refusal_delay: Duration,
}

impl Default for LoginLimits {
    fn default() -> Self {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        // Half the cores at most: a flood of password checks must leave the rest for sync.
        let slots = (cores / 2).max(1);
        LoginLimits {
            per_account: Backoff {
                free_attempts: 5,
                first_wait: Duration::from_secs(1),
                max_wait: Duration::from_secs(10 * 60),
                forget_after: Duration::from_secs(60 * 60),
            },
            per_address: Backoff {
                free_attempts: 20,
                first_wait: Duration::from_secs(1),
                max_wait: Duration::from_secs(60 * 60),
                forget_after: Duration::from_secs(6 * 60 * 60),
            },
            tracked_keys: 100_000,
            hashing_slots: slots,
            hashing_queue: 8 * slots,
            hashing_wait: Duration::from_secs(2),
            refusal_delay: Duration::from_secs(1),
        }
    }
}

/// The limiter and the gate, shared by all sign-ins.
#[derive(Debug)]
pub(crate) struct LoginGuard {
    limiter: Mutex<LoginLimiter>,
    gate: PasswordGate,
    threads: HashingThreads,
    refusal_delay: Duration,
}

impl LoginGuard {
    pub fn new(limits: &LoginLimits) -> Self {
        LoginGuard {
            limiter: Mutex::new(LoginLimiter::new(limits)),
            gate: PasswordGate::new(
                limits.hashing_slots,
                limits.hashing_queue,
                limits.hashing_wait,
            ),
            threads: HashingThreads::start(limits.hashing_slots),
            refusal_delay: limits.refusal_delay,
        }
    }

    fn limiter(&self) -> std::sync::MutexGuard<'_, LoginLimiter> {
        // The limiter's tables stay consistent between calls, so a panic elsewhere leaves
        // nothing half-done to recover from.
        self.limiter.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Admits a sign-in to `user` of `tenant` from `address` to a password check: the attempt
    /// (report a right password with [`Self::succeeded`]) and the hashing slot to check it in.
    /// Refused with `429` by the rate limits, decided on the names as sent before anything is
    /// looked up, so the answer and its timing are the same for accounts that exist and
    /// accounts that do not; or with `503 server_busy` when the gate is full (the attempt is
    /// then given back: nothing was checked). Refusals are answered after the refusal delay.
    pub async fn admit(
        &self,
        tenant: &str,
        user: &str,
        address: Option<IpAddr>,
        now_ms: i64,
    ) -> Result<(Attempt, HashingSlot), AppError> {
        let address = address.map_or(IpAddr::from([0u16; 8]), address_group);
        let begun = self
            .limiter()
            .begin(AccountKey::new(tenant, user), address, now_ms);
        let refusal = match begun {
            Ok(attempt) => match self.gate.enter().await {
                Ok(slot) => return Ok((attempt, slot)),
                Err(_) => {
                    self.limiter().abandoned(attempt);
                    AppError::ServerBusy {
                        retry_after_s: BUSY_RETRY_AFTER_S,
                    }
                }
            },
            Err(refused) => AppError::TooManyRequests {
                retry_after_s: refused.retry_after_s,
            },
        };
        tokio::time::sleep(self.refusal_delay).await;
        Err(refusal)
    }

    /// Runs `check` (the account lookup and, in its slot, the password hash) on a hashing thread.
    pub async fn check<T: Send + 'static>(
        &self,
        check: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, Error> {
        self.threads.run(check).await
    }

    /// The password of `attempt` was right.
    pub fn succeeded(&self, attempt: Attempt) {
        self.limiter().succeeded(attempt);
    }

    /// The most password hashes that ever ran at once.
    pub fn hashing_peak(&self) -> usize {
        self.gate.peak()
    }
}

/// Checks a sign-in with a password, every way in alike (a device's `POST /v1/login`, the API's
/// session, a password change): the rate limits, a hashing slot, then the lookup and argon2 in
/// that slot. No step depends on whether the account exists, so neither the answer nor its
/// timing tells an unknown account from a wrong password; a disabled user is refused the same
/// way (`401 bad_credentials`).
pub(crate) async fn sign_in(
    state: &AppState,
    address: Option<IpAddr>,
    tenant: String,
    name: String,
    password: String,
) -> Result<UserRecord, AppError> {
    let logins = state.logins();
    let (attempt, slot) = logins
        .admit(&tenant, &name, address, state.now_ms())
        .await?;
    let store = state.store();
    let found = logins
        .check(move || {
            let tenant = store.find_tenant(&tenant)?;
            // An unknown tenant still looks the user up (under no tenant): the same work.
            let tenant_id = tenant.as_ref().map_or("", |t| t.id.as_str());
            let user = store.user_by_name(tenant_id, &name)?;
            let (user, hash) = user.map_or((None, None), |(u, h)| (Some(u), h));
            // Runs even for an unknown user, against a dummy hash with the same parameters.
            let matches = slot.run(|| auth::verify_password(&password, hash.as_deref()));
            Ok::<_, Error>(user.filter(|u| matches && !u.disabled))
        })
        .await??;
    let Some(user) = found else {
        tracing::info!("sign-in refused");
        return Err(AppError::BadCredentials);
    };
    logins.succeeded(attempt);
    Ok(user)
}
