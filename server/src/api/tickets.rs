//! Tickets through the API (`docs/api.md`, "Tickets"): list and search, read one whole, create,
//! and make any edit a device can. What a caller sees is `core::rules::sees`, as for a pull; a
//! write is an Automerge change made in the caller's name with their own actor, judged by the
//! same `core::rules` and stored through `Tickets::commit` like a device's push, so phones merge
//! it like any other edit and the brain reacts to it.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use fieldwork_core::model::{Channel, Priority, Role, Status, TicketKind};
use fieldwork_core::rules::{Audience, check_create, check_edit, sees};
use fieldwork_core::ticket::{
    Asset, Customer, Edit, NewTicket, Part, Site, Ticket, TicketDocument,
};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::error::{ApiError, ErrorBody, ErrorCode};
use super::people::people;
use super::ticket_out::{People, TicketOut, TicketSummary};
use super::{ApiJson, ApiQuery, Caller};
use crate::error::Error;
use crate::service::{Author, ProposedChange};
use crate::state::{AppState, blocking};
use crate::storage::{
    AssigneeFilter, COUNT_UP_TO, ListCursor, ListScope, ReadWith, TicketQuery, TicketSort,
};

/// Most edits one call may make.
const MAX_EDITS: usize = 20;
/// Default and largest page.
const DEFAULT_LIMIT: usize = 50;
const MAX_LIMIT: usize = 200;

/// The filters, order and page of a ticket list. Lists are comma-separated; times are
/// milliseconds since the Unix epoch.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// Statuses, e.g. `new,assigned`.
    pub status: Option<String>,
    /// Priorities: `low`, `normal`, `high`, `urgent`.
    pub priority: Option<String>,
    pub category: Option<String>,
    /// Channels: `app`, `web`, `email`, `phone`, `iot`, `api`.
    pub channel: Option<String>,
    /// Kinds: `help_request`, `fault_report`, `repair`, …
    pub kind: Option<String>,
    pub team: Option<String>,
    /// A user id, or `none` for tickets waiting in a queue.
    pub assignee: Option<String>,
    /// The reporter's user id.
    pub reporter: Option<String>,
    /// The serial number of the asset the tickets are about: an asset's history.
    pub asset: Option<String>,
    /// Staff only.
    pub tag: Option<String>,
    /// Only tickets that missed (true) or did not miss (false) an SLA target.
    pub breached: Option<bool>,
    /// Only tickets whose SLA clocks are (not) paused.
    pub paused: Option<bool>,
    /// Only tickets with something due before this time.
    pub due_before: Option<i64>,
    pub created_from: Option<i64>,
    pub created_before: Option<i64>,
    /// Words to find in the title, description and notes, Chinese or English (staff also find
    /// internal notes).
    pub q: Option<String>,
    /// `created` (default), `updated`, `priority` or `due`.
    pub sort: Option<String>,
    /// `asc` (default; for `priority`, `desc`) or `desc`.
    pub order: Option<String>,
    /// `next_cursor` of the page before.
    pub cursor: Option<String>,
    /// 1 to 200; 50 when absent.
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<usize>,
}

/// A page of tickets.
#[derive(Debug, Serialize, ToSchema)]
pub struct TicketList {
    pub items: Vec<TicketSummary>,
    /// How many tickets match in all, counted up to 10,000: when more match, `total` is 10,000
    /// and `total_exact` is false.
    pub total: u64,
    /// Whether `total` counts every match.
    pub total_exact: bool,
    /// Pass as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<String>,
    /// The reporters and assignees the page names, by user id.
    pub people: People,
}

/// A new ticket.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTicketIn {
    #[schema(min_length = 1, max_length = 200)]
    pub title: String,
    /// `repair` when absent (reporters: their role's kind).
    pub kind: Option<String>,
    /// How it came in: `phone`, `email`, `web`, … (`api` when absent).
    pub channel: Option<String>,
    pub category: Option<String>,
    /// `normal` when absent.
    pub priority: Option<String>,
    #[serde(default)]
    pub description: String,
    pub order_ref: Option<String>,
    #[serde(default, deserialize_with = "super::object_or_null")]
    pub customer: Option<CustomerIn>,
    #[serde(default, deserialize_with = "super::object_or_null")]
    pub site: Option<SiteIn>,
    /// The equipment the ticket is about (a fridge, a POS terminal): its history across tickets
    /// is `GET /tickets?asset=SERIAL`.
    #[serde(default, deserialize_with = "super::object_or_null")]
    pub asset: Option<AssetIn>,
    /// A first note, written with the ticket.
    pub note: Option<String>,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CustomerIn {
    pub name: Option<String>,
    pub phone: Option<String>,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AssetIn {
    #[schema(min_length = 1, max_length = 100)]
    pub serial: String,
    pub model: Option<String>,
    /// A date, `YYYY-MM-DD`.
    pub warranty_until: Option<String>,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SiteIn {
    pub lat: f64,
    pub lon: f64,
    pub accuracy_m: Option<f64>,
    pub address: Option<String>,
}

/// One edit, as a device makes it.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum EditIn {
    SetTitle {
        title: String,
    },
    SetCategory {
        category: Option<String>,
    },
    /// `low`, `normal`, `high` or `urgent`.
    SetPriority {
        priority: String,
    },
    SetDescription {
        description: String,
    },
    SetOrderRef {
        order_ref: Option<String>,
    },
    SetCustomer {
        #[serde(default, deserialize_with = "super::object_or_null")]
        customer: Option<CustomerIn>,
    },
    /// Along the workflow (`docs/ARCHITECTURE.md`).
    SetStatus {
        status: String,
    },
    /// A user id, or null to release the ticket to its team's queue.
    Assign {
        assignee: Option<String>,
    },
    SetTeam {
        team: Option<String>,
    },
    AddNote {
        text: String,
        /// Staff only: a note the reporter never receives.
        #[serde(default)]
        internal: bool,
    },
    /// Hides a note's text from the views, kept in the history for audit.
    RedactNote {
        note_id: String,
    },
    AddPart {
        sku: String,
        qty: i64,
    },
    TickChecklist {
        item: String,
        done: bool,
    },
    AddTag {
        tag: String,
    },
    RemoveTag {
        tag: String,
    },
    /// The reporter's rating, 1 to 5.
    Rate {
        score: i64,
        comment: Option<String>,
    },
}

/// Edits to make, in order, as one write.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EditsIn {
    #[schema(min_items = 1, max_items = 20)]
    pub edits: Vec<EditIn>,
}

fn parse<T: std::str::FromStr>(what: &str, text: &str) -> Result<T, ApiError> {
    text.trim().parse().map_err(|_| {
        ApiError::bad_request(format!(
            "unknown {what} '{}'",
            text.chars().take(40).collect::<String>()
        ))
    })
}

fn list<T: std::str::FromStr>(what: &str, text: Option<&str>) -> Result<Vec<T>, ApiError> {
    text.map(|t| {
        t.split(',')
            .filter(|p| !p.trim().is_empty())
            .map(|p| parse(what, p))
            .collect()
    })
    .transpose()
    .map(Option::unwrap_or_default)
}

fn strings(text: Option<&str>) -> Vec<String> {
    text.map(|t| {
        t.split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(str::to_owned)
            .collect()
    })
    .unwrap_or_default()
}

/// Whose tickets a role lists (`core::rules::sees`).
fn scope_of(caller: &Caller) -> ListScope {
    let user = &caller.user;
    match user.role {
        Role::Agent | Role::Dispatcher | Role::Supervisor | Role::Admin => ListScope::All,
        Role::Technician => ListScope::Own {
            user_id: user.id.clone(),
            team: user.team.clone(),
            technician: true,
        },
        Role::Rider | Role::Merchant => ListScope::Own {
            user_id: user.id.clone(),
            team: None,
            technician: false,
        },
    }
}

fn sort_name(sort: TicketSort) -> &'static str {
    match sort {
        TicketSort::Created => "created",
        TicketSort::Updated => "updated",
        TicketSort::Priority => "priority",
        TicketSort::Due => "due",
    }
}

/// A cursor says which order it belongs to, so it is never used with another.
fn encode_cursor(sort: TicketSort, descending: bool, key: i64, id: &str) -> String {
    URL_SAFE_NO_PAD.encode(format!(
        "{}|{}|{key}|{id}",
        sort_name(sort),
        u8::from(descending)
    ))
}

fn decode_cursor(text: &str, sort: TicketSort, descending: bool) -> Result<ListCursor, ApiError> {
    let bad =
        || ApiError::bad_request("the cursor does not belong to this list; start again without it");
    let bytes = URL_SAFE_NO_PAD.decode(text.trim()).map_err(|_| bad())?;
    let text = String::from_utf8(bytes).map_err(|_| bad())?;
    let mut parts = text.splitn(4, '|');
    let (Some(s), Some(d), Some(key), Some(id)) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(bad());
    };
    if s != sort_name(sort) || d != u8::from(descending).to_string() || id.is_empty() {
        return Err(bad());
    }
    Ok(ListCursor {
        key: key.parse().map_err(|_| bad())?,
        id: id.to_owned(),
    })
}

/// The store's query for `params`, as `caller` may ask it.
fn query_of(caller: &Caller, p: &ListParams) -> Result<TicketQuery, ApiError> {
    let staff = caller.user.role.reads_staff_data();
    if p.tag.is_some() && !staff {
        return Err(ApiError::forbidden("only staff filter by tag"));
    }
    let sort = match p.sort.as_deref().map(str::trim) {
        None | Some("created") => TicketSort::Created,
        Some("updated") => TicketSort::Updated,
        Some("priority") => TicketSort::Priority,
        Some("due") => TicketSort::Due,
        Some(_) => {
            return Err(ApiError::bad_request(
                "sort is one of created, updated, priority, due",
            ));
        }
    };
    let descending = match p.order.as_deref().map(str::trim) {
        None => sort == TicketSort::Priority,
        Some("asc") => false,
        Some("desc") => true,
        Some(_) => return Err(ApiError::bad_request("order is asc or desc")),
    };
    let limit = p.limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(ApiError::bad_request(format!("limit is 1 to {MAX_LIMIT}")));
    }
    if p.q.as_ref().is_some_and(|q| q.chars().count() > 200) {
        return Err(ApiError::bad_request("a search is at most 200 characters"));
    }
    let statuses: Vec<Status> = list("status", p.status.as_deref())?;
    let priorities: Vec<Priority> = list("priority", p.priority.as_deref())?;
    let channels: Vec<Channel> = list("channel", p.channel.as_deref())?;
    let kinds: Vec<TicketKind> = list("kind", p.kind.as_deref())?;
    Ok(TicketQuery {
        tenant_id: caller.user.tenant_id.clone(),
        scope: Some(scope_of(caller)),
        statuses: statuses.iter().map(|s| s.as_str().to_owned()).collect(),
        priorities: priorities
            .iter()
            .map(|p| u8::try_from(p.rank()).unwrap_or(1))
            .collect(),
        categories: strings(p.category.as_deref()),
        channels: channels.iter().map(|c| c.as_str().to_owned()).collect(),
        kinds: kinds.iter().map(|k| k.as_str().to_owned()).collect(),
        team: p.team.clone(),
        assignee: p.assignee.as_deref().map(|a| match a {
            "none" => AssigneeFilter::Nobody,
            id => AssigneeFilter::User(id.to_owned()),
        }),
        reporter: p.reporter.clone(),
        asset: p.asset.clone(),
        tag: p.tag.clone(),
        breached: p.breached,
        due_before: p.due_before,
        paused: p.paused,
        created_from: p.created_from,
        created_before: p.created_before,
        text: p.q.clone(),
        search_staff: staff,
        sort,
        descending,
        after: p
            .cursor
            .as_deref()
            .map(|c| decode_cursor(c, sort, descending))
            .transpose()?,
        limit,
        count_up_to: Some(COUNT_UP_TO),
    })
}

/// Lists and searches the tickets the caller sees.
#[utoipa::path(
    get, path = "/tickets", tag = "tickets",
    params(ListParams),
    responses(
        (status = 200, body = TicketList), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
    ),
)]
pub async fn list_tickets(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(params): ApiQuery<ListParams>,
) -> Result<Json<TicketList>, ApiError> {
    let query = query_of(&caller, &params)?;
    let store = state.store();
    let ask = query.clone();
    let page = blocking(move || Ok(store.list_tickets(&ask)?)).await?;
    let actor = caller.user.actor();
    let staff = caller.user.role.reads_staff_data();
    let full = page.tickets.len() == query.limit;
    let next_cursor = page
        .tickets
        .last()
        .filter(|_| full)
        .map(|last| encode_cursor(query.sort, query.descending, last.sort_key, &last.id));
    let items = page
        .tickets
        .into_iter()
        // The store narrowed by role; the rule has the last word.
        .filter(|t| {
            sees(
                &actor,
                &Audience {
                    tenant: &caller.user.tenant_id,
                    reporter: &t.reporter_id,
                    assignee: t.assignee.as_deref(),
                    team: t.team.as_deref(),
                },
            )
        })
        .map(|t| TicketSummary::from_row(t, staff))
        .collect::<Vec<_>>();
    let named = items
        .iter()
        .flat_map(|t| std::iter::once(&t.reporter_id).chain(t.assignee.as_ref()))
        .cloned()
        .collect();
    let people = people(&state, &caller, named).await?;
    Ok(Json(TicketList {
        items,
        total: page.total,
        total_exact: page.total_exact,
        next_cursor,
        people,
    }))
}

/// Ticket `id` as the API shows it to `caller`, with the people it names.
async fn ticket_out(state: &AppState, caller: &Caller, id: &str) -> Result<TicketOut, ApiError> {
    let loaded = load(state, caller, id).await?;
    let mut out = TicketOut::from(loaded.view(caller)?);
    out.people = people(state, caller, out.user_ids()).await?;
    Ok(out)
}

/// A ticket's documents as stored, if `caller` may see it.
struct Loaded {
    public: TicketDocument,
    staff: Option<TicketDocument>,
}

impl Loaded {
    fn view(&self, caller: &Caller) -> Result<Ticket, Error> {
        let public = self.public.view()?;
        Ok(match &self.staff {
            Some(staff) if caller.user.role.reads_staff_data() => {
                public.with_staff(staff.staff_view()?)
            }
            _ => public,
        })
    }
}

/// Loads ticket `id` for `caller`: not found when it does not exist in their tenant or they may
/// not see it (the same answer).
async fn load(state: &AppState, caller: &Caller, id: &str) -> Result<Loaded, ApiError> {
    if id.len() > 100 {
        return Err(ApiError::not_found("ticket"));
    }
    let (store, actor, id) = (state.store(), caller.user.actor(), id.to_owned());
    let loaded = blocking(move || {
        store.read_with(|r| {
            let Some(head) = r.ticket_head(&actor.tenant, &id)? else {
                return Ok::<_, Error>(None);
            };
            if !sees(&actor, &head.audience()) {
                return Ok(None);
            }
            let Some(public) = r.ticket_snapshot(&actor.tenant, &id)? else {
                return Ok(None);
            };
            let staff = if actor.role.reads_staff_data() {
                r.ticket_staff_snapshot(&actor.tenant, &id)?
            } else {
                None
            };
            Ok(Some((public, staff)))
        })
    })
    .await?;
    let Some((public, staff)) = loaded else {
        return Err(ApiError::not_found("ticket"));
    };
    Ok(Loaded {
        public: TicketDocument::load(&public).map_err(Error::from)?,
        staff: staff
            .map(|bytes| TicketDocument::load_part(Part::Staff, &bytes))
            .transpose()
            .map_err(Error::from)?,
    })
}

/// Ticket `id` as `caller` sees it (their staff data included when they read it).
pub(super) async fn view_for(
    state: &AppState,
    caller: &Caller,
    id: &str,
) -> Result<Ticket, ApiError> {
    Ok(load(state, caller, id).await?.view(caller)?)
}

/// One ticket whole: fields, notes (internal ones for staff), attachments, history (the
/// brain's decisions with their reasons), SLA, conflicts.
#[utoipa::path(
    get, path = "/tickets/{id}", tag = "tickets",
    params(("id" = String, Path, description = "The ticket's id")),
    responses((status = 200, body = TicketOut), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
)]
pub async fn get_ticket(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<TicketOut>, ApiError> {
    Ok(Json(ticket_out(&state, &caller, &id).await?))
}

/// Stores `changes` as the caller's; a refusal by the rules is `422 refused` with its reason.
async fn commit(
    state: &AppState,
    caller: &Caller,
    changes: Vec<ProposedChange>,
) -> Result<(), ApiError> {
    let author = Author::Person {
        user: caller.user.clone(),
        actor: caller.actor.clone(),
    };
    let committed = state
        .tickets()
        .commit(author, &caller.user.tenant_id, changes)
        .await?;
    if let Some(rejection) = committed.rejected.first() {
        return Err(ApiError::new(ErrorCode::Refused, rejection.message.clone()));
    }
    Ok(())
}

fn asset(a: Option<AssetIn>) -> Result<Option<Asset>, ApiError> {
    let Some(a) = a else { return Ok(None) };
    let serial = a.serial.trim();
    if serial.is_empty() || serial.chars().count() > 100 {
        return Err(ApiError::bad_request(
            "an asset's serial is 1 to 100 characters",
        ));
    }
    Ok(Some(Asset {
        serial: serial.to_owned(),
        model: a.model,
        warranty_until: a.warranty_until,
    }))
}

fn customer(c: Option<CustomerIn>) -> Option<Customer> {
    c.map(|c| Customer {
        name: c.name,
        phone: c.phone,
    })
}

/// Creates a ticket in the caller's name.
#[utoipa::path(
    post, path = "/tickets", tag = "tickets",
    request_body = NewTicketIn,
    responses(
        (status = 201, body = TicketOut), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 422, description = "refused by the rules", body = ErrorBody),
    ),
)]
pub async fn create_ticket(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<NewTicketIn>,
) -> Result<(StatusCode, Json<TicketOut>), ApiError> {
    let actor = caller.user.actor();
    let kind = match body.kind.as_deref() {
        Some(kind) => parse("kind", kind)?,
        None => caller.user.role.default_kind(),
    };
    let new = NewTicket {
        kind,
        channel: body
            .channel
            .as_deref()
            .map(|c| parse("channel", c))
            .transpose()?
            .unwrap_or(Channel::Api),
        title: body.title,
        category: body.category,
        priority: body
            .priority
            .as_deref()
            .map(|p| parse("priority", p))
            .transpose()?
            .unwrap_or(Priority::Normal),
        description: body.description,
        order_ref: body.order_ref,
        customer: customer(body.customer),
        asset: asset(body.asset)?,
        site: body.site.map(|s| Site {
            lat: s.lat,
            lon: s.lon,
            accuracy_m: s.accuracy_m,
            address: s.address,
        }),
        note: body.note,
    };
    check_create(&actor, &new)
        .map_err(|refusal| ApiError::new(ErrorCode::Refused, refusal.to_string()))?;
    let id = uuid::Uuid::now_v7().to_string();
    let mut doc = TicketDocument::create(&id, &actor, &new, caller.actor.clone(), state.now_ms())
        .map_err(|e| ApiError::bad_request(e.to_string()))?;
    let change = doc
        .changes_since(&[])
        .pop()
        .ok_or_else(|| ApiError::bad_request("nothing to create"))?;
    commit(
        &state,
        &caller,
        vec![ProposedChange::public(&id, change.raw_bytes().to_vec())],
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(ticket_out(&state, &caller, &id).await?),
    ))
}

/// The core's edit for an API edit, checked for values that do not parse.
fn edit_of(edit: EditIn) -> Result<Edit, ApiError> {
    Ok(match edit {
        EditIn::SetTitle { title } => Edit::SetTitle { title },
        EditIn::SetCategory { category } => Edit::SetCategory { category },
        EditIn::SetPriority { priority } => Edit::SetPriority {
            priority: parse("priority", &priority)?,
        },
        EditIn::SetDescription { description } => Edit::SetDescription { description },
        EditIn::SetOrderRef { order_ref } => Edit::SetOrderRef { order_ref },
        EditIn::SetCustomer { customer: c } => Edit::SetCustomer {
            customer: customer(c),
        },
        EditIn::SetStatus { status } => Edit::SetStatus {
            status: parse("status", &status)?,
        },
        EditIn::Assign { assignee } => Edit::Assign { assignee },
        EditIn::SetTeam { team } => Edit::SetTeam { team },
        EditIn::AddNote { text, internal } => Edit::AddNote { text, internal },
        EditIn::RedactNote { note_id } => Edit::RedactNote { note_id },
        EditIn::AddPart { sku, qty } => Edit::AddPart { sku, qty },
        EditIn::TickChecklist { item, done } => Edit::TickChecklist { item, done },
        EditIn::AddTag { tag } => Edit::AddTag { tag },
        EditIn::RemoveTag { tag } => Edit::RemoveTag { tag },
        EditIn::Rate { score, comment } => Edit::Rate { score, comment },
    })
}

/// Makes edits to a ticket in the caller's name, in order, as one write; answers the ticket as
/// it stands after.
#[utoipa::path(
    post, path = "/tickets/{id}/edits", tag = "tickets",
    params(("id" = String, Path, description = "The ticket's id")),
    request_body = EditsIn,
    responses(
        (status = 200, body = TicketOut), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, description = "csrf_failed", body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 422, description = "refused by the rules (role, workflow, limits)", body = ErrorBody),
    ),
)]
pub async fn edit_ticket(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<EditsIn>,
) -> Result<Json<TicketOut>, ApiError> {
    if body.edits.is_empty() || body.edits.len() > MAX_EDITS {
        return Err(ApiError::bad_request(format!(
            "send 1 to {MAX_EDITS} edits"
        )));
    }
    let edits = body
        .edits
        .into_iter()
        .map(edit_of)
        .collect::<Result<Vec<_>, _>>()?;
    let mut assignees: Vec<String> = edits
        .iter()
        .filter_map(|e| match e {
            Edit::Assign { assignee: Some(a) } => Some(a.clone()),
            _ => None,
        })
        .collect();
    assignees.sort();
    assignees.dedup();
    if !assignees.is_empty() {
        let (store, tenant, wanted) = (
            state.store(),
            caller.user.tenant_id.clone(),
            assignees.clone(),
        );
        let found = blocking(move || Ok(store.users_by_ids(&tenant, &wanted)?)).await?;
        if found.len() < assignees.len() {
            return Err(ApiError::bad_request(
                "the assignee is no user of this tenant",
            ));
        }
    }
    apply_edits(&state, &caller, &id, &edits).await?;
    Ok(Json(ticket_out(&state, &caller, &id).await?))
}

/// Makes `edits` to ticket `id` in `caller`'s name, each checked by the rules against the
/// ticket as the edits before it left it, and stores them as one commit; the first refusal
/// stores nothing (`422 refused`, with its reason).
pub(super) async fn apply_edits(
    state: &AppState,
    caller: &Caller,
    id: &str,
    edits: &[Edit],
) -> Result<(), ApiError> {
    let actor = caller.user.actor();
    let mut loaded = load(state, caller, id).await?;
    let now = state.now_ms();
    let mut changes = Vec::new();
    for edit in edits {
        let current = loaded.view(caller)?;
        check_edit(&actor, &current, edit)
            .map_err(|refusal| ApiError::new(ErrorCode::Refused, refusal.to_string()))?;
        let part = edit.part(&current);
        let seen = loaded.public.heads();
        let doc = match part {
            Part::Public => &mut loaded.public,
            Part::Staff => {
                let staff = loaded
                    .staff
                    .get_or_insert_with(|| TicketDocument::staff(caller.actor.clone()));
                staff.seen_public(seen);
                staff
            }
        };
        doc.set_actor(caller.actor.clone());
        if let Some(change) = doc
            .apply(&current, edit, &actor, now)
            .map_err(Error::from)?
        {
            changes.push(ProposedChange {
                ticket_id: id.to_owned(),
                part,
                bytes: change.raw_bytes().to_vec(),
            });
        }
    }
    if !changes.is_empty() {
        commit(state, caller, changes).await?;
    }
    Ok(())
}
