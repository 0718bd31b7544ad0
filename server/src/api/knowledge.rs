//! The knowledge base through the API (`docs/knowledge-base.md`): staff write articles (each
//! save a version; the newest past the published one is the draft), supervisors and admins
//! publish and unpublish them. The back office reads every article with its draft; technicians
//! read published articles meant for staff or everyone, of their team or none. Riders and
//! merchants read the knowledge base on their devices (articles for everyone), not here.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use fieldwork_core::Role;
use fieldwork_core::knowledge::reads_article;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::error::{ApiError, ErrorBody};
use super::{ApiJson, Caller};
use crate::state::{AppState, blocking};
use crate::storage::{Article, ArticleMeta, ArticleVersion, Audience};

const WRITERS: &[Role] = &[Role::Agent, Role::Dispatcher, Role::Supervisor, Role::Admin];
const PUBLISHERS: &[Role] = &[Role::Supervisor, Role::Admin];
const READERS: &[Role] = &[
    Role::Technician,
    Role::Agent,
    Role::Dispatcher,
    Role::Supervisor,
    Role::Admin,
];

/// Longest body, in characters.
const MAX_BODY: usize = 50_000;
/// Most tags on an article.
const MAX_TAGS: usize = 20;

/// An article as it is written.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ArticleIn {
    pub title: String,
    /// Markdown.
    pub body: String,
    /// `zh`, `en`, … (2 to 10 letters and `-`).
    pub language: String,
    /// `everyone` (riders and merchants too) or `staff`.
    pub audience: String,
    pub category: Option<String>,
    /// Only this team's technicians (and the back office).
    pub team: Option<String>,
    #[serde(default)]
    pub tags: Vec<String>,
}

/// One version of an article's text.
#[derive(Debug, Serialize, ToSchema)]
pub struct ArticleText {
    pub version: u32,
    pub title: String,
    pub body: String,
    pub tags: Vec<String>,
    pub written_at: i64,
    pub written_by: String,
}

impl From<ArticleVersion> for ArticleText {
    fn from(v: ArticleVersion) -> Self {
        ArticleText {
            version: v.version,
            title: v.title,
            body: v.body,
            tags: v.tags,
            written_at: v.written_at,
            written_by: v.written_by,
        }
    }
}

/// An article: its facts, the published text and (for writers) the newest one.
#[derive(Debug, Serialize, ToSchema)]
pub struct ArticleOut {
    pub id: String,
    pub language: String,
    pub audience: String,
    pub category: Option<String>,
    pub team: Option<String>,
    pub created_at: i64,
    pub published: Option<ArticleText>,
    pub published_at: Option<i64>,
    /// The newest version, a draft when it is past the published one (writers only).
    pub latest: Option<ArticleText>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ArticleList {
    pub items: Vec<ArticleOut>,
}

/// The article's facts and first text, or what is wrong with them.
fn checked(
    input: ArticleIn,
    tenant: &str,
    id: &str,
    caller: &Caller,
    at: i64,
) -> Result<(ArticleMeta, ArticleVersion), ApiError> {
    let bad = |m: &str| Err(ApiError::bad_request(m));
    let title = input.title.trim().to_owned();
    if title.is_empty() || title.chars().count() > 200 {
        return bad("an article's title is 1 to 200 characters");
    }
    if input.body.chars().count() > MAX_BODY {
        return bad("an article's body is at most 50,000 characters");
    }
    let language = input.language.trim().to_owned();
    if !(2..=10).contains(&language.len())
        || !language
            .bytes()
            .all(|b| b.is_ascii_alphabetic() || b == b'-')
    {
        return bad("language is a language tag such as zh or en");
    }
    let Some(audience) = Audience::parse(&input.audience) else {
        return bad("audience is everyone or staff");
    };
    let short = |v: Option<String>, what: &str| -> Result<Option<String>, ApiError> {
        match v.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty()) {
            Some(v) if v.chars().count() > 64 => Err(ApiError::bad_request(format!(
                "{what} is at most 64 characters"
            ))),
            v => Ok(v),
        }
    };
    let tags: Vec<String> = input
        .tags
        .into_iter()
        .map(|t| t.trim().to_owned())
        .filter(|t| !t.is_empty())
        .collect();
    if tags.len() > MAX_TAGS || tags.iter().any(|t| t.chars().count() > 40) {
        return bad("an article has at most 20 tags of at most 40 characters");
    }
    Ok((
        ArticleMeta {
            tenant_id: tenant.to_owned(),
            id: id.to_owned(),
            language,
            category: short(input.category, "category")?,
            audience,
            team: short(input.team, "team")?,
            created_at: at,
            created_by: caller.user.id.clone(),
        },
        ArticleVersion {
            version: 1,
            title,
            body: input.body,
            tags,
            written_at: at,
            written_by: caller.user.id.clone(),
        },
    ))
}

/// `article` as `caller` may read it, if they may.
fn shown(article: Article, caller: &Caller) -> Option<ArticleOut> {
    let writer = WRITERS.contains(&caller.user.role);
    if !writer
        && (article.published.is_none()
            || !reads_article(
                caller.user.role,
                caller.user.team.as_deref(),
                article.meta.audience.wire(),
                article.meta.team.as_deref(),
            ))
    {
        return None;
    }
    Some(ArticleOut {
        id: article.meta.id,
        language: article.meta.language,
        audience: article.meta.audience.as_str().to_owned(),
        category: article.meta.category,
        team: article.meta.team,
        created_at: article.meta.created_at,
        published: article.published.map(ArticleText::from),
        published_at: article.published_at,
        latest: writer.then(|| article.latest.into()),
    })
}

/// The articles the caller may read, newest first.
#[utoipa::path(
    get, path = "/kb/articles", tag = "knowledge",
    responses((status = 200, body = ArticleList), (status = 403, body = ErrorBody)),
)]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<ArticleList>, ApiError> {
    caller.require(
        READERS,
        "riders and merchants read the knowledge base on their devices",
    )?;
    let (store, tenant) = (state.store(), caller.user.tenant_id.clone());
    let found = blocking(move || Ok(store.articles(&tenant, 1_000)?)).await?;
    Ok(Json(ArticleList {
        items: found
            .into_iter()
            .filter_map(|a| shown(a, &caller))
            .collect(),
    }))
}

/// One article, as the caller may read it.
#[utoipa::path(
    get, path = "/kb/articles/{id}", tag = "knowledge",
    params(("id" = String, Path, description = "The article's id")),
    responses((status = 200, body = ArticleOut), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
)]
pub async fn one(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<ArticleOut>, ApiError> {
    caller.require(
        READERS,
        "riders and merchants read the knowledge base on their devices",
    )?;
    if id.len() > 64 {
        return Err(ApiError::not_found("article"));
    }
    let (store, tenant) = (state.store(), caller.user.tenant_id.clone());
    let found = blocking(move || Ok(store.article(&tenant, &id)?)).await?;
    found
        .and_then(|a| shown(a, &caller))
        .map(Json)
        .ok_or_else(|| ApiError::not_found("article"))
}

/// Writes a new article, as a draft.
#[utoipa::path(
    post, path = "/kb/articles", tag = "knowledge",
    request_body = ArticleIn,
    responses((status = 201, body = ArticleOut), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)),
)]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(input): ApiJson<ArticleIn>,
) -> Result<(StatusCode, Json<ArticleOut>), ApiError> {
    caller.require(
        WRITERS,
        "agents, dispatchers, supervisors and admins write articles",
    )?;
    let id = uuid::Uuid::now_v7().to_string();
    let (meta, first) = checked(input, &caller.user.tenant_id, &id, &caller, state.now_ms())?;
    let store = state.store();
    let (m, f) = (meta.clone(), first);
    blocking(move || Ok(store.create_article(&m, &f)?)).await?;
    let out = read(&state, &caller, &id).await?;
    Ok((StatusCode::CREATED, Json(out)))
}

/// Saves a new version of an article: its draft until it is published.
#[utoipa::path(
    put, path = "/kb/articles/{id}", tag = "knowledge",
    params(("id" = String, Path, description = "The article's id")),
    request_body = ArticleIn,
    responses((status = 200, body = ArticleOut), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
)]
pub async fn save(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<ArticleIn>,
) -> Result<Json<ArticleOut>, ApiError> {
    caller.require(
        WRITERS,
        "agents, dispatchers, supervisors and admins write articles",
    )?;
    if id.len() > 64 {
        return Err(ApiError::not_found("article"));
    }
    let now = state.now_ms();
    let (meta, text) = checked(input, &caller.user.tenant_id, &id, &caller, now)?;
    let store = state.store();
    let saved = blocking(move || {
        Ok(store.save_article(
            &meta,
            &text.title,
            &text.body,
            &text.tags,
            now,
            &text.written_by,
        )?)
    })
    .await?;
    if saved.is_none() {
        return Err(ApiError::not_found("article"));
    }
    Ok(Json(read(&state, &caller, &id).await?))
}

async fn publishing(
    state: &AppState,
    caller: &Caller,
    id: String,
    unpublish: bool,
) -> Result<Json<ArticleOut>, ApiError> {
    caller.require(PUBLISHERS, "supervisors and admins publish articles")?;
    if id.len() > 64 {
        return Err(ApiError::not_found("article"));
    }
    let (store, tenant, now, which) = (
        state.store(),
        caller.user.tenant_id.clone(),
        state.now_ms(),
        id.clone(),
    );
    let done =
        blocking(move || Ok(store.publish_article(&tenant, &which, unpublish, now)?)).await?;
    if !done {
        return Err(ApiError::not_found("article"));
    }
    Ok(Json(read(state, caller, &id).await?))
}

/// Publishes an article's newest version: readers get it (devices on their next sync).
#[utoipa::path(
    post, path = "/kb/articles/{id}/publish", tag = "knowledge",
    params(("id" = String, Path, description = "The article's id")),
    responses((status = 200, body = ArticleOut), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
)]
pub async fn publish(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<ArticleOut>, ApiError> {
    publishing(&state, &caller, id, false).await
}

/// Takes an article back from its readers (devices drop it on their next sync).
#[utoipa::path(
    post, path = "/kb/articles/{id}/unpublish", tag = "knowledge",
    params(("id" = String, Path, description = "The article's id")),
    responses((status = 200, body = ArticleOut), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
)]
pub async fn unpublish(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<ArticleOut>, ApiError> {
    publishing(&state, &caller, id, true).await
}

async fn read(state: &AppState, caller: &Caller, id: &str) -> Result<ArticleOut, ApiError> {
    let (store, tenant, id) = (state.store(), caller.user.tenant_id.clone(), id.to_owned());
    let found = blocking(move || Ok(store.article(&tenant, &id)?)).await?;
    found
        .and_then(|a| shown(a, caller))
        .ok_or_else(|| ApiError::not_found("article"))
}
