//! Turning the file as written into a checked [`TenantConfig`]: calendars, SLA policies, teams,
//! technicians and routing settings (rules and classification are in `build_rules.rs`). Every
//! problem is collected with its line, so one run shows them all.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;

use fieldwork_core::model::{Status, TicketKind};
use geo::{Area, LineString, Polygon};
use toml::Spanned;

use super::raw::{RawConfig, RawLevel, RawPolicy, RawTeam, RawTechnician};
use super::{
    ALWAYS_OPEN, ConfigError, NotificationSettings, Problem, RoutingSettings, TenantConfig,
    UserReference, limits,
};
use crate::calendar::BusinessCalendar;
use crate::routing::{Chooser, GeoPoint, Team, Technician, Territory};
use crate::sla::{EscalationLevel, PolicyMatch, SlaPolicy, Target};

/// Collects problems and user references while the file is checked.
pub(super) struct Builder<'a> {
    text: &'a str,
    /// Byte offsets where lines start, so a span's line is a binary search.
    line_starts: Vec<usize>,
    pub problems: Vec<Problem>,
    pub user_references: Vec<UserReference>,
    /// Names defined in the file, for cross-references.
    pub calendars: BTreeSet<String>,
    pub teams: BTreeSet<String>,
    pub technicians: BTreeSet<String>,
    /// Keywords seen so far in the file.
    pub keywords: usize,
}

impl<'a> Builder<'a> {
    /// The 1-based line of a span's start.
    pub fn line(&self, span: &Range<usize>) -> usize {
        let offset = span.start.min(self.text.len());
        self.line_starts.partition_point(|start| *start <= offset)
    }

    pub fn problem(&mut self, span: &Range<usize>, key: &str, message: impl Into<String>) {
        let line = self.line(span);
        self.problems.push(Problem {
            line,
            key: key.to_owned(),
            message: message.into(),
        });
    }

    pub fn user_reference(&mut self, user: &Spanned<String>, key: &str) {
        let line = self.line(&user.span());
        self.user_references.push(UserReference {
            user: user.get_ref().clone(),
            line,
            key: key.to_owned(),
        });
    }

    /// A name: not empty, not too long, no control characters.
    pub fn name(&mut self, name: &Spanned<String>, key: &str) -> Option<String> {
        let text = name.get_ref().trim();
        if text.is_empty() {
            self.problem(&name.span(), key, "must not be empty");
            return None;
        }
        if text.chars().count() > limits::MAX_NAME_CHARS || text.chars().any(char::is_control) {
            self.problem(
                &name.span(),
                key,
                format!(
                    "must be at most {} characters, without control characters",
                    limits::MAX_NAME_CHARS
                ),
            );
            return None;
        }
        Some(text.to_owned())
    }

    /// A value of a closed vocabulary (status, priority, …).
    pub fn parse<T: std::str::FromStr>(
        &mut self,
        text: &str,
        span: &Range<usize>,
        key: &str,
    ) -> Option<T>
    where
        T::Err: std::fmt::Display,
    {
        match text.trim().parse::<T>() {
            Ok(value) => Some(value),
            Err(err) => {
                self.problem(span, key, err.to_string());
                None
            }
        }
    }

    /// A count of minutes in `min..=MAX_MINUTES`.
    pub fn minutes(&mut self, value: &Spanned<i64>, key: &str, min: i64) -> Option<i64> {
        let minutes = *value.get_ref();
        if (min..=limits::MAX_MINUTES).contains(&minutes) {
            Some(minutes)
        } else {
            self.problem(
                &value.span(),
                key,
                format!(
                    "must be between {min} and {} minutes (a year)",
                    limits::MAX_MINUTES
                ),
            );
            None
        }
    }

    /// An `http://` or `https://` URL of at most 2048 characters, without spaces.
    pub fn webhook_url(&mut self, url: &Spanned<String>, key: &str) -> Option<String> {
        let text = url.get_ref().trim();
        let valid = (text.starts_with("https://") || text.starts_with("http://"))
            && text.len() <= 2048
            && text.len() > "https://".len()
            && !text.chars().any(|c| c.is_whitespace() || c.is_control());
        if valid {
            Some(text.to_owned())
        } else {
            self.problem(
                &url.span(),
                key,
                "a webhook is an http:// or https:// URL of at most 2048 characters",
            );
            None
        }
    }

    /// Too many entries in a section.
    pub fn too_many(&mut self, count: usize, max: usize, key: &str) -> bool {
        if count > max {
            self.problems.push(Problem {
                line: 0,
                key: key.to_owned(),
                message: format!("at most {max} entries, found {count}"),
            });
            return true;
        }
        false
    }

    pub fn calendar_ref(&mut self, name: &Spanned<String>, key: &str) -> Option<String> {
        let text = name.get_ref().trim();
        if self.calendars.contains(text) {
            return Some(text.to_owned());
        }
        let known = self
            .calendars
            .iter()
            .cloned()
            .collect::<Vec<_>>()
            .join(", ");
        self.problem(
            &name.span(),
            key,
            format!("unknown calendar '{text}'; the calendars are: {known}"),
        );
        None
    }

    pub fn team_ref(&mut self, name: &Spanned<String>, key: &str) -> Option<String> {
        let text = name.get_ref().trim();
        if self.teams.contains(text) {
            return Some(text.to_owned());
        }
        self.problem(
            &name.span(),
            key,
            format!("unknown team '{text}'; define it in [[teams]] first"),
        );
        None
    }

    pub fn point(&mut self, pair: &[f64], span: &Range<usize>, key: &str) -> Option<GeoPoint> {
        match pair {
            [lat, lon]
                if lat.is_finite()
                    && lon.is_finite()
                    && (-90.0..=90.0).contains(lat)
                    && (-180.0..=180.0).contains(lon) =>
            {
                Some(GeoPoint {
                    lat: *lat,
                    lon: *lon,
                })
            }
            _ => {
                self.problem(
                    span,
                    key,
                    "a point is [lat, lon] in degrees: latitude -90..90, longitude -180..180",
                );
                None
            }
        }
    }
}

/// Parses and checks a whole file.
pub(super) fn build(text: &str) -> Result<TenantConfig, ConfigError> {
    if text.len() > limits::MAX_FILE_BYTES {
        return Err(ConfigError {
            problems: vec![Problem {
                line: 0,
                key: String::new(),
                message: format!(
                    "the file is {} bytes; at most {} are accepted",
                    text.len(),
                    limits::MAX_FILE_BYTES
                ),
            }],
        });
    }
    let raw: RawConfig = toml::from_str(text).map_err(|err| {
        let line = err.span().map_or(0, |span| {
            text.as_bytes()[..span.start.min(text.len())]
                .iter()
                .filter(|b| **b == b'\n')
                .count()
                + 1
        });
        ConfigError {
            problems: vec![Problem {
                line,
                key: String::new(),
                message: err.message().trim().to_owned(),
            }],
        }
    })?;
    let line_starts = std::iter::once(0)
        .chain(text.match_indices('\n').map(|(i, _)| i + 1))
        .collect();
    let mut b = Builder {
        text,
        line_starts,
        problems: Vec::new(),
        user_references: Vec::new(),
        calendars: BTreeSet::new(),
        teams: BTreeSet::new(),
        technicians: BTreeSet::new(),
        keywords: 0,
    };

    b.too_many(raw.calendars.len(), limits::MAX_CALENDARS, "calendars");
    let mut calendars = vec![BusinessCalendar::always_open(ALWAYS_OPEN)];
    b.calendars.insert(ALWAYS_OPEN.to_owned());
    for entry in &raw.calendars {
        if let Some(calendar) = super::build_calendars::calendar(&mut b, entry) {
            b.calendars.insert(calendar.name().to_owned());
            calendars.push(calendar);
        }
    }

    b.too_many(raw.teams.len(), limits::MAX_TEAMS, "teams");
    let mut teams = Vec::new();
    for entry in &raw.teams {
        if let Some(team) = team(&mut b, entry) {
            b.teams.insert(team.name.clone());
            teams.push(team);
        }
    }

    b.too_many(
        raw.technicians.len(),
        limits::MAX_TECHNICIANS,
        "technicians",
    );
    let mut technicians = Vec::new();
    for entry in &raw.technicians {
        if let Some(tech) = technician(&mut b, entry) {
            b.technicians.insert(tech.user.clone());
            technicians.push(tech);
        }
    }

    b.too_many(raw.sla_policies.len(), limits::MAX_POLICIES, "sla_policies");
    let mut policies = Vec::new();
    let mut policy_names = BTreeSet::new();
    for entry in &raw.sla_policies {
        if let Some(policy) = policy(&mut b, entry) {
            if policy_names.insert(policy.name.clone()) {
                policies.push(policy);
            } else {
                let name = &entry.get_ref().name;
                b.problem(
                    &name.span(),
                    "sla_policies.name",
                    format!("policy '{}' is defined twice", policy.name),
                );
            }
        }
    }

    let classify = super::build_rules::classify(&mut b, &raw.classify);
    let rules = super::build_rules::rules(&mut b, &raw.rules);

    let mut routing = RoutingSettings::default();
    if let Some(settings) = &raw.routing
        && let Some(age) = &settings.get_ref().position_max_age_minutes
        && let Some(minutes) = b.minutes(age, "routing.position_max_age_minutes", 1)
    {
        routing.position_max_age_minutes = minutes;
    }

    let mut notifications = NotificationSettings::default();
    if let Some(settings) = &raw.notifications
        && let Some(url) = &settings.get_ref().webhook
    {
        notifications.webhook = b.webhook_url(url, "notifications.webhook");
    }

    if !b.problems.is_empty() {
        b.problems.sort_by_key(|p| p.line);
        return Err(ConfigError {
            problems: b.problems,
        });
    }
    let index = |names: Vec<&str>| -> BTreeMap<String, usize> {
        names
            .into_iter()
            .enumerate()
            .map(|(i, n)| (n.to_owned(), i))
            .collect()
    };
    let calendar_index = index(calendars.iter().map(BusinessCalendar::name).collect());
    let team_index = index(teams.iter().map(|t| t.name.as_str()).collect());
    let technician_index = index(technicians.iter().map(|t| t.user.as_str()).collect());
    let mut members: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for (i, tech) in technicians.iter().enumerate() {
        members.entry(tech.team.clone()).or_default().push(i);
    }
    Ok(TenantConfig {
        calendars,
        calendar_index,
        policies,
        teams,
        team_index,
        technicians,
        technician_index,
        members,
        classify,
        rules,
        routing,
        notifications,
        user_references: b.user_references,
    })
}

fn policy(b: &mut Builder<'_>, entry: &Spanned<RawPolicy>) -> Option<SlaPolicy> {
    let raw = entry.get_ref();
    let name = b.name(&raw.name, "sla_policies.name");
    let calendar = match &raw.calendar {
        Some(c) => b.calendar_ref(c, "sla_policies.calendar"),
        None => Some(ALWAYS_OPEN.to_owned()),
    };
    let mut matcher = PolicyMatch::default();
    let mut ok = true;
    if let Some(m) = &raw.matches {
        let span = m.span();
        let m = m.get_ref();
        for p in &m.priority {
            match b.parse(p, &span, "sla_policies.match.priority") {
                Some(p) => matcher.priority.push(p),
                None => ok = false,
            }
        }
        for c in &m.channel {
            match b.parse(c, &span, "sla_policies.match.channel") {
                Some(c) => matcher.channel.push(c),
                None => ok = false,
            }
        }
        for k in &m.kind {
            match b.parse(k, &span, "sla_policies.match.kind") {
                Some(k) => matcher.kind.push(k),
                None => ok = false,
            }
        }
        matcher.category = m.category.iter().map(|c| c.trim().to_owned()).collect();
    }
    let first_response = b.minutes(
        &raw.first_response_minutes,
        "sla_policies.first_response_minutes",
        1,
    );
    let resolution = b.minutes(
        &raw.resolution_minutes,
        "sla_policies.resolution_minutes",
        1,
    );
    let update = match &raw.update_minutes {
        Some(u) => b.minutes(u, "sla_policies.update_minutes", 1).map(Some),
        None => Some(None),
    };
    let warn = match &raw.warn_before_minutes {
        Some(w) => b.minutes(w, "sla_policies.warn_before_minutes", 0),
        None => Some(0),
    };
    let pause_statuses = match &raw.pause_statuses {
        None => Some(vec![Status::AwaitingParts, Status::AwaitingCustomer]),
        Some(list) => {
            let mut statuses = Vec::new();
            for s in list.get_ref() {
                match b.parse::<Status>(s, &list.span(), "sla_policies.pause_statuses") {
                    Some(status) if status.is_open() => statuses.push(status),
                    Some(status) => {
                        let message = format!(
                            "'{status}' already stops the clocks; pause statuses are open \
                             statuses such as awaiting_parts"
                        );
                        b.problem(&list.span(), "sla_policies.pause_statuses", message);
                        ok = false;
                    }
                    None => ok = false,
                }
            }
            Some(statuses)
        }
    };
    if b.too_many(
        raw.escalate.len(),
        limits::MAX_LEVELS,
        "sla_policies.escalate",
    ) {
        ok = false;
    }
    let mut escalate = Vec::new();
    let mut last_after = 0;
    for level in &raw.escalate {
        match escalation_level(b, level) {
            Some(level) if level.after_minutes >= last_after => {
                last_after = level.after_minutes;
                escalate.push(level);
            }
            Some(_) => {
                b.problem(
                    &level.get_ref().after_minutes.span(),
                    "sla_policies.escalate.after_minutes",
                    "escalation levels run in order: list them by increasing after_minutes",
                );
                ok = false;
            }
            None => ok = false,
        }
    }
    if !ok {
        return None;
    }
    Some(SlaPolicy {
        name: name?,
        calendar: calendar?,
        matcher,
        first_response_minutes: first_response?,
        update_minutes: update?,
        resolution_minutes: resolution?,
        warn_before_minutes: warn?,
        pause_statuses: pause_statuses?,
        escalate,
    })
}

fn escalation_level(b: &mut Builder<'_>, entry: &Spanned<RawLevel>) -> Option<EscalationLevel> {
    let raw = entry.get_ref();
    let after = b.minutes(&raw.after_minutes, "sla_policies.escalate.after_minutes", 0);
    let targets = match &raw.targets {
        None => Some(Target::ALL.to_vec()),
        Some(list) => {
            let mut targets = Vec::new();
            for t in list.get_ref() {
                match Target::parse(t.trim()) {
                    Some(target) => targets.push(target),
                    None => {
                        b.problem(
                            &list.span(),
                            "sla_policies.escalate.targets",
                            format!(
                                "unknown target '{}'; use first_response, update or resolution",
                                t.chars().take(40).collect::<String>()
                            ),
                        );
                        return None;
                    }
                }
            }
            Some(targets)
        }
    };
    let actions = super::build_rules::actions(b, &raw.actions, "sla_policies.escalate.actions");
    Some(EscalationLevel {
        after_minutes: after?,
        targets: targets?,
        actions: actions?,
    })
}

fn team(b: &mut Builder<'_>, entry: &Spanned<RawTeam>) -> Option<Team> {
    let raw = entry.get_ref();
    let name = b.name(&raw.name, "teams.name")?;
    if b.teams.contains(&name) {
        b.problem(
            &raw.name.span(),
            "teams.name",
            format!("team '{name}' is defined twice"),
        );
        return None;
    }
    let mut kinds = Vec::new();
    let mut ok = true;
    for kind in &raw.kinds {
        match b.parse::<TicketKind>(kind.get_ref(), &kind.span(), "teams.kinds") {
            Some(k) => kinds.push(k),
            None => ok = false,
        }
    }
    let territory = match &raw.territory {
        None => None,
        Some(points) => {
            let t = territory(b, points, &name);
            ok &= t.is_some();
            t
        }
    };
    let chooser = match &raw.chooser {
        None => Chooser::LeastLoaded,
        Some(text) => match Chooser::parse(text.get_ref().trim()) {
            Some(c) => c,
            None => {
                b.problem(
                    &text.span(),
                    "teams.chooser",
                    format!(
                        "unknown chooser '{}'; use nearest, least_loaded or round_robin",
                        text.get_ref().chars().take(40).collect::<String>()
                    ),
                );
                return None;
            }
        },
    };
    if let Some(lead) = &raw.lead {
        b.user_reference(lead, "teams.lead");
    }
    ok.then(|| Team {
        name,
        categories: raw.categories.iter().map(|c| c.trim().to_owned()).collect(),
        kinds,
        territory,
        chooser,
        lead: raw.lead.as_ref().map(|l| l.get_ref().trim().to_owned()),
        required_skills: raw
            .required_skills
            .iter()
            .map(|s| s.trim().to_owned())
            .collect(),
    })
}

fn territory(
    b: &mut Builder<'_>,
    points: &Spanned<Vec<Vec<f64>>>,
    team: &str,
) -> Option<Territory> {
    let span = points.span();
    let raw = points.get_ref();
    if raw.len() > limits::MAX_POLYGON_POINTS {
        b.problem(
            &span,
            "teams.territory",
            format!("at most {} points", limits::MAX_POLYGON_POINTS),
        );
        return None;
    }
    let mut coords = Vec::with_capacity(raw.len());
    for pair in raw {
        let point = b.point(pair, &span, "teams.territory")?;
        coords.push((point.lon, point.lat));
    }
    let mut distinct = coords.clone();
    distinct.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.total_cmp(&b.1)));
    distinct.dedup();
    if distinct.len() < 3 {
        b.problem(
            &span,
            "teams.territory",
            format!(
                "the territory of team '{team}' needs at least three distinct [lat, lon] points"
            ),
        );
        return None;
    }
    let polygon = Polygon::new(LineString::from(coords), Vec::new());
    // In square degrees; 1e-10 is about a metre square, far below any real territory, and
    // above the rounding left by points on one line.
    if polygon.unsigned_area() <= 1e-10 {
        b.problem(
            &span,
            "teams.territory",
            format!("the territory of team '{team}' has no area (its points are on one line)"),
        );
        return None;
    }
    Some(Territory::new(polygon))
}

fn technician(b: &mut Builder<'_>, entry: &Spanned<RawTechnician>) -> Option<Technician> {
    let raw = entry.get_ref();
    let user = b.name(&raw.user, "technicians.user")?;
    if b.technicians.contains(&user) {
        b.problem(
            &raw.user.span(),
            "technicians.user",
            format!("'{user}' is listed twice; one entry per person"),
        );
        return None;
    }
    b.user_reference(&raw.user, "technicians.user");
    let team = b.team_ref(&raw.team, "technicians.team");
    let capacity = match &raw.capacity {
        None => Some(5),
        Some(c) if (1..=limits::MAX_CAPACITY).contains(c.get_ref()) => {
            u32::try_from(*c.get_ref()).ok()
        }
        Some(c) => {
            b.problem(
                &c.span(),
                "technicians.capacity",
                format!(
                    "must be between 1 and {} open tickets",
                    limits::MAX_CAPACITY
                ),
            );
            None
        }
    };
    let shift = match &raw.shift {
        None => Some(None),
        Some(s) => b.calendar_ref(s, "technicians.shift").map(Some),
    };
    let home = match &raw.home {
        None => Some(None),
        Some(h) => b
            .point(h.get_ref(), &h.span(), "technicians.home")
            .map(Some),
    };
    Some(Technician {
        user,
        team: team?,
        skills: raw.skills.iter().map(|s| s.trim().to_owned()).collect(),
        capacity: capacity?,
        shift: shift?,
        home: home?,
    })
}
