//! The asset register (`docs/channels.md`, "Assets"): a tenant's machines by serial number —
//! model, site, warranty and owner — imported from CSV, read when an alert or a ticket names one.

use super::Result;

/// One machine of a tenant.
#[derive(Debug, Clone, PartialEq)]
pub struct AssetRecord {
    pub tenant_id: String,
    pub serial: String,
    pub model: Option<String>,
    pub site_address: Option<String>,
    /// Both or neither.
    pub site_lat: Option<f64>,
    pub site_lon: Option<f64>,
    /// `YYYY-MM-DD`.
    pub warranty_until: Option<String>,
    pub owner_name: Option<String>,
    pub owner_phone: Option<String>,
    pub owner_email: Option<String>,
    pub updated_at: i64,
}

/// The register. Every method is one transaction.
pub trait Assets {
    /// Adds or replaces `assets` (all of one tenant), all or none; how many. Fails with
    /// [`super::Missing::Tenant`] for an unknown tenant.
    fn put_assets(&self, tenant_id: &str, assets: &[AssetRecord]) -> Result<usize>;
    /// The tenant's asset with this serial.
    fn asset(&self, tenant_id: &str, serial: &str) -> Result<Option<AssetRecord>>;
    /// The tenant's assets by serial, after `after`, at most `limit`; with `text`, only those
    /// whose serial, model, site or owner contains it (case-insensitive for ASCII).
    fn list_assets(
        &self,
        tenant_id: &str,
        text: Option<&str>,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<AssetRecord>>;
}

/// Most assets one call lists.
const MAX_PAGE: usize = 500;

/// A call's `limit` as a `LIMIT`: 1 to [`MAX_PAGE`].
pub(crate) fn asset_limit(limit: usize) -> i64 {
    i64::try_from(limit.clamp(1, MAX_PAGE)).unwrap_or(50)
}

/// `text` as a `LIKE` pattern matching it anywhere, with `\`, `%` and `_` in it taken literally
/// (`ESCAPE '\'`).
pub(crate) fn like_contains(text: &str) -> String {
    let escaped = text
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    format!("%{escaped}%")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn searched_text_is_taken_literally() {
        assert_eq!(like_contains("a_b%c\\d"), "%a\\_b\\%c\\\\d%");
        assert_eq!(like_contains(""), "%%");
    }

    #[test]
    fn a_page_holds_one_to_five_hundred_assets() {
        assert_eq!(asset_limit(0), 1);
        assert_eq!(asset_limit(usize::MAX), 500);
    }
}
