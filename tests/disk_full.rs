//! A full disk, for real: a device's home and a server's data directory on a small tmpfs, filled
//! up. Writes must fail with a clear error, nothing half-written may stay, and once space is back
//! everything works and reaches the server (`docs/reliability.md`).
//!
//! Mounting needs root. Where it is not allowed the tests say so and pass, unless
//! `FIELDWORK_REQUIRE_SMALL_DISK=1` (set by `scripts/test.sh` when it runs as root) makes that a
//! failure.

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::{Device, Server, id_of};
use fieldwork_harness as harness;
use fieldwork_test_images as samples;

/// A tmpfs of a few MiB mounted on a temp folder, unmounted when dropped.
struct SmallDisk {
    dir: tempfile::TempDir,
}

impl SmallDisk {
    fn mount(mib: u32) -> Option<SmallDisk> {
        let dir = tempfile::tempdir().expect("temp dir");
        let mounted = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={mib}m"), "tmpfs"])
            .arg(dir.path())
            .output()
            .is_ok_and(|o| o.status.success());
        if mounted {
            return Some(SmallDisk { dir });
        }
        let required = std::env::var("FIELDWORK_REQUIRE_SMALL_DISK").is_ok_and(|v| v == "1");
        assert!(
            !required,
            "cannot mount a small tmpfs here (root is needed)"
        );
        eprintln!("SKIPPED: cannot mount a small tmpfs here (root is needed)");
        None
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Fills the disk with a file until writing fails; returns the file, to delete later.
    fn fill(&self) -> PathBuf {
        let filler = self.path().join("filler");
        let mut file = std::fs::File::create(&filler).expect("filler");
        let chunk = vec![0u8; 16 * 1024];
        while file
            .write_all(&chunk)
            .and_then(|()| file.sync_all())
            .is_ok()
        {}
        // The last bytes, one KiB at a time, so nothing is left.
        while file.write_all(&chunk[..1024]).is_ok() {}
        let _ = file.sync_all();
        filler
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(self.dir.path()).status();
    }
}

/// What a failing command said, checked to be a clear, non-panicking error about space.
fn says_disk_full(device: &Device, args: &[&str]) -> String {
    let err = device.fails(args);
    let lower = err.to_lowercase();
    assert!(
        lower.contains("full") || lower.contains("space"),
        "{args:?} failed without saying the disk is full: {err}"
    );
    err
}

/// Every file under `dir`, by path.
fn files_in(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_owned()];
    while let Some(d) = todo.pop() {
        for entry in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                todo.push(path);
            } else {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

/// A description of about 3 KiB, so a full disk is reached in a few writes.
fn filler_text(i: usize) -> String {
    format!("{i} ").repeat(1_000)
}

#[test]
fn a_device_on_a_full_disk_refuses_writes_clearly_and_loses_nothing() {
    let Some(disk) = SmallDisk::mount(6) else {
        return;
    };
    let server = Server::start();
    let tenant = server.tenant("acme");
    let (_, rider_token) = server.user(&tenant, "rider", "rider", None);
    let (_, disp_token) = server.user(&tenant, "dispatcher", "ops", None);
    let rider = Device::in_folder(disk.path().join("device"));
    rider.json(&["login", "--server", &server.url, "--token", &rider_token]);
    let before_first = id_of(&rider.json(&["help", "--order", "BEFORE"]));
    let mut acked = vec![before_first.clone()];

    // Full: SQLite may still reuse room its files already have, so write until it refuses.
    let filler = disk.fill();
    let mut refused = None;
    for i in 0..200 {
        let out = rider.run(&["help", "--note", &filler_text(i), "--json"]);
        if out.status.success() {
            let ticket: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
            acked.push(id_of(&ticket));
        } else {
            assert_ne!(out.status.code(), Some(101), "the device panicked");
            refused = Some(String::from_utf8_lossy(&out.stderr).into_owned());
            break;
        }
    }
    let err = refused.expect("a write onto a full disk never failed");
    let lower = err.to_lowercase();
    assert!(
        lower.contains("full") || lower.contains("space"),
        "the device failed without saying the disk is full: {err}"
    );
    eprintln!(
        "after {} writes the device says: {}",
        acked.len(),
        err.trim()
    );
    // Again, and a note: refused the same way. Reading still works, and holds exactly what was
    // acknowledged (the refused writes left nothing).
    says_disk_full(&rider, &["help", "--order", "FULL"]);
    says_disk_full(&rider, &["note", &acked[0], "on a full disk"]);
    // A photo too, and none of its files stay behind (the JPEG comes from the other disk).
    let elsewhere = tempfile::tempdir().expect("dir");
    let jpeg = elsewhere.path().join("photo.jpg");
    std::fs::write(&jpeg, samples::jpeg_with_exif(1200, 900, 1, None, None)).expect("photo");
    let files_before = files_in(&rider.home);
    says_disk_full(&rider, &["attach", &acked[0], &jpeg.display().to_string()]);
    assert_eq!(
        files_in(&rider.home),
        files_before,
        "a refused photo left files"
    );
    let mut held = rider.ids();
    held.sort();
    let mut expected = acked.clone();
    expected.sort();
    assert_eq!(
        held, expected,
        "the device holds other than what it acknowledged"
    );
    assert!(common::note_texts(&rider.show(&acked[0])).is_empty());

    // Space is back: the store works, and everything reaches the server.
    std::fs::remove_file(filler).expect("free the disk");
    acked.push(id_of(&rider.json(&["help", "--order", "AFTER"])));
    rider.json(&["note", &acked[0], "after the disk was freed"]);
    rider.json(&["attach", &acked[0], &jpeg.display().to_string()]);
    rider.sync();
    let dispatcher = Device::login(&server.url, &disp_token);
    dispatcher.sync();
    let mut on_server = dispatcher.ids();
    on_server.sort();
    acked.sort();
    assert_eq!(on_server, acked);
    let first = dispatcher.show(&before_first);
    assert_eq!(common::note_texts(&first), ["after the disk was freed"]);
    assert_eq!(first["attachments"].as_array().map(Vec::len), Some(1));
}

#[test]
fn a_server_on_a_full_disk_refuses_pushes_clearly_and_keeps_working() {
    let Some(disk) = SmallDisk::mount(24) else {
        return;
    };
    let data = disk.path().join("data");
    let log = tempfile::NamedTempFile::new().expect("log file");
    let server = harness::ServerLaunch::new(common::BIN, &data)
        .log_to(log.path())
        .start()
        .unwrap_or_else(|e| panic!("fieldwork serve starts: {e}"));
    let tenant = server
        .create_tenant("acme")
        .unwrap_or_else(|e| panic!("tenant: {e}"));
    let (_, rider_token) = server
        .create_user(&tenant, &harness::NewUser::new("rider", "rider"))
        .unwrap_or_else(|e| panic!("rider: {e}"));
    let (_, disp_token) = server
        .create_user(&tenant, &harness::NewUser::new("dispatcher", "ops"))
        .unwrap_or_else(|e| panic!("dispatcher: {e}"));
    let rider = Device::login(&server.url, &rider_token);
    let dispatcher = Device::login(&server.url, &disp_token);
    let mut written = vec![id_of(&rider.json(&["help", "--order", "BEFORE"]))];
    rider.sync();

    let filler = disk.fill();
    let mut refused = None;
    for i in 0..200 {
        written.push(id_of(&rider.json(&["help", "--note", &filler_text(i)])));
        let out = rider.run(&["sync", "--attempts", "1"]);
        if !out.status.success() {
            assert_ne!(out.status.code(), Some(101), "the device panicked");
            refused = Some(String::from_utf8_lossy(&out.stderr).into_owned());
            break;
        }
    }
    let err = refused.expect("a push onto a full disk never failed");
    let lower = err.to_lowercase();
    assert!(
        lower.contains("storage") || lower.contains("full") || lower.contains("space"),
        "the device was not told the server is out of space: {err}\nserver log:\n{}",
        std::fs::read_to_string(log.path()).unwrap_or_default()
    );
    eprintln!(
        "after {} tickets the device says: {}",
        written.len(),
        err.trim()
    );
    let status = rider.json(&["status"]);
    assert!(
        status["pending"].as_u64().is_some_and(|n| n > 0),
        "the refused change left the outbox: {status}"
    );
    // The server is alive: another device's sync is answered, at worst with the same clear
    // refusal (a pull records what the device now holds), never with a failure.
    let pulled = dispatcher.run(&["sync", "--attempts", "1"]);
    let said = String::from_utf8_lossy(&pulled.stderr);
    assert!(
        pulled.status.success() || said.contains("server_storage_full"),
        "a pull from the full server: {said}"
    );

    std::fs::remove_file(filler).expect("free the disk");
    rider.sync();
    dispatcher.sync();
    let mut on_server = dispatcher.ids();
    on_server.sort();
    written.sort();
    assert_eq!(
        on_server, written,
        "what the rider wrote is on the server, once"
    );
}
