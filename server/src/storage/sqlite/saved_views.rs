//! [`SavedViews`] on SQLite (server migration 22).

use rusqlite::{OptionalExtension, params};

use super::SqliteStore;
use crate::storage::Result;
use crate::storage::saved_views::{self, SavedView, SavedViews};

fn view_of(r: &rusqlite::Row<'_>) -> rusqlite::Result<SavedView> {
    Ok(SavedView {
        tenant_id: r.get(0)?,
        user_id: r.get(1)?,
        id: r.get(2)?,
        name: r.get(3)?,
        query: r.get(4)?,
        created_at: r.get(5)?,
    })
}

const COLUMNS: &str = "tenant_id, user_id, id, name, query, created_at";

impl SavedViews for SqliteStore {
    fn saved_views(&self, tenant_id: &str, user_id: &str) -> Result<Vec<SavedView>> {
        self.with_reader(|conn| {
            let views = conn
                .prepare_cached(&format!(
                    "SELECT {COLUMNS} FROM saved_views WHERE tenant_id = ?1 AND user_id = ?2
                     ORDER BY name"
                ))?
                .query_map([tenant_id, user_id], view_of)?
                .collect::<rusqlite::Result<_>>()?;
            Ok(views)
        })
    }

    fn save_view(&self, view: &SavedView, max: usize) -> Result<Option<SavedView>> {
        self.write(|tx| {
            let same_name = tx
                .query_row(
                    &format!(
                        "SELECT {COLUMNS} FROM saved_views
                         WHERE tenant_id = ?1 AND user_id = ?2 AND name = ?3"
                    ),
                    params![view.tenant_id, view.user_id, view.name],
                    view_of,
                )
                .optional()?;
            if let Some(old) = same_name {
                tx.execute(
                    "UPDATE saved_views SET query = ?4
                     WHERE tenant_id = ?1 AND user_id = ?2 AND id = ?3",
                    params![old.tenant_id, old.user_id, old.id, view.query],
                )?;
                return Ok(Some(SavedView {
                    query: view.query.clone(),
                    ..old
                }));
            }
            let held: i64 = tx.query_row(
                "SELECT COUNT(*) FROM saved_views WHERE tenant_id = ?1 AND user_id = ?2",
                params![view.tenant_id, view.user_id],
                |r| r.get(0),
            )?;
            if saved_views::at_view_cap(held, max) {
                return Ok(None);
            }
            tx.execute(
                &format!("INSERT INTO saved_views ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6)"),
                params![
                    view.tenant_id,
                    view.user_id,
                    view.id,
                    view.name,
                    view.query,
                    view.created_at
                ],
            )?;
            Ok(Some(view.clone()))
        })
    }

    fn delete_view(&self, tenant_id: &str, user_id: &str, id: &str) -> Result<bool> {
        self.write(|tx| {
            let gone = tx.execute(
                "DELETE FROM saved_views WHERE tenant_id = ?1 AND user_id = ?2 AND id = ?3",
                params![tenant_id, user_id, id],
            )?;
            Ok(gone > 0)
        })
    }
}
