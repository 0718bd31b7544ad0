//! Blocking calls over the async driver: [`Db`] is one PostgreSQL connection whose queries are
//! awaited on the calling thread, and [`Pool`] lends them out.
//!
//! The storage traits are blocking (the server calls them from blocking tasks, and the SQLite
//! backend is blocking by nature). tokio-postgres splits a connection in two: the `Client`, whose
//! futures only pass messages over channels, and the `Connection`, which does the socket work.
//! Each `Connection` runs on the store's own small runtime; a caller awaits its `Client` futures
//! with `futures_executor::block_on`, which needs no runtime and so works on any thread — a
//! blocking task, a test's thread, or (as SQLite calls do) an async worker.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::sync::{Condvar, Mutex};
use std::time::Duration;

use futures_executor::block_on;
use tokio_postgres::types::ToSql;
use tokio_postgres::{Client, Config, NoTls, Row, Statement};

use crate::storage::{Result, StorageError};

/// A parameter of a query.
pub(super) type Param<'a> = &'a (dyn ToSql + Sync);

/// What a query on [`Db`] fails with: the driver's error, so a caller can look at its SQLSTATE
/// ([`is_unique_violation`]); `?` turns it into [`StorageError`].
pub(super) type PgResult<T> = std::result::Result<T, tokio_postgres::Error>;

/// Prepared statements kept per connection; a connection that has prepared this many distinct
/// texts (the ticket list builds its filters) forgets them all and starts again.
const MAX_STATEMENTS: usize = 512;

/// One connection. Every query is prepared once per connection and kept (the way SQLite's
/// `prepare_cached` is used by the other backend).
pub(super) struct Db {
    client: Client,
    statements: RefCell<HashMap<String, Statement>>,
}

impl std::fmt::Debug for Db {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Db")
            .field("statements", &self.statements.borrow().len())
            .finish_non_exhaustive()
    }
}

impl Db {
    fn statement(&self, sql: &str) -> PgResult<Statement> {
        if let Some(statement) = self.statements.borrow().get(sql) {
            return Ok(statement.clone());
        }
        let statement = block_on(self.client.prepare(sql))?;
        let mut statements = self.statements.borrow_mut();
        if statements.len() >= MAX_STATEMENTS {
            statements.clear();
        }
        statements.insert(sql.to_owned(), statement.clone());
        Ok(statement)
    }

    /// Every row the query returns.
    pub(super) fn query(&self, sql: &str, params: &[Param<'_>]) -> PgResult<Vec<Row>> {
        let statement = self.statement(sql)?;
        block_on(self.client.query(&statement, params))
    }

    /// The one row the query returns, or `None`; more than one is an error.
    pub(super) fn query_opt(&self, sql: &str, params: &[Param<'_>]) -> PgResult<Option<Row>> {
        let statement = self.statement(sql)?;
        block_on(self.client.query_opt(&statement, params))
    }

    /// The one row the query returns; none or more is an error.
    pub(super) fn query_one(&self, sql: &str, params: &[Param<'_>]) -> PgResult<Row> {
        let statement = self.statement(sql)?;
        block_on(self.client.query_one(&statement, params))
    }

    /// Runs a statement; returns how many rows it touched.
    pub(super) fn execute(&self, sql: &str, params: &[Param<'_>]) -> PgResult<u64> {
        let statement = self.statement(sql)?;
        block_on(self.client.execute(&statement, params))
    }

    /// Runs statements without parameters, several separated by `;` (the simple protocol).
    pub(super) fn batch(&self, sql: &str) -> PgResult<()> {
        block_on(self.client.batch_execute(sql))
    }

    /// Runs `work` inside `SAVEPOINT`: an error rolls back what `work` did and leaves the
    /// transaction usable (PostgreSQL otherwise aborts the whole transaction on any error).
    pub(super) fn savepoint<T>(&self, work: impl FnOnce(&Db) -> Result<T>) -> Result<T> {
        self.batch("SAVEPOINT fw")?;
        match work(self) {
            Ok(out) => {
                self.batch("RELEASE SAVEPOINT fw")?;
                Ok(out)
            }
            Err(error) => {
                self.batch("ROLLBACK TO SAVEPOINT fw; RELEASE SAVEPOINT fw")?;
                Err(error)
            }
        }
    }

    /// Sends every statement of `pipeline` before reading any answer — one round trip for all
    /// of them instead of one each — and checks each answer as it asks. Statements run in order;
    /// the first that fails (or touches other than the rows it expects) is the error, and the
    /// caller's transaction or savepoint is to be rolled back then (PostgreSQL fails the rest).
    pub(super) fn run(&self, pipeline: Pipeline) -> Result<()> {
        if pipeline.items.is_empty() {
            return Ok(());
        }
        let mut statements = Vec::with_capacity(pipeline.items.len());
        for item in &pipeline.items {
            statements.push(self.statement(item.sql)?);
        }
        let params: Vec<Vec<Param<'_>>> = pipeline
            .items
            .iter()
            .map(|item| {
                item.params
                    .iter()
                    .map(|p| p.as_ref() as Param<'_>)
                    .collect()
            })
            .collect();
        let mut pending: Vec<_> = statements
            .iter()
            .zip(&params)
            .map(|(statement, params)| Box::pin(self.client.execute(statement, params)))
            .collect();
        let mut answers: Vec<Option<PgResult<u64>>> = (0..pending.len()).map(|_| None).collect();
        // Polled in order, so the requests go out in order, all before the first answer is read.
        block_on(std::future::poll_fn(|cx| {
            let mut waiting = false;
            for (future, answer) in pending.iter_mut().zip(answers.iter_mut()) {
                if answer.is_none() {
                    match future.as_mut().poll(cx) {
                        std::task::Poll::Ready(done) => *answer = Some(done),
                        std::task::Poll::Pending => waiting = true,
                    }
                }
            }
            if waiting {
                std::task::Poll::Pending
            } else {
                std::task::Poll::Ready(())
            }
        }));
        for (item, answer) in pipeline.items.iter().zip(answers) {
            match answer {
                Some(Ok(rows)) => {
                    if item.rows.is_some_and(|expected| rows != expected) {
                        return Err((item.mismatch)());
                    }
                }
                Some(Err(error)) => return Err((item.failure)(error)),
                None => return Err(StorageError::backend("a pipelined statement got no answer")),
            }
        }
        Ok(())
    }

    pub(super) fn is_closed(&self) -> bool {
        self.client.is_closed()
    }

    /// Whether the server answers a trivial query within `wait` (a timer on `runtime`).
    pub(super) fn answers_within(&self, wait: Duration, runtime: &tokio::runtime::Handle) -> bool {
        if self.is_closed() {
            return false;
        }
        let (ring, rung) = tokio::sync::oneshot::channel::<()>();
        let timer = runtime.spawn(async move {
            tokio::time::sleep(wait).await;
            let _ = ring.send(());
        });
        let query = self.client.simple_query("SELECT 1");
        let answered = block_on(async {
            tokio::select! {
                biased;
                answer = query => answer.is_ok(),
                _ = rung => false,
            }
        });
        timer.abort();
        answered
    }
}

/// An owned parameter of a [`Pipeline`] statement.
pub(super) type Owned = Box<dyn ToSql + Sync + Send>;

/// Statements to send together ([`Db::run`]), each with what its answer must be.
#[derive(Default)]
pub(super) struct Pipeline {
    items: Vec<Queued>,
}

struct Queued {
    sql: &'static str,
    params: Vec<Owned>,
    /// The rows the statement must touch, if it matters.
    rows: Option<u64>,
    /// The error when it touched other than `rows`.
    mismatch: fn() -> StorageError,
    /// What a failure of the statement becomes.
    failure: fn(tokio_postgres::Error) -> StorageError,
}

impl Pipeline {
    /// A statement whose answer only has to be a success.
    pub(super) fn push(&mut self, sql: &'static str, params: Vec<Owned>) {
        self.items.push(Queued {
            sql,
            params,
            rows: None,
            mismatch: || StorageError::backend("unreachable: no row count is checked"),
            failure: StorageError::from,
        });
    }

    /// A statement that must touch exactly `rows` rows, else `mismatch()`; a failure of it
    /// becomes `failure(error)`.
    pub(super) fn push_checked(
        &mut self,
        sql: &'static str,
        params: Vec<Owned>,
        rows: u64,
        mismatch: fn() -> StorageError,
        failure: fn(tokio_postgres::Error) -> StorageError,
    ) {
        self.items.push(Queued {
            sql,
            params,
            rows: Some(rows),
            mismatch,
            failure,
        });
    }
}

/// Whether the error is a unique or primary-key violation (SQLSTATE 23505).
pub(super) fn is_unique_violation(error: &tokio_postgres::Error) -> bool {
    error.code() == Some(&tokio_postgres::error::SqlState::UNIQUE_VIOLATION)
}

impl From<tokio_postgres::Error> for StorageError {
    fn from(error: tokio_postgres::Error) -> Self {
        use tokio_postgres::error::SqlState;
        match error.as_db_error() {
            Some(db) if *db.code() == SqlState::DISK_FULL => StorageError::OutOfSpace,
            // The server's message and code only: its DETAIL quotes the row's values (a name,
            // an address), which must not reach the log.
            Some(db) => {
                StorageError::backend(format!("{} (SQLSTATE {})", db.message(), db.code().code()))
            }
            None => StorageError::backend(error),
        }
    }
}

/// How a transaction reads.
#[derive(Debug, Clone, Copy)]
pub(super) enum Begin {
    /// A write: `READ COMMITTED`, rows it must keep still locked explicitly (`FOR UPDATE`).
    Write,
    /// A read of one consistent snapshot (`REPEATABLE READ READ ONLY`).
    Snapshot,
}

impl Begin {
    fn sql(self) -> &'static str {
        match self {
            Begin::Write => "BEGIN",
            Begin::Snapshot => "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
        }
    }
}

thread_local! {
    /// How many connections this thread holds right now.
    static HELD: Cell<usize> = const { Cell::new(0) };
}

#[derive(Debug, Default)]
struct Slots {
    idle: Vec<Db>,
    /// Open connections, idle or lent.
    open: usize,
}

/// A bounded pool of connections, opened as needed and dropped when the server closed them.
///
/// A call that runs inside another on the same thread (a store method called from a
/// [`crate::storage::TicketLog::read`] closure) never waits — it could wait for itself — and
/// opens a connection past the bound if none is idle.
#[derive(Debug)]
pub(super) struct Pool {
    config: Config,
    runtime: tokio::runtime::Handle,
    size: usize,
    slots: Mutex<Slots>,
    returned: Condvar,
}

/// How long a caller waits for a connection when all are lent before it gets an error.
const WAIT_FOR_CONNECTION: Duration = Duration::from_secs(30);

impl Pool {
    /// How connections are made (for connections outside the pool: leases, listening).
    pub(super) fn config(&self) -> &Config {
        &self.config
    }

    /// The runtime the connections' socket work runs on.
    pub(super) fn runtime(&self) -> &tokio::runtime::Handle {
        &self.runtime
    }

    pub(super) fn new(config: Config, runtime: tokio::runtime::Handle, size: usize) -> Self {
        Pool {
            config,
            runtime,
            size: size.max(1),
            slots: Mutex::new(Slots::default()),
            returned: Condvar::new(),
        }
    }

    /// Opens a new connection; its socket work runs on the store's runtime.
    pub(super) fn connect(&self) -> Result<Db> {
        let config = self.config.clone();
        let task = self.runtime.spawn(async move {
            let (client, connection) = config.connect(NoTls).await?;
            tokio::spawn(async move {
                if let Err(error) = connection.await {
                    tracing::warn!(%error, "a PostgreSQL connection ended");
                }
            });
            Ok::<_, tokio_postgres::Error>(client)
        });
        let client = block_on(task)
            .map_err(|e| StorageError::backend(format!("connecting to PostgreSQL: {e}")))??;
        Ok(Db {
            client,
            statements: RefCell::new(HashMap::new()),
        })
    }

    /// Runs `work` in one transaction of kind `begin`: committed if it returns `Ok`, rolled back
    /// otherwise.
    pub(super) fn transaction<T>(
        &self,
        begin: Begin,
        work: impl FnOnce(&Db) -> Result<T>,
    ) -> Result<T> {
        let mut lent = self.take()?;
        let db = lent.db();
        db.batch(begin.sql())?;
        let (out, healthy) = match work(db) {
            Ok(out) => (db.batch("COMMIT").map(|()| out).map_err(Into::into), true),
            Err(error) => (Err(error), db.batch("ROLLBACK").is_ok()),
        };
        lent.healthy = healthy;
        out
    }

    /// Runs `work` on a connection lent from the pool, outside any transaction.
    pub(super) fn with<T>(&self, work: impl FnOnce(&Db) -> Result<T>) -> Result<T> {
        let lent = self.take()?;
        work(lent.db())
    }

    fn take(&self) -> Result<Lent<'_>> {
        let nested = HELD.get() > 0;
        let mut slots = lock(&self.slots);
        let db = loop {
            if let Some(db) = slots.idle.pop() {
                break db;
            }
            if slots.open < self.size || nested {
                slots.open += 1;
                drop(slots);
                break self
                    .connect()
                    .inspect_err(|_| lock(&self.slots).open -= 1)?;
            }
            let (next, timeout) = self
                .returned
                .wait_timeout(slots, WAIT_FOR_CONNECTION)
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            slots = next;
            if timeout.timed_out() && slots.idle.is_empty() && slots.open >= self.size {
                return Err(StorageError::backend(
                    "every PostgreSQL connection of the pool stayed busy",
                ));
            }
        };
        HELD.set(HELD.get() + 1);
        Ok(Lent {
            pool: self,
            db: Some(db),
            // A statement error or a panic mid-transaction leaves it open: not reused then.
            healthy: true,
        })
    }
}

/// A connection out of the pool; given back when dropped, unless it broke (closed by the server,
/// a failed rollback, or a panic while lent), in which case its slot is freed instead.
struct Lent<'a> {
    pool: &'a Pool,
    db: Option<Db>,
    healthy: bool,
}

impl Lent<'_> {
    fn db(&self) -> &Db {
        self.db.as_ref().expect("present until dropped")
    }
}

impl Drop for Lent<'_> {
    fn drop(&mut self) {
        let Some(db) = self.db.take() else { return };
        HELD.set(HELD.get().saturating_sub(1));
        let mut slots = lock(&self.pool.slots);
        if self.healthy && !std::thread::panicking() && !db.is_closed() {
            slots.idle.push(db);
        } else {
            slots.open -= 1;
        }
        drop(slots);
        self.pool.returned.notify_one();
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}
