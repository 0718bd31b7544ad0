//! Kill loops: processes killed with SIGKILL at random points, again and again, and then a check
//! that nothing acknowledged was lost and nothing arrived twice (`docs/reliability.md`).
//!
//! - A device (`fieldwork device`, one process per command, as the app's calls would be) asks
//!   for help, adds notes, attaches photos and syncs, each process killed after a random delay.
//!   A write is acknowledged when its process printed the result. After every kill the next
//!   command must open the store; at the end every acknowledged write is on the device and,
//!   after one more sync, on the server exactly once.
//! - The server (`fieldwork serve`) is killed and restarted on the same data while several
//!   devices push tickets and upload photos. Every ticket a device holds reaches the server once,
//!   numbers never repeat, and every photo's upload resumes until the server has it.
//!
//! The short form runs in CI. `FIELDWORK_KILLS=N` sets the device loop's kills and
//! `FIELDWORK_SERVER_KILLS=N` the server's; `FIELDWORK_KILL_SEED=S` replays a run (every run
//! prints its seed).

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use common::rng::Rng;
use common::{BIN, Device, Server, id_of, note_texts};
use fieldwork_test_images as samples;
use serde_json::Value;

fn count_from_env(name: &str, short: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(short)
}

/// A distinct photo for attachment `i` (photos are stored by content), and its width, by which
/// the ticket's answer shows which attachment it became (under the 1,920 px the device keeps,
/// so the width stays).
fn photo(dir: &Path, i: usize) -> (PathBuf, u32) {
    let path = dir.join(format!("photo-{i}.jpg"));
    let width = 640 + u32::try_from(i % 1200).unwrap_or(0);
    std::fs::write(&path, samples::jpeg_with_exif(width, 480, 1, None, None)).expect("photo");
    (path, width)
}

/// The hash of the newest attachment `width` pixels wide in a ticket's answer.
fn attachment_of_width(ticket: &Value, width: u32) -> Option<String> {
    ticket["attachments"]
        .as_array()?
        .iter()
        .filter(|a| a["width"].as_u64() == Some(u64::from(width)))
        .max_by_key(|a| a["at"].as_i64())?["sha256"]
        .as_str()
        .map(str::to_owned)
}

/// How one killed-or-not command ended.
enum Outcome {
    /// It finished and printed this (the write is acknowledged).
    Done(Value),
    /// It was killed before it finished.
    Killed,
}

/// Runs `fieldwork device --home HOME ARGS --json`, killing it after `after` unless it finished.
/// A command that finished with an error fails the test: the store must always open and work.
fn run_killed(home: &Path, args: &[&str], after: Duration) -> Outcome {
    let mut child = Command::new(BIN)
        .arg("device")
        .arg("--home")
        .arg(home)
        .args(args)
        .arg("--json")
        .env_remove("RUST_BACKTRACE")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("fieldwork device starts");
    let deadline = Instant::now() + after;
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break Some(status);
        }
        if Instant::now() >= deadline {
            break None;
        }
        std::thread::sleep(Duration::from_micros(500));
    };
    let Some(status) = status else {
        child.kill().expect("SIGKILL");
        child.wait().expect("reaped");
        return Outcome::Killed;
    };
    let mut out = String::new();
    let mut err = String::new();
    child.stdout.take().map(|mut s| s.read_to_string(&mut out));
    child.stderr.take().map(|mut s| s.read_to_string(&mut err));
    assert!(
        status.success(),
        "device {args:?} failed after earlier kills: {err}"
    );
    Outcome::Done(serde_json::from_str(&out).expect("device prints JSON"))
}

/// What the device acknowledged: help requests by order reference, notes by text, photos by
/// hash, each with its ticket.
#[derive(Default)]
struct Acknowledged {
    help: BTreeMap<String, String>,
    notes: BTreeMap<String, String>,
    photos: BTreeMap<String, String>,
}

impl Acknowledged {
    fn tickets(&self) -> Vec<String> {
        self.help.values().cloned().collect()
    }
}

#[test]
fn a_device_killed_at_random_points_keeps_every_acknowledged_write_and_sends_it_once() {
    let kills = count_from_env("FIELDWORK_KILLS", 60);
    let (mut rng, _) = Rng::from_env("FIELDWORK_KILL_SEED", "device kill loop");
    let server = Server::start();
    let tenant = server.tenant("acme");
    let (_, rider_token) = server.user(&tenant, "rider", "rider", None);
    let (_, disp_token) = server.user(&tenant, "dispatcher", "ops", None);
    let rider = Device::login(&server.url, &rider_token);
    let photos = tempfile::tempdir().expect("dir");

    let mut acked = Acknowledged::default();
    let (mut killed, mut finished) = (0usize, 0usize);
    let mut i = 0usize;
    while killed < kills {
        i += 1;
        let tickets = acked.tickets();
        let on = |rng: &mut Rng| tickets[rng.below(tickets.len() as u64) as usize].clone();
        let pick = if tickets.is_empty() { 0 } else { rng.below(10) };
        // Delays spread over a command's whole life: start-up, the write, the answer.
        let mut width = 0;
        let (args, what): (Vec<String>, &str) = match pick {
            0..=4 => {
                let order = format!("K-{i}");
                (vec!["help".into(), "--order".into(), order], "help")
            }
            5..=6 => {
                let id = on(&mut rng);
                (vec!["note".into(), id, format!("note {i}")], "note")
            }
            7 => {
                let id = on(&mut rng);
                let file;
                (file, width) = photo(photos.path(), i);
                (
                    vec!["attach".into(), id, file.display().to_string()],
                    "attach",
                )
            }
            _ => (vec!["sync".into()], "sync"),
        };
        let most = if what == "sync" || what == "attach" {
            400
        } else {
            60
        };
        let after = Duration::from_millis(rng.below(most));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        match run_killed(&rider.home, &args, after) {
            Outcome::Killed => killed += 1,
            Outcome::Done(v) => {
                finished += 1;
                match what {
                    "help" => {
                        acked.help.insert(args[2].to_owned(), id_of(&v));
                    }
                    "note" => {
                        acked.notes.insert(args[2].to_owned(), args[1].to_owned());
                    }
                    "attach" => {
                        let sha = attachment_of_width(&v, width).expect("the attached photo");
                        acked.photos.insert(sha, args[1].to_owned());
                    }
                    _ => {}
                }
            }
        }
    }
    eprintln!(
        "device kill loop: {killed} kills, {finished} commands finished; acknowledged {} help requests, {} notes, {} photos",
        acked.help.len(),
        acked.notes.len(),
        acked.photos.len()
    );

    // On the device, after all the kills: every acknowledged write.
    settle(&rider);
    check_holds(&rider, &acked, "the rider's device");

    // On the server, once: a dispatcher's fresh device sees each ticket, note and photo once.
    let dispatcher = Device::login(&server.url, &disp_token);
    dispatcher.sync();
    check_holds(
        &dispatcher,
        &acked,
        "the server (a dispatcher's fresh device)",
    );
    check_once(&dispatcher);
    let out = photos.path().join("fetched.jpg");
    for sha in acked.photos.keys() {
        dispatcher.json(&["fetch-blob", sha, "--out", &out.display().to_string()]);
    }
}

/// Syncs until nothing is left to send: the changes (a sync that fails is tried again) and the
/// photos (an upload cut by a kill waits for its retry time; the next sync after it resumes).
fn settle(device: &Device) -> Value {
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        if device.run(&["sync", "--json"]).status.success() {
            let status = device.json(&["status"]);
            let queued = status["uploads"].as_array().map_or(0, Vec::len);
            if queued == 0 && status["pending"] == 0 {
                return status;
            }
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    panic!(
        "the device never sent everything: {}",
        device.json(&["status"])
    );
}

/// Every acknowledged write is on `device`.
fn check_holds(device: &Device, acked: &Acknowledged, whose: &str) {
    let mut shown: BTreeMap<String, Value> = BTreeMap::new();
    let mut show = |id: &str| {
        shown
            .entry(id.to_owned())
            .or_insert_with(|| device.show(id))
            .clone()
    };
    for (order, id) in &acked.help {
        let t = show(id);
        assert_eq!(
            t["order_ref"],
            order.as_str(),
            "{whose}: help request {order}"
        );
    }
    for (text, id) in &acked.notes {
        let notes = note_texts(&show(id));
        assert_eq!(
            notes.iter().filter(|n| *n == text).count(),
            1,
            "{whose}: note {text:?} once on {id}: {notes:?}"
        );
    }
    for (sha, id) in &acked.photos {
        let t = show(id);
        let has = t["attachments"]
            .as_array()
            .is_some_and(|a| a.iter().any(|x| x["sha256"] == sha.as_str()));
        assert!(has, "{whose}: photo {sha} on {id}");
    }
}

/// No ticket, note or number twice among what `device` holds.
fn check_once(device: &Device) {
    let list = device.json(&["list", "--limit", "1000"]);
    let rows = list.as_array().expect("list");
    let mut orders = BTreeSet::new();
    let mut numbers = BTreeSet::new();
    let mut notes = BTreeSet::new();
    for row in rows {
        let t = device.show(row["id"].as_str().expect("id"));
        if let Some(order) = t["order_ref"].as_str() {
            assert!(orders.insert(order.to_owned()), "order {order} twice");
        }
        let number = t["number"].as_str().expect("the server numbered it");
        assert!(numbers.insert(number.to_owned()), "number {number} twice");
        for text in note_texts(&t) {
            assert!(notes.insert(text.clone()), "note {text:?} twice");
        }
    }
}

#[test]
fn the_server_killed_during_pushes_and_uploads_loses_nothing_and_repeats_nothing() {
    let kills = count_from_env("FIELDWORK_SERVER_KILLS", 8);
    let (mut rng, _) = Rng::from_env("FIELDWORK_KILL_SEED", "server kill loop");
    let mut server = Server::start();
    let tenant = server.tenant("acme");
    let (_, disp_token) = server.user(&tenant, "dispatcher", "ops", None);
    let riders: Vec<Device> = (0..3)
        .map(|r| {
            let (_, token) = server.user(&tenant, "rider", &format!("rider{r}"), None);
            Device::login(&server.url, &token)
        })
        .collect();
    let stop = Arc::new(AtomicBool::new(false));
    let photos = tempfile::tempdir().expect("dir");

    // Each rider writes and syncs in a loop; syncs fail while the server is down and are
    // simply tried again, as the app's background sync would.
    let (mut syncs_failed, mut acked) = (0usize, Acknowledged::default());
    std::thread::scope(|scope| {
        let workers: Vec<_> = riders
            .iter()
            .enumerate()
            .map(|(r, rider)| {
                let stop = stop.clone();
                let dir = photos.path().to_owned();
                scope.spawn(move || {
                    let mut mine = Acknowledged::default();
                    let mut failed = 0usize;
                    let mut n = 0usize;
                    while !stop.load(Ordering::SeqCst) {
                        n += 1;
                        let order = format!("R{r}-{n}");
                        let t = rider.json(&["help", "--order", &order]);
                        let id = id_of(&t);
                        mine.help.insert(order, id.clone());
                        if n.is_multiple_of(3) {
                            let (file, width) = photo(&dir, r * 100_000 + n);
                            let v = rider.json(&["attach", &id, &file.display().to_string()]);
                            let sha = attachment_of_width(&v, width).expect("photo");
                            mine.photos.insert(sha, id);
                        }
                        if !rider.run(&["sync", "--json"]).status.success() {
                            failed += 1;
                        }
                    }
                    (mine, failed)
                })
            })
            .collect();
        for _ in 0..kills {
            std::thread::sleep(Duration::from_millis(300 + rng.below(900)));
            server.restart();
        }
        std::thread::sleep(Duration::from_millis(500));
        stop.store(true, Ordering::SeqCst);
        for w in workers {
            let (mine, failed) = w.join().expect("rider thread");
            syncs_failed += failed;
            acked.help.extend(mine.help);
            acked.photos.extend(mine.photos);
        }
    });
    eprintln!(
        "server kill loop: {kills} kills; {} help requests and {} photos written, {syncs_failed} syncs failed and were retried",
        acked.help.len(),
        acked.photos.len()
    );

    for rider in &riders {
        settle(rider);
    }
    let dispatcher = Device::login(&server.url, &disp_token);
    dispatcher.sync();
    check_holds(&dispatcher, &acked, "the server after the kills");
    check_once(&dispatcher);
    let out = photos.path().join("fetched.jpg");
    for sha in acked.photos.keys() {
        dispatcher.json(&["fetch-blob", sha, "--out", &out.display().to_string()]);
    }
}
