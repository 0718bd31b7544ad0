//! What the brain costs (docs/benchmarks.md, "Service brain"): an SLA computation over a year
//! of business calendar with holidays and pauses (budget ≤ 50 µs), and everything the brain does
//! for a new ticket — classification, 50 rules, routing among 1,000 technicians, the SLA —
//! (budget ≤ 1 ms). `cargo bench -p fieldwork-brain --bench brain`

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use fieldwork_brain::routing::Position;
use fieldwork_brain::{Brain, Context, EffectiveTimes, RoutingState, TenantConfig};
use fieldwork_core::model::{Channel, Priority, Role, Status, TicketKind};
use fieldwork_core::ticket::{Event, Person, Site, Ticket};

/// 2026-01-05T09:00:00+08:00, a Monday.
const START: i64 = 1_767_574_800_000;
const MINUTE: i64 = 60_000;
const DAY: i64 = 1_440 * MINUTE;

fn config(technicians: usize, rules: usize) -> String {
    let mut toml = String::new();
    let hours = r#"hours = { mon = ["09:00-12:00", "13:00-18:00"], tue = ["09:00-12:00", "13:00-18:00"], wed = ["09:00-12:00", "13:00-18:00"], thu = ["09:00-12:00", "13:00-18:00"], fri = ["09:00-12:00", "13:00-18:00"] }"#;
    let holidays: Vec<String> = [
        "2026-01-01",
        "2026-02-16",
        "2026-02-17",
        "2026-02-18",
        "2026-02-19",
        "2026-02-20",
        "2026-04-06",
        "2026-05-01",
        "2026-05-04",
        "2026-05-05",
        "2026-06-19",
        "2026-09-25",
        "2026-10-01",
        "2026-10-02",
        "2026-10-05",
        "2026-10-06",
        "2026-10-07",
        "2027-01-01",
    ]
    .iter()
    .map(|d| format!("\"{d}\""))
    .collect();
    let _ = writeln!(
        toml,
        "[[calendars]]\nname = \"office\"\ntime_zone = \"Asia/Shanghai\"\n{hours}\nholidays = [{}]\n\
         special_days = [{{ date = \"2026-02-14\", hours = \"09:00-18:00\" }}, {{ date = \"2026-10-10\", hours = \"09:00-18:00\" }}]\n",
        holidays.join(", ")
    );
    let _ = writeln!(
        toml,
        "[[calendars]]\nname = \"day-shift\"\ntime_zone = \"Asia/Shanghai\"\nhours = {{ mon = \"00:00-24:00\", tue = \"00:00-24:00\", wed = \"00:00-24:00\", thu = \"00:00-24:00\", fri = \"00:00-24:00\", sat = \"00:00-24:00\", sun = \"08:00-20:00\" }}\n"
    );
    // A year of office time: 250 days × 8 h.
    let _ = writeln!(
        toml,
        "[[sla_policies]]\nname = \"project\"\ncalendar = \"office\"\nmatch = {{ category = [\"installation\"] }}\n\
         first_response_minutes = 480\nupdate_minutes = 2400\nresolution_minutes = 120000\nwarn_before_minutes = 480\n\
         escalate = [{{ after_minutes = 60, actions = {{ notify = [\"team_lead\"] }} }}, {{ after_minutes = 480, actions = {{ raise_priority = true }} }}]\n"
    );
    let _ = writeln!(
        toml,
        "[[sla_policies]]\nname = \"standard\"\ncalendar = \"office\"\nfirst_response_minutes = 120\nresolution_minutes = 1440\nwarn_before_minutes = 60\n"
    );
    for (i, category) in ["pos_printer", "pos_terminal", "network", "installation"]
        .iter()
        .enumerate()
    {
        let _ = writeln!(
            toml,
            "[[teams]]\nname = \"team{i}\"\ncategories = [\"{category}\"]\nchooser = \"nearest\"\nlead = \"lead{i}\"\n"
        );
    }
    for i in 0..technicians {
        // Everyone in the printer team: the worst case, 1,000 candidates for one ticket.
        let lat = 31.0 + (i % 40) as f64 * 0.01;
        let lon = 121.2 + (i / 40) as f64 * 0.02;
        let _ = writeln!(
            toml,
            "[[technicians]]\nuser = \"tech{i}\"\nteam = \"team0\"\nskills = [\"printer\"{}]\ncapacity = 3\nshift = \"day-shift\"\nhome = [{lat:.4}, {lon:.4}]\n",
            if i % 3 == 0 { ", \"pos\"" } else { "" }
        );
    }
    let words = [
        ("打印机", "pos_printer"),
        ("小票", "pos_printer"),
        ("收银机", "pos_terminal"),
        ("网络", "network"),
        ("printer", "pos_printer"),
        ("router", "network"),
        ("wifi", "network"),
        ("安装", "installation"),
    ];
    for (i, (word, category)) in words.iter().enumerate() {
        let _ = writeln!(
            toml,
            "[[classify]]\nname = \"c{i}\"\nany = [\"{word}\", \"kw{i}a\", \"kw{i}b\"]\nset = {{ category = \"{category}\", skills = [\"printer\"] }}\n"
        );
    }
    let _ = writeln!(
        toml,
        "[[classify]]\nname = \"order\"\nregex = '(?i)\\border\\s*#?\\s*\\d{{6,}}\\b|订单号?\\s*\\d{{6,}}'\nset = {{ tags = [\"has_order\"] }}\n"
    );
    for i in 0..rules {
        let rule = match i % 5 {
            0 => format!(
                "on = \"create\"\nany = [{{ keywords_any = [\"紧急{i}\", \"urgent{i}\", \"asap{i}\"] }}]\nactions = {{ raise_priority = true }}"
            ),
            1 => format!(
                "on = [\"create\", \"update\"]\nall = [{{ field = \"priority\", at_least = \"high\" }}, {{ field = \"category\", is = \"network{i}\" }}]\nactions = {{ notify = [\"team_lead\"] }}"
            ),
            2 => format!(
                "on = \"create\"\nall = [{{ field = \"category\", present = true }}, {{ reporter_reports = 3, within_hours = 24 }}, {{ field = \"kind\", is = \"complaint\" }}]\nactions = {{ priority = \"urgent\", add_tags = [\"repeat{i}\"] }}"
            ),
            3 => format!(
                "on = \"update\"\nall = [{{ changed = \"status\", to = \"resolved\" }}]\nactions = {{ webhook = \"https://hooks.example.com/{i}\" }}"
            ),
            _ => format!(
                "on = \"time\"\nafter = {{ since = \"status_entered\", hours = {} }}\nall = [{{ field = \"status\", is = \"new\" }}]\nactions = {{ notify = [\"team_lead\"] }}",
                24 + i
            ),
        };
        let _ = writeln!(toml, "[[rules]]\nname = \"rule{i}\"\n{rule}\n");
    }
    toml
}

fn event(kind: &str, by: &str, at: i64, data: &[(&str, &str)]) -> Event {
    Event {
        kind: kind.to_owned(),
        by: by.to_owned(),
        at_device: at,
        data: data
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
    }
}

fn ticket(category: Option<&str>, title: &str, description: &str) -> Ticket {
    Ticket {
        v: 1,
        id: "0195f0c2-0000-7000-8000-000000000001".to_owned(),
        number: None,
        tenant: "acme".to_owned(),
        kind: TicketKind::FaultReport,
        channel: Channel::App,
        title: title.to_owned(),
        category: category.map(str::to_owned),
        priority: Priority::Normal,
        status: Status::New,
        description: description.to_owned(),
        reporter: Person {
            user_id: "shop.7".to_owned(),
            role: Role::Merchant,
            name: None,
        },
        customer: None,
        order_ref: None,
        asset: None,
        site: Some(Site {
            lat: 31.2196,
            lon: 121.4737,
            accuracy_m: Some(8.0),
            address: None,
        }),
        assignee: None,
        team: None,
        sla: None,
        notes: Vec::new(),
        attachments: Vec::new(),
        events: vec![event(
            "created",
            "shop.7",
            START,
            &[("kind", "fault_report")],
        )],
        parts_used: Vec::new(),
        checklist: BTreeMap::new(),
        csat: None,
        alert: None,
        asset_history: Vec::new(),
        tags: Vec::new(),
        custom: BTreeMap::new(),
        created_at: START,
        conflicts: Vec::new(),
    }
}

/// An installation project a year long: accepted, worked, and waiting for parts or the
/// customer ten times along the way.
fn year_long_ticket() -> Ticket {
    let mut t = ticket(Some("installation"), "Install 40 POS terminals", "");
    let tech = "tech1";
    t.events.push(event(
        "assigned",
        "disp",
        START + 5 * MINUTE,
        &[("assignee", tech)],
    ));
    t.events.push(event(
        "status_changed",
        "disp",
        START + 5 * MINUTE,
        &[("from", "new"), ("to", "assigned")],
    ));
    t.events.push(event(
        "status_changed",
        tech,
        START + 30 * MINUTE,
        &[("from", "assigned"), ("to", "accepted")],
    ));
    t.events.push(event(
        "status_changed",
        tech,
        START + 60 * MINUTE,
        &[("from", "accepted"), ("to", "in_progress")],
    ));
    for i in 0..10 {
        let from = START + (20 + i * 30) * DAY;
        let waiting = if i % 2 == 0 {
            "awaiting_parts"
        } else {
            "awaiting_customer"
        };
        t.events.push(event(
            "status_changed",
            tech,
            from,
            &[("from", "in_progress"), ("to", waiting)],
        ));
        t.events.push(event(
            "status_changed",
            tech,
            from + 3 * DAY,
            &[("from", waiting), ("to", "in_progress")],
        ));
    }
    t.status = Status::InProgress;
    t.assignee = Some(tech.to_owned());
    t.team = Some("team3".to_owned());
    t
}

fn routing_state(technicians: usize) -> RoutingState {
    let mut state = RoutingState::default();
    for i in (0..technicians).step_by(2) {
        state.positions.insert(
            format!("tech{i}"),
            Position {
                lat: 31.1 + (i % 17) as f64 * 0.01,
                lon: 121.3 + (i % 23) as f64 * 0.01,
                at: START - 10 * MINUTE,
            },
        );
        state
            .open_tickets
            .insert(format!("tech{i}"), (i % 4) as u32);
    }
    state
}

fn benches(c: &mut Criterion) {
    let text = config(1_000, 50);
    let config = TenantConfig::from_toml(&text).expect("the bench configuration is valid");
    let brain = Brain::new(config);
    let times = EffectiveTimes::device_clocks();

    let project = year_long_ticket();
    let now = START + 200 * DAY;
    let sla = brain
        .sla(&project, &times, now)
        .expect("the project policy matches");
    assert_eq!(sla.policy, "project");
    assert!(
        sla.resolution
            .due
            .is_some_and(|due| due > START + 365 * DAY)
    );
    c.bench_function("sla over a year of calendar (holidays, 10 pauses)", |b| {
        b.iter(|| brain.sla(black_box(&project), &times, black_box(now)))
    });
    c.bench_function("due_at for the same ticket", |b| {
        b.iter(|| brain.due_at(black_box(&project), &times, black_box(now)))
    });

    let state = routing_state(1_000);
    let description = "收银台的小票打印机从今天早上开始一直卡纸，换了纸卷也不行，客人排队结账很着急。订单号 88123456。\
                       The receipt printer at the front counter jams on every receipt since this morning.";
    let new = ticket(None, "收银台打印机卡纸 printer jam", description);
    let ctx = Context {
        times: &times,
        routing: &state,
        reporter_history: &[],
    };
    let at = START + 90 * MINUTE;
    let decisions = brain.on_new_ticket(&new, &ctx, at);
    assert!(decisions.fields.assignee.is_some(), "someone is chosen");
    assert_eq!(decisions.fields.category.as_deref(), Some("pos_printer"));
    c.bench_function(
        "new ticket: classify, 50 rules, route among 1,000, SLA",
        |b| b.iter(|| brain.on_new_ticket(black_box(&new), &ctx, black_box(at))),
    );
    let printer = ticket(Some("pos_printer"), "printer jam", "");
    let outcome = brain.route(&printer, &state, at);
    assert_eq!(outcome.candidates.len(), 1_000);
    c.bench_function("route among 1,000 technicians", |b| {
        b.iter(|| brain.route(black_box(&printer), &state, black_box(at)))
    });
    c.bench_function(
        "parse and check the tenant file (1,000 people, 50 rules)",
        |b| b.iter(|| TenantConfig::from_toml(black_box(&text))),
    );
}

criterion_group!(brain, benches);
criterion_main!(brain);
