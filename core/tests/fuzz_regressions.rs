//! Inputs the fuzz targets (`fuzz/`) once crashed on, kept and read by the normal tests: each must
//! now get a clear error and leave the store working.
//!
//! `fixtures/fuzz/bundle_import/`: bundle bodies (CBOR) as the `bundle_import` target reads them;
//! the test adds the header and checksum a real file carries.
//! `fixtures/fuzz/photo_pipeline/`: files given to the photo pipeline.

use std::path::Path;

use fieldwork_core::bundle::Bundle;
use fieldwork_core::photo::{PhotoOptions, process};
use fieldwork_core::store::{ListQuery, TicketStore};
use fieldwork_core::{Actor, Role};
use sha2::{Digest, Sha256};

#[test]
fn bundles_that_once_crashed_the_import_are_refused_and_the_store_goes_on() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = TicketStore::open(&dir.path().join("store.db")).expect("opens");
    store
        .init(Actor {
            tenant: "acme".into(),
            user_id: "t1".into(),
            role: Role::Technician,
            name: None,
            team: Some("north".into()),
        })
        .expect("init");
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/fuzz/bundle_import");
    let mut seen = 0;
    for entry in std::fs::read_dir(&fixtures).expect("the fixtures") {
        let path = entry.expect("an entry").path();
        let body = std::fs::read(&path).expect("a fixture");
        let mut file = b"FWBNDL01".to_vec();
        file.extend_from_slice(&body);
        file.extend_from_slice(&Sha256::digest(&body));
        if let Ok(bundle) = Bundle::decode(&file) {
            let imported = store.import(&bundle);
            assert!(
                imported.is_err() || imported.as_ref().is_ok_and(|r| r.changes_applied == 0),
                "{}: {imported:?}",
                path.display()
            );
        }
        store
            .list(&ListQuery::default())
            .expect("the store still lists");
        seen += 1;
    }
    assert!(seen > 0, "no fixtures in {}", fixtures.display());
}

#[test]
fn images_that_once_crashed_the_photo_pipeline_are_refused_as_damaged() {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/fuzz/photo_pipeline");
    let mut seen = 0;
    for entry in std::fs::read_dir(&fixtures).expect("the fixtures") {
        let path = entry.expect("an entry").path();
        let bytes = std::fs::read(&path).expect("a fixture");
        let refused = process(&bytes, &PhotoOptions::default())
            .err()
            .unwrap_or_else(|| panic!("{} was accepted", path.display()));
        assert!(
            refused.to_string().contains("damaged"),
            "{}: {refused}",
            path.display()
        );
        seen += 1;
    }
    assert!(seen > 0, "no fixtures in {}", fixtures.display());
}
