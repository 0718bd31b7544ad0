//! Checking `[[classify]]`, `[[rules]]` and the actions they and escalation levels take.
//! Regexes are compiled here with bounds on their length, nesting and compiled size.

use std::collections::BTreeSet;

use fieldwork_core::model::{Channel, Priority, Status, TicketKind};
use regex::{Regex, RegexBuilder};
use toml::Spanned;

use super::build::Builder;
use super::limits;
use super::raw::{RawActions, RawAfter, RawClassify, RawCondition, RawRule};
use crate::actions::{Actions, NotifyTarget};
use crate::classify::{ClassifyRule, ClassifySet};
use crate::facts::Field;
use crate::rules::{After, Condition, FieldTest, Rule, Since};
use crate::text::Keyword;

pub(super) fn classify(b: &mut Builder<'_>, entries: &[Spanned<RawClassify>]) -> Vec<ClassifyRule> {
    b.too_many(entries.len(), limits::MAX_CLASSIFY, "classify");
    let mut out = Vec::new();
    for (i, entry) in entries.iter().enumerate() {
        let raw = entry.get_ref();
        let span = entry.span();
        let name = raw
            .name
            .as_deref()
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .map_or_else(|| format!("classify #{}", i + 1), str::to_owned);
        let any = keywords(b, &raw.any, "classify.any");
        let all = keywords(b, &raw.all, "classify.all");
        let regex = match &raw.regex {
            Some(pattern) => regex(b, pattern, "classify.regex").map(Some),
            None => Some(None),
        };
        let (Some(any), Some(all), Some(regex)) = (any, all, regex) else {
            continue;
        };
        if any.is_empty() && all.is_empty() && regex.is_none() {
            b.problem(
                &span,
                "classify",
                format!("rule '{name}' matches nothing: give keywords (any, all) or a regex"),
            );
            continue;
        }
        let mut channels = Vec::new();
        let mut kinds = Vec::new();
        let mut ok = true;
        for c in &raw.channel {
            match b.parse::<Channel>(c.get_ref(), &c.span(), "classify.channel") {
                Some(c) => channels.push(c),
                None => ok = false,
            }
        }
        for k in &raw.kind {
            match b.parse::<TicketKind>(k.get_ref(), &k.span(), "classify.kind") {
                Some(k) => kinds.push(k),
                None => ok = false,
            }
        }
        let set_span = raw.set.span();
        let set = raw.set.get_ref();
        let priority = match &set.priority {
            Some(p) => b
                .parse::<Priority>(p.get_ref(), &p.span(), "classify.set.priority")
                .map(Some),
            None => Some(None),
        };
        let kind = match &set.kind {
            Some(k) => b
                .parse::<TicketKind>(k.get_ref(), &k.span(), "classify.set.kind")
                .map(Some),
            None => Some(None),
        };
        let (Some(priority), Some(kind)) = (priority, kind) else {
            continue;
        };
        let set = ClassifySet {
            category: set
                .category
                .as_deref()
                .map(str::trim)
                .filter(|c| !c.is_empty())
                .map(str::to_owned),
            priority,
            kind,
            tags: clean_list(&set.tags),
            skills: clean_list(&set.skills),
        };
        if set == ClassifySet::default() {
            b.problem(
                &set_span,
                "classify.set",
                format!(
                    "rule '{name}' sets nothing: give category, priority, kind, tags or skills"
                ),
            );
            continue;
        }
        if ok {
            out.push(ClassifyRule {
                name,
                any,
                all,
                regex,
                channels,
                kinds,
                set,
            });
        }
    }
    out
}

pub(super) fn rules(b: &mut Builder<'_>, entries: &[Spanned<RawRule>]) -> Vec<Rule> {
    b.too_many(entries.len(), limits::MAX_RULES, "rules");
    let mut out: Vec<Rule> = Vec::new();
    let mut names = BTreeSet::new();
    for entry in entries {
        let raw = entry.get_ref();
        let Some(name) = b.name(&raw.name, "rules.name") else {
            continue;
        };
        if !names.insert(name.clone()) {
            b.problem(
                &raw.name.span(),
                "rules.name",
                format!("rule '{name}' is defined twice"),
            );
            continue;
        }
        let (mut on_create, mut on_update, mut on_time) = (false, false, false);
        let mut ok = true;
        for on in raw.on.get_ref().clone().into_vec() {
            match on.trim() {
                "create" => on_create = true,
                "update" => on_update = true,
                "time" => on_time = true,
                other => {
                    b.problem(
                        &raw.on.span(),
                        "rules.on",
                        format!(
                            "unknown occasion '{}'; use create, update or time",
                            other.chars().take(40).collect::<String>()
                        ),
                    );
                    ok = false;
                }
            }
        }
        let after = match (&raw.after, on_time) {
            (Some(after), true) if !on_create && !on_update => after_clause(b, after).map(Some),
            (None, true) => {
                b.problem(
                    &raw.on.span(),
                    "rules.after",
                    format!(
                        "time rule '{name}' needs \
                    after = {{ since = \"created\" | \"status_entered\" | \"resolved\", minutes \
                        = N }}"
                    ),
                );
                None
            }
            (Some(after), _) => {
                b.problem(
                    &after.span(),
                    "rules.after",
                    format!(
                        "rule '{name}': `after` belongs to time rules only (on = \"time\", alone)"
                    ),
                );
                None
            }
            (None, false) => Some(None),
        };
        if b.too_many(
            raw.all.len() + raw.any.len(),
            limits::MAX_CONDITIONS,
            "rules.all",
        ) {
            ok = false;
        }
        let all: Vec<Option<Condition>> = raw
            .all
            .iter()
            .map(|c| condition(b, c, "rules.all"))
            .collect();
        let any: Vec<Option<Condition>> = raw
            .any
            .iter()
            .map(|c| condition(b, c, "rules.any"))
            .collect();
        let actions = actions(b, &raw.actions, "rules.actions");
        if let Some(after) = &after {
            let changes = all.iter().chain(any.iter()).flatten().any(|c| {
                matches!(
                    c,
                    Condition::Changed { .. } | Condition::ReporterReports { .. }
                )
            });
            if after.is_some() && changes {
                let message = format!(
                    "time rule '{name}' cannot test what changed or the reporter's other \
                     tickets (it runs on a schedule, not on a change)"
                );
                b.problem(&entry.span(), "rules.all", message);
                ok = false;
            }
        }
        let (Some(after), Some(actions)) = (after, actions) else {
            continue;
        };
        if !ok || all.iter().chain(any.iter()).any(Option::is_none) {
            continue;
        }
        out.push(Rule {
            name,
            on_create,
            on_update,
            after,
            once: raw.once.unwrap_or(false),
            all: all.into_iter().flatten().collect(),
            any: any.into_iter().flatten().collect(),
            actions,
        });
    }
    out
}

fn after_clause(b: &mut Builder<'_>, after: &Spanned<RawAfter>) -> Option<After> {
    let span = after.span();
    let raw = after.get_ref();
    let since = Since::parse(raw.since.get_ref().trim());
    if since.is_none() {
        b.problem(
            &raw.since.span(),
            "rules.after.since",
            "use created, status_entered or resolved",
        );
    }
    let minutes = match (raw.minutes, raw.hours, raw.days) {
        (Some(m), None, None) => Some(m),
        (None, Some(h), None) => h.checked_mul(60),
        (None, None, Some(d)) => d.checked_mul(24 * 60),
        _ => {
            b.problem(
                &span,
                "rules.after",
                "give exactly one of minutes, hours or days",
            );
            return None;
        }
    };
    let minutes = match minutes.filter(|m| (1..=limits::MAX_MINUTES).contains(m)) {
        Some(m) => Some(m),
        None => {
            b.problem(
                &span,
                "rules.after",
                format!(
                    "must be between 1 minute and {} minutes (a year)",
                    limits::MAX_MINUTES
                ),
            );
            None
        }
    };
    let calendar = match &raw.calendar {
        Some(c) => b.calendar_ref(c, "rules.after.calendar").map(Some),
        None => Some(None),
    };
    Some(After {
        since: since?,
        minutes: minutes?,
        calendar: calendar?,
    })
}

fn condition(b: &mut Builder<'_>, entry: &Spanned<RawCondition>, key: &str) -> Option<Condition> {
    let span = entry.span();
    let raw = entry.get_ref();
    let shapes = [
        raw.field.is_some(),
        raw.changed.is_some(),
        raw.keywords_any.is_some(),
        raw.keywords_all.is_some(),
        raw.reporter_reports.is_some(),
    ];
    if shapes.iter().filter(|s| **s).count() != 1 {
        let message = "a condition is one of: { field = …, is = … }, { changed = … }, \
                       { keywords_any = […] }, { keywords_all = […] }, \
                       { reporter_reports = N, within_hours = H }";
        b.problem(&span, key, message);
        return None;
    }
    let field = |b: &mut Builder<'_>, name: &Spanned<String>| -> Option<Field> {
        let field = Field::parse(name.get_ref().trim());
        if field.is_none() {
            b.problem(
                &name.span(),
                key,
                format!(
                    "unknown field '{}'; fields are {}",
                    name.get_ref().chars().take(40).collect::<String>(),
                    Field::NAMES
                ),
            );
        }
        field
    };
    if let Some(name) = &raw.field {
        let field = field(b, name)?;
        let tests = [
            raw.is.as_ref().map(|v| FieldTest::Is(v.trim().to_owned())),
            raw.is_not
                .as_ref()
                .map(|v| FieldTest::IsNot(v.trim().to_owned())),
            raw.one_of.as_ref().map(|v| FieldTest::In(clean_list(v))),
            raw.not_in.as_ref().map(|v| FieldTest::NotIn(clean_list(v))),
            raw.present.map(FieldTest::Present),
            raw.has
                .as_ref()
                .map(|v| FieldTest::Has(v.trim().to_owned())),
            raw.at_least
                .as_ref()
                .map(|v| FieldTest::Is(v.trim().to_owned())),
        ];
        if tests.iter().flatten().count() != 1 {
            b.problem(
                &span,
                key,
                "give exactly one test: is, is_not, in, not_in, at_least, present or has",
            );
            return None;
        }
        let test = if let Some(at_least) = &raw.at_least {
            if field != Field::Priority {
                b.problem(&span, key, "at_least compares priorities only");
                return None;
            }
            FieldTest::AtLeast(b.parse::<Priority>(at_least, &span, key)?)
        } else {
            tests.into_iter().flatten().next()?
        };
        if matches!(test, FieldTest::Has(_)) != (field == Field::Tags)
            && !matches!(test, FieldTest::Present(_))
        {
            b.problem(
                &span,
                key,
                "tags are tested with has (or present); other fields with is, is_not, in or not_in",
            );
            return None;
        }
        let values: Vec<&String> = match &test {
            FieldTest::Is(v) | FieldTest::IsNot(v) => vec![v],
            FieldTest::In(list) | FieldTest::NotIn(list) => list.iter().collect(),
            _ => Vec::new(),
        };
        for value in values {
            check_value(b, field, value, &span, key)?;
        }
        return Some(Condition::Field { field, test });
    }
    if let Some(name) = &raw.changed {
        let field = field(b, name)?;
        for value in raw.from.iter().chain(raw.to.iter()) {
            check_value(b, field, value, &span, key)?;
        }
        return Some(Condition::Changed {
            field,
            from: raw.from.as_ref().map(|v| v.trim().to_owned()),
            to: raw.to.as_ref().map(|v| v.trim().to_owned()),
        });
    }
    if let Some(list) = raw.keywords_any.as_ref().or(raw.keywords_all.as_ref()) {
        let keywords = keywords(b, list, key)?;
        if keywords.is_empty() {
            b.problem(&span, key, "give at least one keyword");
            return None;
        }
        return Some(Condition::Keywords {
            keywords,
            all: raw.keywords_all.is_some(),
        });
    }
    let at_least = raw.reporter_reports.unwrap_or(0);
    let hours = raw.within_hours.unwrap_or(0);
    if !(2..=100).contains(&at_least) || !(1..=24 * 31).contains(&hours) {
        b.problem(
            &span,
            key,
            "reporter_reports needs 2..100 reports and within_hours 1..744",
        );
        return None;
    }
    Some(Condition::ReporterReports {
        at_least: u32::try_from(at_least).ok()?,
        within_ms: hours * 3_600_000,
        same_category: raw.same_category.unwrap_or(true),
    })
}

/// A value compared with a field: spelled as the field's vocabulary, a known team or a user.
fn check_value(
    b: &mut Builder<'_>,
    field: Field,
    value: &str,
    span: &std::ops::Range<usize>,
    key: &str,
) -> Option<()> {
    let value = value.trim();
    match field {
        Field::Status => b.parse::<Status>(value, span, key).map(drop),
        Field::Priority => b.parse::<Priority>(value, span, key).map(drop),
        Field::Kind => b.parse::<TicketKind>(value, span, key).map(drop),
        Field::Channel => b.parse::<Channel>(value, span, key).map(drop),
        Field::ReporterRole => b
            .parse::<fieldwork_core::model::Role>(value, span, key)
            .map(drop),
        Field::Team => {
            let spanned = Spanned::new(span.clone(), value.to_owned());
            b.team_ref(&spanned, key).map(drop)
        }
        Field::Assignee => {
            let spanned = Spanned::new(span.clone(), value.to_owned());
            b.user_reference(&spanned, key);
            Some(())
        }
        Field::Category | Field::Tags => Some(()),
    }
}

pub(super) fn actions(
    b: &mut Builder<'_>,
    entry: &Spanned<RawActions>,
    key: &str,
) -> Option<Actions> {
    let span = entry.span();
    let raw = entry.get_ref();
    let mut ok = true;
    let priority = match &raw.priority {
        Some(p) => {
            let parsed = b.parse::<Priority>(p.get_ref(), &p.span(), &format!("{key}.priority"));
            ok &= parsed.is_some();
            parsed
        }
        None => None,
    };
    if priority.is_some() && raw.raise_priority == Some(true) {
        b.problem(&span, key, "give priority or raise_priority, not both");
        ok = false;
    }
    let status = match &raw.status {
        Some(s) => {
            let parsed = b.parse::<Status>(s.get_ref(), &s.span(), &format!("{key}.status"));
            if matches!(parsed, Some(Status::New | Status::Assigned)) {
                b.problem(
                    &s.span(),
                    &format!("{key}.status"),
                    "new and assigned follow from assignment; use assign or team instead",
                );
                ok = false;
            }
            ok &= parsed.is_some();
            parsed
        }
        None => None,
    };
    let team = match &raw.team {
        Some(t) => {
            let team = b.team_ref(t, &format!("{key}.team"));
            ok &= team.is_some();
            team
        }
        None => None,
    };
    let assign = match &raw.assign {
        Some(user) => {
            let name = user.get_ref().trim();
            if !b.technicians.contains(name) {
                b.problem(
                    &user.span(),
                    &format!("{key}.assign"),
                    format!(
                        "'{name}' is not in \
                    [[technicians]]; only people listed there can be assigned"
                    ),
                );
                ok = false;
            }
            Some(name.to_owned())
        }
        None => None,
    };
    if team.is_some() && assign.is_some() {
        b.problem(
            &span,
            key,
            "give team (route within the team) or assign (one person), not both",
        );
        ok = false;
    }
    let mut notify = Vec::new();
    for target in &raw.notify {
        match NotifyTarget::parse(target.get_ref().trim()) {
            Ok(NotifyTarget::User(user)) => {
                b.user_reference(
                    &Spanned::new(target.span(), user.clone()),
                    &format!("{key}.notify"),
                );
                notify.push(NotifyTarget::User(user));
            }
            Ok(t) => notify.push(t),
            Err(message) => {
                b.problem(&target.span(), &format!("{key}.notify"), message);
                ok = false;
            }
        }
    }
    let webhook = match &raw.webhook {
        Some(url) => {
            let checked = b.webhook_url(url, &format!("{key}.webhook"));
            ok &= checked.is_some();
            checked
        }
        None => None,
    };
    for (text, what) in [(&raw.note, "note"), (&raw.message, "message")] {
        if text
            .as_ref()
            .is_some_and(|t| t.chars().count() > limits::MAX_TEXT_CHARS)
        {
            b.problem(
                &span,
                &format!("{key}.{what}"),
                format!("at most {} characters", limits::MAX_TEXT_CHARS),
            );
            ok = false;
        }
    }
    let actions = Actions {
        priority,
        raise_priority: raw.raise_priority.unwrap_or(false),
        status,
        category: raw
            .category
            .as_deref()
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .map(str::to_owned),
        team,
        assign,
        add_tags: clean_list(&raw.add_tags),
        note: raw.note.clone().filter(|n| !n.trim().is_empty()),
        notify,
        message: raw.message.clone().filter(|m| !m.trim().is_empty()),
        webhook,
    };
    if ok && actions.is_empty() {
        b.problem(
            &span,
            key,
            "no action given: set priority, raise_priority, status, category, \
            team, assign, add_tags, note, notify or webhook",
        );
        return None;
    }
    ok.then_some(actions)
}

fn keywords(b: &mut Builder<'_>, list: &[Spanned<String>], key: &str) -> Option<Vec<Keyword>> {
    if list.len() > limits::MAX_KEYWORDS {
        b.problem(
            &list[0].span(),
            key,
            format!("at most {} keywords", limits::MAX_KEYWORDS),
        );
        return None;
    }
    b.keywords += list.len();
    if b.keywords > limits::MAX_KEYWORDS_TOTAL && !list.is_empty() {
        b.problem(
            &list[0].span(),
            key,
            format!(
                "at most {} keywords in the whole file; merge rules or use a regex",
                limits::MAX_KEYWORDS_TOTAL
            ),
        );
        return None;
    }
    let mut out = Vec::with_capacity(list.len());
    for word in list {
        match Keyword::new(word.get_ref())
            .filter(|_| word.get_ref().chars().count() <= limits::MAX_NAME_CHARS)
        {
            Some(k) => out.push(k),
            None => {
                b.problem(
                    &word.span(),
                    key,
                    format!("a keyword has 1 to {} characters", limits::MAX_NAME_CHARS),
                );
                return None;
            }
        }
    }
    Some(out)
}

fn regex(b: &mut Builder<'_>, pattern: &Spanned<String>, key: &str) -> Option<Regex> {
    let text = pattern.get_ref();
    if text.chars().count() > limits::MAX_REGEX_CHARS {
        b.problem(
            &pattern.span(),
            key,
            format!(
                "a pattern has at most {} characters",
                limits::MAX_REGEX_CHARS
            ),
        );
        return None;
    }
    // The regex crate matches in linear time; these bound what compiling may cost.
    let compiled = RegexBuilder::new(text)
        .size_limit(limits::MAX_REGEX_BYTES)
        .dfa_size_limit(4 * limits::MAX_REGEX_BYTES)
        .nest_limit(32)
        .build();
    match compiled {
        Ok(regex) => Some(regex),
        Err(regex::Error::CompiledTooBig(_)) => {
            b.problem(
                &pattern.span(),
                key,
                "the pattern compiles too big; simplify it (fewer repetitions or alternatives)",
            );
            None
        }
        Err(err) => {
            let first_line = err
                .to_string()
                .lines()
                .last()
                .unwrap_or("invalid pattern")
                .trim()
                .to_owned();
            b.problem(
                &pattern.span(),
                key,
                format!("not a valid regex: {first_line}"),
            );
            None
        }
    }
}

fn clean_list(list: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for item in list {
        let item = item.trim();
        if !item.is_empty() && !out.iter().any(|o| o == item) {
            out.push(item.to_owned());
        }
    }
    out
}
