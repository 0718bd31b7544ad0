//! `fieldwork bench load`: many technician devices against one real `fieldwork serve` on
//! loopback. Each device holds one assigned ticket and, at a fixed rate, adds a note to it and
//! runs one sync round; the round-trip latencies, the achieved change rate, the server's memory
//! and the CPU split between server and devices are printed for `docs/benchmarks.md`.
//!
//! The devices run in this process, on the same machine as the server: on a small machine
//! they compete with it for the cores, so the figures are an upper bound on server latency.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use super::fleet::{self, Rounds};
use super::{
    BenchError, anon_mib, percentile, rss_mib, start_fleet_replicas, step, window_runtime,
};

/// utime + stime of a process, in clock ticks (`/proc/<pid>/stat` fields 14 and 15).
fn cpu_ticks(pid: &str) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // After the command name: field 3 is at index 0, so utime (14) is index 11.
    Some(fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?)
}

/// The PostgreSQL server's processes on this machine (`comm` is `postgres`), for its CPU share
/// when the records live there.
fn postgres_pids() -> Vec<String> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|name| name.bytes().all(|b| b.is_ascii_digit()))
        .filter(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/comm"))
                .is_ok_and(|c| c.trim() == "postgres")
        })
        .collect()
}

/// The summed CPU ticks of `pids` (those still running).
fn ticks_of(pids: &[String]) -> u64 {
    pids.iter().filter_map(|pid| cpu_ticks(pid)).sum()
}

/// The summed resident and anonymous memory of `pids`, in MiB.
fn memory_of(pids: &[u32]) -> (f64, f64) {
    pids.iter().fold((0.0, 0.0), |(rss, anon), &pid| {
        (
            rss + rss_mib(pid).unwrap_or(0.0),
            anon + anon_mib(pid).unwrap_or(0.0),
        )
    })
}

/// All CPU time of the machine (every core, idle included), in clock ticks (`/proc/stat`).
fn machine_ticks() -> Option<u64> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let line = stat.lines().next()?;
    Some(
        line.split_whitespace()
            .skip(1)
            .filter_map(|v| v.parse::<u64>().ok())
            .sum(),
    )
}

/// A small seeded generator for the start offsets (no dependency needed for this).
fn xorshift(state: &mut u64) -> f64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    (*state >> 11) as f64 / (1u64 << 53) as f64
}

/// The tenant file `--brain` applies: one team of every technician, an SLA policy, and 50
/// update rules on keywords of the notes' ticket (each push is judged by all of them).
fn brain_file(devices: usize) -> String {
    let mut file = String::from(
        "[[teams]]\nname = \"field\"\nkinds = [\"repair\"]\nchooser = \"least_loaded\"\n\n\
         [[sla_policies]]\nname = \"standard\"\nfirst_response_minutes = 60\n\
         resolution_minutes = 480\nwarn_before_minutes = 15\n",
    );
    for i in 0..devices {
        file.push_str(&format!(
            "\n[[technicians]]\nuser = \"tech{i}\"\nteam = \"field\"\ncapacity = 10\n"
        ));
    }
    for i in 0..50 {
        file.push_str(&format!(
            "\n[[rules]]\nname = \"rule {i}\"\non = \"update\"\n\
             all = [{{ keywords_any = [\"compressor {i}\", \"压缩机{i}\"] }}]\n\
             actions = {{ add_tags = [\"r{i}\"] }}\n"
        ));
    }
    file
}

/// The shape of the load.
pub(super) struct LoadArgs {
    pub devices: usize,
    pub tickets_per_device: usize,
    pub rate: f64,
    pub seconds: u64,
    pub brain: bool,
    /// An empty PostgreSQL database for the records (SQLite in a temp dir without it).
    pub database: Option<String>,
    /// Servers on that database behind a round-robin proxy.
    pub replicas: usize,
    /// The devices' stores beside the server's on disk, not in `/dev/shm`.
    pub devices_on_disk: bool,
}

/// Where the devices' stores go: a folder in `/dev/shm` unless `on_disk` (or there is none),
/// else `None` (beside the server's data).
fn devices_dir(on_disk: bool) -> Result<Option<tempfile::TempDir>, BenchError> {
    let shm = std::path::Path::new("/dev/shm");
    if on_disk || !shm.is_dir() {
        return Ok(None);
    }
    tempfile::Builder::new()
        .prefix("fieldwork-devices-")
        .tempdir_in(shm)
        .map(Some)
        .map_err(step("devices' folder in /dev/shm"))
}

pub(super) fn bench_load(args: LoadArgs, alerts: usize) -> Result<(), BenchError> {
    let LoadArgs {
        devices,
        tickets_per_device,
        rate,
        seconds,
        brain,
        database,
        replicas,
        devices_on_disk,
    } = args;
    if devices == 0 || tickets_per_device == 0 || rate <= 0.0 || seconds == 0 {
        return Err(BenchError::Step(
            "--devices, --tickets-per-device, --rate and --seconds must be positive".into(),
        ));
    }
    let dir = tempfile::tempdir().map_err(step("temp dir"))?;
    let data: PathBuf = dir.path().join("server");
    if replicas > 1 && database.is_none() {
        return Err(BenchError::Step("--replicas needs --database".into()));
    }
    let server = start_fleet_replicas(&data, devices, database.as_deref(), replicas)?;
    let pids: Vec<u32> = server.replica_pids().into_iter().flatten().collect();
    let rss_start = memory_of(&pids).0;
    let backend = match &database {
        Some(_) if replicas > 1 => format!("{replicas} replicas on PostgreSQL"),
        Some(_) => "PostgreSQL".to_owned(),
        None => "SQLite".to_owned(),
    };
    println!(
        "server {} ({backend}; RSS at start {rss_start:.1} MiB)",
        server.url
    );

    // Setup: a tenant, a dispatcher, and one technician + one assigned ticket per device.
    let setup = Instant::now();
    let tenant = server.create_tenant("load")?;
    let in_memory = devices_dir(devices_on_disk)?;
    let phones = in_memory.as_ref().map_or(dir.path(), |d| d.path());
    println!(
        "(the devices' stores: {})",
        if in_memory.is_some() {
            "in memory, /dev/shm (--devices-on-disk puts them beside the server's)"
        } else {
            "on disk, beside the server's"
        }
    );
    let accounts = fleet::accounts(&server, phones, &tenant, devices, tickets_per_device)?;
    if brain {
        let file = dir.path().join("tenant.toml");
        std::fs::write(&file, brain_file(devices)).map_err(step("tenant file"))?;
        let path = file.to_string_lossy().into_owned();
        server.admin_json(&["configure", "--tenant", &tenant, "--file", &path])?;
        println!("(the service brain runs on the tenant: 1 team, 1 SLA policy, 50 update rules)");
    }
    let channel_token = if alerts > 0 {
        let made = server.admin_json(&["create-channel", "--tenant", &tenant, "--kind", "iot"])?;
        made["token"].as_str().map(str::to_owned)
    } else {
        None
    };
    let users_s = setup.elapsed().as_secs_f64();
    // Log each device in and pull its ticket, a few at a time.
    let logins = Instant::now();
    let technicians = fleet::sign_in(phones, &server.url, &accounts)?;
    let rss_setup = memory_of(&pids).0;
    println!(
        "(setup: {devices} users + {} tickets in {users_s:.1} s, {devices} logins + first syncs in {:.1} s; server RSS after setup {rss_setup:.1} MiB)",
        devices * tickets_per_device,
        logins.elapsed().as_secs_f64()
    );

    // The measured window.
    let runtime = window_runtime()?;
    let server_pids: Vec<String> = pids.iter().map(u32::to_string).collect();
    let database_pids = if database.is_some() {
        postgres_pids()
    } else {
        Vec::new()
    };
    let sampled = pids.clone();
    let period = Duration::from_secs_f64(1.0 / rate);
    let window = Duration::from_secs(seconds);
    let mut seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0x9e37_79b9_7f4a_7c15)
        | 1;
    let cpu_before = (
        Some(ticks_of(&server_pids)),
        cpu_ticks("self"),
        machine_ticks(),
    );
    let database_before = ticks_of(&database_pids);
    let (results, rss_samples, expected, storm, began) = runtime.block_on(async {
        let begin = tokio::time::Instant::now() + Duration::from_millis(200);
        let end = begin + window;
        let mut expected = 0u64;
        let mut tasks = Vec::with_capacity(technicians.len());
        for technician in technicians {
            let offset = Duration::from_secs_f64(xorshift(&mut seed).min(0.999));
            // Ticks at offset + k·period that fall inside the window.
            expected += ((window.as_secs_f64() - offset.as_secs_f64()) * rate).ceil() as u64;
            tasks.push(tokio::spawn(fleet::drive(
                technician,
                begin + offset,
                period,
                end,
            )));
        }
        let storm = channel_token.map(|token| {
            let url = server.url.clone();
            tokio::spawn(async move {
                tokio::time::sleep_until(begin + Duration::from_secs(5)).await;
                super::storm::run(url, token, alerts).await
            })
        });
        // Server RSS every 5 s through the window.
        let sampler = tokio::spawn(async move {
            let mut samples = Vec::new();
            let mut every = tokio::time::interval_at(begin, Duration::from_secs(5));
            while every.tick().await <= end {
                samples.push(memory_of(&sampled));
            }
            samples
        });
        let mut results = Vec::with_capacity(tasks.len());
        for task in tasks {
            results.push(
                task.await
                    .unwrap_or_else(|e| Rounds::failed(format!("device task: {e}"))),
            );
        }
        let storm = match storm {
            Some(task) => task.await.ok(),
            None => None,
        };
        (
            results,
            sampler.await.unwrap_or_default(),
            expected,
            storm,
            begin.into_std(),
        )
    });
    let by_window = Rounds::p99_by_window(&results, began, Duration::from_secs(5));
    let cpu_after = (
        Some(ticks_of(&server_pids)),
        cpu_ticks("self"),
        machine_ticks(),
    );
    let database_cpu = ticks_of(&database_pids).saturating_sub(database_before);
    let rss_end = memory_of(&pids).0;

    let Rounds {
        round_us,
        wait_ms,
        errors,
        rejected,
        first_error,
        ..
    } = Rounds::merged(&results);
    let rounds = round_us.len();
    let target = devices as f64 * rate;
    let achieved = rounds as f64 / seconds as f64;
    let ms = |us: u64| us as f64 / 1e3;
    println!(
        "| load: {devices} devices × {rate} change/s for {seconds} s | {rounds} rounds ({expected} scheduled), {achieved:.0} changes/s of {target:.0} target ({:.1}%), {errors} errors, {rejected} rejected changes |",
        100.0 * achieved / target
    );
    println!(
        "| round-trip latency (edit → round done) | p50 {:.1} ms, p95 {:.1} ms, p99 {:.1} ms, max {:.1} ms |",
        ms(percentile(&round_us, 0.50)),
        ms(percentile(&round_us, 0.95)),
        ms(percentile(&round_us, 0.99)),
        ms(*round_us.last().unwrap_or(&0)),
    );
    println!(
        "| of which waiting for the server (request sent → answer read) | p50 {} ms, p95 {} ms, p99 {} ms, max {} ms |",
        percentile(&wait_ms, 0.50),
        percentile(&wait_ms, 0.95),
        percentile(&wait_ms, 0.99),
        wait_ms.last().unwrap_or(&0),
    );
    let windows = |pick: fn(&(u64, u64)) -> u64| -> String {
        let p99: Vec<String> = by_window.iter().map(|w| pick(w).to_string()).collect();
        p99.join(", ")
    };
    println!(
        "| p99 of the rounds begun in each 5 s of the window | whole rounds: {} ms; waiting for the server: {} ms |",
        windows(|w| w.0),
        windows(|w| w.1),
    );
    let samples: Vec<String> = rss_samples.iter().map(|r| format!("{:.0}", r.0)).collect();
    println!(
        "| server RSS | start {rss_start:.1} MiB, after setup {rss_setup:.1} MiB, end {rss_end:.1} MiB; every 5 s in the window: {} MiB |",
        samples.join(", ")
    );
    let anon: Vec<String> = rss_samples.iter().map(|r| format!("{:.0}", r.1)).collect();
    println!(
        "| of which anonymous (not the database's mapped pages) | every 5 s in the window: {} MiB |",
        anon.join(", ")
    );
    if let (Some(s0), Some(d0), Some(m0), Some(s1), Some(d1), Some(m1)) = (
        cpu_before.0,
        cpu_before.1,
        cpu_before.2,
        cpu_after.0,
        cpu_after.1,
        cpu_after.2,
    ) {
        let total = (m1 - m0).max(1) as f64;
        let (server_cpu, devices_cpu) = ((s1 - s0) as f64, (d1 - d0) as f64);
        let database_cpu = database_cpu as f64;
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let database_share = if database.is_some() {
            format!(", PostgreSQL {:.0}%", 100.0 * database_cpu / total)
        } else {
            String::new()
        };
        println!(
            "| CPU in the window ({cores} cores, shared) | server {:.0}%{database_share}, devices (this process) {:.0}%, rest/idle {:.0}% of all cores |",
            100.0 * server_cpu / total,
            100.0 * devices_cpu / total,
            100.0 * (total - server_cpu - devices_cpu - database_cpu).max(0.0) / total
        );
    }
    if let Some(storm) = storm {
        println!(
            "| alert storm (5 s into the window) | {} alerts for 5 assets from 25 clients in {:.2} s: {} created, {} folded, {} refused or failed |",
            storm.sent,
            storm.elapsed.as_secs_f64(),
            storm.created,
            storm.folded,
            storm.refused
        );
    }
    if let Some(e) = first_error {
        println!("first error: {e}");
    }
    let kept_up = errors == 0 && achieved >= 0.95 * target.min(expected as f64 / seconds as f64);
    println!(
        "kept up: {} (achieved {achieved:.0}/s vs {:.0}/s scheduled)",
        if kept_up { "yes" } else { "no" },
        expected as f64 / seconds as f64
    );
    Ok(())
}
