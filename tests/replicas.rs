//! Two `fieldwork serve` replicas on one PostgreSQL database and one data directory for photos,
//! behind a round-robin proxy (the harness's), as a load balancer would put them:
//!
//! - killing one replica while riders push notes and upload photos loses no change or byte a
//!   sync acknowledged, and the other replica serves everyone at once;
//! - the background duties (the brain's rules and their webhooks) run on exactly one replica,
//!   whichever holds the lease, and move to the other when it dies.

mod common;

use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::thread;

use common::receiver::receive;
use common::{Device, Server, eventually, id_of, note_texts};
use fieldwork_core::store::sha256_hex;
use fieldwork_server::webhooks::DELIVERY_HEADER;
use fieldwork_test_images as samples;

const RIDERS: usize = 3;
const ROUNDS: usize = 6;

/// Syncs until the device has nothing left to send (a replica may be down meanwhile); true if
/// it got there.
fn sync_until_sent(device: &Device) -> bool {
    for _ in 0..20 {
        let out = device.run(&["sync", "--json"]);
        if out.status.success() {
            let report: serde_json::Value =
                serde_json::from_slice(&out.stdout).expect("sync prints JSON");
            if report["pending"] == 0 {
                return true;
            }
        }
        thread::sleep(std::time::Duration::from_millis(200));
    }
    false
}

#[test]
fn killing_a_replica_during_pushes_and_uploads_loses_nothing_acknowledged() {
    let mut server = Server::start_replicas(&[]);
    let tenant = server.tenant("acme");
    let (_, disp_token) = server.user(&tenant, "dispatcher", "ops", None);
    let photos = tempfile::tempdir().expect("dir");

    // Each rider has a ticket; every round adds a note, every other round a photo, then syncs.
    let riders: Vec<(Device, String)> = (0..RIDERS)
        .map(|r| {
            let (_, token) = server.user(&tenant, "rider", &format!("rider{r}"), None);
            let rider = Device::login(&server.url, &token);
            let id = id_of(&rider.json(&["help", "--note", &format!("rider {r} needs help")]));
            (rider, id)
        })
        .collect();
    let acknowledged: Arc<Mutex<Vec<(String, String)>>> = Arc::default();
    let uploaded: Arc<Mutex<Vec<String>>> = Arc::default();
    let workers: Vec<_> = riders
        .into_iter()
        .enumerate()
        .map(|(r, (rider, id))| {
            let (acknowledged, uploaded) = (acknowledged.clone(), uploaded.clone());
            let dir = photos.path().to_owned();
            thread::spawn(move || {
                for round in 0..ROUNDS {
                    let note = format!("rider {r} round {round}");
                    rider.json(&["note", &id, &note]);
                    let mut sha = None;
                    if round % 2 == 0 {
                        let jpeg = samples::jpeg_with_exif(640, 480, 1, None, None);
                        let file = dir.join(format!("r{r}-{round}.jpg"));
                        std::fs::write(&file, &jpeg).expect("writes");
                        let shown = rider.json(&["attach", &id, file.to_str().expect("utf-8")]);
                        let attachments = shown["attachments"].as_array().expect("attachments");
                        sha = attachments
                            .last()
                            .and_then(|a| a["sha256"].as_str())
                            .map(str::to_owned);
                    }
                    // A sync that says nothing is pending has the note (and photo) on the server.
                    let out = rider.run(&["sync", "--json"]);
                    if out.status.success() {
                        let report: serde_json::Value =
                            serde_json::from_slice(&out.stdout).expect("JSON");
                        let status = rider.json(&["status"]);
                        if report["pending"] == 0
                            && status["uploads"].as_array().is_some_and(Vec::is_empty)
                        {
                            acknowledged.lock().expect("lock").push((id.clone(), note));
                            uploaded.lock().expect("lock").extend(sha);
                        }
                    }
                }
                (rider, id)
            })
        })
        .collect();

    // Halfway through, one replica dies (no graceful stop: a crash).
    eventually("the riders are halfway", || {
        acknowledged.lock().expect("lock").len() >= RIDERS * ROUNDS / 2
    });
    server.kill_replica(0);
    let riders: Vec<(Device, String)> = workers
        .into_iter()
        .map(|w| w.join().expect("a rider's thread"))
        .collect();

    // The other replica serves everyone: what was left pending goes now, at once.
    for (rider, _) in &riders {
        assert!(
            sync_until_sent(rider),
            "a rider's pending work reaches the surviving replica"
        );
    }
    let acknowledged = acknowledged.lock().expect("lock").clone();
    assert!(
        acknowledged.len() > RIDERS * ROUNDS / 2,
        "syncs were acknowledged after the kill too"
    );

    // A new device, through the surviving replica, holds every acknowledged note and photo.
    let dispatcher = Device::login(&server.url, &disp_token);
    dispatcher.sync();
    for (id, note) in &acknowledged {
        let notes = note_texts(&dispatcher.show(id));
        assert!(notes.contains(note), "{note} was acknowledged, then lost");
    }
    for (r, (_, id)) in riders.iter().enumerate() {
        assert_eq!(
            note_texts(&dispatcher.show(id)).len(),
            ROUNDS + 1,
            "rider {r}'s every note is on the server"
        );
    }
    for sha in uploaded.lock().expect("lock").iter() {
        let out = photos.path().join(format!("{sha}.jpg"));
        dispatcher.json(&["fetch-blob", sha, "--out", out.to_str().expect("utf-8")]);
        let bytes = std::fs::read(&out).expect("fetched");
        assert_eq!(sha256_hex(&bytes), *sha, "a photo comes back byte for byte");
    }

    // The dead replica comes back and serves the same records.
    server.restart_replica(0);
    let (_, token) = server.user(&tenant, "dispatcher", "desk", None);
    let direct = Device::login(server.replica_urls()[0], &token);
    direct.sync();
    assert_eq!(direct.ids().len(), RIDERS);
}

#[test]
fn the_duties_run_on_one_replica_and_move_when_it_dies() {
    let hook = TcpListener::bind("127.0.0.1:0").expect("binds");
    let hook_port = hook.local_addr().expect("addr").port();
    let got = receive(hook);

    let mut server = Server::start_replicas(&["--webhook-retry", "1s"]);
    server.tenant("acme");
    let (_, rider_token) = server.user("acme", "rider", "li.wei", None);
    let config = format!(
        r#"
[[rules]]
name = "tell the call centre"
on = "create"
all = [{{ field = "kind", is = "help_request" }}]
actions = {{ webhook = "http://127.0.0.1:{hook_port}/hook" }}
"#
    );
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("tenant.toml");
    std::fs::write(&file, config).expect("writes");
    server.admin(&[
        "configure",
        "--tenant",
        "acme",
        "--file",
        file.to_str().expect("path"),
    ]);

    // Help requests pushed through both replicas: each fires the rule once, on one replica.
    let riders: Vec<Device> = server
        .replica_urls()
        .into_iter()
        .map(|url| Device::login(url, &rider_token))
        .collect();
    let mut ids = Vec::new();
    for (n, rider) in riders.iter().enumerate() {
        for k in 0..3 {
            ids.push(id_of(&rider.json(&[
                "help",
                "--note",
                &format!("help {n}.{k}"),
            ])));
        }
        rider.sync();
    }
    let delivered_for = |id: &str| {
        got.lock()
            .expect("lock")
            .iter()
            .filter(|d| d.body.contains(id))
            .count()
    };
    eventually("every help request's webhook is delivered", || {
        ids.iter().all(|id| delivered_for(id) > 0)
    });
    // Give a second runner of the duties time to show itself, then count.
    thread::sleep(std::time::Duration::from_secs(3));
    for id in &ids {
        assert_eq!(delivered_for(id), 1, "one delivery per help request");
    }
    let deliveries: Vec<String> = got
        .lock()
        .expect("lock")
        .iter()
        .map(|d| d.headers[DELIVERY_HEADER].clone())
        .collect();
    let mut unique = deliveries.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), deliveries.len(), "no delivery sent twice");

    // Whichever replica leads, each in turn dies: the other takes the duties over.
    for dead in [0, 1] {
        server.kill_replica(dead);
        let alive = 1 - dead;
        let rider = Device::login(server.replica_urls()[alive], &rider_token);
        let id = id_of(&rider.json(&["help", "--note", &format!("after replica {dead} died")]));
        rider.sync();
        eventually("the surviving replica runs the rule", || {
            delivered_for(&id) == 1
        });
        server.restart_replica(dead);
    }
}
