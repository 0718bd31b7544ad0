//! Moving a tenant from the embedded SQLite store to PostgreSQL (`fieldwork admin
//! migrate-store`): every row of the tenant, table by table, in one PostgreSQL transaction, then
//! counted again on both sides. Nothing is half-moved: a failure rolls the whole copy back, and
//! the SQLite file is only read.
//!
//! The two schemas name the same tables and columns (the PostgreSQL one is a translation of the
//! SQLite one), so the copy is generic: for each table it reads the PostgreSQL columns and their
//! types from `information_schema` and converts each SQLite value to the column's type. Seqs,
//! ticket numbers, tokens (hashed) and the devices' holdings move as they are, so devices and
//! people carry on against a server on the new database without signing in again or pulling
//! from scratch. Two things are made anew: the rows' own numeric ids of the logs that have them
//! (erasures, webhook deliveries, account events — PostgreSQL numbers them, in the old order),
//! and the search text, read from SQLite's full-text table.

use std::path::Path;

use rusqlite::types::Value;
use rusqlite::{Connection, OpenFlags};
use tokio_postgres::types::{ToSql, Type};

use super::{Conflict, Missing, PgOptions, PgStore, Result, StorageError};

/// The tenant's rows of each table, parents first; `?1` is the tenant id.
const TABLES: &[(&str, &str)] = &[
    ("tenants", "id = ?1"),
    ("users", "tenant_id = ?1"),
    ("devices", "tenant_id = ?1"),
    (
        "tokens",
        "user_id IN (SELECT id FROM users WHERE tenant_id = ?1)",
    ),
    ("tenant_quotas", "tenant_id = ?1"),
    ("tenant_blob_usage", "tenant_id = ?1"),
    ("user_blob_usage", "tenant_id = ?1"),
    ("positions", "tenant_id = ?1"),
    ("tenant_configs", "tenant_id = ?1"),
    ("webhook_deliveries", "tenant_id = ?1"),
    ("webhook_secrets", "tenant_id = ?1"),
    ("brain_turns", "tenant_id = ?1"),
    ("brain_tickets", "tenant_id = ?1"),
    ("web_sessions", "tenant_id = ?1"),
    ("account_events", "tenant_id = ?1"),
    ("csat_links", "tenant_id = ?1"),
    ("saved_views", "tenant_id = ?1"),
    ("tickets", "tenant_id = ?1"),
    ("docs", "tenant_id = ?1"),
    ("changes", "tenant_id = ?1"),
    ("forgotten_changes", "tenant_id = ?1"),
    ("erasures", "tenant_id = ?1"),
    (
        "device_tickets",
        "device_id IN (SELECT id FROM devices WHERE tenant_id = ?1)",
    ),
    ("ticket_tags", "tenant_id = ?1"),
    ("ticket_facts", "tenant_id = ?1"),
    ("report_progress", "tenant_id = ?1"),
    ("blob_uploads", "tenant_id = ?1"),
    ("blobs", "tenant_id = ?1"),
    ("blob_refs", "tenant_id = ?1"),
    ("channels", "tenant_id = ?1"),
    ("intake_receipts", "tenant_id = ?1"),
    ("intake_contacts", "tenant_id = ?1"),
    ("intake_messages", "tenant_id = ?1"),
    ("alert_folds", "tenant_id = ?1"),
    ("status_links", "tenant_id = ?1"),
    ("assets", "tenant_id = ?1"),
    ("kb_articles", "tenant_id = ?1"),
    ("kb_versions", "tenant_id = ?1"),
    ("kb_counters", "tenant_id = ?1"),
    ("kb_images", "tenant_id = ?1"),
];

/// Where a table's rows are read in SQLite, when not from the table of that name: PostgreSQL
/// keeps a ticket's summary in its `docs` row, SQLite in `ticket_summaries` (SQLite migration 32).
fn sqlite_rows(table: &str) -> &str {
    match table {
        "docs" => {
            "(SELECT d.*, s.summary FROM docs d LEFT JOIN ticket_summaries s
                  ON s.tenant_id = d.tenant_id AND s.ticket_id = d.ticket_id) AS docs"
        }
        other => other,
    }
}

/// Tables whose `id` PostgreSQL numbers itself (an identity column): copied in `id` order
/// without it.
const NUMBERED: &[&str] = &["erasures", "webhook_deliveries", "account_events"];

/// How many rows of each table moved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MovedTenant {
    pub tenant_id: String,
    pub tables: Vec<(String, u64)>,
}

impl MovedTenant {
    /// Rows moved in all.
    pub fn rows(&self) -> u64 {
        self.tables.iter().map(|(_, n)| n).sum()
    }
}

/// Copies the tenant `id_or_name` of the SQLite database at `sqlite` into the PostgreSQL
/// database at `postgres_url` (its schema made or migrated first). Refused with
/// [`Conflict::Exists`] if the PostgreSQL database has the tenant already, with
/// [`Missing::Tenant`] if the SQLite one does not.
pub fn move_tenant(sqlite: &Path, postgres_url: &str, id_or_name: &str) -> Result<MovedTenant> {
    // Bring both schemas to this build's version first.
    drop(super::SqliteStore::open(sqlite)?);
    drop(PgStore::open(postgres_url, &PgOptions { pool_size: 1 })?);
    let source = Connection::open_with_flags(sqlite, OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    let tenant_id: String = source
        .query_row(
            "SELECT id FROM tenants WHERE id = ?1 OR name = ?1 ORDER BY id = ?1 DESC LIMIT 1",
            [id_or_name],
            |r| r.get(0),
        )
        .map_err(|e| match e {
            rusqlite::Error::QueryReturnedNoRows => StorageError::NotFound(Missing::Tenant),
            other => other.into(),
        })?;
    let target = Target::connect(postgres_url)?;
    target.run(|mut client| async move {
        let tx = client.transaction().await?;
        let exists = tx
            .query_opt("SELECT 1 FROM tenants WHERE id = $1", &[&tenant_id])
            .await?;
        if exists.is_some() {
            return Ok(Err(Conflict::Exists("a tenant with this id").into()));
        }
        let mut tables = Vec::new();
        for (table, filter) in TABLES {
            let moved = match copy_table(&source, &tx, table, filter, &tenant_id).await {
                Ok(moved) => moved,
                Err(error) => return Ok(Err(error)),
            };
            tables.push(((*table).to_owned(), moved));
        }
        match copy_search_text(&source, &tx, &tenant_id).await {
            Ok(moved) => tables.push(("ticket_text".to_owned(), moved)),
            Err(error) => return Ok(Err(error)),
        }
        for table in NUMBERED {
            tx.batch_execute(&format!(
                "SELECT setval(pg_get_serial_sequence('{table}', 'id'),
                               GREATEST((SELECT MAX(id) FROM {table}), 1))"
            ))
            .await?;
        }
        tx.commit().await?;
        Ok(Ok(MovedTenant { tenant_id, tables }))
    })?
}

/// A PostgreSQL connection on a runtime of its own, for the copy's one transaction.
struct Target {
    runtime: tokio::runtime::Runtime,
    url: String,
}

impl Target {
    fn connect(url: &str) -> Result<Self> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| StorageError::backend(format!("a runtime for the copy: {e}")))?;
        Ok(Target {
            runtime,
            url: url.to_owned(),
        })
    }

    /// Runs `work` with a connected client; the driver's errors become [`StorageError`].
    fn run<T, F>(self, work: impl FnOnce(tokio_postgres::Client) -> F) -> Result<T>
    where
        F: Future<Output = std::result::Result<T, tokio_postgres::Error>>,
    {
        let Target { runtime, url } = self;
        runtime.block_on(async move {
            let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await?;
            let driver = tokio::spawn(connection);
            let out = work(client).await;
            driver.abort();
            Ok(out?)
        })
    }
}

/// The columns PostgreSQL stores for `table` (generated ones left out), with their types.
async fn target_columns(
    tx: &tokio_postgres::Transaction<'_>,
    table: &str,
) -> std::result::Result<Vec<(String, Type)>, tokio_postgres::Error> {
    let rows = tx
        .query(
            "SELECT column_name, udt_name FROM information_schema.columns
             WHERE table_schema = current_schema() AND table_name = $1 AND is_generated = 'NEVER'
             ORDER BY ordinal_position",
            &[&table],
        )
        .await?;
    let mut columns = Vec::new();
    for row in rows {
        let name: String = row.try_get(0)?;
        let udt: String = row.try_get(1)?;
        let ty = match udt.as_str() {
            "int8" => Type::INT8,
            "bool" => Type::BOOL,
            "float8" => Type::FLOAT8,
            "bytea" => Type::BYTEA,
            _ => Type::TEXT,
        };
        columns.push((name, ty));
    }
    Ok(columns)
}

/// One SQLite value as a parameter of a PostgreSQL column of type `ty`.
fn param(value: Value, ty: &Type, table: &str, column: &str) -> Result<Box<dyn ToSql + Sync>> {
    let mismatch = || {
        StorageError::Corrupt(format!(
            "{table}.{column} holds a value PostgreSQL's {ty} cannot take"
        ))
    };
    Ok(match (value, ty) {
        (Value::Null, t) if *t == Type::INT8 => Box::new(None::<i64>),
        (Value::Null, t) if *t == Type::BOOL => Box::new(None::<bool>),
        (Value::Null, t) if *t == Type::FLOAT8 => Box::new(None::<f64>),
        (Value::Null, t) if *t == Type::BYTEA => Box::new(None::<Vec<u8>>),
        (Value::Null, _) => Box::new(None::<String>),
        (Value::Integer(n), t) if *t == Type::INT8 => Box::new(n),
        (Value::Integer(n), t) if *t == Type::BOOL => Box::new(n != 0),
        #[allow(clippy::cast_precision_loss)]
        (Value::Integer(n), t) if *t == Type::FLOAT8 => Box::new(n as f64),
        (Value::Real(x), t) if *t == Type::FLOAT8 => Box::new(x),
        (Value::Text(s), t) if *t == Type::TEXT => Box::new(s),
        (Value::Blob(b), t) if *t == Type::BYTEA => Box::new(b),
        (Value::Text(s), t) if *t == Type::BYTEA => Box::new(s.into_bytes()),
        _ => return Err(mismatch()),
    })
}

/// Copies the tenant's rows of one table; returns how many, after checking PostgreSQL now holds
/// as many.
async fn copy_table(
    source: &Connection,
    tx: &tokio_postgres::Transaction<'_>,
    table: &str,
    filter: &str,
    tenant_id: &str,
) -> Result<u64> {
    let numbered = NUMBERED.contains(&table);
    let columns: Vec<(String, Type)> = target_columns(tx, table)
        .await?
        .into_iter()
        .filter(|(name, _)| !(numbered && name == "id"))
        .collect();
    if columns.is_empty() {
        return Err(StorageError::Corrupt(format!(
            "PostgreSQL has no table {table}"
        )));
    }
    let names: Vec<&str> = columns.iter().map(|(name, _)| name.as_str()).collect();
    let order = if numbered { " ORDER BY id" } else { "" };
    let select = format!(
        "SELECT {} FROM {} WHERE {filter}{order}",
        names.join(", "),
        sqlite_rows(table)
    );
    let placeholders: Vec<String> = (1..=names.len()).map(|i| format!("${i}")).collect();
    let insert = tx
        .prepare(&format!(
            "INSERT INTO {table} ({}) VALUES ({})",
            names.join(", "),
            placeholders.join(", ")
        ))
        .await?;
    let mut statement = source.prepare(&select)?;
    let mut rows = statement.query([tenant_id])?;
    let mut moved = 0u64;
    while let Some(row) = rows.next()? {
        let mut params = Vec::with_capacity(columns.len());
        for (i, (name, ty)) in columns.iter().enumerate() {
            params.push(param(row.get::<_, Value>(i)?, ty, table, name)?);
        }
        let refs: Vec<&(dyn ToSql + Sync)> = params.iter().map(AsRef::as_ref).collect();
        tx.execute(&insert, &refs).await?;
        moved += 1;
    }
    let count_sql = format!(
        "SELECT COUNT(*) FROM {table} WHERE {}",
        filter.replace("?1", "$1")
    );
    let held: i64 = tx.query_one(&count_sql, &[&tenant_id]).await?.try_get(0)?;
    if u64::try_from(held).ok() != Some(moved) {
        return Err(StorageError::Corrupt(format!(
            "{table}: {moved} rows copied but PostgreSQL holds {held}"
        )));
    }
    Ok(moved)
}

/// Copies the search text SQLite keeps in its full-text table, or left waiting for it, into
/// `ticket_text`.
async fn copy_search_text(
    source: &Connection,
    tx: &tokio_postgres::Transaction<'_>,
    tenant_id: &str,
) -> Result<u64> {
    let insert = tx
        .prepare(
            "INSERT INTO ticket_text (tenant_id, ticket_id, public, staff) VALUES ($1, $2, $3, $4)",
        )
        .await?;
    // A commit's text may still wait to be indexed (ADR 0022): it is the newer, and a note's
    // terms may wait to follow it (ADR 0023).
    let mut statement = source.prepare(&format!(
        "SELECT t.id, {}, COALESCE(w.staff, x.staff)
         FROM tickets t JOIN ticket_text x ON x.rowid = t.text_rowid
         LEFT JOIN ticket_text_waiting w ON w.text_rowid = t.text_rowid
         WHERE t.tenant_id = ?1",
        super::sqlite::search_text::joined("COALESCE(w.public, x.public)", "w.public_more")
    ))?;
    let mut rows = statement.query([tenant_id])?;
    let mut moved = 0u64;
    while let Some(row) = rows.next()? {
        let ticket: String = row.get(0)?;
        let public: Option<String> = row.get(1)?;
        let staff: Option<String> = row.get(2)?;
        let public = public.unwrap_or_default();
        let staff = staff.unwrap_or_default();
        tx.execute(&insert, &[&tenant_id, &ticket, &public, &staff])
            .await?;
        moved += 1;
    }
    Ok(moved)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::conformance::postgres::TestDatabase;
    use crate::storage::conformance::ticket_list::listing;
    use crate::storage::conformance::{change, commit, tenant, ticket};
    use crate::storage::{ServerStore, Terms, TicketList, TicketListing, TicketQuery};

    /// Text still waiting for SQLite's index moves with the tenant: all of a ticket's terms, and
    /// a note's terms that were to follow them.
    #[test]
    fn search_text_waiting_for_the_index_moves_with_the_tenant() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("move.db");
        let sqlite = crate::storage::SqliteStore::open(&path).expect("store");
        let s: &dyn ServerStore = &sqlite;
        let acme = tenant(s, "acme");
        let mut first = ticket("t1", "r", None);
        first.listing = Some(listing("Freezer", 1, None, "runs warm"));
        let seq = s
            .commit(&commit(&acme, vec![first], vec![change("t1", "h1")]))
            .expect("committed")[0];
        s.index_waiting_text(64).expect("indexed");
        let mut noted = ticket("t1", "r", Some(seq));
        noted.listing = Some(TicketListing {
            public_terms: Terms::More("gas low".into()),
            ..listing("Freezer", 1, None, "")
        });
        s.commit(&commit(&acme, vec![noted], vec![change("t1", "h2")]))
            .expect("committed");
        drop(sqlite);

        let database = TestDatabase::create();
        let moved = move_tenant(&path, &database.url, "acme").expect("moved");
        assert!(moved.tables.contains(&("ticket_text".to_owned(), 1)));
        let pg = PgStore::open(&database.url, &PgOptions::default()).expect("opens");
        let found = |text: &str| {
            pg.list_tickets(&TicketQuery {
                tenant_id: acme.id.clone(),
                text: Some(text.into()),
                limit: 10,
                ..TicketQuery::default()
            })
            .expect("searched")
            .total
        };
        assert_eq!(found("freezer warm gas low"), 1);
    }
}
