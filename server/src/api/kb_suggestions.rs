//! `GET /tickets/{id}/articles`: the published knowledge-base articles worth reading for a
//! ticket (`docs/knowledge-base.md`, "On devices": the same pure `core::knowledge::suggest` a
//! device uses offline), for staff who see the ticket: its category counts, and each keyword its
//! title and description share with an article's title and tags. Technicians get only articles
//! they read (their team's or no team's).

use axum::Json;
use axum::extract::{Path, State};
use fieldwork_core::Role;
use fieldwork_core::knowledge::{Candidate, excerpt, reads_article, suggest};
use serde::Serialize;
use utoipa::ToSchema;

use super::Caller;
use super::error::{ApiError, ErrorBody};
use crate::state::{AppState, blocking};

/// Articles suggested at most.
const SUGGESTED: usize = 5;
/// Articles weighed (the newest of the tenant).
const WEIGHED: usize = 1_000;

/// An article suggested for a ticket, and why.
#[derive(Debug, Serialize, ToSchema)]
pub struct SuggestedArticle {
    pub id: String,
    pub title: String,
    pub language: String,
    pub category: Option<String>,
    /// `everyone` or `staff`.
    pub audience: String,
    pub same_category: bool,
    /// Keywords the article's title and tags share with the ticket.
    pub shared_keywords: Vec<String>,
    /// A line of the published text.
    pub excerpt: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SuggestedArticles {
    pub items: Vec<SuggestedArticle>,
}

/// Published articles worth reading for the ticket, best first.
#[utoipa::path(
    get, path = "/tickets/{id}/articles", tag = "knowledge",
    params(("id" = String, Path, description = "The ticket's id")),
    responses((status = 200, body = SuggestedArticles), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
)]
pub async fn suggested(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<SuggestedArticles>, ApiError> {
    if !(caller.user.role.is_back_office() || caller.user.role == Role::Technician) {
        return Err(ApiError::forbidden(
            "riders and merchants read the knowledge base on their devices",
        ));
    }
    let ticket = super::tickets::view_for(&state, &caller, &id).await?;
    let (store, tenant) = (state.store(), caller.user.tenant_id.clone());
    let articles = blocking(move || Ok(store.articles(&tenant, WEIGHED)?)).await?;
    let (role, team) = (caller.user.role, caller.user.team.clone());
    let readable: Vec<_> = articles
        .into_iter()
        .filter_map(|a| {
            let text = a.published.clone()?;
            let reads = role.is_back_office()
                || reads_article(
                    role,
                    team.as_deref(),
                    a.meta.audience.wire(),
                    a.meta.team.as_deref(),
                );
            reads.then_some((a, text))
        })
        .collect();
    let candidates = readable.iter().map(|(a, text)| Candidate {
        id: &a.meta.id,
        category: a.meta.category.as_deref(),
        title: &text.title,
        tags: &text.tags,
        published_at: a.published_at.unwrap_or_default(),
    });
    let about = format!("{} {}", ticket.title, ticket.description);
    let chosen = suggest(ticket.category.as_deref(), &about, candidates, SUGGESTED);
    let items = chosen
        .into_iter()
        .filter_map(|s| {
            let (a, text) = readable.iter().find(|(a, _)| a.meta.id == s.id)?;
            Some(SuggestedArticle {
                id: s.id,
                title: text.title.clone(),
                language: a.meta.language.clone(),
                category: a.meta.category.clone(),
                audience: a.meta.audience.as_str().to_owned(),
                excerpt: excerpt(&text.body, &s.shared_keywords.join(" ")),
                same_category: s.same_category,
                shared_keywords: s.shared_keywords,
            })
        })
        .collect();
    Ok(Json(SuggestedArticles { items }))
}
