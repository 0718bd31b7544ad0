//! The README's walk-through, run as pasted: the shell blocks of its "A walk-through" section,
//! top to bottom in one `bash -euo pipefail`, in an empty directory, with this build's
//! `fieldwork` first on the PATH and a real `fieldwork serve` on a free loopback port in place of
//! the one `./scripts/run.sh` starts. A step that fails fails the test, with the script's output.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use fieldwork_harness::ServerLaunch;

const BIN: &str = env!("CARGO_BIN_EXE_fieldwork");
const README: &str = include_str!("../README.md");
/// The section the test runs, by its heading.
const SECTION: &str = "## A walk-through";
/// Where the README's server listens (`./scripts/run.sh`); the test's own server replaces it.
const README_ADDRESS: &str = "127.0.0.1:8787";
/// The README's server keeps its data here, relative to where the commands run.
const README_DATA: &str = "fieldwork-data";
/// Enough for a debug build on a busy machine; the walk-through takes seconds.
const DEADLINE: Duration = Duration::from_secs(300);

/// The ```sh blocks between the section's heading and the next `## ` heading, joined.
fn walkthrough(readme: &str) -> String {
    let mut lines = readme.lines().skip_while(|l| l.trim_end() != SECTION);
    assert!(
        lines.next().is_some(),
        "README.md has no `{SECTION}` section; update tests/readme_walkthrough.rs if it moved"
    );
    let mut script = String::new();
    let mut in_block = false;
    for line in lines.take_while(|l| !l.starts_with("## ")) {
        let fence = line.trim_start();
        if in_block && fence.starts_with("```") {
            in_block = false;
        } else if in_block {
            script.push_str(line);
            script.push('\n');
        } else if fence == "```sh" || fence == "```bash" {
            in_block = true;
        }
    }
    script
}

#[test]
fn the_readme_walkthrough_runs_as_pasted() {
    let script = walkthrough(README);
    assert!(
        script.lines().filter(|l| !l.trim().is_empty()).count() > 10,
        "the walk-through has (almost) no commands:\n{script}"
    );
    // `set -e` does not stop at a failure left of `&&` or `||`: such a step could fail unseen.
    for line in script.lines().filter(|l| !l.trim_start().starts_with('#')) {
        let command = line.split(" #").next().unwrap_or(line);
        assert!(
            !command.contains("&&") && !command.contains("||"),
            "put each step of the walk-through on its own line, so a failure stops it: {line}"
        );
    }
    assert!(
        script.contains(README_ADDRESS),
        "the walk-through no longer talks to {README_ADDRESS}; the test cannot point it at its \
         server"
    );

    let dir = tempfile::tempdir().expect("temp dir");
    let server = ServerLaunch::new(BIN, dir.path().join(README_DATA))
        .log_to(dir.path().join("server.log"))
        .start()
        .unwrap_or_else(|e| panic!("fieldwork serve starts: {e}"));
    let address = server.url.trim_start_matches("http://");
    let script = script.replace(README_ADDRESS, address);

    let bin_dir = Path::new(BIN)
        .parent()
        .expect("the binary is in a directory");
    let path = std::env::join_paths(std::iter::once(bin_dir.to_owned()).chain(
        std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()),
    ))
    .expect("PATH entries join");
    let output = dir.path().join("walkthrough.out");
    let log = std::fs::File::create(&output).expect("output file");
    let mut bash = Command::new("bash")
        .args(["-euo", "pipefail", "-c", &script])
        .current_dir(dir.path())
        .env("PATH", path)
        .env_remove("FIELDWORK_HOME")
        .env_remove("FIELDWORK_DATA")
        .env_remove("RUST_BACKTRACE")
        .stdin(Stdio::null())
        .stdout(log.try_clone().expect("output file"))
        .stderr(log)
        .spawn()
        .expect("bash runs");

    let deadline = Instant::now() + DEADLINE;
    let status = loop {
        if let Some(status) = bash.try_wait().expect("bash can be waited for") {
            break Some(status);
        }
        if Instant::now() > deadline {
            let _ = bash.kill();
            let _ = bash.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let printed = std::fs::read_to_string(&output).unwrap_or_default();
    match status {
        Some(status) if status.success() => {}
        Some(status) => panic!(
            "the README walk-through failed ({status}); what it printed:\n{printed}\n\
             the script (server on {address}):\n{script}"
        ),
        None => panic!(
            "the README walk-through did not finish within {DEADLINE:?}; what it printed:\n\
             {printed}"
        ),
    }
}
