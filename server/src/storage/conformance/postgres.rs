//! Throwaway PostgreSQL databases for tests: each [`TestDatabase`] is a new, empty database,
//! dropped with everything in it when the value goes. They live on the server named by
//! `FIELDWORK_TEST_POSTGRES` (an address whose user may create databases; `scripts/test.sh`
//! starts one), or else on a cluster this test process starts for itself with
//! `scripts/postgres.sh`, which stops once the process ends. Never skipped: a machine without
//! PostgreSQL gets it installed by that script.

use std::process::Command;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};

/// A database made for one test.
#[derive(Debug)]
pub struct TestDatabase {
    /// Its address, for `PgStore::open` or `fieldwork serve --database`.
    pub url: String,
    name: String,
}

fn server() -> &'static str {
    static SERVER: OnceLock<String> = OnceLock::new();
    SERVER.get_or_init(|| {
        if let Ok(url) = std::env::var("FIELDWORK_TEST_POSTGRES") {
            return url;
        }
        let dir = std::env::temp_dir().join(format!("fieldwork-test-pg-{}", std::process::id()));
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../scripts/postgres.sh");
        let out = Command::new(script)
            .arg("start")
            .arg(&dir)
            .arg(std::process::id().to_string())
            .output()
            .expect("scripts/postgres.sh runs");
        assert!(
            out.status.success(),
            "starting a throwaway PostgreSQL failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout)
            .expect("an address")
            .trim()
            .to_owned()
    })
}

/// Runs `sql` on the server's maintenance database.
fn admin(sql: &str) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    runtime.block_on(async {
        let (client, connection) = tokio_postgres::connect(server(), tokio_postgres::NoTls)
            .await
            .expect("the test PostgreSQL answers");
        let connection = tokio::spawn(connection);
        client.batch_execute(sql).await.expect("an admin statement");
        drop(client);
        let _ = connection.await;
    });
}

impl TestDatabase {
    /// Makes a new, empty database.
    pub fn create() -> Self {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let name = format!(
            "fw_test_{}_{}_{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed),
            rand::random::<u32>()
        );
        admin(&format!(
            "CREATE DATABASE {name} TEMPLATE template0 ENCODING 'UTF8' LOCALE 'C.UTF-8'"
        ));
        let base = server();
        let url = match base.rsplit_once('/') {
            Some((server, _)) => format!("{server}/{name}"),
            None => panic!("FIELDWORK_TEST_POSTGRES must be a postgres:// address"),
        };
        TestDatabase { url, name }
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        admin(&format!(
            "DROP DATABASE IF EXISTS {} WITH (FORCE)",
            self.name
        ));
    }
}
