//! `fieldwork config check | sla-preview | route-preview` through the real binary: bad files get
//! exit 1 and the line and key of every problem; previews print exactly the documented fields
//! with exact timestamps (weekends, holidays, pauses, a priority change, Berlin across DST) and
//! real distances in Shanghai.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::BIN;
use serde_json::Value;

fn example() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/examples/tenant.toml")
}

fn fieldwork(args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .output()
        .expect("the fieldwork binary runs")
}

/// Runs a command that must succeed and print JSON.
fn json(args: &[&str]) -> Value {
    let out = fieldwork(args);
    assert!(
        out.status.success(),
        "{args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("JSON on stdout")
}

/// Runs a command that must fail with exit 1; its stderr.
fn fails(args: &[&str]) -> String {
    let out = fieldwork(args);
    assert_eq!(out.status.code(), Some(1), "{args:?}: {out:?}");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// A tenant file in a temporary directory.
struct TenantFile {
    _dir: tempfile::TempDir,
    path: PathBuf,
}

impl TenantFile {
    fn new(text: &str) -> TenantFile {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("tenant.toml");
        std::fs::write(&path, text).expect("written");
        TenantFile { _dir: dir, path }
    }

    fn arg(&self) -> &str {
        self.path.to_str().expect("temp paths are UTF-8")
    }
}

fn keys(value: &Value) -> Vec<&str> {
    let mut keys: Vec<&str> = value
        .as_object()
        .expect("an object")
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    keys
}

#[test]
fn the_example_checks_and_bad_files_are_refused_with_line_and_key() {
    let example = example();
    let example = example.to_str().expect("UTF-8 path");
    let ok = json(&["config", "check", example, "--json"]);
    assert_eq!(ok["valid"], true);
    assert_eq!(ok["rules"], 6);
    let out = fieldwork(&["config", "check", example]);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("valid"));

    let cases = [
        ("[[calendars]\nname = \"x\"\n", "line 1"),
        (
            "[[sla_policies]]\nname = \"p\"\ncalendar = \"office\"\nfirst_response_minutes = 5\nresolution_minutes = 60\n",
            "line 3, sla_policies.calendar: unknown calendar 'office'",
        ),
        (
            "[[teams]]\nname = \"t\"\nterritory = [[31.2, 121.4], [31.3, 121.5]]\n",
            "line 3, teams.territory: the territory of team 't' needs at least three distinct [lat, lon] points",
        ),
        (
            "[[calendars]]\nname = \"c\"\ntime_zone = \"Asia/Shangai\"\nhours = { mon = \"09:00-18:00\" }\n",
            "line 3, calendars.time_zone: unknown time zone 'Asia/Shangai'",
        ),
        (
            "[[calendars]]\nname = \"c\"\ntime_zone = \"UTC\"\nhours = { mon = [\"09:00-13:00\", \"12:00-18:00\"] }\n",
            "line 4, calendars.hours.mon: ranges in calendar 'c' overlap",
        ),
        (
            "[[calendars]]\nname = \"c\"\ntime_zone = \"UTC\"\nhours = { mon = \"09:00-18:00\" }\nholidays = [\"2026-02-30\"]\n",
            "line 5, calendars.holidays: '2026-02-30' is not a date",
        ),
        (
            "[[rules]]\nname = \"r\"\non = \"create\"\nactions = { assign = \"ghost\" }\n",
            "line 4, rules.actions.assign: 'ghost' is not in [[technicians]]",
        ),
    ];
    for (text, expected) in cases {
        let file = TenantFile::new(text);
        let stderr = fails(&["config", "check", file.arg()]);
        assert!(stderr.starts_with("error: "), "{stderr}");
        assert!(stderr.contains(file.arg()), "names the file: {stderr}");
        assert!(
            stderr.contains(expected),
            "expected {expected:?} in {stderr}"
        );
    }
    let stderr = fails(&["config", "check", "/nonexistent/tenant.toml"]);
    assert!(
        stderr.contains("cannot read /nonexistent/tenant.toml"),
        "{stderr}"
    );
}

fn sla(file: &str, extra: &[&str]) -> Value {
    let mut args = vec!["config", "sla-preview", file, "--json"];
    args.extend_from_slice(extra);
    json(&args)
}

#[test]
fn sla_preview_gives_exact_due_times() {
    let example = example();
    let example = example.to_str().expect("UTF-8 path");

    // Friday 2026-03-06 17:00 Shanghai: first response Monday 10:00; resolution (1440
    // business minutes, three office days) Wednesday 17:00.
    let weekend = sla(
        example,
        &[
            "--created",
            "2026-03-06T17:00:00+08:00",
            "--priority",
            "normal",
        ],
    );
    assert_eq!(
        keys(&weekend),
        vec!["first_response_due", "policy", "resolution_due"]
    );
    assert_eq!(weekend["policy"], "standard");
    assert_eq!(weekend["first_response_due"], "2026-03-09T02:00:00Z");
    assert_eq!(weekend["resolution_due"], "2026-03-11T09:00:00Z");

    // The eve of National Day: the holiday week is skipped, and the make-up Saturday works.
    let holiday = sla(
        example,
        &[
            "--created",
            "2026-09-30T17:00:00+08:00",
            "--priority",
            "normal",
        ],
    );
    assert_eq!(holiday["first_response_due"], "2026-10-08T02:00:00Z");
    // 60 on the 30th, 480 on 10-08, 480 on 10-09, 420 on the make-up Saturday: 17:00 local.
    assert_eq!(holiday["resolution_due"], "2026-10-10T09:00:00Z");

    // Waiting for parts from Monday 11:00 to Wednesday 11:00 local: two days added.
    let paused = sla(
        example,
        &[
            "--created",
            "2026-03-09T09:00:00+08:00",
            "--priority",
            "normal",
            "--pause",
            "2026-03-09T11:00:00+08:00/2026-03-11T11:00:00+08:00",
        ],
    );
    // 120 minutes before the pause, then Wednesday 11:00 to Friday 18:00 local.
    assert_eq!(paused["resolution_due"], "2026-03-13T10:00:00Z");

    // The same ticket made urgent: the 24x7 policy from creation, the pause still deducted.
    let urgent = sla(
        example,
        &[
            "--created",
            "2026-03-09T09:00:00+08:00",
            "--priority",
            "urgent",
            "--pause",
            "2026-03-09T11:00:00+08:00/2026-03-09T15:00:00+08:00",
        ],
    );
    assert_eq!(urgent["policy"], "urgent");
    assert_eq!(urgent["resolution_due"], "2026-03-09T09:00:00Z");

    // A first response at 13:30 local on a ticket created at 09:00: 210 business minutes (lunch
    // excluded) against 120 — 90 late.
    let late = sla(
        example,
        &[
            "--created",
            "2026-03-09T09:00:00+08:00",
            "--priority",
            "normal",
            "--first-response",
            "2026-03-09T13:30:00+08:00",
        ],
    );
    assert_eq!(
        keys(&late),
        vec![
            "first_response_diff_min",
            "first_response_due",
            "first_response_in_min",
            "policy",
            "resolution_due"
        ]
    );
    assert_eq!(late["first_response_in_min"], 210);
    assert_eq!(late["first_response_diff_min"], -90);

    // A rider's help request: 5 minutes on the 24x7 clock.
    let rider = sla(
        example,
        &[
            "--created",
            "2026-03-09T23:58:00+08:00",
            "--priority",
            "high",
            "--kind",
            "help_request",
        ],
    );
    assert_eq!(rider["policy"], "rider-help");
    assert_eq!(rider["first_response_due"], "2026-03-09T16:03:00Z");
}

#[test]
fn sla_preview_follows_berlin_across_daylight_saving_time() {
    let file = TenantFile::new(
        "[[calendars]]\nname = \"berlin\"\ntime_zone = \"Europe/Berlin\"\n\
         hours = { mon = \"09:00-17:00\", tue = \"09:00-17:00\", wed = \"09:00-17:00\", thu = \"09:00-17:00\", fri = \"09:00-17:00\" }\n\
         [[sla_policies]]\nname = \"berlin\"\ncalendar = \"berlin\"\nfirst_response_minutes = 60\nresolution_minutes = 480\n",
    );
    // Friday 2026-03-27 16:00 CET; Monday is CEST.
    let out = sla(
        file.arg(),
        &[
            "--created",
            "2026-03-27T16:00:00+01:00",
            "--priority",
            "normal",
        ],
    );
    assert_eq!(out["first_response_due"], "2026-03-27T16:00:00Z");
    assert_eq!(out["resolution_due"], "2026-03-30T14:00:00Z");
    // No policy for this ticket: nulls, not an error.
    let none = TenantFile::new("");
    let out = sla(
        none.arg(),
        &[
            "--created",
            "2026-03-27T16:00:00+01:00",
            "--priority",
            "normal",
        ],
    );
    assert_eq!(out["policy"], Value::Null);
    // Bad arguments are exit 1 with the reason.
    let stderr = fails(&[
        "config",
        "sla-preview",
        file.arg(),
        "--created",
        "friday",
        "--priority",
        "normal",
    ]);
    assert!(
        stderr.contains("--created: 'friday' is not an RFC 3339 instant"),
        "{stderr}"
    );
    let stderr = fails(&[
        "config",
        "sla-preview",
        file.arg(),
        "--created",
        "2026-03-27T16:00:00Z",
        "--priority",
        "normal",
        "--pause",
        "2026-03-27T18:00:00Z",
    ]);
    assert!(stderr.contains("--pause takes FROM/TO"), "{stderr}");
}

fn route(extra: &[&str]) -> Value {
    let example = example();
    let mut args = vec![
        "config",
        "route-preview",
        example.to_str().expect("UTF-8 path"),
        "--json",
    ];
    args.extend_from_slice(extra);
    json(&args)
}

fn candidate<'a>(out: &'a Value, user: &str) -> &'a Value {
    out["candidates"]
        .as_array()
        .expect("a list")
        .iter()
        .find(|c| c["user"] == user)
        .expect("listed")
}

/// Xintiandi, Tuesday 2026-03-10 10:00 local.
const SHOP: [&str; 6] = [
    "--lat",
    "31.2196",
    "--lon",
    "121.4737",
    "--at",
    "2026-03-10T10:00:00+08:00",
];

#[test]
fn route_preview_chooses_the_nearest_eligible_technician() {
    let mut args: Vec<&str> = SHOP.to_vec();
    args.extend(["--category", "pos_printer", "--skill", "printer"]);
    let out = route(&args);
    assert_eq!(keys(&out), vec!["candidates", "chosen"]);
    assert_eq!(out["chosen"], "li.na");
    let first = &out["candidates"][0];
    assert_eq!(
        keys(first),
        vec!["distance_m", "eligible", "reason", "user"]
    );
    assert_eq!(first["user"], "li.na");
    let d = first["distance_m"].as_i64().expect("metres");
    assert!((1_150..1_250).contains(&d), "{d}");
    assert_eq!(first["eligible"], true);
    assert_eq!(
        candidate(&out, "wang.qiang")["reason"],
        "missing skills printer"
    );
    assert_eq!(candidate(&out, "zhao.lei")["reason"], "off shift");

    // Li Na is full: Chen Jie (Jing'an, 1.5 km) is next.
    let mut full = args.clone();
    full.extend(["--open", "li.na=3"]);
    let out = route(&full);
    assert_eq!(out["chosen"], "chen.jie");
    assert_eq!(candidate(&out, "li.na")["reason"], "at capacity, load 3/3");

    // Chen Jie reports from across the street: he is nearest now.
    let mut moved = args.clone();
    moved.extend(["--position", "chen.jie=31.2200,121.4740"]);
    let out = route(&moved);
    assert_eq!(out["chosen"], "chen.jie");
    assert!(
        candidate(&out, "chen.jie")["distance_m"]
            .as_i64()
            .expect("metres")
            < 100
    );
}

#[test]
fn route_preview_at_night_and_with_nobody_eligible() {
    let night = [
        "--lat",
        "31.2196",
        "--lon",
        "121.4737",
        "--at",
        "2026-03-10T22:00:00+08:00",
        "--category",
        "pos_printer",
    ];
    let out = route(&night);
    assert_eq!(out["chosen"], "zhao.lei");
    let mut busy = night.to_vec();
    busy.extend(["--open", "zhao.lei=2"]);
    let out = route(&busy);
    assert_eq!(out["chosen"], Value::Null);
    assert!(
        out["candidates"]
            .as_array()
            .expect("a list")
            .iter()
            .all(|c| c["eligible"] == false)
    );

    // A rider's help request in Pudong goes to the Pudong operators; in Suzhou, to nobody.
    let pudong = route(&[
        "--lat",
        "31.2196",
        "--lon",
        "121.5510",
        "--kind",
        "help_request",
        "--at",
        "2026-03-10T10:00:00+08:00",
    ]);
    assert_eq!(pudong["chosen"], "zhou.min");
    let suzhou = route(&[
        "--lat",
        "31.2990",
        "--lon",
        "120.5853",
        "--kind",
        "help_request",
    ]);
    assert_eq!(suzhou["chosen"], Value::Null);
    assert_eq!(suzhou["candidates"], serde_json::json!([]));

    let example = example();
    let stderr = fails(&[
        "config",
        "route-preview",
        example.to_str().expect("UTF-8"),
        "--lat",
        "31.2",
        "--lon",
        "121.4",
        "--open",
        "nobody=1",
    ]);
    assert!(
        stderr.contains("'nobody' is not in the file's [[technicians]]"),
        "{stderr}"
    );
}
