//! The tenant's intake channels through the API (`docs/api.md`, "Channels";
//! `docs/channels.md`): list them, make one (its token and signing secret are in the answer
//! only), revoke one. Admins only, as with `fieldwork admin create-channel`.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use fieldwork_core::Role;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::error::{ApiError, ErrorBody};
use super::{ApiJson, Caller};
use crate::admin::{Admin, ChannelInfo, CreatedChannel};
use crate::state::{AppState, blocking};
use crate::storage::ChannelKind;

fn admin(state: &AppState) -> Admin {
    Admin::new(state.store()).with_clock(state.clock())
}

const ADMINS_ONLY: &str = "only admins manage intake channels";

/// One channel, without its secrets.
#[derive(Debug, Serialize, ToSchema)]
pub struct ChannelOut {
    pub channel_id: String,
    /// `web`, `email`, `phone` or `iot`.
    pub kind: String,
    pub name: String,
    pub created_at: i64,
    pub revoked_at: Option<i64>,
}

impl From<ChannelInfo> for ChannelOut {
    fn from(c: ChannelInfo) -> Self {
        ChannelOut {
            channel_id: c.channel_id,
            kind: c.kind,
            name: c.name,
            created_at: c.created_at,
            revoked_at: c.revoked_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ChannelList {
    pub items: Vec<ChannelOut>,
}

/// A channel to make.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewChannel {
    /// `web`, `email`, `phone` or `iot`.
    pub kind: String,
    /// What to call it ("Freezer alarms"); its tickets are reported by this name.
    pub name: Option<String>,
}

/// A new channel with its secrets, shown this once.
#[derive(Debug, Serialize, ToSchema)]
pub struct ChannelMade {
    pub channel_id: String,
    pub kind: String,
    pub name: String,
    /// `Authorization: Bearer TOKEN` on each delivery.
    pub token: String,
    /// The HMAC-SHA256 key for platforms that sign their deliveries instead.
    pub signing_secret: String,
}

impl From<CreatedChannel> for ChannelMade {
    fn from(c: CreatedChannel) -> Self {
        ChannelMade {
            channel_id: c.channel_id,
            kind: c.kind,
            name: c.name,
            token: c.token,
            signing_secret: c.signing_secret,
        }
    }
}

/// The tenant's channels, oldest first, revoked ones included.
#[utoipa::path(
    get, path = "/channels", tag = "settings",
    responses((status = 200, body = ChannelList), (status = 403, body = ErrorBody)),
)]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<ChannelList>, ApiError> {
    caller.require(&[Role::Admin], ADMINS_ONLY)?;
    let (admin, tenant) = (admin(&state), caller.user.tenant_id.clone());
    let found = blocking(move || admin.list_channels(&tenant)).await?;
    Ok(Json(ChannelList {
        items: found.into_iter().map(ChannelOut::from).collect(),
    }))
}

/// Makes a channel; the answer holds its token and signing secret, shown this once.
#[utoipa::path(
    post, path = "/channels", tag = "settings",
    request_body = NewChannel,
    responses((status = 201, body = ChannelMade), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)),
)]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(new): ApiJson<NewChannel>,
) -> Result<(StatusCode, Json<ChannelMade>), ApiError> {
    caller.require(&[Role::Admin], ADMINS_ONLY)?;
    let kind: ChannelKind = new.kind.parse().map_err(ApiError::bad_request)?;
    let (admin, tenant) = (admin(&state), caller.user.tenant_id.clone());
    let made = blocking(move || admin.create_channel(&tenant, kind, new.name.as_deref())).await?;
    Ok((StatusCode::CREATED, Json(made.into())))
}

/// Revokes a channel: its token and signatures are refused from now on.
#[utoipa::path(
    delete, path = "/channels/{id}", tag = "settings",
    params(("id" = String, Path, description = "The channel's id")),
    responses((status = 204, description = "Revoked"), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
)]
pub async fn revoke(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    caller.require(&[Role::Admin], ADMINS_ONLY)?;
    if id.len() > 64 {
        return Err(ApiError::not_found("channel"));
    }
    let (store, tenant, now) = (state.store(), caller.user.tenant_id.clone(), state.now_ms());
    let revoked = blocking(move || Ok(store.revoke_channel(&tenant, &id, now)?)).await?;
    if revoked {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found("channel"))
    }
}
