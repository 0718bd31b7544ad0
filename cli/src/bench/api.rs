//! `fieldwork bench api`: the back-office API's latency over many tickets while devices sync.
//! A real `fieldwork serve` on loopback gets N tickets (varied categories and priorities, every
//! fifth resolved) and D technician devices; while the devices each add a note and sync once a
//! second, a supervisor's script lists tickets with filters, sorts, search and a second page,
//! reads single tickets whole, and asks for the month's report — one request at a time, each
//! timed from sending to the last byte of the answer. The figures go to `docs/benchmarks.md`.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use fieldwork_core::ticket::{Edit, NewTicket};
use fieldwork_core::{Priority, Status, TicketKind};
use fieldwork_harness::NewUser;

use super::fleet::{self, Rounds};
use super::{
    BenchError, percentile, phone, server_rss_mib, start_fleet_server, step, sync_phone,
    window_runtime,
};

const CATEGORIES: [&str; 10] = [
    "freezer", "oven", "printer", "till", "scale", "door", "light", "pump", "scooter", "network",
];

/// The list requests, round robin (`{cursor}` is filled from the first one's next page).
const LISTS: [&str; 5] = [
    "status=new,assigned&sort=priority&limit=50",
    "category=printer&priority=high&sort=created&limit=50",
    "q=compressor&sort=updated&limit=50",
    "assignee=none&breached=false&sort=due&limit=50",
    "status=new,assigned&sort=priority&limit=50&cursor={cursor}",
];

/// What one kind of request measured, in microseconds, sorted.
struct Timings(Vec<u64>);

impl Timings {
    fn row(&self, what: &str) -> String {
        let ms = |q: f64| percentile(&self.0, q) as f64 / 1e3;
        format!(
            "| {what} | {} requests: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms |",
            self.0.len(),
            ms(0.5),
            ms(0.99),
            self.0.last().copied().unwrap_or(0) as f64 / 1e3
        )
    }
}

async fn timed_get(
    client: &reqwest::Client,
    url: &str,
    token: &str,
) -> Result<(u64, String), BenchError> {
    let start = Instant::now();
    let response = client
        .get(url)
        .bearer_auth(token)
        .send()
        .await
        .map_err(step("request"))?;
    let status = response.status();
    let body = response.text().await.map_err(step("answer"))?;
    let took = start.elapsed().as_micros() as u64;
    if !status.is_success() {
        return Err(BenchError::Step(format!("GET {url}: {status}: {body}")));
    }
    Ok((took, body))
}

/// This month's first and last day (UTC), for the month's report.
fn this_month() -> (String, String) {
    let today = jiff::Timestamp::now()
        .to_zoned(jiff::tz::TimeZone::UTC)
        .date();
    let first = today.first_of_month();
    (first.to_string(), first.last_of_month().to_string())
}

pub(super) fn bench_api(
    tickets: usize,
    devices: usize,
    samples: usize,
    seconds: u64,
) -> Result<(), BenchError> {
    let dir = tempfile::tempdir().map_err(step("temp dir"))?;
    let data: PathBuf = dir.path().join("server");
    let server = start_fleet_server(&data, devices)?;
    let tenant = server.create_tenant("api")?;
    let (_, boss) = server.create_user(&tenant, &NewUser::new("supervisor", "sue"))?;
    let accounts = fleet::accounts(&server, dir.path(), &tenant, devices, 1)?;

    // The tickets, made offline on a dispatcher's device and pushed.
    let populate = Instant::now();
    let ids = fill(&server, &tenant, dir.path(), tickets)?;
    println!(
        "(setup: {tickets} tickets made and pushed in {:.1} s, every fifth resolved; server RSS {:.1} MiB)",
        populate.elapsed().as_secs_f64(),
        server_rss_mib(&server).unwrap_or(0.0)
    );
    let technicians = fleet::sign_in(dir.path(), &server.url, &accounts)?;

    let runtime = window_runtime()?;
    let base = format!("{}/api/v1", server.url);
    let (from, to) = this_month();
    let report_url = format!("{base}/reports?from={from}&to={to}&tz=Europe/Berlin&by=category");
    fieldwork_core::sync::client::install_crypto_provider();
    let measured = runtime.block_on(async {
        let client = reqwest::Client::builder()
            .build()
            .map_err(step("http client"))?;
        // The first report refreshes every ticket's report facts the background task has not
        // yet: its time is the catch-up, shown apart.
        let (first_report, _) = timed_get(&client, &report_url, &boss).await?;
        println!(
            "(first report after the push, refreshing what the background task had not yet: {:.1} s)",
            first_report as f64 / 1e6
        );
        let (_, page) = timed_get(&client, &format!("{base}/tickets?{}", LISTS[0]), &boss).await?;
        let cursor = serde_json::from_str::<serde_json::Value>(&page)
            .ok()
            .and_then(|v| match &v["next_cursor"] {
                serde_json::Value::String(s) => Some(s.clone()),
                serde_json::Value::Number(n) => Some(n.to_string()),
                _ => None,
            })
            .ok_or_else(|| BenchError::Step("the first list has no next page".into()))?;

        let begin = tokio::time::Instant::now() + Duration::from_millis(500);
        let end = begin + Duration::from_secs(seconds);
        let period = Duration::from_secs(1);
        let drives: Vec<_> = technicians
            .into_iter()
            .enumerate()
            .map(|(i, t)| {
                let offset = Duration::from_millis((i as u64 * 997) % 1000);
                tokio::spawn(fleet::drive(t, begin + offset, period, end))
            })
            .collect();
        // Let the devices get going before measuring.
        tokio::time::sleep_until(begin + Duration::from_secs(3)).await;
        let (mut lists, mut reads, mut reports) = (Vec::new(), Vec::new(), Vec::new());
        let mut by_list: [Vec<u64>; LISTS.len()] = Default::default();
        let mut i = 0usize;
        while i < samples && tokio::time::Instant::now() < end {
            let list = LISTS[i % LISTS.len()].replace("{cursor}", &cursor);
            let took = timed_get(&client, &format!("{base}/tickets?{list}"), &boss).await?.0;
            lists.push(took);
            by_list[i % LISTS.len()].push(took);
            let id = &ids[(i * 7919) % ids.len()];
            reads.push(timed_get(&client, &format!("{base}/tickets/{id}"), &boss).await?.0);
            if i.is_multiple_of(10) {
                reports.push(timed_get(&client, &report_url, &boss).await?.0);
            }
            i += 1;
        }
        let mut rounds = Vec::new();
        for drive in drives {
            rounds.push(
                drive
                    .await
                    .unwrap_or_else(|e| Rounds::failed(format!("device task: {e}"))),
            );
        }
        Ok::<_, BenchError>((lists, by_list, reads, reports, Rounds::merged(&rounds)))
    })?;
    let (mut lists, mut by_list, mut reads, mut reports, rounds) = measured;
    for v in [&mut lists, &mut reads, &mut reports]
        .into_iter()
        .chain(by_list.iter_mut())
    {
        v.sort_unstable();
    }
    println!(
        "| while {devices} devices each add a note and sync once a second ({} rounds, {} errors) | device round p50 {:.1} ms, p99 {:.1} ms |",
        rounds.round_us.len(),
        rounds.errors,
        percentile(&rounds.round_us, 0.5) as f64 / 1e3,
        percentile(&rounds.round_us, 0.99) as f64 / 1e3,
    );
    println!(
        "{}",
        Timings(lists).row(&format!(
            "ticket list over {tickets} tickets (filters, sorts, search, a second page; 50 a page, with the total)"
        ))
    );
    for (list, timings) in LISTS.iter().zip(by_list) {
        let list = list.replace("{cursor}", "…");
        println!("{}", Timings(timings).row(&format!("- `{list}`")));
    }
    println!("{}", Timings(reads).row("one ticket with its timeline"));
    println!(
        "{}",
        Timings(reports).row(&format!("the month's report by category ({from} to {to})"))
    );
    println!(
        "(server RSS at the end {:.1} MiB)",
        server_rss_mib(&server).unwrap_or(0.0)
    );
    if let Some(e) = rounds.first_error {
        println!("(first device error: {e})");
    }
    Ok(())
}

/// Fills `tenant` with `tickets` tickets (10 categories, 4 priorities, every 7th about a
/// compressor in English and Chinese, every 5th assigned and resolved), made offline on a
/// dispatcher's device (its store in `dir`) and pushed in one sync; their ids, in order.
pub(super) fn fill(
    server: &fieldwork_harness::Server,
    tenant: &str,
    dir: &std::path::Path,
    tickets: usize,
) -> Result<Vec<String>, BenchError> {
    let (_, desk_token) = server.create_user(tenant, &NewUser::new("dispatcher", "desk"))?;
    let (tech_id, _) = server.create_user(tenant, &NewUser::new("technician", "filler"))?;
    let desk = phone(dir, "desk", &server.url, &desk_token)?;
    let mut ids = Vec::with_capacity(tickets);
    for i in 0..tickets {
        let mut new = NewTicket::titled(
            TicketKind::Repair,
            format!("{} fault at store {}", CATEGORIES[i % 10], i % 997),
        );
        new.category = Some(CATEGORIES[i % 10].to_owned());
        new.priority = Priority::ALL[(i / 10) % 4];
        new.description = if i.is_multiple_of(7) {
            "Compressor noise, temperature rising; 冰柜压缩机噪音".into()
        } else {
            "Customer reports it stopped working this morning.".into()
        };
        let id = desk.store.create(new).map_err(step("create"))?.id;
        if i.is_multiple_of(5) {
            let steps = [
                Edit::Assign {
                    assignee: Some(tech_id.clone()),
                },
                Edit::SetStatus {
                    status: Status::Accepted,
                },
                Edit::SetStatus {
                    status: Status::InProgress,
                },
                Edit::SetStatus {
                    status: Status::Resolved,
                },
            ];
            desk.store.edit(&id, &steps).map_err(step("resolve"))?;
        }
        ids.push(id);
    }
    sync_phone(&desk)?;
    Ok(ids)
}
