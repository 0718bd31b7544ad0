//! Schema migrations, the contract every backend keeps (docs/adr/0009): the schema has one
//! version number kept by the database itself; a backend ships numbered SQL files in its own
//! dialect, `steps[i]` taking the version from `i` to `i + 1`; each step runs in its own
//! transaction, which holds the backend's write lock and re-reads the version first (so two
//! processes starting at once never both run a step); a database newer than the build is refused
//! ([`StorageError::SchemaTooNew`]), never written to. The loop is here, once; how a backend
//! keeps the version and locks is its [`SchemaVersion`] implementation.

use super::{Result, StorageError};

/// Where a backend keeps its schema version and how it runs one step.
pub trait SchemaVersion {
    /// The version the database is at (0 for an empty one).
    fn schema_version(&mut self) -> Result<u32>;
    /// In one transaction under the backend's write lock: if the version is still `from`, runs
    /// `sql` and sets the version to `from + 1`; otherwise (another process ran the step
    /// meanwhile) changes nothing.
    fn apply_step(&mut self, from: u32, sql: &str) -> Result<()>;
}

/// Brings the schema to `target` (at most `steps.len()`), one step at a time. Refuses a schema
/// newer than `steps` knows.
pub fn migrate(db: &mut dyn SchemaVersion, steps: &[&str], target: u32) -> Result<()> {
    let latest = u32::try_from(steps.len()).unwrap_or(u32::MAX);
    let too_new = |found| StorageError::SchemaTooNew {
        found,
        supported: latest,
    };
    let mut version = db.schema_version()?;
    while version < target.min(latest) {
        let step = usize::try_from(version).unwrap_or(usize::MAX);
        let Some(sql) = steps.get(step) else { break };
        db.apply_step(version, sql)?;
        let now = db.schema_version()?;
        if now <= version {
            return Err(StorageError::Corrupt(format!(
                "schema step {version} ran but the version did not move"
            )));
        }
        version = now;
    }
    if version > latest {
        return Err(too_new(version));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A database that records the steps it ran; `racer` moves the version by itself once,
    /// as another process would, right before the step at that version runs.
    #[derive(Default)]
    struct Fake {
        version: u32,
        ran: Vec<String>,
        racer: Option<u32>,
    }

    impl SchemaVersion for Fake {
        fn schema_version(&mut self) -> Result<u32> {
            Ok(self.version)
        }

        fn apply_step(&mut self, from: u32, sql: &str) -> Result<()> {
            if self.racer == Some(from) {
                self.racer = None;
                self.version = from + 1;
            }
            if self.version == from {
                self.ran.push(sql.to_owned());
                self.version = from + 1;
            }
            Ok(())
        }
    }

    const STEPS: &[&str] = &["one", "two", "three"];

    #[test]
    fn steps_run_in_order_up_to_the_target_and_only_once() {
        let mut db = Fake::default();
        migrate(&mut db, STEPS, 2).expect("migrates");
        assert_eq!(db.version, 2);
        assert_eq!(db.ran, ["one", "two"]);
        migrate(&mut db, STEPS, 3).expect("migrates");
        migrate(&mut db, STEPS, 3).expect("nothing left to do");
        assert_eq!(db.ran, ["one", "two", "three"]);
    }

    #[test]
    fn a_step_another_process_ran_meanwhile_is_not_run_again() {
        let mut db = Fake {
            racer: Some(1),
            ..Fake::default()
        };
        migrate(&mut db, STEPS, 3).expect("migrates");
        assert_eq!(db.version, 3);
        assert_eq!(db.ran, ["one", "three"]);
    }

    #[test]
    fn a_newer_schema_is_refused_and_left_alone() {
        let mut db = Fake {
            version: 4,
            ..Fake::default()
        };
        let refused = migrate(&mut db, STEPS, 3);
        assert!(matches!(
            refused,
            Err(StorageError::SchemaTooNew {
                found: 4,
                supported: 3
            })
        ));
        assert!(db.ran.is_empty());
    }
}
