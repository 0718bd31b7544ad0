//! [`SavedViews`] on PostgreSQL: `saved_views`, per user.

use tokio_postgres::Row;

use super::PgStore;
use super::accounts::lock_user;
use crate::storage::Result;
use crate::storage::saved_views::{self, SavedView, SavedViews};

fn view_of(r: &Row) -> Result<SavedView> {
    Ok(SavedView {
        tenant_id: r.try_get(0)?,
        user_id: r.try_get(1)?,
        id: r.try_get(2)?,
        name: r.try_get(3)?,
        query: r.try_get(4)?,
        created_at: r.try_get(5)?,
    })
}

const COLUMNS: &str = "tenant_id, user_id, id, name, query, created_at";

impl SavedViews for PgStore {
    fn saved_views(&self, tenant_id: &str, user_id: &str) -> Result<Vec<SavedView>> {
        self.with_reader(|db| {
            db.query(
                &format!(
                    "SELECT {COLUMNS} FROM saved_views WHERE tenant_id = $1 AND user_id = $2
                     ORDER BY name"
                ),
                &[&tenant_id, &user_id],
            )?
            .iter()
            .map(view_of)
            .collect()
        })
    }

    /// Holds the user's row while it looks for the name and counts the views, so parallel saves
    /// of one user neither pass the cap nor trip over the same name.
    fn save_view(&self, view: &SavedView, max: usize) -> Result<Option<SavedView>> {
        self.write(|db| {
            // An unknown user fails on the insert's reference to users, as on SQLite.
            lock_user(db, &view.user_id)?;
            let same_name = db
                .query_opt(
                    &format!(
                        "SELECT {COLUMNS} FROM saved_views
                         WHERE tenant_id = $1 AND user_id = $2 AND name = $3"
                    ),
                    &[&view.tenant_id, &view.user_id, &view.name],
                )?
                .map(|r| view_of(&r))
                .transpose()?;
            if let Some(old) = same_name {
                db.execute(
                    "UPDATE saved_views SET query = $4
                     WHERE tenant_id = $1 AND user_id = $2 AND id = $3",
                    &[&old.tenant_id, &old.user_id, &old.id, &view.query],
                )?;
                return Ok(Some(SavedView {
                    query: view.query.clone(),
                    ..old
                }));
            }
            let held: i64 = db
                .query_one(
                    "SELECT COUNT(*) FROM saved_views WHERE tenant_id = $1 AND user_id = $2",
                    &[&view.tenant_id, &view.user_id],
                )?
                .try_get(0)?;
            if saved_views::at_view_cap(held, max) {
                return Ok(None);
            }
            db.execute(
                &format!("INSERT INTO saved_views ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6)"),
                &[
                    &view.tenant_id,
                    &view.user_id,
                    &view.id,
                    &view.name,
                    &view.query,
                    &view.created_at,
                ],
            )?;
            Ok(Some(view.clone()))
        })
    }

    fn delete_view(&self, tenant_id: &str, user_id: &str, id: &str) -> Result<bool> {
        self.write(|db| {
            let gone = db.execute(
                "DELETE FROM saved_views WHERE tenant_id = $1 AND user_id = $2 AND id = $3",
                &[&tenant_id, &user_id, &id],
            )?;
            Ok(gone > 0)
        })
    }
}
