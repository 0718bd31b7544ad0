//! The back-office API under `/api/v1` (`docs/api.md`): JSON for the people who run the service
//! and their tools. Every handler is annotated for the OpenAPI 3.1 document, which is generated
//! from them (utoipa) and served at `/api/v1/openapi.json`, with a reference page rendered from
//! it at `/api/v1/docs`. One error shape everywhere (`error.rs`). Callers are people with a
//! browser session or a user API token (`caller.rs`); what they may see and do is judged by the
//! same `core::rules` as a device, and every write is an Automerge change in their name through
//! `Tickets::commit`.
//!
//! The parts: `error` (the error shape and its codes), `caller` (sessions, tokens, CSRF),
//! `session` (sign in and out, password), `users` (admin), `tickets` (list, search, read,
//! create, edit) with `ticket_out` (how a ticket is shown), `reference` (the rendered page).

mod assets;
mod audit;
mod caller;
mod channels;
mod csat;
pub mod csv;
mod dispatch;
pub(crate) mod error;
mod events;
mod files;
mod kb_images;
mod kb_suggestions;
mod knowledge;
mod people;
mod reference;
mod reports;
mod session;
mod settings;
mod sla_timeline;
mod ticket_out;
mod tickets;
mod users;
mod views;

use std::sync::OnceLock;

use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router, middleware};
use serde::Serialize;
use serde::de::DeserializeOwned;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, OpenApi as OpenApiDoc, Ref, RefOr, ResponseBuilder, Server};
use utoipa::{Modify, OpenApi, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub use caller::{
    CSRF_COOKIE, CSRF_HEADER, Caller, SESSION_COOKIE, SESSION_IDLE_MS, SESSION_MAX_MS,
};
pub use error::{ApiError, ErrorBody, ErrorCode};

use crate::state::AppState;
use crate::storage::UserRecord;

/// Where the API is mounted.
pub const BASE: &str = "/api/v1";

/// A JSON object body; a body that does not read is the API's `400`/`415` error. Only an
/// object is taken where the document says object (serde would also read an array of the
/// fields in order).
#[derive(Debug)]
pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        let Json(value) = Json::<serde_json::Value>::from_request(request, state)
            .await
            .map_err(|e: JsonRejection| ApiError::from(e))?;
        if !value.is_object() {
            return Err(ApiError::bad_request("the body must be a JSON object"));
        }
        serde_json::from_value(value)
            .map(ApiJson)
            .map_err(|e| ApiError::bad_request(format!("the JSON body does not read: {e}")))
    }
}

/// Reads an optional nested object, refusing the array form serde would otherwise take.
pub(crate) fn object_or_null<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: DeserializeOwned,
{
    use serde::Deserialize;
    match serde_json::Value::deserialize(deserializer)? {
        serde_json::Value::Null => Ok(None),
        value @ serde_json::Value::Object(_) => serde_json::from_value(value)
            .map(Some)
            .map_err(serde::de::Error::custom),
        _ => Err(serde::de::Error::custom("expected an object or null")),
    }
}

/// A query string; one that does not read is the API's `400` error.
#[derive(Debug)]
pub struct ApiQuery<T>(pub T);

impl<S: Send + Sync, T> FromRequestParts<S> for ApiQuery<T>
where
    axum::extract::Query<T>: FromRequestParts<S, Rejection = QueryRejection>,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let axum::extract::Query(value) =
            axum::extract::Query::<T>::from_request_parts(parts, state).await?;
        Ok(ApiQuery(value))
    }
}

/// A user as the API shows them (never a password hash).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct UserOut {
    pub id: String,
    pub name: String,
    /// rider, merchant, technician, agent, dispatcher, supervisor or admin.
    pub role: String,
    pub team: Option<String>,
    pub skills: Vec<String>,
    pub disabled: bool,
}

impl From<&UserRecord> for UserOut {
    fn from(user: &UserRecord) -> Self {
        UserOut {
            id: user.id.clone(),
            name: user.name.clone(),
            role: user.role.as_str().to_owned(),
            team: user.team.clone(),
            skills: user.skills.clone(),
            disabled: user.disabled,
        }
    }
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Fieldwork back-office API",
        description = "Tickets, people and settings of one tenant, for the people who run the service. \
            Sign in with POST /session (a cookie session; send X-CSRF-Token with writes) or send a \
            user API token as a bearer token. Every error is {\"error\": {\"code\", \"message\"}} \
            with a code from ErrorCode.",
    ),
    modifiers(&Security),
    tags(
        (name = "session", description = "Signing in and out"),
        (name = "users", description = "The tenant's people (admin)"),
        (name = "tickets", description = "Tickets: list, search, read, create, edit"),
        (name = "dispatch", description = "Suggestions, people, the SLA board, a ticket's SLA timeline (back office)"),
        (name = "settings", description = "The brain's configuration and the webhook log"),
        (name = "audit", description = "Who changed what and when (supervisors, admins)"),
        (name = "knowledge", description = "The knowledge base: articles, drafts, publishing"),
        (name = "assets", description = "The asset register: the tenant's machines (staff read, dispatchers import)"),
    ),
)]
struct ApiDoc;

/// The two ways in, required by every operation unless it says otherwise.
struct Security;

impl Modify for Security {
    fn modify(&self, openapi: &mut OpenApiDoc) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "session",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                SESSION_COOKIE,
                "The session cookie POST /session sets; writes also need X-CSRF-Token",
            ))),
        );
        components.add_security_scheme(
            "token",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("A user API token (fwu_…), made by an admin"))
                    .build(),
            ),
        );
        openapi.security = Some(vec![
            utoipa::openapi::security::SecurityRequirement::new("session", Vec::<String>::new()),
            utoipa::openapi::security::SecurityRequirement::new("token", Vec::<String>::new()),
        ]);
        openapi.servers = Some(vec![Server::new(BASE)]);
    }
}

/// The API's routes with their OpenAPI paths.
fn api() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(
            session::sign_in,
            session::current,
            session::sign_out
        ))
        .routes(routes!(session::change_password))
        .routes(routes!(users::list, users::create))
        .routes(routes!(users::teams))
        .routes(routes!(users::disable))
        .routes(routes!(users::enable))
        .routes(routes!(tickets::list_tickets, tickets::create_ticket))
        .routes(routes!(tickets::get_ticket))
        .routes(routes!(tickets::edit_ticket))
        .routes(routes!(events::events))
        .routes(routes!(views::list, views::save))
        .routes(routes!(views::delete))
        .routes(routes!(files::file))
        .routes(routes!(dispatch::suggestions))
        .routes(routes!(dispatch::workers))
        .routes(routes!(dispatch::sla_board))
        .routes(routes!(sla_timeline::sla_timeline))
        .routes(routes!(settings::current, settings::apply))
        .routes(routes!(settings::history))
        .routes(routes!(settings::check))
        .routes(routes!(settings::deliveries))
        .routes(routes!(audit::changes))
        .routes(routes!(audit::settings))
        .routes(routes!(reports::report))
        .routes(routes!(csat::create_link))
        .routes(routes!(assets::list))
        .routes(routes!(assets::one))
        .routes(routes!(assets::import))
        .routes(routes!(channels::list, channels::create))
        .routes(routes!(channels::revoke))
        .routes(routes!(knowledge::list, knowledge::create))
        .routes(routes!(knowledge::one, knowledge::save))
        .routes(routes!(knowledge::publish))
        .routes(routes!(knowledge::unpublish))
        .routes(routes!(kb_images::upload))
        .routes(routes!(kb_suggestions::suggested))
}

/// The OpenAPI document, generated once.
pub fn openapi() -> &'static OpenApiDoc {
    static DOC: OnceLock<OpenApiDoc> = OnceLock::new();
    DOC.get_or_init(|| {
        let mut doc = api().into_openapi();
        common_responses(&mut doc);
        doc
    })
}

/// The error answers any operation may give, added to each where its handler did not list
/// them: `400` (a bad parameter), `401` (signed-in operations), `413` and `415` (operations with
/// a body), `500` and `503` (a fault, a busy or stopping server).
fn common_responses(doc: &mut OpenApiDoc) {
    let error = |description: &str| {
        RefOr::T(
            ResponseBuilder::new()
                .description(description)
                .content(
                    "application/json",
                    ContentBuilder::new()
                        .schema(Some(Ref::from_schema_name("ErrorBody")))
                        .build(),
                )
                .build(),
        )
    };
    for item in doc.paths.paths.values_mut() {
        let operations = [
            &mut item.get,
            &mut item.post,
            &mut item.put,
            &mut item.patch,
            &mut item.delete,
        ];
        for op in operations.into_iter().flatten() {
            let open = op.security.as_ref().is_some_and(|s| {
                s.iter()
                    .all(|r| serde_json::to_value(r).is_ok_and(|v| v == serde_json::json!({})))
            });
            let mut add = |code: &str, description: &str| {
                op.responses
                    .responses
                    .entry(code.to_owned())
                    .or_insert_with(|| error(description));
            };
            add("400", "bad_request: a parameter or the body is invalid");
            if !open {
                add("401", "unauthorized: sign in, or send a user API token");
            }
            add("500", "internal: the server failed; retry later");
            add(
                "503",
                "server_busy: busy or stopping; retry after Retry-After",
            );
            if op.request_body.is_some() {
                add("413", "body_too_large");
                add("415", "unsupported_media_type: send application/json");
            }
        }
    }
}

async fn openapi_json() -> Response {
    Json(openapi()).into_response()
}

async fn reference_page() -> Html<&'static str> {
    static PAGE: OnceLock<String> = OnceLock::new();
    Html(PAGE.get_or_init(|| reference::render(openapi())).as_str())
}

/// The pages outside the API a person reaches by a link, with no sign-in: the rating page
/// (`/csat/{token}`).
pub fn pages() -> Router<AppState> {
    csat::page_routes()
}

/// The API as a router to nest at [`BASE`]: its routes, the document, the reference page, and
/// the API's error shape for what no handler answers.
pub fn router() -> Router<AppState> {
    let (router, _) = api().split_for_parts();
    router
        .route("/openapi.json", get(openapi_json))
        .route("/docs", get(reference_page))
        .fallback(|| async { ApiError::not_found("endpoint") })
        .layer(middleware::map_response(error::json_errors))
}
