//! Fuzz target: importing a change bundle (`fieldwork_core::bundle`, `TicketStore::import`), as a
//! device does with a file someone handed it. The input is the bundle's body (CBOR: tickets and
//! their Automerge changes); the harness adds the header and the checksum a real file carries, so
//! the fuzzer reaches the import itself (a damaged file is refused by its checksum, which the
//! bundle's own tests cover). Reading answers a bundle or a clear error; an import takes the whole
//! bundle or refuses it with reasons; neither panics, and the store lists afterwards.
#![no_main]

mod caught;

use std::sync::OnceLock;

use fieldwork_core::bundle::Bundle;
use fieldwork_core::store::{ListQuery, TicketStore};
use fieldwork_core::{Actor, Role};
use libfuzzer_sys::fuzz_target;
use sha2::{Digest, Sha256};

/// One technician's store for the run (a fresh one per input would be mostly set-up).
fn store() -> &'static TicketStore {
    static STORE: OnceLock<(tempfile::TempDir, TicketStore)> = OnceLock::new();
    let (_, store) = STORE.get_or_init(|| {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = TicketStore::open(&dir.path().join("fuzz.db")).expect("opens");
        store
            .init(Actor {
                tenant: "acme".into(),
                user_id: "t1".into(),
                role: Role::Technician,
                name: None,
                team: Some("north".into()),
            })
            .expect("init");
        (dir, store)
    });
    store
}

fuzz_target!(|body: &[u8]| {
    caught::count_caught_panics();
    let mut file = b"FWBNDL01".to_vec();
    file.extend_from_slice(body);
    file.extend_from_slice(&Sha256::digest(body));
    let Ok(bundle) = Bundle::decode(&file) else {
        return;
    };
    let store = store();
    let _ = store.import(&bundle);
    store
        .list(&ListQuery::default())
        .expect("the store still lists");
});
