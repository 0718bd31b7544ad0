//! The tenant file as written: serde shapes of every section with their spans, before any
//! check. Unknown keys are refused, so a typo is an error rather than a silently ignored setting.

use serde::Deserialize;
use toml::Spanned;

/// A string or a list of strings (`"09:00-18:00"` or `["09:00-12:00", "13:00-18:00"]`).
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub(crate) enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

impl OneOrMany {
    pub(crate) fn into_vec(self) -> Vec<String> {
        match self {
            OneOrMany::One(one) => vec![one],
            OneOrMany::Many(many) => many,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawConfig {
    #[serde(default)]
    pub calendars: Vec<Spanned<RawCalendar>>,
    #[serde(default)]
    pub sla_policies: Vec<Spanned<RawPolicy>>,
    #[serde(default)]
    pub teams: Vec<Spanned<RawTeam>>,
    #[serde(default)]
    pub technicians: Vec<Spanned<RawTechnician>>,
    #[serde(default)]
    pub classify: Vec<Spanned<RawClassify>>,
    #[serde(default)]
    pub rules: Vec<Spanned<RawRule>>,
    pub routing: Option<Spanned<RawRouting>>,
    pub notifications: Option<Spanned<RawNotifications>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawCalendar {
    pub name: Spanned<String>,
    pub time_zone: Spanned<String>,
    #[serde(default)]
    pub hours: Option<Spanned<RawWeek>>,
    #[serde(default)]
    pub holidays: Vec<Spanned<String>>,
    #[serde(default)]
    pub special_days: Vec<Spanned<RawSpecialDay>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawWeek {
    pub mon: Option<Spanned<OneOrMany>>,
    pub tue: Option<Spanned<OneOrMany>>,
    pub wed: Option<Spanned<OneOrMany>>,
    pub thu: Option<Spanned<OneOrMany>>,
    pub fri: Option<Spanned<OneOrMany>>,
    pub sat: Option<Spanned<OneOrMany>>,
    pub sun: Option<Spanned<OneOrMany>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawSpecialDay {
    pub date: Spanned<String>,
    pub hours: Spanned<OneOrMany>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawPolicy {
    pub name: Spanned<String>,
    pub calendar: Option<Spanned<String>>,
    #[serde(rename = "match", default)]
    pub matches: Option<Spanned<RawMatch>>,
    pub first_response_minutes: Spanned<i64>,
    pub update_minutes: Option<Spanned<i64>>,
    pub resolution_minutes: Spanned<i64>,
    #[serde(default)]
    pub warn_before_minutes: Option<Spanned<i64>>,
    pub pause_statuses: Option<Spanned<Vec<String>>>,
    #[serde(default)]
    pub escalate: Vec<Spanned<RawLevel>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawMatch {
    #[serde(default)]
    pub priority: Vec<String>,
    #[serde(default)]
    pub category: Vec<String>,
    #[serde(default)]
    pub channel: Vec<String>,
    #[serde(default)]
    pub kind: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawLevel {
    pub after_minutes: Spanned<i64>,
    /// Which breaches the level follows: `first_response`, `update`, `resolution`; all if absent.
    pub targets: Option<Spanned<Vec<String>>>,
    pub actions: Spanned<RawActions>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawTeam {
    pub name: Spanned<String>,
    #[serde(default)]
    pub categories: Vec<String>,
    #[serde(default)]
    pub kinds: Vec<Spanned<String>>,
    pub territory: Option<Spanned<Vec<Vec<f64>>>>,
    pub chooser: Option<Spanned<String>>,
    pub lead: Option<Spanned<String>>,
    #[serde(default)]
    pub required_skills: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawTechnician {
    pub user: Spanned<String>,
    pub team: Spanned<String>,
    #[serde(default)]
    pub skills: Vec<String>,
    pub capacity: Option<Spanned<i64>>,
    pub shift: Option<Spanned<String>>,
    pub home: Option<Spanned<Vec<f64>>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawClassify {
    pub name: Option<String>,
    #[serde(default)]
    pub any: Vec<Spanned<String>>,
    #[serde(default)]
    pub all: Vec<Spanned<String>>,
    pub regex: Option<Spanned<String>>,
    /// Only tickets from these channels / of these kinds.
    #[serde(default)]
    pub channel: Vec<Spanned<String>>,
    #[serde(default)]
    pub kind: Vec<Spanned<String>>,
    pub set: Spanned<RawClassifySet>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawClassifySet {
    pub category: Option<String>,
    pub priority: Option<Spanned<String>>,
    #[serde(default)]
    pub tags: Vec<String>,
    pub kind: Option<Spanned<String>>,
    #[serde(default)]
    pub skills: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawRule {
    pub name: Spanned<String>,
    pub on: Spanned<OneOrMany>,
    #[serde(default)]
    pub all: Vec<Spanned<RawCondition>>,
    #[serde(default)]
    pub any: Vec<Spanned<RawCondition>>,
    pub after: Option<Spanned<RawAfter>>,
    /// At most once per ticket.
    pub once: Option<bool>,
    pub actions: Spanned<RawActions>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawAfter {
    pub since: Spanned<String>,
    pub minutes: Option<i64>,
    pub hours: Option<i64>,
    pub days: Option<i64>,
    pub calendar: Option<Spanned<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawCondition {
    pub field: Option<Spanned<String>>,
    pub is: Option<String>,
    pub is_not: Option<String>,
    #[serde(rename = "in")]
    pub one_of: Option<Vec<String>>,
    pub not_in: Option<Vec<String>>,
    pub at_least: Option<String>,
    pub present: Option<bool>,
    pub has: Option<String>,
    pub changed: Option<Spanned<String>>,
    pub from: Option<String>,
    pub to: Option<String>,
    pub keywords_any: Option<Vec<Spanned<String>>>,
    pub keywords_all: Option<Vec<Spanned<String>>>,
    pub reporter_reports: Option<i64>,
    pub within_hours: Option<i64>,
    pub same_category: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawActions {
    pub priority: Option<Spanned<String>>,
    pub raise_priority: Option<bool>,
    pub status: Option<Spanned<String>>,
    pub category: Option<String>,
    pub team: Option<Spanned<String>>,
    pub assign: Option<Spanned<String>>,
    #[serde(default)]
    pub add_tags: Vec<String>,
    pub note: Option<String>,
    #[serde(default)]
    pub notify: Vec<Spanned<String>>,
    pub message: Option<String>,
    pub webhook: Option<Spanned<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawRouting {
    pub position_max_age_minutes: Option<Spanned<i64>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawNotifications {
    pub webhook: Option<Spanned<String>>,
}
