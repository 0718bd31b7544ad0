//! [`ConfigLog`]: tenants' configurations, versioned per tenant, the one in force the newest.

use super::{TestStore, tenant};
use crate::storage::{AppliedConfig, ConfigLog, Missing, StorageError};

fn apply(s: &dyn ConfigLog, tenant: &str, toml: &str, by: &str, at: i64) -> AppliedConfig {
    s.apply_config(tenant, toml, &format!("sha of {toml}"), by, at)
        .unwrap()
}

pub fn configurations_are_versioned_per_tenant_with_who_and_when(t: &TestStore) {
    let s = t.store.as_ref();
    let acme = tenant(s, "acme");
    let globex = tenant(s, "globex");
    assert_eq!(s.current_config(&acme.id).unwrap(), None);
    assert!(s.config_history(&acme.id, 10).unwrap().is_empty());
    assert!(s.configured_tenants().unwrap().is_empty());
    let first = apply(s, &acme.id, "# one", "ops", 10);
    assert_eq!(
        first,
        AppliedConfig {
            version: 1,
            changed: true
        }
    );
    let second = apply(s, &acme.id, "# two", "boss", 20);
    assert_eq!(
        second,
        AppliedConfig {
            version: 2,
            changed: true
        }
    );
    // The same file again stores nothing.
    let same = apply(s, &acme.id, "# two", "boss", 30);
    assert_eq!(
        same,
        AppliedConfig {
            version: 2,
            changed: false
        }
    );
    // Each tenant counts its own versions.
    assert_eq!(apply(s, &globex.id, "# g", "g-ops", 40).version, 1);

    let current = s.current_config(&acme.id).unwrap().unwrap();
    assert_eq!(
        (
            current.version,
            current.toml.as_str(),
            current.applied_by.as_str()
        ),
        (2, "# two", "boss")
    );
    assert_eq!(current.applied_at, 20);
    assert_eq!(current.sha256, "sha of # two");
    let old = s.config_version(&acme.id, 1).unwrap().unwrap();
    assert_eq!((old.toml.as_str(), old.applied_at), ("# one", 10));
    assert_eq!(s.config_version(&acme.id, 3).unwrap(), None);
    assert_eq!(s.config_version(&globex.id, 2).unwrap(), None);
    assert_eq!(
        s.configured_tenants().unwrap(),
        [acme.id.clone(), globex.id.clone()]
    );
    let history = s.config_history(&acme.id, 10).unwrap();
    let seen: Vec<(u64, &str, &str)> = history
        .iter()
        .map(|v| (v.version, v.applied_by.as_str(), v.toml.as_str()))
        .collect();
    assert_eq!(
        seen,
        [(2, "boss", ""), (1, "ops", "")],
        "newest first, no text"
    );
    assert_eq!(s.config_history(&acme.id, 1).unwrap().len(), 1);
}

pub fn a_configuration_for_an_unknown_tenant_is_refused(t: &TestStore) {
    let s = t.store.as_ref();
    let refused = s.apply_config("tenant-nobody", "# x", "sha", "ops", 1);
    assert!(matches!(
        refused,
        Err(StorageError::NotFound(Missing::Tenant))
    ));
    assert_eq!(s.current_config("tenant-nobody").unwrap(), None);
}
