//! `fieldwork bench seed`: a data directory filled with a tenant of many tickets, for
//! benchmarks that bring their own client (the console's, in Chromium: `console-tests/bench.mjs`).
//! It writes `bench-seed.json` beside the database: the tenant, a dispatcher and a rider who sign
//! in with a password, and a ticket to open.

use std::path::Path;
use std::time::Instant;

use fieldwork_harness::NewUser;

use super::{BenchError, start_fleet_server, step};

/// The seeded people's password (a benchmark's data, never a real tenant's).
const PASSWORD: &str = "bench password";

pub(super) fn bench_seed(tickets: usize, data: &Path) -> Result<(), BenchError> {
    if data.join("fieldwork-server.db").exists() {
        return Err(BenchError::Step(format!(
            "{} already holds a database: seed an empty directory",
            data.display()
        )));
    }
    let scratch = tempfile::tempdir().map_err(step("temp dir"))?;
    let server = start_fleet_server(data, 1)?;
    let tenant = server.create_tenant("bench")?;
    for (role, name) in [("dispatcher", "ops"), ("rider", "rider")] {
        server.create_user(
            &tenant,
            &NewUser {
                password: Some(PASSWORD),
                ..NewUser::new(role, name)
            },
        )?;
    }
    let started = Instant::now();
    let ids = super::api::fill(&server, &tenant, scratch.path(), tickets)?;
    let seed = serde_json::json!({
        "tenant": "bench",
        "name": "ops",
        "rider": "rider",
        "password": PASSWORD,
        "tickets": tickets,
        "ticket": ids.first(),
    });
    std::fs::write(data.join("bench-seed.json"), seed.to_string())
        .map_err(step("write the seed"))?;
    println!(
        "{tickets} tickets stored in {} in {:.1} s; then: node console-tests/bench.mjs {}",
        data.display(),
        started.elapsed().as_secs_f64(),
        data.display()
    );
    Ok(())
}
