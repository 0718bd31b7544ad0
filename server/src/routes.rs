//! The HTTP surface under `/v1` (the blob lane's routes come from `blobs`, positions from
//! `positions`) and the layers around it: body limits, gzip both ways, CBOR error
//! answers, refusing new work while stopping, request tracing.

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use fieldwork_core::ticket::ActorId;
use fieldwork_protocol::sync::{
    DeviceRegistration, DeviceSession, LoginRequest, MAX_REQUEST_BYTES, SyncRequest, SyncResponse,
    UserInfo,
};
use tower_http::compression::CompressionLayer;
use tower_http::compression::predicate::{DefaultPredicate, Predicate, SizeAbove};
use tower_http::decompression::RequestDecompressionLayer;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::trace::{DefaultOnFailure, TraceLayer};

use crate::auth::{self, DeviceAuth, UserTokenAuth};
use crate::blobs;
use crate::connections::ClientAddress;
use crate::error::{AppError, cbor_errors};
use crate::positions;
use crate::state::{AppState, blocking};
use crate::storage::{DeviceRecord, TokenHolder, TokenKind, TokenRecord, UserRecord};
use crate::sync;
use crate::wire::{Cbor, CborBytes};

/// Responses smaller than this go uncompressed: gzip's header would eat the gain.
const COMPRESS_ABOVE: u16 = 1024;
/// Gzip level of answers. A bootstrap's pages of ticket documents come out as small at level 3 as
/// at the default 6 (2.65-2.71 MiB for 10,000 tickets either way), and the server spends half the
/// time compressing them: 10,000 tickets listed in 0.35 s rather than 0.44 s (`docs/benchmarks.md`,
/// "Sync"). Level 1 would save another 0.07 s for 13% more bytes, which a phone pays for.
const GZIP_LEVEL: i32 = 3;
/// Longest device label kept.
const MAX_DEVICE_NAME: usize = 100;
/// Longest tenant or user name a sign-in may name, in bytes (nothing real is longer).
const MAX_LOGIN_NAME: usize = 256;
/// Longest password a sign-in may carry, in bytes: argon2's work grows with it.
const MAX_PASSWORD: usize = 1024;
/// Largest `POST /v1/login` body (after decompression). Anyone may send one, so it may not buffer
/// the 8 MiB other requests may: a real one is a few hundred bytes.
const MAX_LOGIN_BODY: usize = 16 * 1024;

/// The whole service as a router (tests drive it with `tower::ServiceExt::oneshot`): the sync
/// protocol under `/v1` (CBOR, its own error shape) and the back-office API under `/api/v1`
/// (JSON, `crate::api`), with the layers both share around them.
pub fn router(state: AppState) -> Router {
    Router::new()
        .merge(sync_routes())
        .nest(crate::api::BASE, crate::api::router())
        .merge(crate::api::pages())
        .merge(crate::console::router())
        .merge(crate::intake::router())
        .layer(
            CompressionLayer::new()
                .quality(tower_http::CompressionLevel::Precise(GZIP_LEVEL))
                .compress_when(DefaultPredicate::new().and(SizeAbove::new(COMPRESS_ABOVE))),
        )
        .layer(middleware::from_fn_with_state(
            state.clone(),
            refuse_when_stopping,
        ))
        // Failed answers are logged where they are made (`AppError`: internal faults as errors,
        // refusals at debug). An error line per 5xx here would let a flood of `503 server_busy`
        // answers flood the log too.
        .layer(
            TraceLayer::new_for_http()
                .on_failure(DefaultOnFailure::new().level(tracing::Level::DEBUG)),
        )
        .with_state(state)
}

/// The sync protocol's routes and the layers only they have: body limits, gzip request bodies,
/// CBOR error answers.
fn sync_routes() -> Router<AppState> {
    Router::new()
        .route("/v1/health", get(health))
        .route(
            "/v1/login",
            post(login).layer(DefaultBodyLimit::max(MAX_LOGIN_BODY)),
        )
        .route("/v1/devices", post(register_device))
        .route("/v1/me", get(me))
        .route("/v1/sync", post(sync_round))
        .route("/v1/logout", post(logout))
        .route(
            "/v1/positions",
            post(positions::report).get(positions::technicians),
        )
        .merge(blobs::router())
        .fallback(|| async { AppError::NotFound })
        // Layers run outermost (last) first. The limit sits inside decompression, so it counts
        // the decompressed bytes; error answers are made CBOR before compression sees them.
        // Blob PATCH bodies read themselves under their own, smaller limit (MAX_PATCH_BYTES).
        .layer(DefaultBodyLimit::max(MAX_REQUEST_BYTES))
        .layer(RequestBodyLimitLayer::new(MAX_REQUEST_BYTES))
        .layer(RequestDecompressionLayer::new())
        // Outside decompression: a compressed blob body is refused before it is inflated.
        .layer(middleware::from_fn(blobs::refuse_encoded_bodies))
        .layer(middleware::map_response(cbor_errors))
}

async fn refuse_when_stopping(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    if state.is_stopping() {
        if request.uri().path().starts_with(crate::api::BASE) {
            return crate::api::ApiError::from(AppError::ShuttingDown).into_response();
        }
        return AppError::ShuttingDown.into_response();
    }
    next.run(request).await
}

async fn health() -> &'static str {
    "ok"
}

/// `POST /v1/login`. In order: the rate limits (`429` before any work is done), a password
/// hashing slot (`503` when all are taken and the queue is full), then the lookup and argon2 in
/// that slot. No step depends on whether the account exists, so neither the answer nor its
/// timing tells an unknown account from a wrong password.
async fn login(
    State(state): State<AppState>,
    ClientAddress(address): ClientAddress,
    Cbor(request): Cbor<LoginRequest>,
) -> Result<Cbor<DeviceSession>, AppError> {
    let LoginRequest {
        tenant,
        user,
        password,
        device,
    } = request;
    if tenant.len() > MAX_LOGIN_NAME || user.len() > MAX_LOGIN_NAME || password.len() > MAX_PASSWORD
    {
        return Err(AppError::BadRequest(format!(
            "a tenant or user name is at most {MAX_LOGIN_NAME} bytes, a password at most {MAX_PASSWORD}"
        )));
    }
    let user = crate::login::sign_in(&state, address, tenant, user, password).await?;
    let session = register(&state, &user, device).await?;
    tracing::info!(tenant = %user.tenant_id, user = %user.id, device = %session.device_id, "device signed in");
    Ok(Cbor(session))
}

async fn register_device(
    State(state): State<AppState>,
    UserTokenAuth(session): UserTokenAuth,
    Cbor(device): Cbor<DeviceRegistration>,
) -> Result<Cbor<DeviceSession>, AppError> {
    let user = session.user;
    let session = register(&state, &user, device).await?;
    tracing::info!(tenant = %user.tenant_id, user = %user.id, device = %session.device_id, "device registered");
    Ok(Cbor(session))
}

/// Registers (or re-registers) a device of `user` and gives it a new device token. A new device
/// beyond the user's cap is refused `403 too_many_devices`; one already registered always may.
async fn register(
    state: &AppState,
    user: &UserRecord,
    device: DeviceRegistration,
) -> Result<DeviceSession, AppError> {
    let actor = ActorId::try_from(device.actor_id.as_str())
        .ok()
        .filter(|a| (1..=64).contains(&a.to_bytes().len()))
        .ok_or_else(|| {
            AppError::BadRequest("the device's actor id must be 1 to 64 bytes in hex".into())
        })?;
    if &actor == state.store().server_actor() {
        return Err(AppError::Forbidden(
            "that actor id is reserved for the server",
        ));
    }
    let name: String = device.name.trim().chars().take(MAX_DEVICE_NAME).collect();
    let now = state.now_ms();
    let token = auth::new_token(TokenKind::Device);
    let record = DeviceRecord {
        id: uuid::Uuid::now_v7().to_string(),
        user_id: user.id.clone(),
        tenant_id: user.tenant_id.clone(),
        actor_id: actor.to_hex_string(),
        name,
    };
    let token_record = TokenRecord {
        hash: auth::token_hash(&token),
        kind: TokenKind::Device,
        user_id: user.id.clone(),
        device_id: Some(record.id.clone()),
        created_at: now,
    };
    let store = state.store();
    let cap = state.quotas().devices_per_user;
    let device = blocking(move || Ok(store.register_device(&record, &token_record, cap)?)).await?;
    Ok(DeviceSession {
        device_id: device.id,
        token,
        user: user.info(),
        server_time: now,
    })
}

async fn me(session: TokenHolder) -> Cbor<UserInfo> {
    Cbor(session.user.info())
}

async fn sync_round(
    State(state): State<AppState>,
    auth: DeviceAuth,
    CborBytes(body): CborBytes,
) -> Result<Cbor<SyncResponse>, AppError> {
    let request = SyncRequest::decode_checked(&body)?;
    Ok(Cbor(sync::sync(&state, auth, request).await?))
}

async fn logout(State(state): State<AppState>, auth: DeviceAuth) -> Result<StatusCode, AppError> {
    let store = state.store();
    let hash = auth.session.token_hash;
    let now = state.now_ms();
    blocking(move || Ok(store.revoke_token(&hash, now)?)).await?;
    tracing::info!(tenant = %auth.device.tenant_id, device = %auth.device.id, "device signed out");
    Ok(StatusCode::NO_CONTENT)
}
