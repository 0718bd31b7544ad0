//! Rating links (`docs/api.md`, "CSAT"). Reporters with the app rate a resolved ticket with the
//! `rate` edit; reporters without it (a phone call, an email) get a link from the back office:
//! `POST /api/v1/tickets/{id}/csat-link` makes one for a resolved ticket, and the reporter
//! opens `/csat/{token}` — a plain page with the five scores and a comment box, no sign-in.
//!
//! A link is a random 256-bit token (`fwr_…`) of which the server keeps only the SHA-256. It is
//! good for one rating (the link is claimed before the rating is stored, and given back if the
//! rating cannot be), until it expires (7 days unless asked otherwise, at most 30), and only
//! while the ticket is resolved. A new link for a ticket ends its unused ones. The rating is an
//! ordinary `rate` edit in the reporter's name, judged by the same rules, written with an actor
//! of the link's own, so the audit log shows it came `via` a `link`.

use axum::extract::rejection::FormRejection;
use axum::extract::{DefaultBodyLimit, Form, Path, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use fieldwork_core::Role;
use fieldwork_core::model::Status;
use fieldwork_core::ticket::{ActorId, Edit};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::{IntoParams, ToSchema};

use super::caller::Via;
use super::error::{ApiError, ErrorBody, ErrorCode};
use super::{ApiQuery, Caller, tickets};
use crate::auth::token_hash;
use crate::plain_page::{Page, escape};
use crate::state::{AppState, blocking};
use crate::storage::CsatLink;

/// Prefix of rating link tokens.
pub const LINK_TOKEN_PREFIX: &str = "fwr_";
const DEFAULT_VALID_HOURS: i64 = 7 * 24;
const MAX_VALID_HOURS: i64 = 30 * 24;
const HOUR_MS: i64 = 60 * 60 * 1000;
/// Longest comment kept with a rating, in characters.
const MAX_COMMENT: usize = 2_000;
/// Largest rating form accepted.
const MAX_FORM_BYTES: usize = 16 * 1024;

const SENDERS: &[Role] = &[Role::Agent, Role::Dispatcher, Role::Supervisor, Role::Admin];

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct LinkParams {
    /// How long the link works, 1 to 720 hours; 168 (a week) when absent.
    #[param(minimum = 1, maximum = 720)]
    pub valid_hours: Option<i64>,
}

/// A rating link, shown once.
#[derive(Debug, Serialize, ToSchema)]
pub struct CsatLinkOut {
    pub token: String,
    /// Where the reporter rates: this server's address followed by this path.
    pub path: String,
    pub expires_at: i64,
}

/// The actor a link's rating is written with: its own, derived from the token's hash.
fn link_actor(token_hash: &str) -> ActorId {
    let digest = Sha256::digest(format!("fieldwork csat link actor {token_hash}").as_bytes());
    ActorId::from(&digest[..16])
}

/// Makes a rating link for a resolved ticket, for its reporter.
#[utoipa::path(
    post, path = "/tickets/{id}/csat-link", tag = "tickets",
    params(("id" = String, Path, description = "The ticket's id"), LinkParams),
    responses(
        (status = 201, body = CsatLinkOut), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 422, description = "the ticket is not resolved", body = ErrorBody),
    ),
)]
pub async fn create_link(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiQuery(p): ApiQuery<LinkParams>,
) -> Result<(StatusCode, Json<CsatLinkOut>), ApiError> {
    caller.require(
        SENDERS,
        "only agents, dispatchers, supervisors and admins send rating links",
    )?;
    let hours = p.valid_hours.unwrap_or(DEFAULT_VALID_HOURS);
    if !(1..=MAX_VALID_HOURS).contains(&hours) {
        return Err(ApiError::bad_request("valid_hours is 1 to 720"));
    }
    let ticket = tickets::view_for(&state, &caller, &id).await?;
    if !matches!(ticket.status, Status::Resolved | Status::Closed) {
        return Err(ApiError::new(
            ErrorCode::Refused,
            "a ticket is rated once it is resolved",
        ));
    }
    let token = format!(
        "{LINK_TOKEN_PREFIX}{}",
        hex::encode(rand::random::<[u8; 32]>())
    );
    let hash = token_hash(&token);
    let now = state.now_ms();
    let link = CsatLink {
        actor_id: link_actor(&hash).to_hex_string(),
        token_hash: hash,
        tenant_id: caller.user.tenant_id.clone(),
        ticket_id: id,
        reporter_id: ticket.reporter.user_id.clone(),
        created_by: caller.user.id.clone(),
        created_at: now,
        expires_at: now + hours * HOUR_MS,
        used_at: None,
    };
    let expires_at = link.expires_at;
    let store = state.store();
    blocking(move || Ok(store.create_csat_link(&link)?)).await?;
    Ok((
        StatusCode::CREATED,
        Json(CsatLinkOut {
            path: format!("/csat/{token}"),
            token,
            expires_at,
        }),
    ))
}

/// The rating page's routes, outside the API: no sign-in, the token is the key.
pub fn page_routes() -> Router<AppState> {
    Router::new().route(
        "/csat/{token}",
        get(show)
            .post(rate)
            .layer(DefaultBodyLimit::max(MAX_FORM_BYTES)),
    )
}

/// What a link allows now.
enum Standing {
    /// It can be used, for this ticket.
    Open(CsatLink),
    Unknown,
    Used,
    Expired,
}

async fn standing(state: &AppState, token: &str) -> Result<Standing, Page> {
    if !token.starts_with(LINK_TOKEN_PREFIX) || token.len() > 100 {
        return Ok(Standing::Unknown);
    }
    let (store, hash) = (state.store(), token_hash(token));
    let link = blocking(move || Ok(store.csat_link(&hash)?))
        .await
        .map_err(|_| Page::unavailable())?;
    Ok(match link {
        None => Standing::Unknown,
        Some(link) if link.used_at.is_some() => Standing::Used,
        Some(link) if link.expires_at <= state.now_ms() => Standing::Expired,
        Some(link) => Standing::Open(link),
    })
}

impl Page {
    fn unavailable() -> Page {
        Page::says(
            StatusCode::SERVICE_UNAVAILABLE,
            "Please try again",
            "The service is busy. Please try again in a few minutes; your link still works.",
        )
    }

    fn closed(standing: &Standing) -> Page {
        match standing {
            Standing::Used => Page::says(
                StatusCode::GONE,
                "Already rated",
                "This link has been used. Thank you for your rating.",
            ),
            Standing::Expired => Page::says(
                StatusCode::GONE,
                "Link expired",
                "This link has expired. Ask us for a new one if you would still like to rate.",
            ),
            _ => Page::says(
                StatusCode::NOT_FOUND,
                "Link not found",
                "This rating link is not valid. Check that it was copied whole.",
            ),
        }
    }

    fn form(token: &str, problem: Option<&str>) -> String {
        let mut html = String::new();
        if let Some(problem) = problem {
            html.push_str(&format!("<p class=\"problem\">{}</p>", escape(problem)));
        }
        html.push_str(&format!(
            "<form method=\"post\" action=\"/csat/{}\"><fieldset><legend>How did we do?</legend>",
            escape(token)
        ));
        for (score, label) in [
            (1, "Very poor"),
            (2, "Poor"),
            (3, "OK"),
            (4, "Good"),
            (5, "Very good"),
        ] {
            html.push_str(&format!(
                "<label><input type=\"radio\" name=\"score\" value=\"{score}\" required> {score} — {label}</label>"
            ));
        }
        html.push_str(&format!(
            "</fieldset><label for=\"comment\">Anything to add? (optional)</label>\
             <textarea id=\"comment\" name=\"comment\" maxlength=\"{MAX_COMMENT}\" rows=\"4\"></textarea>\
             <button type=\"submit\">Send rating</button></form>"
        ));
        html
    }
}

/// The rating form, or why the link no longer works.
async fn show(State(state): State<AppState>, Path(token): Path<String>) -> Page {
    match standing(&state, &token).await {
        Ok(Standing::Open(_)) => Page {
            status: StatusCode::OK,
            title: "Rate our service",
            body: Page::form(&token, None),
        },
        Ok(closed) => Page::closed(&closed),
        Err(page) => page,
    }
}

#[derive(Debug, Deserialize)]
struct RateForm {
    score: Option<String>,
    comment: Option<String>,
}

/// Stores the rating in the reporter's name, once.
async fn rate(
    State(state): State<AppState>,
    Path(token): Path<String>,
    form: Result<Form<RateForm>, FormRejection>,
) -> Page {
    let link = match standing(&state, &token).await {
        Ok(Standing::Open(link)) => link,
        Ok(closed) => return Page::closed(&closed),
        Err(page) => return page,
    };
    let again = |problem: &str| Page {
        status: StatusCode::BAD_REQUEST,
        title: "Rate our service",
        body: Page::form(&token, Some(problem)),
    };
    let Ok(Form(form)) = form else {
        return again("The form did not arrive whole; please send it again.");
    };
    let score = match form.score.as_deref().map(str::parse::<i64>) {
        Some(Ok(score)) if (1..=5).contains(&score) => score,
        _ => return again("Choose a score from 1 to 5."),
    };
    let comment = form
        .comment
        .map(|c| c.trim().to_owned())
        .filter(|c| !c.is_empty());
    if comment
        .as_ref()
        .is_some_and(|c| c.chars().count() > MAX_COMMENT)
    {
        return again("The comment is too long (2,000 characters at most).");
    }
    let (store, tenant, reporter) = (
        state.store(),
        link.tenant_id.clone(),
        vec![link.reporter_id.clone()],
    );
    let reporter = match blocking(move || Ok(store.users_by_ids(&tenant, &reporter)?)).await {
        Ok(mut found) => match found.pop() {
            Some(user) if !user.disabled => user,
            _ => return Page::closed(&Standing::Unknown),
        },
        Err(_) => return Page::unavailable(),
    };
    // Claimed first, so two sends of the form rate once; given back if the rating fails.
    let (store, hash, now) = (state.store(), link.token_hash.clone(), state.now_ms());
    match blocking(move || Ok(store.use_csat_link(&hash, now)?)).await {
        Ok(true) => {}
        Ok(false) => return Page::closed(&Standing::Used),
        Err(_) => return Page::unavailable(),
    }
    let caller = Caller {
        user: reporter,
        actor: link_actor(&link.token_hash),
        via: Via::Link {
            token_hash: link.token_hash.clone(),
        },
    };
    let rated = tickets::apply_edits(
        &state,
        &caller,
        &link.ticket_id,
        &[Edit::Rate { score, comment }],
    )
    .await;
    if let Err(error) = rated {
        let store = state.store();
        let hash = link.token_hash.clone();
        let released =
            blocking(move || Ok::<_, crate::Error>(store.release_csat_link(&hash)?)).await;
        if let Err(error) = released {
            tracing::warn!(%error, "a rating link could not be given back after a failed rating");
        }
        return match error.code() {
            ErrorCode::Refused | ErrorCode::NotFound => Page::says(
                StatusCode::CONFLICT,
                "Not ready for a rating",
                "This job is open again, so it cannot be rated yet. Your link will work once it is resolved.",
            ),
            _ => Page::unavailable(),
        };
    }
    Page::says(
        StatusCode::OK,
        "Thank you",
        "Your rating has been recorded. Thank you for helping us improve.",
    )
}
