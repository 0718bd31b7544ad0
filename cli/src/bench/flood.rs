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
use fieldwork_core::sync::client::ServerClient;
use fieldwork_core::ticket::ActorId;
use fieldwork_harness::NewUser;
use fieldwork_protocol::sync::{self as protocol, DeviceRegistration, LoginRequest};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

use super::fleet::{self, Rounds};
use super::{
    BenchError, percentile, rss_mib, server_pid, server_rss_mib, start_server, step, window_runtime,
};

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

pub(super) fn bench_login_flood(args: &FloodArgs) -> Result<(), BenchError> {
    if args.seconds == 0 {
        return Err(BenchError::Step("--seconds must be positive".into()));
    }
    let dir = tempfile::tempdir().map_err(step("temp dir"))?;
    let data = dir.path().join("server");
    let serve_args: Vec<&str> = args.serve_args.iter().map(String::as_str).collect();
    let server = start_server(&data, args.server_bin.as_deref(), &serve_args)?;
    let rss_start = server_rss_mib(&server).unwrap_or(0.0);
    let tenant = server.create_tenant("flood")?;
    let victim = NewUser {
        password: Some(VICTIM_PASSWORD),
        ..NewUser::new("technician", VICTIM)
    };
    server.create_user(&tenant, &victim)?;
    let accounts = fleet::accounts(&server, dir.path(), &tenant, args.devices, 1)?;
    let devices = fleet::sign_in(dir.path(), &server.url, &accounts)?;
    let rss_before = server_rss_mib(&server).unwrap_or(0.0);
    println!(
        "server {} (RSS at start {rss_start:.1} MiB, {rss_before:.1} MiB with {} devices signed in)",
        server.url, args.devices
    );

    let target: SocketAddr = server
        .url
        .trim_start_matches("http://")
        .parse()
        .map_err(step("server address"))?;
    let runtime = window_runtime()?;
    let pid = server_pid(&server)?;
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
            .map(|(i, technician)| {
                let offset = Duration::from_millis((i as u64 * 997) % 1000);
                let every = Duration::from_secs(1);
                tokio::spawn(fleet::drive(technician, start + offset, every, end))
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
            rounds.push(
                device
                    .await
                    .unwrap_or_else(|e| Rounds::failed(format!("device task: {e}"))),
            );
        }
        (rounds, sampler.await.unwrap_or_default())
    });
    let rss_end = server_rss_mib(&server).unwrap_or(0.0);
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
    let Rounds {
        round_us,
        wait_ms,
        errors,
        first_error,
        ..
    } = Rounds::merged(&rounds);
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
    if let Some(e) = first_error {
        println!("first device error: {e}");
    }
    Ok(())
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
