//! `POST /intake/iot`: a machine's alarm (`docs/channels.md`, "IoT alerts"). The body is JSON
//! `{"asset", "metric", "value", "threshold", "severity", "at"}`: the asset's serial, what was
//! measured, its value and the threshold it crossed, `info`, `warning`, `major` or `critical` —
//! or `resolved` when the condition cleared — and when, in RFC 3339.
//!
//! The first alert for an asset opens a ticket about it (kind `alert`, channel `iot`, priority by
//! severity); alerts while it is open fold into it (count, first and last time, last and worst
//! value), and a `resolved` one adds a note. [`decode`] is a plain function over the bytes.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderMap, StatusCode};
use fieldwork_core::model::{Channel, Priority, TicketKind};
use fieldwork_core::ticket::{Asset, Customer, NewTicket, Site};
use serde::Deserialize;
use sha2::{Digest, Sha256};

use super::{Delivered, channel_of, folds, idempotency_key, json_body, whole, write};
use crate::api::error::ApiError;
use crate::state::{AppState, blocking};
use crate::storage::{
    AlertIn, AlertOutcome, AssetRecord, ChannelKind, ChannelRecord, IntakeReceipt,
};

/// Largest alert body: a real one is a few hundred bytes.
pub(super) const MAX_ALERT_BYTES: usize = 16 * 1024;

/// How far ahead of the server's clock an alert's time may be (machines' clocks drift).
const MAX_FUTURE_MS: i64 = 24 * 60 * 60 * 1000;

/// One alert as a machine sends it. Fields it does not know are ignored (platforms add their
/// own); the body's size bounds them.
#[derive(Debug, Deserialize)]
struct AlertBody {
    asset: String,
    metric: String,
    value: f64,
    threshold: f64,
    severity: String,
    at: String,
}

/// How bad an alert says it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Severity {
    Info,
    Warning,
    Major,
    Critical,
    /// The condition cleared.
    Resolved,
}

impl Severity {
    fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "info" => Severity::Info,
            "warning" => Severity::Warning,
            "major" => Severity::Major,
            "critical" => Severity::Critical,
            "resolved" => Severity::Resolved,
            _ => return None,
        })
    }

    fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Major => "major",
            Severity::Critical => "critical",
            Severity::Resolved => "resolved",
        }
    }

    fn priority(self) -> Priority {
        match self {
            Severity::Info | Severity::Resolved => Priority::Low,
            Severity::Warning => Priority::Normal,
            Severity::Major => Priority::High,
            Severity::Critical => Priority::Urgent,
        }
    }
}

/// A checked alert.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Alert {
    pub asset: String,
    pub metric: String,
    pub value: f64,
    pub threshold: f64,
    pub severity: Severity,
    /// Milliseconds since the epoch.
    pub at: i64,
}

impl Alert {
    /// The key of a delivery that sent no `Idempotency-Key`: the same alert sent again is the
    /// same delivery.
    fn digest(&self) -> String {
        let mut h = Sha256::new();
        for part in [
            self.asset.as_str(),
            self.metric.as_str(),
            self.severity.as_str(),
        ] {
            h.update((part.len() as u64).to_le_bytes());
            h.update(part.as_bytes());
        }
        h.update(self.value.to_bits().to_le_bytes());
        h.update(self.threshold.to_bits().to_le_bytes());
        h.update(self.at.to_le_bytes());
        format!("alert:{}", hex::encode(h.finalize()))
    }
}

/// Reads and checks an alert body; the error says what is wrong, never echoing the body.
pub(super) fn decode(bytes: &[u8], now_ms: i64) -> Result<Alert, String> {
    let body: AlertBody = json_body(
        bytes,
        "{\"asset\", \"metric\", \"value\", \"threshold\", \"severity\", \"at\"}",
    )?;
    let asset = body.asset.trim();
    if asset.is_empty() || asset.chars().count() > 100 || asset.chars().any(char::is_control) {
        return Err("`asset` is the asset's serial number, 1 to 100 characters".into());
    }
    let metric = body.metric.trim();
    if metric.is_empty()
        || metric.len() > 64
        || !metric
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_.-/".contains(&b))
    {
        return Err(
            "`metric` is 1 to 64 letters, digits and `_ . - /`, e.g. `temperature_c`".into(),
        );
    }
    if !body.value.is_finite() || !body.threshold.is_finite() {
        return Err("`value` and `threshold` are finite numbers".into());
    }
    let severity = Severity::parse(&body.severity).ok_or(
        "`severity` is info, warning, major, critical, or resolved when the condition cleared",
    )?;
    let at = body
        .at
        .parse::<jiff::Timestamp>()
        .map_err(|_| "`at` is a time in RFC 3339, e.g. 2026-12-01T08:30:00Z".to_owned())?
        .as_millisecond();
    if at > now_ms.saturating_add(MAX_FUTURE_MS) {
        return Err("`at` is more than a day ahead of the server's clock".into());
    }
    Ok(Alert {
        asset: asset.to_owned(),
        metric: metric.to_owned(),
        value: body.value,
        threshold: body.threshold,
        severity,
        at,
    })
}

/// The ticket an alert opens.
/// The ticket an alert opens, with what the register knows of the machine: its model and
/// warranty, its site (so routing by distance works) and its owner as the customer.
fn new_ticket(alert: &Alert, known: Option<AssetRecord>) -> NewTicket {
    let known = known.unwrap_or_else(|| AssetRecord {
        tenant_id: String::new(),
        serial: alert.asset.clone(),
        model: None,
        site_address: None,
        site_lat: None,
        site_lon: None,
        warranty_until: None,
        owner_name: None,
        owner_phone: None,
        owner_email: None,
        updated_at: 0,
    });
    let site = match (known.site_lat, known.site_lon) {
        (Some(lat), Some(lon)) => Some(Site {
            lat,
            lon,
            accuracy_m: None,
            address: known.site_address.clone(),
        }),
        _ => None,
    };
    let customer = (known.owner_name.is_some() || known.owner_phone.is_some()).then(|| Customer {
        name: known.owner_name.clone(),
        phone: known.owner_phone.clone(),
    });
    NewTicket {
        kind: TicketKind::Alert,
        channel: Channel::Iot,
        title: format!(
            "{}: {} {} (threshold {})",
            alert.asset, alert.metric, alert.value, alert.threshold
        ),
        category: None,
        priority: alert.severity.priority(),
        description: format!(
            "Alarm from asset {}: {} reached {} against a threshold of {} ({}). Later alarms for this asset fold into this ticket while it is open.",
            alert.asset,
            alert.metric,
            alert.value,
            alert.threshold,
            alert.severity.as_str()
        ),
        order_ref: None,
        customer,
        asset: Some(Asset {
            serial: alert.asset.clone(),
            model: known.model,
            warranty_until: known.warranty_until,
        }),
        site,
        note: None,
    }
}

/// What the register knows of the alert's machine.
async fn registered(
    state: &AppState,
    tenant: &str,
    serial: &str,
) -> Result<Option<AssetRecord>, ApiError> {
    let (store, tenant, serial) = (state.store(), tenant.to_owned(), serial.to_owned());
    Ok(blocking(move || Ok(store.asset(&tenant, &serial)?)).await?)
}

/// The answer to a delivery whose receipt is `receipt`.
async fn answer(
    state: &AppState,
    receipt: &IntakeReceipt,
    repeated: bool,
) -> Result<Delivered, ApiError> {
    let number = match &receipt.ticket_id {
        Some(id) => write::number_of(state, &receipt.tenant_id, id)
            .await?
            .flatten(),
        None => None,
    };
    Ok(Delivered {
        ticket_id: receipt.ticket_id.clone(),
        number,
        outcome: receipt.outcome.clone(),
        repeated,
    })
}

/// Takes one alert.
pub(super) async fn deliver(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<(StatusCode, Json<Delivered>), ApiError> {
    let body = whole(body, "an alert", MAX_ALERT_BYTES)?;
    let channel = channel_of(&state, &headers, &body, ChannelKind::Iot).await?;
    let alert = decode(&body, state.now_ms()).map_err(ApiError::bad_request)?;
    let key = idempotency_key(&headers)?.unwrap_or_else(|| alert.digest());
    let taken = AlertIn {
        tenant_id: channel.tenant_id.clone(),
        channel_id: channel.id.clone(),
        key,
        asset: alert.asset.clone(),
        metric: alert.metric.clone(),
        value: alert.value,
        threshold: alert.threshold,
        severity: alert.severity.as_str().to_owned(),
        at: alert.at,
        cleared: alert.severity == Severity::Resolved,
        new_ticket_id: uuid::Uuid::now_v7().to_string(),
        received_at: state.now_ms(),
    };
    let store = state.store();
    let outcome = blocking(move || Ok(store.fold_alert(&taken)?)).await?;
    let (status, delivered) = match outcome {
        AlertOutcome::Repeat(receipt) => {
            if receipt.outcome == "created" {
                // The first try may have stopped before its ticket was stored.
                reopen(&state, &channel, &receipt, &alert).await?;
            }
            (StatusCode::OK, answer(&state, &receipt, true).await?)
        }
        AlertOutcome::Opened(fold) => {
            let alert_map = folds::alert_of(&fold);
            let number = write::create(
                &state,
                &channel,
                &fold.ticket_id,
                &new_ticket(
                    &alert,
                    registered(&state, &channel.tenant_id, &alert.asset).await?,
                ),
                |b| b.alert(&alert_map),
            )
            .await?;
            // Alerts folded in while it was written go in now.
            folds::schedule(&state, &fold.tenant_id, &fold.ticket_id);
            (
                StatusCode::CREATED,
                Delivered {
                    ticket_id: Some(fold.ticket_id),
                    number,
                    outcome: "created".into(),
                    repeated: false,
                },
            )
        }
        AlertOutcome::Folded(fold) | AlertOutcome::Cleared(fold) => {
            folds::schedule(&state, &fold.tenant_id, &fold.ticket_id);
            let outcome = if fold.resolved_at.is_some() && alert.severity == Severity::Resolved {
                "noted"
            } else {
                "folded"
            };
            let number = write::number_of(&state, &fold.tenant_id, &fold.ticket_id)
                .await?
                .flatten();
            (
                StatusCode::OK,
                Delivered {
                    ticket_id: Some(fold.ticket_id),
                    number,
                    outcome: outcome.into(),
                    repeated: false,
                },
            )
        }
        AlertOutcome::Ignored => (
            StatusCode::OK,
            Delivered {
                ticket_id: None,
                number: None,
                outcome: "ignored".into(),
                repeated: false,
            },
        ),
    };
    Ok((status, Json(delivered)))
}

/// A repeated delivery whose first try opened a ticket: makes sure the ticket is stored (the
/// first try may have failed between taking the alert and writing the ticket).
async fn reopen(
    state: &AppState,
    channel: &ChannelRecord,
    receipt: &IntakeReceipt,
    alert: &Alert,
) -> Result<(), ApiError> {
    let Some(ticket_id) = &receipt.ticket_id else {
        return Ok(());
    };
    let (store, tenant, id) = (state.store(), receipt.tenant_id.clone(), ticket_id.clone());
    let Some(fold) = blocking(move || Ok(store.alert_fold(&tenant, &id)?)).await? else {
        return Ok(());
    };
    let alert_map = folds::alert_of(&fold);
    let known = registered(state, &channel.tenant_id, &alert.asset).await?;
    write::create(state, channel, ticket_id, &new_ticket(alert, known), |b| {
        b.alert(&alert_map)
    })
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_796_120_000_000;

    fn body(severity: &str, at: &str) -> String {
        format!(
            r#"{{"asset":"FR-7","metric":"temperature_c","value":-2.5,"threshold":-12,"severity":"{severity}","at":"{at}","vendor":"ignored"}}"#
        )
    }

    #[test]
    fn an_alert_reads_with_its_time_and_severity() {
        let alert =
            decode(body("critical", "2026-12-01T08:30:00Z").as_bytes(), NOW).expect("reads");
        assert_eq!(alert.asset, "FR-7");
        assert_eq!(alert.severity, Severity::Critical);
        assert_eq!(alert.severity.priority(), Priority::Urgent);
        assert_eq!(alert.threshold, -12.0);
        assert_eq!(alert.at, 1_796_113_800_000);
        let again =
            decode(body("critical", "2026-12-01T08:30:00Z").as_bytes(), NOW).expect("reads");
        assert_eq!(
            alert.digest(),
            again.digest(),
            "the same alert, the same key"
        );
        let later =
            decode(body("critical", "2026-12-01T08:31:00Z").as_bytes(), NOW).expect("reads");
        assert_ne!(alert.digest(), later.digest());
    }

    #[test]
    fn a_bad_alert_says_what_is_wrong() {
        let bad = |b: &str| decode(b.as_bytes(), NOW).expect_err("refused");
        assert!(bad("not json").contains("does not read"));
        assert!(bad(r#"{"asset":"A"}"#).contains("missing"));
        assert!(bad(&body("hot", "2026-12-01T08:30:00Z")).contains("severity"));
        assert!(bad(&body("critical", "yesterday")).contains("RFC 3339"));
        assert!(bad(&body("critical", "2027-06-01T08:30:00Z")).contains("ahead"));
        assert!(
            bad(r#"{"asset":"","metric":"t","value":1,"threshold":0,"severity":"info","at":"2026-12-01T08:30:00Z"}"#)
                .contains("asset")
        );
        assert!(
            bad(r#"{"asset":"A","metric":"t c","value":1,"threshold":0,"severity":"info","at":"2026-12-01T08:30:00Z"}"#)
                .contains("metric")
        );
        let secret = r#"{"asset":"SECRET-DATA","metric":"x y","value":1,"threshold":0,"severity":"info","at":"2026-12-01T08:30:00Z"}"#;
        assert!(
            !bad(secret).contains("SECRET"),
            "errors never echo the body"
        );
    }
}
