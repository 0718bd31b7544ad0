//! Technicians' positions (`docs/sync-protocol.md`, "Positions"): `POST /v1/positions` stores a
//! technician's last known position (throttled on server time), `GET /v1/positions` shows the back
//! office the tenant's technicians. Positions are personal data: never logged, never echoed.

use axum::extract::State;
use axum::http::StatusCode;
use fieldwork_core::Role;
use fieldwork_core::location::LocationFix;
use fieldwork_protocol::sync::{
    self as protocol, POSITION_MIN_INTERVAL_MS, PositionReport, PositionsResponse,
    TechnicianPosition,
};

use crate::auth::DeviceAuth;
use crate::error::AppError;
use crate::state::{AppState, blocking};
use crate::storage::{PositionRecord, PositionWrite};
use crate::wire::{Cbor, CborBytes};

/// `POST /v1/positions`: `204` once stored.
pub(crate) async fn report(
    State(state): State<AppState>,
    auth: DeviceAuth,
    CborBytes(body): CborBytes,
) -> Result<StatusCode, AppError> {
    let user = auth.session.user;
    if user.role != Role::Technician {
        return Err(AppError::Forbidden(
            "only technicians report their position",
        ));
    }
    let report: PositionReport = protocol::decode(&body)?;
    let now = state.now_ms();
    let fix = LocationFix {
        lat: report.lat,
        lon: report.lon,
        accuracy_m: report.accuracy_m,
        at: Some(report.at),
    };
    fix.validate(now).map_err(AppError::BadLocation)?;
    let record = PositionRecord {
        tenant_id: user.tenant_id.clone(),
        user_id: user.id.clone(),
        lat: report.lat,
        lon: report.lon,
        accuracy_m: report.accuracy_m,
        at: report.at,
        received_at: now,
    };
    let store = state.store();
    let written =
        blocking(move || Ok(store.record_position(&record, POSITION_MIN_INTERVAL_MS)?)).await?;
    match written {
        PositionWrite::Stored => {
            tracing::debug!(tenant = %user.tenant_id, user = %user.id, "position stored");
            Ok(StatusCode::NO_CONTENT)
        }
        PositionWrite::TooSoon { retry_after_ms } => Err(AppError::TooManyReports {
            retry_after_s: u64::try_from(retry_after_ms)
                .unwrap_or(0)
                .div_ceil(1000)
                .max(1),
        }),
    }
}

/// `GET /v1/positions`: the last known position of each technician of the caller's tenant.
pub(crate) async fn technicians(
    State(state): State<AppState>,
    auth: DeviceAuth,
) -> Result<Cbor<PositionsResponse>, AppError> {
    let user = auth.session.user;
    if !user.role.is_back_office() {
        return Err(AppError::Forbidden(
            "only the back office sees technicians' positions",
        ));
    }
    let store = state.store();
    let tenant = user.tenant_id;
    let positions = blocking(move || Ok(store.technician_positions(&tenant)?))
        .await?
        .into_iter()
        .map(|p| TechnicianPosition {
            user_id: p.user_id,
            lat: p.lat,
            lon: p.lon,
            accuracy_m: p.accuracy_m,
            at: p.at,
            received_at: p.received_at,
        })
        .collect();
    Ok(Cbor(PositionsResponse { positions }))
}
