//! The tenant's configuration: one TOML file, parsed and checked as a whole into a
//! [`TenantConfig`]. A file with any problem gives no configuration at all, and every problem is
//! reported with its line and key. The sections and keys are documented in `docs/brain.md`; an
//! example that passes is `docs/examples/tenant.toml`.

mod build;
mod build_calendars;
mod build_rules;
mod raw;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use crate::calendar::BusinessCalendar;
use crate::classify::ClassifyRule;
use crate::routing::{Team, Technician};
use crate::rules::{Condition, Rule};
use crate::sla::SlaPolicy;

/// The calendar that always exists: open all the time.
pub const ALWAYS_OPEN: &str = "24x7";

/// Limits on what a file may hold: the file is an administrator's, but it is still bounded so a
/// mistake cannot make every ticket slow (docs/brain.md, "Limits").
pub mod limits {
    pub const MAX_FILE_BYTES: usize = 1024 * 1024;
    pub const MAX_CALENDARS: usize = 100;
    pub const MAX_SPECIAL_DAYS: usize = 2_000;
    pub const MAX_POLICIES: usize = 200;
    pub const MAX_LEVELS: usize = 10;
    pub const MAX_TEAMS: usize = 500;
    pub const MAX_TECHNICIANS: usize = 10_000;
    pub const MAX_POLYGON_POINTS: usize = 1_000;
    pub const MAX_CLASSIFY: usize = 500;
    pub const MAX_RULES: usize = 500;
    pub const MAX_CONDITIONS: usize = 50;
    pub const MAX_KEYWORDS: usize = 200;
    /// Keywords in the whole file (classification and rules): each may scan a ticket's text.
    pub const MAX_KEYWORDS_TOTAL: usize = 2_000;
    pub const MAX_NAME_CHARS: usize = 100;
    pub const MAX_TEXT_CHARS: usize = 2_000;
    pub const MAX_REGEX_CHARS: usize = 1_000;
    /// Compiled size of one regex (the regex crate's `size_limit`).
    pub const MAX_REGEX_BYTES: usize = 256 * 1024;
    /// One year of minutes: the longest target, escalation delay or time rule.
    pub const MAX_MINUTES: i64 = 366 * 24 * 60;
    pub const MAX_CAPACITY: i64 = 1_000;
}

/// One thing wrong with a file: where, which key, what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// 1-based line in the file (0 when the problem is the file as a whole).
    pub line: usize,
    /// The key, e.g. `calendars.time_zone`.
    pub key: String,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.line, self.key.is_empty()) {
            (0, true) => write!(f, "{}", self.message),
            (0, false) => write!(f, "{}: {}", self.key, self.message),
            (line, true) => write!(f, "line {line}: {}", self.message),
            (line, false) => write!(f, "line {line}, {}: {}", self.key, self.message),
        }
    }
}

/// A file that cannot be used, with every problem found (at least one).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ConfigError {
    pub problems: Vec<Problem>,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let count = self.problems.len();
        if count > 1 {
            writeln!(f, "{count} problems in the tenant configuration:")?;
        }
        for (i, problem) in self.problems.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{problem}")?;
        }
        Ok(())
    }
}

/// Where in the file a user name is used, for [`TenantConfig::check_users`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserReference {
    pub user: String,
    pub line: usize,
    pub key: String,
}

/// Settings for routing (`[routing]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoutingSettings {
    /// A reported position older than this is ignored (the person's `home` is used instead).
    pub position_max_age_minutes: i64,
}

impl Default for RoutingSettings {
    fn default() -> Self {
        RoutingSettings {
            position_max_age_minutes: 8 * 60,
        }
    }
}

/// Settings for notifications to people (`[notifications]`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NotificationSettings {
    /// Where notifications are posted for delivery to people (the tenant's push gateway: the
    /// service that turns them into phone pushes, text messages or chat messages). Without it,
    /// notifications are not delivered.
    pub webhook: Option<String>,
}

/// A checked tenant configuration.
#[derive(Debug, Clone)]
pub struct TenantConfig {
    calendars: Vec<BusinessCalendar>,
    calendar_index: BTreeMap<String, usize>,
    policies: Vec<SlaPolicy>,
    teams: Vec<Team>,
    team_index: BTreeMap<String, usize>,
    technicians: Vec<Technician>,
    technician_index: BTreeMap<String, usize>,
    /// Indexes into `technicians` per team, in file order.
    members: BTreeMap<String, Vec<usize>>,
    classify: Vec<ClassifyRule>,
    rules: Vec<Rule>,
    routing: RoutingSettings,
    notifications: NotificationSettings,
    user_references: Vec<UserReference>,
}

impl TenantConfig {
    /// Parses and checks a whole file.
    pub fn from_toml(text: &str) -> Result<TenantConfig, ConfigError> {
        build::build(text)
    }

    /// A configuration with nothing in it but the `24x7` calendar.
    pub fn empty() -> TenantConfig {
        // An empty file always passes.
        build::build("").unwrap_or_else(|_| unreachable!("an empty tenant file is valid"))
    }

    /// Checks that every user the file names (technicians, team leads, assignments,
    /// notifications) exists in the tenant.
    pub fn check_users(&self, known: &BTreeSet<String>) -> Result<(), ConfigError> {
        let problems: Vec<Problem> = self
            .user_references
            .iter()
            .filter(|r| !known.contains(&r.user))
            .map(|r| Problem {
                line: r.line,
                key: r.key.clone(),
                message: format!(
                    "no user '{}' in this tenant; add the user first or correct the name",
                    r.user
                ),
            })
            .collect();
        if problems.is_empty() {
            Ok(())
        } else {
            Err(ConfigError { problems })
        }
    }

    /// Every user name the file uses, where.
    pub fn user_references(&self) -> &[UserReference] {
        &self.user_references
    }

    /// Every calendar's name, `24x7` first.
    pub fn calendar_names(&self) -> impl Iterator<Item = &str> {
        self.calendars.iter().map(BusinessCalendar::name)
    }

    /// A calendar by name (`24x7` always exists).
    pub fn calendar(&self, name: &str) -> Option<&BusinessCalendar> {
        self.calendar_index.get(name).map(|i| &self.calendars[*i])
    }

    pub fn policies(&self) -> &[SlaPolicy] {
        &self.policies
    }

    pub fn teams(&self) -> &[Team] {
        &self.teams
    }

    pub fn team(&self, name: &str) -> Option<&Team> {
        self.team_index.get(name).map(|i| &self.teams[*i])
    }

    pub fn technicians(&self) -> &[Technician] {
        &self.technicians
    }

    pub fn technician(&self, user: &str) -> Option<&Technician> {
        self.technician_index
            .get(user)
            .map(|i| &self.technicians[*i])
    }

    /// The people of a team, in file order.
    pub fn members(&self, team: &str) -> impl Iterator<Item = &Technician> {
        self.members
            .get(team)
            .into_iter()
            .flatten()
            .map(|i| &self.technicians[*i])
    }

    pub fn classify_rules(&self) -> &[ClassifyRule] {
        &self.classify
    }

    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    pub fn routing(&self) -> &RoutingSettings {
        &self.routing
    }

    pub fn notifications(&self) -> &NotificationSettings {
        &self.notifications
    }

    /// How far back the server must look up a reporter's other tickets for the rules'
    /// `reporter_reports` conditions (0: no rule needs them).
    pub fn history_window_ms(&self) -> i64 {
        self.rules
            .iter()
            .flat_map(|r| r.all.iter().chain(r.any.iter()))
            .filter_map(|c| match c {
                Condition::ReporterReports { within_ms, .. } => Some(*within_ms),
                _ => None,
            })
            .max()
            .unwrap_or(0)
    }
}

#[cfg(test)]
mod tests;
