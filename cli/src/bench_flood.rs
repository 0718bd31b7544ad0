//! `fieldwork bench login-flood`: attackers send wrong-password logins back to back against a
//! real `fieldwork serve` on loopback while technician devices keep syncing; prints the server's
//! memory during and after the flood, the devices' round-trip latency, what the attackers were
//! answered and when the real user gets in again (issue 9, finding 2; docs/benchmarks.md).
//!
//! Attackers speak raw HTTP/1.1 over their own kept-alive connections, each bound to a loopback
//! source address: one address for all (`127.0.0.2`) by default, or with `--spread` one address
//! each (`127.0.1.x`) naming a new unknown account on every try, which no rate limit can stop —
//! only the password hashing gate. Devices connect from `127.0.0.1`.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use clap::Args;
use fieldwork_core::TicketKind;
use fieldwork_core::sync::SyncEngine;
use fieldwork_core::sync::client::ServerClient;
use fieldwork_core::ticket::{ActorId, Edit, NewTicket};
use fieldwork_protocol::sync::{self as protocol, DeviceRegistration, LoginRequest};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

use crate::bench::{
    BenchError, Phone, ServerProcess, admin, create_tenant, create_user, rss_mib, step,
};
use crate::bench_load::percentile;

const VICTIM: &str = "li.wei";
const VICTIM_PASSWORD: &str = "correct horse battery staple";

#[derive(Debug, Args)]
pub struct FloodArgs {
    /// Attackers, each sending wrong-password logins back to back (0: the devices alone, for a
    /// baseline on the same machine).
    #[arg(long, default_value_t = 64)]
    attackers: usize,
    /// Length of the flood.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Technician devices syncing meanwhile (one note and one sync round per second each).
    #[arg(long, default_value_t = 50)]
    devices: usize,
    /// Each attacker from its own address, naming a new unknown account on every try.
    #[arg(long)]
    spread: bool,
    /// Serve with this `fieldwork` binary instead (an older build, for before/after figures).
    #[arg(long)]
    server_bin: Option<PathBuf>,
    /// An argument for `serve` (repeat for several), e.g. `--serve-arg=--hashing-slots=1`.
    #[arg(long = "serve-arg", allow_hyphen_values = true)]
    serve_args: Vec<String>,
    /// Stop the flood early once the server's RSS passes this many MiB (keeps the machine up).
    #[arg(long, default_value_t = 4096)]
    abort_rss_mib: u64,
    /// How long to watch the server after the flood (memory, the real user's login).
    #[arg(long, default_value_t = 30)]
    after_seconds: u64,
}

/// What the attackers were answered.
#[derive(Default)]
struct Tally {
    ok: AtomicU64,
    unauthorized: AtomicU64,
    limited: AtomicU64,
    busy: AtomicU64,
    other: AtomicU64,
    failed: AtomicU64,
}

impl Tally {
    fn count(&self, status: u16) {
        let slot = match status {
            200 => &self.ok,
            401 => &self.unauthorized,
            429 => &self.limited,
            503 => &self.busy,
            _ => &self.other,
        };
        slot.fetch_add(1, Ordering::Relaxed);
    }
}

pub(crate) fn bench_login_flood(args: &FloodArgs) -> Result<(), BenchError> {
    if args.seconds == 0 {
        return Err(BenchError::Step("--seconds must be positive".into()));
    }
    let dir = tempfile::tempdir().map_err(step("temp dir"))?;
    let data = dir.path().join("server");
    let serve_args: Vec<&str> = args.serve_args.iter().map(String::as_str).collect();
    let server = ServerProcess::start_with(&data, args.server_bin.as_deref(), &serve_args)?;
    let rss_start = server.rss_mib().unwrap_or(0.0);
    let tenant = create_tenant(&data, "flood")?;
    admin(
        &data,
        &[
            "create-user",
            "--tenant",
            &tenant,
            "--role",
            "technician",
            "--name",
            VICTIM,
            "--password",
            VICTIM_PASSWORD,
        ],
    )?;
    let devices = setup_devices(&data, dir.path(), &server.url, &tenant, args.devices)?;
    let rss_before = server.rss_mib().unwrap_or(0.0);
    println!(
        "server {} (RSS at start {rss_start:.1} MiB, {rss_before:.1} MiB with {} devices signed in)",
        server.url, args.devices
    );

    let target: SocketAddr = server
        .url
        .trim_start_matches("http://")
        .parse()
        .map_err(step("server address"))?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(step("runtime"))?;
    let pid = server.pid();
    let window = Duration::from_secs(args.seconds);
    let tally = Arc::new(Tally::default());
    let aborted = Arc::new(AtomicBool::new(false));
    let (rounds, rss_during) = runtime.block_on(async {
        let start = tokio::time::Instant::now();
        let end = start + window;
        let sampler = tokio::spawn(sample_rss(pid, end, args.abort_rss_mib, aborted.clone()));
        let syncing: Vec<_> = devices
            .into_iter()
            .enumerate()
            .map(|(i, (engine, phone, ticket))| {
                let offset = Duration::from_millis((i as u64 * 997) % 1000);
                tokio::spawn(sync_device(engine, phone, ticket, start + offset, end))
            })
            .collect();
        let attacking: Vec<_> = (0..args.attackers)
            .map(|i| {
                let source = attacker_address(i, args.spread);
                let (tally, aborted) = (tally.clone(), aborted.clone());
                let spread = args.spread;
                tokio::spawn(async move {
                    attack(target, source, i, spread, end, &tally, &aborted).await;
                })
            })
            .collect();
        for attacker in attacking {
            let _ = attacker.await;
        }
        let mut rounds = Vec::new();
        for device in syncing {
            rounds.push(device.await.unwrap_or_default());
        }
        (rounds, sampler.await.unwrap_or_default())
    });
    let rss_end = server.rss_mib().unwrap_or(0.0);
    let after = runtime.block_on(watch_after(
        &server.url,
        pid,
        Duration::from_secs(args.after_seconds),
    ));

    let peak = rss_during.iter().map(|(_, rss)| *rss).fold(0.0, f64::max);
    let load = |a: &AtomicU64| a.load(Ordering::Relaxed);
    let shape = if args.spread {
        format!(
            "{} addresses, a new unknown account each try",
            args.attackers
        )
    } else {
        "one address, one real account".to_owned()
    };
    println!(
        "| login flood: {} attackers ({shape}) for {} s{}, {} devices syncing | attackers answered: {} × 401, {} × 429, {} × 503, {} other, {} failed or cut; {} × 200 |",
        args.attackers,
        args.seconds,
        if aborted.load(Ordering::Relaxed) {
            " (ABORTED: RSS over the limit)"
        } else {
            ""
        },
        args.devices,
        load(&tally.unauthorized),
        load(&tally.limited),
        load(&tally.busy),
        load(&tally.other),
        load(&tally.failed),
        load(&tally.ok),
    );
    let timeline: Vec<String> = rss_during
        .iter()
        .filter(|(ms, _)| ms % 1000 < 100)
        .map(|(_, rss)| format!("{rss:.0}"))
        .collect();
    println!(
        "| server RSS | before {rss_before:.1} MiB, peak during the flood {peak:.1} MiB, at its end {rss_end:.1} MiB; each second: {} MiB |",
        timeline.join(", ")
    );
    let after_rss: Vec<String> = after
        .rss
        .iter()
        .map(|(s, rss)| format!("+{s} s {rss:.0}"))
        .collect();
    println!(
        "| server RSS after the flood | {} MiB |",
        after_rss.join(", ")
    );
    let mut round_us: Vec<u64> = rounds.iter().flat_map(|r| r.round_us.clone()).collect();
    let mut wait_ms: Vec<u64> = rounds.iter().flat_map(|r| r.wait_ms.clone()).collect();
    round_us.sort_unstable();
    wait_ms.sort_unstable();
    let errors: usize = rounds.iter().map(|r| r.errors).sum();
    let ms = |us: u64| us as f64 / 1e3;
    println!(
        "| devices' sync during the flood | {} rounds, {errors} errors; round trip p50 {:.1} ms, p95 {:.1} ms, p99 {:.1} ms, max {:.1} ms; waiting for the server p99 {} ms |",
        round_us.len(),
        ms(percentile(&round_us, 0.50)),
        ms(percentile(&round_us, 0.95)),
        ms(percentile(&round_us, 0.99)),
        ms(*round_us.last().unwrap_or(&0)),
        percentile(&wait_ms, 0.99),
    );
    match after.signed_in_after {
        Some(s) => println!(
            "| the real user, right password, after the flood | signed in {s:.1} s after it ended ({} refusals before) |",
            after.refused
        ),
        None => println!(
            "| the real user, right password, after the flood | not signed in within {} s ({} refusals; last: {}) |",
            args.after_seconds,
            after.refused,
            after.last_error.unwrap_or_default()
        ),
    }
    if let Some(e) = rounds.iter().find_map(|r| r.first_error.as_ref()) {
        println!("first device error: {e}");
    }
    Ok(())
}

type Device = (Arc<SyncEngine>, Phone, String);

/// Technicians, each with one assigned ticket, signed in and caught up.
fn setup_devices(
    data: &std::path::Path,
    dir: &std::path::Path,
    url: &str,
    tenant: &str,
    count: usize,
) -> Result<Vec<Device>, BenchError> {
    let (_, disp_token) = create_user(data, tenant, "dispatcher", "ops", None)?;
    let dispatcher = Phone::login(dir, "dispatcher", url, &disp_token)?;
    let mut techs = Vec::with_capacity(count);
    for i in 0..count {
        let name = format!("tech{i}");
        let (id, token) = create_user(data, tenant, "technician", &name, Some("north"))?;
        let ticket = dispatcher
            .store
            .create(NewTicket::titled(
                TicketKind::Repair,
                format!("Freezer alarm at store {i}"),
            ))
            .map_err(step("create"))?
            .id;
        dispatcher
            .store
            .edit(&ticket, &[Edit::Assign { assignee: Some(id) }])
            .map_err(step("assign"))?;
        techs.push((name, token, ticket));
    }
    dispatcher.sync()?;
    techs
        .into_iter()
        .map(|(name, token, ticket)| {
            let phone = Phone::login(dir, &name, url, &token)?;
            phone.sync()?;
            let engine = SyncEngine::new(phone.store.clone()).map_err(step("engine"))?;
            Ok((Arc::new(engine), phone, ticket))
        })
        .collect()
}

/// One device's rounds in the window.
#[derive(Default)]
struct Rounds {
    round_us: Vec<u64>,
    wait_ms: Vec<u64>,
    errors: usize,
    first_error: Option<String>,
}

/// A note and a sync round every second from `begin` until `end`.
async fn sync_device(
    engine: Arc<SyncEngine>,
    phone: Phone,
    ticket: String,
    begin: tokio::time::Instant,
    end: tokio::time::Instant,
) -> Rounds {
    let mut out = Rounds::default();
    let mut ticks = tokio::time::interval_at(begin, Duration::from_secs(1));
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let handle = tokio::runtime::Handle::current();
    let mut n = 0;
    while ticks.tick().await < end {
        n += 1;
        let (engine, store, ticket, handle) = (
            engine.clone(),
            phone.store.clone(),
            ticket.clone(),
            handle.clone(),
        );
        // The store is blocking SQLite: edit and round run on the blocking pool.
        let tick = tokio::task::spawn_blocking(move || {
            store
                .edit(
                    &ticket,
                    &[Edit::AddNote {
                        text: format!("Checked compressor, reading {n}"),
                        internal: false,
                    }],
                )
                .map_err(|e| format!("edit: {e}"))?;
            let started = Instant::now();
            let round = handle
                .block_on(engine.round(0))
                .map_err(|e| format!("round: {e}"))?;
            Ok::<_, String>((started.elapsed(), round.wait_ms))
        })
        .await
        .map_err(|e| format!("join: {e}"))
        .and_then(|r| r);
        match tick {
            Ok((took, wait)) => {
                out.round_us.push(took.as_micros() as u64);
                out.wait_ms.push(wait);
            }
            Err(e) => {
                out.errors += 1;
                out.first_error.get_or_insert(e);
            }
        }
    }
    out
}

/// The server's RSS every 100 ms until `end` (ms since start, MiB); sets `aborted` past the limit.
async fn sample_rss(
    pid: u32,
    end: tokio::time::Instant,
    limit_mib: u64,
    aborted: Arc<AtomicBool>,
) -> Vec<(u64, f64)> {
    let start = tokio::time::Instant::now();
    let mut every = tokio::time::interval(Duration::from_millis(100));
    let mut samples = Vec::new();
    while every.tick().await < end {
        let rss = rss_mib(pid).unwrap_or(0.0);
        samples.push((start.elapsed().as_millis() as u64, rss));
        if rss > limit_mib as f64 {
            aborted.store(true, Ordering::Relaxed);
        }
    }
    samples
}

fn attacker_address(i: usize, spread: bool) -> IpAddr {
    if spread {
        IpAddr::V4(Ipv4Addr::new(
            127,
            0,
            1 + (i / 250) as u8,
            1 + (i % 250) as u8,
        ))
    } else {
        IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2))
    }
}

/// Wrong-password logins back to back from `source` until `end` (or an abort).
async fn attack(
    server: SocketAddr,
    source: IpAddr,
    me: usize,
    spread: bool,
    end: tokio::time::Instant,
    tally: &Tally,
    aborted: &AtomicBool,
) {
    let mut connection: Option<TcpStream> = None;
    let mut n = 0u64;
    while tokio::time::Instant::now() < end && !aborted.load(Ordering::Relaxed) {
        n += 1;
        let user = if spread {
            format!("nobody-{me}-{n}")
        } else {
            VICTIM.to_owned()
        };
        let body = protocol::encode(&LoginRequest {
            tenant: "flood".into(),
            user,
            password: format!("guess-{me}-{n}"),
            device: DeviceRegistration {
                actor_id: ActorId::random().to_hex_string(),
                name: "attacker".into(),
            },
        });
        let attempt = async {
            let mut stream = match connection.take() {
                Some(stream) => stream,
                None => connect(source, server).await?,
            };
            let (status, keep) = post_login(&mut stream, &body).await?;
            Ok::<_, std::io::Error>((status, keep.then_some(stream)))
        };
        match tokio::time::timeout_at(end, attempt).await {
            Ok(Ok((status, kept))) => {
                tally.count(status);
                connection = kept;
            }
            Ok(Err(_)) => {
                tally.failed.fetch_add(1, Ordering::Relaxed);
            }
            // The window closed mid-request: the server may still be working on it.
            Err(_) => break,
        }
    }
}

async fn connect(source: IpAddr, server: SocketAddr) -> std::io::Result<TcpStream> {
    let socket = TcpSocket::new_v4()?;
    socket.bind(SocketAddr::new(source, 0))?;
    socket.connect(server).await
}

/// Sends one login on `stream`; the answer's status and whether the connection stays open.
async fn post_login(stream: &mut TcpStream, body: &[u8]) -> std::io::Result<(u16, bool)> {
    let head = format!(
        "POST /v1/login HTTP/1.1\r\nhost: bench\r\ncontent-type: {}\r\ncontent-length: {}\r\n\r\n",
        protocol::CONTENT_TYPE,
        body.len()
    );
    stream.write_all(head.as_bytes()).await?;
    stream.write_all(body).await?;
    let broken = || std::io::Error::new(std::io::ErrorKind::InvalidData, "bad answer");
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(at) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_ascii_lowercase();
    let status: u16 = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(broken)?;
    let length: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    let mut have = buf.len() - head_end;
    while have < length {
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        have += n;
    }
    Ok((status, !head.contains("connection: close")))
}

/// What happened after the flood.
struct After {
    /// (seconds after the flood, RSS in MiB).
    rss: Vec<(u64, f64)>,
    signed_in_after: Option<f64>,
    refused: usize,
    last_error: Option<String>,
}

/// Once a second for `watch`: the server's RSS, and the real user trying the right password
/// until it works.
async fn watch_after(url: &str, pid: u32, watch: Duration) -> After {
    let start = Instant::now();
    let mut after = After {
        rss: Vec::new(),
        signed_in_after: None,
        refused: 0,
        last_error: None,
    };
    let client = ServerClient::new(url).ok();
    let mut second = 0;
    while start.elapsed() <= watch {
        if after.signed_in_after.is_none()
            && let Some(client) = &client
        {
            let request = LoginRequest {
                tenant: "flood".into(),
                user: VICTIM.into(),
                password: VICTIM_PASSWORD.into(),
                device: DeviceRegistration {
                    actor_id: ActorId::random().to_hex_string(),
                    name: "the real user".into(),
                },
            };
            match client.login(&request).await {
                Ok(_) => after.signed_in_after = Some(start.elapsed().as_secs_f64()),
                Err(e) => {
                    after.refused += 1;
                    after.last_error = Some(e.to_string());
                }
            }
        }
        if [1, 2, 5, 10, 20, 30, 60].contains(&second)
            || start.elapsed() + Duration::from_secs(1) > watch
        {
            after.rss.push((second, rss_mib(pid).unwrap_or(0.0)));
        }
        second += 1;
        let next = start + Duration::from_secs(second);
        tokio::time::sleep(next.saturating_duration_since(Instant::now())).await;
    }
    after
}
