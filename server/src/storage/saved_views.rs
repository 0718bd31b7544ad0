//! Saved views (`docs/api.md`, "Saved views"): a person's named queries of the ticket list, kept
//! per user so they follow them from browser to browser. A view is a name and the query it
//! stands for (the console's filters, as in its address); the API checks the query's shape.

use super::Result;

/// One saved view.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SavedView {
    pub id: String,
    pub tenant_id: String,
    pub user_id: String,
    /// Unique per user.
    pub name: String,
    pub query: String,
    pub created_at: i64,
}

/// Saved views. Every method is one transaction.
pub trait SavedViews {
    /// The user's views, by name.
    fn saved_views(&self, tenant_id: &str, user_id: &str) -> Result<Vec<SavedView>>;
    /// Saves `view`: a view of the user with the same name takes the new query and keeps its id
    /// and time. `None`, storing nothing, when the view is new and the user already has `max`.
    fn save_view(&self, view: &SavedView, max: usize) -> Result<Option<SavedView>>;
    /// Deletes the user's view `id`; false when they have none by that id.
    fn delete_view(&self, tenant_id: &str, user_id: &str, id: &str) -> Result<bool>;
}

/// Whether a user holding `held` views (as counted) may not save a new one under the cap `max`.
pub(crate) fn at_view_cap(held: i64, max: usize) -> bool {
    usize::try_from(held).unwrap_or(usize::MAX) >= max
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cap_counts_what_the_user_holds() {
        assert!(!at_view_cap(4, 5));
        assert!(at_view_cap(5, 5));
        assert!(at_view_cap(-1, 5));
    }
}
