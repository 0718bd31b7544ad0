//! The audit log (`docs/api.md`, "Audit log"), for supervisors and admins: every ticket change
//! with who made it, when, how it came in (a device, a browser session, an API token, the
//! server) and what it was (the edit's name, never its content); and every settings change (the
//! brain's configuration applied, personal data erased). Filterable, paged newest first, and
//! exportable as CSV (`format=csv`).

use std::collections::HashMap;

use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use fieldwork_core::Role;
use fieldwork_core::ticket::decode_change;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::error::{ApiError, ErrorBody};
use super::{ApiQuery, Caller, csv};
use crate::admin::Admin;
use crate::state::{AppState, blocking};
use crate::storage::{AuditQuery, Via};

const DEFAULT_LIMIT: usize = 100;
const MAX_LIMIT: usize = 1_000;

/// Who reads the audit log.
const AUDITORS: &[Role] = &[Role::Supervisor, Role::Admin];
const NOT_AN_AUDITOR: &str = "only supervisors and admins read the audit log";

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ChangeParams {
    /// One ticket's changes.
    pub ticket: Option<String>,
    /// One person's changes (a user id).
    pub author: Option<String>,
    /// Stored at or after this time (ms).
    pub from: Option<i64>,
    /// Stored before this time (ms).
    pub to: Option<i64>,
    /// `next_cursor` of the page before.
    #[param(minimum = 1)]
    pub cursor: Option<i64>,
    /// 1 to 1000; 100 when absent.
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<usize>,
    /// `json` (default) or `csv`.
    pub format: Option<String>,
}

/// One stored change of a ticket.
#[derive(Debug, Serialize, ToSchema)]
pub struct ChangeEntry {
    /// Its place in the tenant's change log.
    pub seq: u64,
    /// Server time it was stored.
    pub at: i64,
    /// When it happened, for a change by a person (their device's clock, corrected).
    pub effective_at: Option<i64>,
    pub ticket_id: String,
    pub number: Option<String>,
    /// `public` or `staff`.
    pub document: String,
    /// The person (null for the server's own).
    pub author_id: Option<String>,
    pub author_name: Option<String>,
    /// `device`, `session` (a browser), `token` (a script), `link` (a rating link), `channel`
    /// (an intake channel: web form, email, phone, IoT) or `server`.
    pub via: String,
    pub device_id: Option<String>,
    pub device_name: Option<String>,
    pub channel_id: Option<String>,
    pub channel_name: Option<String>,
    /// The edit's name ("assign", "add internal note", …), never its content.
    pub what: String,
    /// The change's hash.
    pub hash: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ChangePage {
    pub items: Vec<ChangeEntry>,
    /// Pass as `cursor` for older changes; absent on the last page.
    pub next_cursor: Option<u64>,
}

fn opt(value: Option<impl ToString>) -> String {
    value.map(|v| v.to_string()).unwrap_or_default()
}

/// Every change to the tenant's tickets, newest first: who, when, how, what.
#[utoipa::path(
    get, path = "/audit/changes", tag = "audit",
    params(ChangeParams),
    responses(
        (status = 200, content((ChangePage = "application/json"), (String = "text/csv"))),
        (status = 403, body = ErrorBody),
    ),
)]
pub async fn changes(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(p): ApiQuery<ChangeParams>,
) -> Result<Response, ApiError> {
    caller.require(AUDITORS, NOT_AN_AUDITOR)?;
    let csv_out = csv::wanted(p.format.as_deref())?;
    let limit = p.limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(ApiError::bad_request(format!("limit is 1 to {MAX_LIMIT}")));
    }
    let before_seq =
        match p.cursor {
            None => None,
            Some(c) => Some(u64::try_from(c).ok().filter(|c| *c >= 1).ok_or_else(|| {
                ApiError::bad_request("the cursor is a next_cursor of this list")
            })?),
        };
    let query = AuditQuery {
        tenant_id: caller.user.tenant_id.clone(),
        ticket_id: p.ticket,
        author_id: p.author,
        from: p.from,
        to: p.to,
        before_seq,
        limit,
    };
    let store = state.store();
    let (found, names) = blocking(move || {
        let found = store.audit_changes(&query)?;
        let mut ids: Vec<String> = found.iter().filter_map(|c| c.author_id.clone()).collect();
        ids.sort();
        ids.dedup();
        let names: HashMap<String, String> = store
            .users_by_ids(&query.tenant_id, &ids)?
            .into_iter()
            .map(|u| (u.id, u.name))
            .collect();
        Ok((found, names))
    })
    .await?;
    let next_cursor = (found.len() == limit)
        .then(|| found.last().map(|c| c.seq))
        .flatten();
    let items: Vec<ChangeEntry> = found
        .into_iter()
        .map(|c| {
            let what = decode_change(&c.bytes)
                .ok()
                .and_then(|change| change.message().cloned())
                // A staff change's message also records the public heads it saw.
                .map(|m| m.split(';').next().unwrap_or_default().trim().to_owned())
                .unwrap_or_default();
            let (mut device_id, mut device_name) = (None, None);
            let (mut channel_id, mut channel_name) = (None, None);
            let via = match c.via {
                Via::Device { id, name } => {
                    (device_id, device_name) = (Some(id), Some(name));
                    "device"
                }
                Via::Channel { id, name } => {
                    (channel_id, channel_name) = (Some(id), Some(name));
                    "channel"
                }
                Via::Session => "session",
                Via::Token => "token",
                Via::Server => "server",
                Via::Link => "link",
            };
            ChangeEntry {
                seq: c.seq,
                at: c.received_at,
                effective_at: c.effective_at,
                number: c.number,
                document: c.part,
                author_name: c.author_id.as_ref().and_then(|id| names.get(id).cloned()),
                author_id: c.author_id,
                via: via.to_owned(),
                device_id,
                device_name,
                channel_id,
                channel_name,
                what,
                hash: c.hash,
                ticket_id: c.ticket_id,
            }
        })
        .collect();
    if csv_out {
        let header_row = [
            "seq",
            "at",
            "effective_at",
            "ticket_id",
            "number",
            "document",
            "author_id",
            "author_name",
            "via",
            "device_id",
            "device_name",
            "channel_id",
            "channel_name",
            "what",
            "hash",
        ];
        let rows = items.into_iter().map(|e| {
            vec![
                e.seq.to_string(),
                e.at.to_string(),
                opt(e.effective_at),
                e.ticket_id,
                opt(e.number),
                e.document,
                opt(e.author_id),
                opt(e.author_name),
                e.via,
                opt(e.device_id),
                opt(e.device_name),
                opt(e.channel_id),
                opt(e.channel_name),
                e.what,
                e.hash,
            ]
        });
        return Ok(csv::attachment(&header_row, rows, "ticket-changes.csv"));
    }
    Ok(Json(ChangePage { items, next_cursor }).into_response())
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct SettingsParams {
    /// `json` (default) or `csv`.
    pub format: Option<String>,
}

/// One settings change.
#[derive(Debug, Serialize, ToSchema)]
pub struct SettingsEntry {
    /// Server time.
    pub at: i64,
    /// `config_applied`, `erased`, `user_disabled`, `user_enabled` or `user_password_changed`.
    pub kind: String,
    /// A user id, or the operator of an admin command.
    pub by: String,
    /// The configuration version, or what was erased (`note`, `photo`, `contact`) from which
    /// ticket, with the request's reference.
    pub detail: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SettingsLog {
    pub items: Vec<SettingsEntry>,
}

/// Most entries of each settings log read.
const MAX_SETTINGS: usize = 1_000;

/// Every settings change, newest first: configurations applied, personal data erased, accounts
/// disabled, enabled or given a new password.
#[utoipa::path(
    get, path = "/audit/settings", tag = "audit",
    params(SettingsParams),
    responses(
        (status = 200, content((SettingsLog = "application/json"), (String = "text/csv"))),
        (status = 403, body = ErrorBody),
    ),
)]
pub async fn settings(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(p): ApiQuery<SettingsParams>,
) -> Result<Response, ApiError> {
    caller.require(AUDITORS, NOT_AN_AUDITOR)?;
    let csv_out = csv::wanted(p.format.as_deref())?;
    let (store, admin) = (
        state.store(),
        Admin::new(state.store()).with_clock(state.clock()),
    );
    let tenant = caller.user.tenant_id.clone();
    let (configs, erasures, accounts, names) = blocking(move || {
        let names: HashMap<String, String> = store
            .list_users(&tenant)?
            .into_iter()
            .map(|u| (u.id, u.name))
            .collect();
        Ok((
            admin.config_history(&tenant, MAX_SETTINGS)?,
            admin.erasure_log(&tenant, MAX_SETTINGS)?,
            store.account_events(&tenant, MAX_SETTINGS)?,
            names,
        ))
    })
    .await?;
    let mut items: Vec<SettingsEntry> = configs
        .into_iter()
        .map(|v| SettingsEntry {
            at: v.applied_at,
            kind: "config_applied".to_owned(),
            by: v.applied_by,
            detail: format!(
                "version {} ({})",
                v.version,
                v.sha256.chars().take(12).collect::<String>()
            ),
        })
        .chain(erasures.into_iter().map(|e| SettingsEntry {
            at: e.at,
            kind: "erased".to_owned(),
            by: e.by,
            detail: format!(
                "{} {} of ticket {}{}",
                e.erasure.kind(),
                e.erasure.target().unwrap_or(""),
                e.ticket_id,
                e.reference.map(|r| format!(", reference {r}")).unwrap_or_default()
            ),
        }))
        .chain(accounts.into_iter().map(|e| SettingsEntry {
            at: e.at,
            kind: format!("user_{}", e.kind),
            detail: format!(
                "user {}",
                names.get(&e.user_id).cloned().unwrap_or(e.user_id)
            ),
            by: e.by,
        }))
        .collect();
    items.sort_by_key(|e| std::cmp::Reverse(e.at));
    if csv_out {
        let rows = items
            .into_iter()
            .map(|e| vec![e.at.to_string(), e.kind, e.by, e.detail]);
        return Ok(csv::attachment(
            &["at", "kind", "by", "detail"],
            rows,
            "settings-changes.csv",
        ));
    }
    Ok(Json(SettingsLog { items }).into_response())
}
