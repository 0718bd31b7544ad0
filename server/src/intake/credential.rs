//! A channel's credentials, as plain functions: the bearer token (the store keeps its SHA-256),
//! the signing secret a platform that signs its deliveries uses as the HMAC-SHA256 key, and the
//! check of such a signature (`docs/channels.md`, "Credentials").
//!
//! A signed delivery carries `X-Fieldwork-Channel` (the channel id), `X-Fieldwork-Timestamp`
//! (Unix seconds) and `X-Fieldwork-Signature: sha256=HEX`, the HMAC of `TIMESTAMP.BODY`. A
//! timestamp more than [`MAX_SKEW_S`] away from the server's clock is refused, so a captured
//! delivery cannot be replayed later (within the window, the delivery's idempotency key makes a
//! replay do nothing).

use fieldwork_core::ticket::ActorId;
use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};

use crate::auth::token_hash;
use crate::storage::{ChannelKind, ChannelRecord};

/// What a channel token starts with, so a leaked one is recognisable.
pub const CHANNEL_TOKEN_PREFIX: &str = "fwc_";

/// How far a signed delivery's timestamp may be from the server's clock.
pub const MAX_SKEW_S: i64 = 300;

/// A new channel with its secrets, which are shown once and never stored.
#[derive(Debug, Clone)]
pub struct Issued {
    pub record: ChannelRecord,
    pub token: String,
    /// The HMAC key (hex) for platforms that sign instead of sending the token.
    pub signing_secret: String,
}

/// The signing secret of a token: a key of its own, so a signature never reveals the token.
fn signing_secret(token: &str) -> String {
    let mut hasher = Sha256::new();
    hasher.update(b"fieldwork channel signing key\n");
    hasher.update(token.as_bytes());
    hex::encode(hasher.finalize())
}

/// Makes a channel of `kind` for `tenant_id`, with a fresh token, signing secret and actor.
pub fn issue(tenant_id: &str, kind: ChannelKind, name: &str, now_ms: i64) -> Issued {
    let token = format!(
        "{CHANNEL_TOKEN_PREFIX}{}",
        hex::encode(rand::random::<[u8; 32]>())
    );
    let signing_secret = signing_secret(&token);
    Issued {
        record: ChannelRecord {
            id: uuid::Uuid::now_v7().to_string(),
            tenant_id: tenant_id.to_owned(),
            kind,
            name: name.to_owned(),
            token_hash: token_hash(&token),
            signing_key: signing_secret.clone(),
            actor_id: ActorId::random().to_hex_string(),
            created_at: now_ms,
            revoked_at: None,
        },
        token,
        signing_secret,
    }
}

/// Why a signature is not accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BadSignature {
    /// The timestamp is not a number of seconds, or is too far from now.
    Timestamp,
    /// Not `sha256=` and 64 hex digits.
    Format,
    /// It does not match.
    Mismatch,
}

/// Checks `signature` (`sha256=HEX`) over `timestamp` and `body` with the channel's key.
pub fn check_signature(
    signing_key_hex: &str,
    timestamp: &str,
    body: &[u8],
    signature: &str,
    now_ms: i64,
) -> Result<(), BadSignature> {
    let at: i64 = timestamp
        .trim()
        .parse()
        .map_err(|_| BadSignature::Timestamp)?;
    if (now_ms / 1000).abs_diff(at) > MAX_SKEW_S as u64 {
        return Err(BadSignature::Timestamp);
    }
    let claimed = signature
        .trim()
        .strip_prefix("sha256=")
        .and_then(|h| hex::decode(h).ok())
        .filter(|bytes| bytes.len() == 32)
        .ok_or(BadSignature::Format)?;
    let key = hex::decode(signing_key_hex).map_err(|_| BadSignature::Mismatch)?;
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).map_err(|_| BadSignature::Mismatch)?;
    mac.update(timestamp.trim().as_bytes());
    mac.update(b".");
    mac.update(body);
    // `verify_slice` compares in constant time.
    mac.verify_slice(&claimed)
        .map_err(|_| BadSignature::Mismatch)
}

/// The signature a platform sends for `body` at `timestamp` (tests, the CLI, docs' examples).
pub fn sign(signing_secret_hex: &str, timestamp: &str, body: &[u8]) -> String {
    let key = hex::decode(signing_secret_hex).unwrap_or_default();
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).expect("HMAC takes a key of any length");
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_800_000_000_000;

    #[test]
    fn a_channel_keeps_only_the_hash_and_a_separate_signing_key() {
        let issued = issue("acme", ChannelKind::Iot, "Freezers", NOW);
        assert!(issued.token.starts_with(CHANNEL_TOKEN_PREFIX));
        assert_eq!(issued.record.token_hash, token_hash(&issued.token));
        assert_ne!(issued.record.token_hash, issued.signing_secret);
        assert!(!issued.signing_secret.contains(&issued.token));
        let other = issue("acme", ChannelKind::Iot, "Freezers", NOW);
        assert_ne!(issued.token, other.token);
        assert_ne!(issued.record.actor_id, other.record.actor_id);
    }

    #[test]
    fn a_signature_is_checked_over_timestamp_and_body() {
        let issued = issue("acme", ChannelKind::Iot, "Freezers", NOW);
        let key = &issued.record.signing_key;
        let ts = (NOW / 1000).to_string();
        let body = br#"{"asset":"F-1"}"#;
        let good = sign(&issued.signing_secret, &ts, body);
        assert_eq!(check_signature(key, &ts, body, &good, NOW), Ok(()));
        assert_eq!(
            check_signature(key, &ts, b"{\"asset\":\"F-2\"}", &good, NOW),
            Err(BadSignature::Mismatch)
        );
        let other = issue("acme", ChannelKind::Iot, "Other", NOW);
        let forged = sign(&other.signing_secret, &ts, body);
        assert_eq!(
            check_signature(key, &ts, body, &forged, NOW),
            Err(BadSignature::Mismatch)
        );
        assert_eq!(
            check_signature(key, &ts, body, "sha256=abc", NOW),
            Err(BadSignature::Format)
        );
        assert_eq!(
            check_signature(key, "soon", body, &good, NOW),
            Err(BadSignature::Timestamp)
        );
        let late = NOW + (MAX_SKEW_S + 1) * 1000;
        assert_eq!(
            check_signature(key, &ts, body, &good, late),
            Err(BadSignature::Timestamp)
        );
    }
}
