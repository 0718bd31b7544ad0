use std::collections::BTreeSet;

use super::*;

const EXAMPLE: &str = include_str!("../../../docs/examples/tenant.toml");

fn problems(text: &str) -> Vec<Problem> {
    match TenantConfig::from_toml(text) {
        Ok(_) => panic!("the file should be refused"),
        Err(err) => err.problems,
    }
}

/// The one problem of a file, as printed.
fn problem(text: &str) -> String {
    let found = problems(text);
    assert_eq!(found.len(), 1, "expected one problem, got {found:?}");
    found[0].to_string()
}

#[test]
fn the_example_file_is_valid_and_complete() {
    let config = TenantConfig::from_toml(EXAMPLE).expect("the example passes");
    assert!(config.calendar("24x7").is_some());
    assert!(config.calendar("shanghai-office").is_some());
    assert_eq!(config.policies().len(), 3);
    assert_eq!(config.teams().len(), 4);
    assert_eq!(config.members("pos-repair").count(), 4);
    assert_eq!(config.rules().len(), 6);
    assert_eq!(config.history_window_ms(), 24 * 3_600_000);
    let users: BTreeSet<String> = config
        .user_references()
        .iter()
        .map(|r| r.user.clone())
        .collect();
    assert!(config.check_users(&users).is_ok());
}

#[test]
fn an_empty_file_has_the_24x7_calendar_only() {
    let config = TenantConfig::from_toml("").expect("empty is valid");
    assert!(config.calendar(ALWAYS_OPEN).is_some());
    assert!(config.policies().is_empty());
}

#[test]
fn a_syntax_error_names_its_line() {
    let text =
        "[[calendars]]\nname = \"x\"\ntime_zone = \"UTC\"\nhours = { mon = \"09:00-17:00\" \n";
    let found = problems(text);
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].line, 4, "{found:?}");
}

#[test]
fn a_misspelt_key_is_refused() {
    let text = "[[calendars]]\nname = \"x\"\ntimezone = \"UTC\"\n";
    let message = problem(text);
    assert!(message.contains("line 3"), "{message}");
    assert!(message.contains("timezone"), "{message}");
}

#[test]
fn an_unknown_time_zone_is_refused_with_its_line() {
    let text = "[[calendars]]\nname = \"office\"\ntime_zone = \"Mars/Olympus_Mons\"\nhours = { mon = \"09:00-17:00\" }\n";
    let message = problem(text);
    assert_eq!(
        message,
        "line 3, calendars.time_zone: unknown time zone 'Mars/Olympus_Mons' in calendar 'office'; \
         use an IANA name such as Asia/Shanghai or Europe/Berlin"
    );
}

#[test]
fn an_unknown_calendar_is_refused_with_its_line() {
    let text = "\n[[sla_policies]]\nname = \"p\"\ncalendar = \"office\"\nfirst_response_minutes = 10\nresolution_minutes = 60\n";
    let message = problem(text);
    assert!(
        message.starts_with("line 4, sla_policies.calendar: unknown calendar 'office'"),
        "{message}"
    );
    assert!(
        message.contains("24x7"),
        "names the calendars there are: {message}"
    );
}

#[test]
fn overlapping_or_unsorted_hours_are_refused() {
    let overlap = "[[calendars]]\nname = \"x\"\ntime_zone = \"UTC\"\nhours = { mon = [\"09:00-13:00\", \"12:00-18:00\"] }\n";
    let message = problem(overlap);
    assert!(
        message.contains("line 4, calendars.hours.mon") && message.contains("overlap"),
        "{message}"
    );
    let unsorted = "[[calendars]]\nname = \"x\"\ntime_zone = \"UTC\"\nhours = { tue = [\"13:00-18:00\", \"09:00-12:00\"] }\n";
    assert!(problem(unsorted).contains("out of order"));
    let overnight =
        "[[calendars]]\nname = \"x\"\ntime_zone = \"UTC\"\nhours = { tue = \"22:00-06:00\" }\n";
    assert!(problem(overnight).contains("split a night shift at midnight"));
    let bad_time =
        "[[calendars]]\nname = \"x\"\ntime_zone = \"UTC\"\nhours = { tue = \"9:00-25:00\" }\n";
    assert!(problem(bad_time).contains("is not a range"));
}

#[test]
fn bad_dates_are_refused() {
    for date in [
        "2026-02-30",
        "2026-13-01",
        "01/10/2026",
        "2026-1-1",
        "tomorrow",
    ] {
        let text = format!(
            "[[calendars]]\nname = \"x\"\ntime_zone = \"UTC\"\nhours = {{ mon = \"09:00-17:00\" }}\nholidays = [\"{date}\"]\n"
        );
        let message = problem(&text);
        assert!(
            message.contains("line 5, calendars.holidays") && message.contains("is not a date"),
            "{date}: {message}"
        );
    }
    let twice = "[[calendars]]\nname = \"x\"\ntime_zone = \"UTC\"\nhours = { mon = \"09:00-17:00\" }\nholidays = [\"2026-10-01\", \"2026-10-01\"]\n";
    assert!(problem(twice).contains("listed twice"));
}

#[test]
fn a_calendar_that_is_never_open_is_refused() {
    let text = "[[calendars]]\nname = \"closed\"\ntime_zone = \"UTC\"\nhours = {}\n";
    assert!(problem(text).contains("never open"));
}

#[test]
fn the_24x7_calendar_cannot_be_redefined() {
    let text = "[[calendars]]\nname = \"24x7\"\ntime_zone = \"Asia/Shanghai\"\nhours = { mon = \"09:00-17:00\" }\n";
    assert!(problem(text).contains("built in"));
}

#[test]
fn a_territory_needs_three_distinct_points_and_an_area() {
    let two = "[[teams]]\nname = \"t\"\nterritory = [[31.2, 121.4], [31.3, 121.5]]\n";
    let message = problem(two);
    assert!(
        message.starts_with("line 3, teams.territory:") && message.contains("at least three"),
        "{message}"
    );
    let repeated =
        "[[teams]]\nname = \"t\"\nterritory = [[31.2, 121.4], [31.3, 121.5], [31.2, 121.4]]\n";
    assert!(problem(repeated).contains("at least three"));
    let line =
        "[[teams]]\nname = \"t\"\nterritory = [[31.0, 121.0], [31.1, 121.1], [31.2, 121.2]]\n";
    assert!(problem(line).contains("no area"));
    let out_of_range =
        "[[teams]]\nname = \"t\"\nterritory = [[91.0, 121.0], [31.1, 121.1], [31.2, 121.5]]\n";
    assert!(problem(out_of_range).contains("latitude -90..90"));
}

#[test]
fn unknown_teams_users_and_calendars_in_references_are_refused() {
    let text = "[[technicians]]\nuser = \"li.na\"\nteam = \"nowhere\"\nshift = \"nights\"\n";
    let found = problems(text);
    assert_eq!(found.len(), 2, "{found:?}");
    assert!(
        found[0]
            .to_string()
            .contains("line 3, technicians.team: unknown team 'nowhere'")
    );
    assert!(
        found[1]
            .to_string()
            .contains("line 4, technicians.shift: unknown calendar 'nights'")
    );
}

#[test]
fn users_are_checked_against_the_tenant() {
    let text = "[[teams]]\nname = \"t\"\nlead = \"boss\"\n[[technicians]]\nuser = \"li.na\"\nteam = \"t\"\n\
                [[rules]]\nname = \"r\"\non = \"create\"\nactions = { notify = [\"user:ghost\"] }\n";
    let config = TenantConfig::from_toml(text).expect("the file alone is fine");
    let known: BTreeSet<String> = ["li.na", "boss"].iter().map(|s| (*s).to_owned()).collect();
    let err = config.check_users(&known).expect_err("ghost is unknown");
    assert_eq!(err.problems.len(), 1);
    assert_eq!(
        err.problems[0].to_string(),
        "line 10, rules.actions.notify: no user 'ghost' in this tenant; add the user first or correct the name"
    );
}

#[test]
fn assigning_to_someone_not_listed_is_refused() {
    let text = "[[rules]]\nname = \"r\"\non = \"create\"\nactions = { assign = \"ghost\" }\n";
    assert!(problem(text).contains("not in [[technicians]]"));
}

#[test]
fn bad_values_are_named() {
    let bad_priority = "[[sla_policies]]\nname = \"p\"\nmatch = { priority = [\"critical\"] }\nfirst_response_minutes = 10\nresolution_minutes = 60\n";
    let message = problem(bad_priority);
    assert!(
        message.contains("unknown priority 'critical'")
            && message.contains("low normal high urgent"),
        "{message}"
    );
    let zero =
        "[[sla_policies]]\nname = \"p\"\nfirst_response_minutes = 0\nresolution_minutes = 60\n";
    assert!(problem(zero).contains("line 3, sla_policies.first_response_minutes"));
    let pause_resolved = "[[sla_policies]]\nname = \"p\"\nfirst_response_minutes = 10\nresolution_minutes = 60\npause_statuses = [\"resolved\"]\n";
    assert!(problem(pause_resolved).contains("already stops the clocks"));
    let chooser = "[[teams]]\nname = \"t\"\nchooser = \"fastest\"\n";
    assert!(problem(chooser).contains("use nearest, least_loaded or round_robin"));
}

#[test]
fn escalation_levels_must_be_in_order() {
    let text = "[[sla_policies]]\nname = \"p\"\nfirst_response_minutes = 10\nresolution_minutes = 60\n\
                [[sla_policies.escalate]]\nafter_minutes = 60\nactions = { notify = [\"team_lead\"] }\n\
                [[sla_policies.escalate]]\nafter_minutes = 30\nactions = { notify = [\"role:supervisor\"] }\n";
    let message = problem(text);
    assert!(
        message.starts_with("line 9, sla_policies.escalate.after_minutes"),
        "{message}"
    );
}

#[test]
fn rules_are_checked() {
    let no_after = "[[rules]]\nname = \"r\"\non = \"time\"\nactions = { note = \"x\" }\n";
    assert!(problem(no_after).contains("needs after"));
    let empty_actions = "[[rules]]\nname = \"r\"\non = \"create\"\nactions = {}\n";
    assert!(problem(empty_actions).contains("no action given"));
    let bad_field = "[[rules]]\nname = \"r\"\non = \"update\"\nall = [{ field = \"colour\", is = \"red\" }]\nactions = { note = \"x\" }\n";
    assert!(problem(bad_field).contains("unknown field 'colour'"));
    let two_shapes = "[[rules]]\nname = \"r\"\non = \"update\"\nall = [{ field = \"status\", is = \"new\", changed = \"priority\" }]\nactions = { note = \"x\" }\n";
    assert!(problem(two_shapes).contains("a condition is one of"));
    let time_changed = "[[rules]]\nname = \"r\"\non = \"time\"\nafter = { since = \"created\", hours = 1 }\nall = [{ changed = \"status\" }]\nactions = { note = \"x\" }\n";
    assert!(problem(time_changed).contains("cannot test what changed"));
    let twice = "[[rules]]\nname = \"r\"\non = \"create\"\nactions = { note = \"x\" }\n[[rules]]\nname = \"r\"\non = \"create\"\nactions = { note = \"y\" }\n";
    assert!(problem(twice).contains("defined twice"));
    let webhook = "[[rules]]\nname = \"r\"\non = \"create\"\nactions = { webhook = \"ftp://x\" }\n";
    assert!(problem(webhook).contains("http:// or https://"));
    let bad_status = "[[rules]]\nname = \"r\"\non = \"create\"\nall = [{ field = \"status\", is = \"done\" }]\nactions = { note = \"x\" }\n";
    assert!(problem(bad_status).contains("unknown status 'done'"));
}

#[test]
fn the_push_gateway_is_an_http_url() {
    let config =
        TenantConfig::from_toml("[notifications]\nwebhook = \"https://push.example.com/fw\"\n")
            .expect("valid");
    assert_eq!(
        config.notifications().webhook.as_deref(),
        Some("https://push.example.com/fw")
    );
    assert_eq!(TenantConfig::empty().notifications().webhook, None);
    assert_eq!(
        problem("\n[notifications]\nwebhook = \"push.example.com\"\n"),
        "line 3, notifications.webhook: a webhook is an http:// or https:// URL of at most 2048 characters"
    );
    assert!(problem("[notifications]\nurl = \"https://x.example\"\n").contains("url"));
}

#[test]
fn regexes_are_bounded() {
    let invalid = "[[classify]]\nregex = \"(unclosed\"\nset = { tags = [\"x\"] }\n";
    let message = problem(invalid);
    assert!(
        message.starts_with("line 2, classify.regex: not a valid regex"),
        "{message}"
    );
    // Compiles far beyond the size limit: nested counted repetitions.
    let huge = "[[classify]]\nregex = '(\\w{100}){100}'\nset = { tags = [\"x\"] }\n";
    assert!(problem(huge).contains("compiles too big"));
    let long = format!(
        "[[classify]]\nregex = \"{}\"\nset = {{ tags = [\"x\"] }}\n",
        "a".repeat(1_001)
    );
    assert!(problem(&long).contains("at most 1000 characters"));
    let matches_nothing = "[[classify]]\nset = { tags = [\"x\"] }\n";
    assert!(problem(matches_nothing).contains("matches nothing"));
}

#[test]
fn every_problem_is_reported_at_once() {
    let text = "[[calendars]]\nname = \"a\"\ntime_zone = \"Nowhere/City\"\nhours = { mon = \"09:00-17:00\" }\n\
                [[teams]]\nname = \"t\"\nterritory = [[1.0, 1.0]]\n\
                [[sla_policies]]\nname = \"p\"\ncalendar = \"b\"\nfirst_response_minutes = 5\nresolution_minutes = 50\n";
    let found = problems(text);
    let lines: Vec<usize> = found.iter().map(|p| p.line).collect();
    assert_eq!(lines, vec![3, 7, 10], "{found:?}");
    let printed = ConfigError { problems: found }.to_string();
    assert!(
        printed.starts_with("3 problems in the tenant configuration:"),
        "{printed}"
    );
}

#[test]
fn keywords_are_bounded_in_the_whole_file() {
    let mut text = String::new();
    for i in 0..11 {
        let words: Vec<String> = (0..200).map(|j| format!("\"w{i}x{j}\"")).collect();
        text.push_str(&format!(
            "[[classify]]\nany = [{}]\nset = {{ tags = [\"t\"] }}\n",
            words.join(", ")
        ));
    }
    let message = problem(&text);
    assert!(
        message.contains("at most 2000 keywords in the whole file"),
        "{message}"
    );
}

#[test]
fn deep_nesting_is_refused_without_a_crash() {
    let text = format!("a = {}{}\n", "[".repeat(100_000), "]".repeat(100_000));
    assert!(TenantConfig::from_toml(&text).is_err());
}

#[test]
fn a_file_too_large_is_refused_before_parsing() {
    let text = format!("# {}\n", "x".repeat(limits::MAX_FILE_BYTES));
    assert!(problem(&text).contains("at most 1048576"));
}
