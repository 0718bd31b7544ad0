//! Routing: which team takes a ticket and who in it does the work. Hard constraints filter
//! (the team for the category or kind and the site's territory; per person: required skills, on
//! shift, under capacity), then the team's chooser ranks whoever is left: nearest by great-circle
//! distance, least loaded, or round robin fair over time. Nobody eligible → the ticket waits in
//! the team's queue, with the reason.
//!
//! Everything routing needs from outside (positions, open-ticket counts, round-robin turns)
//! comes in as values; the turns go out again as a new value for the server to keep.

use std::collections::{BTreeMap, BTreeSet};

use fieldwork_core::model::TicketKind;
use geo::{Contains, Distance, Haversine, Point, Polygon};
use serde::{Deserialize, Serialize};

use crate::config::TenantConfig;

/// A point on Earth, degrees.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct GeoPoint {
    pub lat: f64,
    pub lon: f64,
}

impl GeoPoint {
    fn point(self) -> Point<f64> {
        Point::new(self.lon, self.lat)
    }

    /// Great-circle distance in metres.
    pub fn distance_m(self, other: GeoPoint) -> f64 {
        Haversine.distance(self.point(), other.point())
    }
}

/// A team's area: a polygon of `[lat, lon]` points.
#[derive(Debug, Clone)]
pub struct Territory {
    polygon: Polygon<f64>,
}

impl Territory {
    pub(crate) fn new(polygon: Polygon<f64>) -> Self {
        Territory { polygon }
    }

    /// Whether the point lies inside (a point on the border is outside).
    pub fn contains(&self, at: GeoPoint) -> bool {
        self.polygon.contains(&at.point())
    }
}

/// How a team picks among eligible people.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Chooser {
    Nearest,
    LeastLoaded,
    RoundRobin,
}

impl Chooser {
    /// Its name in the tenant file.
    pub fn as_str(self) -> &'static str {
        match self {
            Chooser::Nearest => "nearest",
            Chooser::LeastLoaded => "least_loaded",
            Chooser::RoundRobin => "round_robin",
        }
    }

    pub(crate) fn parse(text: &str) -> Option<Chooser> {
        Some(match text {
            "nearest" => Chooser::Nearest,
            "least_loaded" => Chooser::LeastLoaded,
            "round_robin" => Chooser::RoundRobin,
            _ => return None,
        })
    }
}

/// One `[[teams]]` entry, checked.
#[derive(Debug, Clone)]
pub struct Team {
    pub name: String,
    /// The categories and kinds it takes (a ticket matching either); both empty: everything.
    pub categories: Vec<String>,
    pub kinds: Vec<TicketKind>,
    pub territory: Option<Territory>,
    pub chooser: Chooser,
    pub lead: Option<String>,
    /// Skills every ticket of the team needs.
    pub required_skills: Vec<String>,
}

impl Team {
    /// Whether the team takes a ticket of this category and kind at this site.
    pub fn takes(&self, category: Option<&str>, kind: TicketKind, site: Option<GeoPoint>) -> bool {
        let by_work = (self.categories.is_empty() && self.kinds.is_empty())
            || category.is_some_and(|c| self.categories.iter().any(|t| t == c))
            || self.kinds.contains(&kind);
        let by_place = match (&self.territory, site) {
            (None, _) => true,
            (Some(territory), Some(site)) => territory.contains(site),
            (Some(_), None) => false,
        };
        by_work && by_place
    }
}

/// One `[[technicians]]` entry (any assignable person), checked.
#[derive(Debug, Clone)]
pub struct Technician {
    pub user: String,
    pub team: String,
    pub skills: BTreeSet<String>,
    /// Open tickets at most.
    pub capacity: u32,
    /// The calendar of their shift; `None`: always on.
    pub shift: Option<String>,
    pub home: Option<GeoPoint>,
}

/// A last known position, from a device's `locate` report.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Position {
    pub lat: f64,
    pub lon: f64,
    /// When it was reported (server time).
    pub at: i64,
}

/// What routing needs to know about people right now.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RoutingState {
    /// Last known positions by user.
    pub positions: BTreeMap<String, Position>,
    /// Open tickets assigned to each user.
    pub open_tickets: BTreeMap<String, u32>,
    pub round_robin: RoundRobinState,
}

/// Round-robin turns per team: whoever waited longest since their last ticket goes next.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoundRobinState {
    pub teams: BTreeMap<String, TeamTurns>,
}

impl RoundRobinState {
    /// Counts a ticket given to `turn.user` in `turn.team`.
    pub fn record(&mut self, turn: &TurnTaken) {
        let turns = self.teams.entry(turn.team.clone()).or_default();
        turns.counter = turns.counter.saturating_add(1);
        turns.last_turn.insert(turn.user.clone(), turns.counter);
    }
}

/// A ticket given to someone: record it with [`RoundRobinState::record`] before the next one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TurnTaken {
    pub team: String,
    pub user: String,
}

/// One team's turns: a counter, and the counter's value at each person's last ticket.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TeamTurns {
    pub counter: u64,
    pub last_turn: BTreeMap<String, u64>,
}

/// The ticket as routing sees it.
#[derive(Debug, Clone, Default)]
pub struct RouteRequest<'a> {
    pub category: Option<&'a str>,
    pub kind: Option<TicketKind>,
    pub site: Option<GeoPoint>,
    /// A team set on purpose (by a person, a rule or an escalation): routed there if it is a
    /// configured team, whatever it takes.
    pub team: Option<&'a str>,
    /// Skills the ticket needs beyond its team's.
    pub skills: Vec<String>,
    /// People who gave the ticket back: never chosen again for it.
    pub exclude: BTreeSet<&'a str>,
}

/// Why a candidate is or is not eligible.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Eligible,
    OffShift,
    AtCapacity,
    MissingSkills(Vec<String>),
    GaveItBack,
}

/// One person considered.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Candidate {
    pub user: String,
    /// From their last known position, else their home; `None` if neither or no site.
    pub distance_m: Option<f64>,
    pub eligible: bool,
    pub load: u32,
    pub capacity: u32,
    #[serde(skip)]
    pub verdict: Verdict,
    /// Where the distance was measured from: `position` or `home`.
    #[serde(skip)]
    from_home: bool,
}

impl Candidate {
    /// Why, in words: "eligible, 2.8 km, load 1/3" or "off shift".
    pub fn reason(&self) -> String {
        let load = format!("load {}/{}", self.load, self.capacity);
        match &self.verdict {
            Verdict::Eligible => match self.distance_m {
                Some(d) => format!("eligible, {}{}, {load}", distance(d), self.origin()),
                None => format!("eligible, {load}"),
            },
            Verdict::OffShift => "off shift".to_owned(),
            Verdict::AtCapacity => format!("at capacity, {load}"),
            Verdict::MissingSkills(missing) => format!("missing skills {}", missing.join("+")),
            Verdict::GaveItBack => "gave this ticket back".to_owned(),
        }
    }

    fn origin(&self) -> &'static str {
        if self.from_home { " from home" } else { "" }
    }
}

/// What routing decided, with everyone considered, best first.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RoutingOutcome {
    pub team: Option<String>,
    pub chosen: Option<String>,
    /// "nearest 2.8 km, skills pos, load 1/3", or why nobody was chosen.
    pub reason: String,
    pub candidates: Vec<Candidate>,
    /// The turn to record when someone was chosen.
    #[serde(skip)]
    pub turn: Option<TurnTaken>,
}

/// Routes a ticket at `now`.
pub fn route(
    config: &TenantConfig,
    request: &RouteRequest<'_>,
    state: &RoutingState,
    now: i64,
) -> RoutingOutcome {
    let Some(team) = pick_team(config, request) else {
        return RoutingOutcome {
            team: None,
            chosen: None,
            reason: no_team_reason(request),
            candidates: Vec::new(),
            turn: None,
        };
    };
    let mut required: Vec<String> = team.required_skills.clone();
    for skill in &request.skills {
        if !required.contains(skill) {
            required.push(skill.clone());
        }
    }
    let max_age = config.routing().position_max_age_minutes * 60_000;
    let turns = state.round_robin.teams.get(&team.name);
    let mut shift_cache: Vec<(&str, bool)> = Vec::new();
    let mut ranked: Vec<(Candidate, u64, usize)> = Vec::new();
    for (roster, tech) in config.members(&team.name).enumerate() {
        let load = state.open_tickets.get(&tech.user).copied().unwrap_or(0);
        let position = state
            .positions
            .get(&tech.user)
            .filter(|p| now.saturating_sub(p.at) <= max_age)
            .map(|p| GeoPoint {
                lat: p.lat,
                lon: p.lon,
            });
        let (from, from_home) = match (position, tech.home) {
            (Some(p), _) => (Some(p), false),
            (None, Some(home)) => (Some(home), true),
            (None, None) => (None, false),
        };
        let distance_m = match (from, request.site) {
            (Some(from), Some(site)) => Some(from.distance_m(site)),
            _ => None,
        };
        let missing: Vec<String> = required
            .iter()
            .filter(|s| !tech.skills.contains(*s))
            .cloned()
            .collect();
        let verdict = if request.exclude.contains(tech.user.as_str()) {
            Verdict::GaveItBack
        } else if !missing.is_empty() {
            Verdict::MissingSkills(missing)
        } else if !on_shift(config, tech, now, &mut shift_cache) {
            Verdict::OffShift
        } else if load >= tech.capacity {
            Verdict::AtCapacity
        } else {
            Verdict::Eligible
        };
        let last_turn = turns
            .and_then(|t| t.last_turn.get(&tech.user))
            .copied()
            .unwrap_or(0);
        ranked.push((
            Candidate {
                user: tech.user.clone(),
                distance_m,
                eligible: verdict == Verdict::Eligible,
                load,
                capacity: tech.capacity,
                verdict,
                from_home,
            },
            last_turn,
            roster,
        ));
    }
    rank(&mut ranked, team.chooser);
    let candidates: Vec<Candidate> = ranked.into_iter().map(|(c, _, _)| c).collect();
    let chosen = candidates.first().filter(|c| c.eligible);
    let (reason, turn) = match chosen {
        Some(best) => (
            choice_reason(team.chooser, best, &required),
            Some(TurnTaken {
                team: team.name.clone(),
                user: best.user.clone(),
            }),
        ),
        None => (queue_reason(&team.name, &candidates), None),
    };
    RoutingOutcome {
        team: Some(team.name.clone()),
        chosen: chosen.map(|c| c.user.clone()),
        reason,
        candidates,
        turn,
    }
}

/// The team for a ticket: the one set on purpose if it is configured, else the first that takes
/// its category or kind at its site.
pub fn pick_team<'c>(config: &'c TenantConfig, request: &RouteRequest<'_>) -> Option<&'c Team> {
    if let Some(team) = request.team.and_then(|t| config.team(t)) {
        return Some(team);
    }
    let kind = request.kind?;
    config
        .teams()
        .iter()
        .find(|t| t.takes(request.category, kind, request.site))
}

fn no_team_reason(request: &RouteRequest<'_>) -> String {
    let what = match (request.category, request.kind) {
        (Some(category), Some(kind)) => format!("category {category} or kind {kind}"),
        (None, Some(kind)) => format!("kind {kind}"),
        (Some(category), None) => format!("category {category}"),
        (None, None) => "this ticket".to_owned(),
    };
    let place = if request.site.is_some() {
        " at this site"
    } else {
        " (no site: teams with a territory cannot take it)"
    };
    format!("no team takes {what}{place}")
}

fn on_shift<'c>(
    config: &'c TenantConfig,
    tech: &'c Technician,
    now: i64,
    cache: &mut Vec<(&'c str, bool)>,
) -> bool {
    let Some(shift) = tech.shift.as_deref() else {
        return true;
    };
    if let Some((_, open)) = cache.iter().find(|(name, _)| *name == shift) {
        return *open;
    }
    let open = config.calendar(shift).is_some_and(|c| c.is_open_at(now));
    cache.push((shift, open));
    open
}

/// Eligible first, in the chooser's order; then the others, nearest first.
fn rank(ranked: &mut [(Candidate, u64, usize)], chooser: Chooser) {
    use std::cmp::Ordering;
    let by_distance = |a: &Candidate, b: &Candidate| match (a.distance_m, b.distance_m) {
        (Some(x), Some(y)) => x.total_cmp(&y),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => Ordering::Equal,
    };
    // Load as a share of capacity, compared without division.
    let by_share = |a: &Candidate, b: &Candidate| {
        (u64::from(a.load) * u64::from(b.capacity))
            .cmp(&(u64::from(b.load) * u64::from(a.capacity)))
    };
    ranked.sort_by(|(a, a_turn, a_roster), (b, b_turn, b_roster)| {
        b.eligible.cmp(&a.eligible).then_with(|| {
            let chosen = if a.eligible {
                match chooser {
                    Chooser::Nearest => by_distance(a, b).then(a.load.cmp(&b.load)),
                    Chooser::LeastLoaded => by_share(a, b)
                        .then(a.load.cmp(&b.load))
                        .then_with(|| a_turn.cmp(b_turn)),
                    Chooser::RoundRobin => a_turn.cmp(b_turn),
                }
            } else {
                by_distance(a, b)
            };
            chosen.then(a_roster.cmp(b_roster))
        })
    });
}

fn choice_reason(chooser: Chooser, best: &Candidate, required: &[String]) -> String {
    let mut parts = vec![match chooser {
        Chooser::Nearest => match best.distance_m {
            Some(d) => format!("nearest {}{}", distance(d), best.origin()),
            None => "nearest: no distance known".to_owned(),
        },
        Chooser::LeastLoaded => "least loaded".to_owned(),
        Chooser::RoundRobin => "round robin".to_owned(),
    }];
    if !required.is_empty() {
        parts.push(format!("skills {}", required.join("+")));
    }
    parts.push(format!("load {}/{}", best.load, best.capacity));
    parts.join(", ")
}

fn queue_reason(team: &str, candidates: &[Candidate]) -> String {
    if candidates.is_empty() {
        return format!("waiting in {team}'s queue: the team has nobody in it");
    }
    let count = |f: fn(&Verdict) -> bool| candidates.iter().filter(|c| f(&c.verdict)).count();
    let parts: Vec<String> = [
        (count(|v| matches!(v, Verdict::OffShift)), "off shift"),
        (count(|v| matches!(v, Verdict::AtCapacity)), "at capacity"),
        (
            count(|v| matches!(v, Verdict::MissingSkills(_))),
            "missing skills",
        ),
        (count(|v| matches!(v, Verdict::GaveItBack)), "gave it back"),
    ]
    .into_iter()
    .filter(|(n, _)| *n > 0)
    .map(|(n, what)| format!("{n} {what}"))
    .collect();
    format!(
        "waiting in {team}'s queue: nobody eligible ({})",
        parts.join(", ")
    )
}

/// "850 m" or "2.8 km".
fn distance(metres: f64) -> String {
    if metres < 1000.0 {
        format!("{} m", metres.round())
    } else {
        format!("{:.1} km", metres / 1000.0)
    }
}
