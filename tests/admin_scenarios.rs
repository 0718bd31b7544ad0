//! `fieldwork admin` on a running server's data directory: a tenant's own quotas and device cap,
//! what is used, and freeing a device place for a user who reached the cap.

mod common;

use common::{Device, Org, Server, note_texts};
use fieldwork_server::storage::conformance::postgres::TestDatabase;

#[test]
fn a_user_at_the_device_cap_is_told_why_and_an_admin_frees_a_place() {
    let server = Server::start();
    server.tenant("acme");
    let (_, token) = server.user("acme", "technician", "li", None);
    let set = server.admin(&["set-quota", "--tenant", "acme", "--devices-per-user", "1"]);
    assert_eq!(set["devices_per_user"], 1);
    assert!(set["blob_bytes"].is_null(), "left at the server's default");

    let phone = Device::login(&server.url, &token);
    let tablet = Device::new();
    let refused = tablet.fails(&["login", "--server", &server.url, "--token", &token]);
    assert!(refused.contains("allowed (1)"), "{refused}");
    assert!(refused.contains("ask an admin"), "{refused}");

    let devices = server.admin(&["list-devices", "--tenant", "acme", "--user", "li"]);
    let devices = devices.as_array().expect("a list");
    assert_eq!(devices.len(), 1);
    let id = devices[0]["id"].as_str().expect("id");
    let removed = server.admin(&["remove-device", id]);
    assert!(removed["removed_at"].is_i64());
    assert_eq!(removed["live_tokens"], 0);

    tablet.json(&["login", "--server", &server.url, "--token", &token]);
    tablet.sync();
    let lost = phone.fails(&["sync"]);
    assert!(lost.contains("sign in again"), "{lost}");
}

#[test]
fn an_admin_sets_a_tenants_storage_quotas_and_sees_what_is_held() {
    let server = Server::start();
    server.tenant("acme");
    let set = server.admin(&[
        "set-quota",
        "--tenant",
        "acme",
        "--blob-bytes",
        "2GiB",
        "--user-blob-bytes",
        "300MiB",
    ]);
    assert_eq!(set["blob_bytes"], 2u64 << 30);
    assert_eq!(set["user_blob_bytes"], 300u64 << 20);
    let back = server.admin(&[
        "set-quota",
        "--tenant",
        "acme",
        "--user-blob-bytes",
        "default",
    ]);
    assert_eq!(back["blob_bytes"], 2u64 << 30, "flags left out are kept");
    assert!(back["user_blob_bytes"].is_null());

    let shown = server.admin(&["quota", "--tenant", "acme"]);
    assert_eq!(shown["quotas"]["blob_bytes"], 2u64 << 30);
    assert_eq!(shown["usage"]["tenant"]["stored_bytes"], 0);
    assert_eq!(shown["usage"]["tenant"]["open_bytes"], 0);
    assert_eq!(shown["usage"]["users"].as_array().map(Vec::len), Some(0));
}

/// The example tenant file of `docs/brain.md`, whose people the test creates.
const EXAMPLE: &str = include_str!("../docs/examples/tenant.toml");

/// The login names `[[technicians]]` lists in `toml`, in order.
fn people_of(toml: &str) -> Vec<String> {
    toml.lines()
        .filter_map(|line| line.trim().strip_prefix("user = \""))
        .map(|rest| rest.trim_end_matches('"').to_owned())
        .collect()
}

#[test]
fn a_tenant_configuration_is_checked_whole_applied_versioned_and_printed_back() {
    let server = Server::start();
    server.tenant("acme");
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("tenant.toml");
    std::fs::write(&file, EXAMPLE).expect("writes");
    let path = file.to_str().expect("a UTF-8 path");

    // Nobody the file names exists yet: refused, every one named with its line, nothing applied.
    let refused = server.admin_fails(&["configure", "--tenant", "acme", "--file", path]);
    assert!(
        refused.contains("no user 'zhou.min' in this tenant"),
        "{refused}"
    );
    let first_technician = EXAMPLE
        .lines()
        .position(|l| l.trim() == "user = \"zhou.min\"")
        .expect("the example lists zhou.min")
        + 1;
    assert!(
        refused.contains(&format!("line {first_technician}, technicians.user")),
        "{refused}"
    );
    assert!(server.admin(&["config", "--tenant", "acme"]).is_null());

    for name in people_of(EXAMPLE) {
        server.user("acme", "technician", &name, None);
    }
    let applied = server.admin(&[
        "configure",
        "--tenant",
        "acme",
        "--file",
        path,
        "--by",
        "ops.lead",
    ]);
    assert_eq!(applied["version"], 1);
    assert_eq!(applied["changed"], true);
    let again = server.admin(&["configure", "--tenant", "acme", "--file", path]);
    assert_eq!(
        again["changed"], false,
        "the same file is not a new version"
    );

    // A broken file changes nothing: the error names the key and the line.
    let broken = EXAMPLE.replacen("Asia/Shanghai", "Asia/Shangai", 1);
    std::fs::write(&file, &broken).expect("writes");
    let refused = server.admin_fails(&["configure", "--tenant", "acme", "--file", path]);
    assert!(refused.contains("calendars.time_zone"), "{refused}");
    assert!(refused.contains("Asia/Shangai"), "{refused}");

    let edited = format!("{EXAMPLE}\n# routing tuned on Monday\n");
    std::fs::write(&file, &edited).expect("writes");
    let applied = server.admin(&[
        "configure",
        "--tenant",
        "acme",
        "--file",
        path,
        "--by",
        "ops.lead",
    ]);
    assert_eq!(applied["version"], 2);

    // Printed back exactly as applied, the old version too; the history says who and when.
    let current = server.admin(&["config", "--tenant", "acme"]);
    assert_eq!(current["toml"], edited.as_str());
    assert_eq!(current["version"], 2);
    let first = server.admin(&["config", "--tenant", "acme", "--version", "1"]);
    assert_eq!(first["toml"], EXAMPLE);
    let history = server.admin(&["config", "--tenant", "acme", "--history"]);
    let rows = history.as_array().expect("a list");
    assert_eq!(rows.len(), 2);
    assert_eq!(
        (rows[0]["version"].as_u64(), rows[0]["applied_by"].as_str()),
        (Some(2), Some("ops.lead"))
    );
    let missing = server.admin_fails(&["config", "--tenant", "acme", "--version", "7"]);
    assert!(missing.contains("no configuration version 7"), "{missing}");
}

/// Runs `fieldwork report` with `args`; returns (exit code, stdout, stderr).
fn report(args: &[&str]) -> (Option<i32>, String, String) {
    let out = std::process::Command::new(common::BIN)
        .arg("report")
        .args(args)
        .env_remove("FIELDWORK_TOKEN")
        .env_remove("FIELDWORK_SERVER")
        .output()
        .expect("fieldwork report runs");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn a_supervisor_reports_from_the_server_or_its_data_directory_alike() {
    let server = Server::start();
    server.tenant("acme");
    let (_, sue) = server.user("acme", "supervisor", "sue", None);
    let (_, mia) = server.user("acme", "merchant", "mia", None);
    let shop = Device::login(&server.url, &mia);
    for (title, category) in [
        ("Till jammed", "till"),
        ("Printer offline", "printer"),
        ("No paper", "printer"),
    ] {
        shop.json(&["create", "--title", title, "--category", category]);
    }
    shop.sync();
    let today = std::process::Command::new("date")
        .args(["-u", "+%F"])
        .output()
        .expect("date runs");
    let today = String::from_utf8_lossy(&today.stdout).trim().to_owned();
    let period = ["--from", today.as_str(), "--to", today.as_str()];

    // From the server, over its API.
    let (code, out, err) = report(
        &[
            &period[..],
            &[
                "--server",
                &server.url,
                "--token",
                &sue,
                "--by",
                "category",
                "--json",
            ],
        ]
        .concat(),
    );
    assert_eq!(code, Some(0), "{err}");
    let json: serde_json::Value = serde_json::from_str(&out).expect("JSON");
    assert_eq!(json["total"]["created"], 3);
    assert_eq!(json["total"]["backlog"], 3);
    assert_eq!(json["top_categories"][0]["category"], "printer");

    // From the data directory, the same numbers: as a table and as CSV.
    let store = server.store_args();
    let store: Vec<&str> = store.iter().map(String::as_str).collect();
    let (code, table, err) = report(
        &[
            &period[..],
            &store[..],
            &["--tenant", "acme", "--by", "category"],
        ]
        .concat(),
    );
    assert_eq!(code, Some(0), "{err}");
    assert!(table.contains("printer"), "{table}");
    assert!(
        table.contains("Top categories: printer 2 (66.7%), till 1 (33.3%)."),
        "{table}"
    );
    let (code, csv, _) =
        report(&[&period[..], &store[..], &["--tenant", "acme", "--csv"]].concat());
    assert_eq!(code, Some(0));
    let last = csv.lines().last().expect("a total row");
    assert!(last.starts_with("total,3,0,3,"), "{csv}");

    // Clear refusals, with the README's exit codes.
    let (code, _, err) =
        report(&[&period[..], &["--server", &server.url, "--token", &mia]].concat());
    assert_eq!(code, Some(1));
    assert!(
        err.contains("only dispatchers, supervisors and admins"),
        "{err}"
    );
    let (code, _, err) = report(
        &[
            &["--from", &today, "--to", "2000-01-01"][..],
            &store[..],
            &["--tenant", "acme"],
        ]
        .concat(),
    );
    assert_eq!(code, Some(1));
    assert!(err.contains("ends before it starts"), "{err}");
    let (code, _, err) = report(
        &[
            &period[..],
            &["--server", "http://127.0.0.1:9", "--token", &sue],
        ]
        .concat(),
    );
    assert_eq!(code, Some(4), "{err}");
}

#[test]
fn a_tenant_moves_from_sqlite_to_postgres_and_its_devices_carry_on() {
    if common::on_postgres() {
        // The move starts from the SQLite file; this run's servers have none.
        eprintln!("SQLite only: skipped on PostgreSQL");
        return;
    }
    let mut org = Org::new();
    let (_, rider) = org.member("rider", "li.wei", None);
    let (_, dispatcher) = org.member("dispatcher", "ops", None);
    let help = rider.json(&[
        "help",
        "--lat",
        "31.23",
        "--lon",
        "121.47",
        "--note",
        "chain snapped",
    ]);
    let id = help["id"].as_str().expect("id").to_owned();
    rider.sync();
    dispatcher.sync();
    dispatcher.json(&["note", &id, "on my way"]);
    dispatcher.sync();

    // Refusals first: an unknown tenant, a database address that is not one.
    let database = TestDatabase::create();
    let unknown =
        org.server
            .admin_fails(&["migrate-store", "--tenant", "nobody", "--to", &database.url]);
    assert!(unknown.contains("no tenant"), "{unknown}");

    let moved = org
        .server
        .admin(&["migrate-store", "--tenant", "acme", "--to", &database.url]);
    assert_eq!(moved["tables"]["tickets"], 1);
    assert_eq!(moved["tables"]["users"], 2);
    assert_eq!(moved["tables"]["devices"], 2);
    assert!(moved["tables"]["changes"].as_u64().expect("a count") >= 3);
    assert_eq!(moved["tables"]["ticket_text"], 1);
    // Moving it twice is refused, and nothing is written then.
    let again =
        org.server
            .admin_fails(&["migrate-store", "--tenant", "acme", "--to", &database.url]);
    assert!(again.contains("already exists"), "{again}");

    // The server now runs on PostgreSQL: the same devices, tokens and cursors carry on.
    org.server.restart_on_database(database);
    rider.json(&["note", &id, "thanks"]);
    rider.sync();
    dispatcher.sync();
    // The rider wrote "thanks" before hearing of "on my way": the two merge in either order.
    let mut notes = note_texts(&dispatcher.show(&id));
    notes.sort();
    assert_eq!(notes, ["chain snapped", "on my way", "thanks"]);
    // Accounts made after the move live in PostgreSQL too; a new device bootstraps there.
    let (_, token) = org.server.user(&org.tenant, "dispatcher", "desk2", None);
    let desk = Device::login(&org.server.url, &token);
    desk.sync();
    assert_eq!(note_texts(&desk.show(&id)).len(), 3);
    let devices = org
        .server
        .admin(&["list-devices", "--tenant", "acme", "--user", "ops"]);
    assert_eq!(devices.as_array().map(Vec::len), Some(1));
}
