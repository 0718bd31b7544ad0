//! Hostile documents end to end: a real `fieldwork serve` on loopback receiving pushes nested tens
//! of thousands of levels deep (which used to abort the whole process), and the real CLI importing
//! a bundle nested 30,000 levels deep (which used to abort the CLI). Issue 9, finding 1.

mod common;

use automerge::transaction::Transactable;
use automerge::{AutoCommit, ObjType, ROOT};
use common::{Device, Phone, Server};
use fieldwork_core::bundle::{Bundle, BundleTicket, ByteBuf, FORMAT};
use fieldwork_core::sync::block_on;
use fieldwork_core::sync::client::ServerClient;
use fieldwork_core::ticket::{ActorId, Change, NewTicket, TicketDocument};
use fieldwork_core::{Actor, Role};
use fieldwork_protocol::sync::{
    PROTOCOL_VERSION, PushChange, RejectCode, SyncRequest, SyncResponse,
};

/// Nests maps `depth` levels deep under an unknown root key, as one change on `doc`.
fn nested_change(doc: &mut AutoCommit, depth: usize) -> Change {
    let mut obj = doc.put_object(ROOT, "x_future", ObjType::Map).expect("put");
    for _ in 1..depth {
        obj = doc.put_object(&obj, "k", ObjType::Map).expect("nest");
    }
    doc.commit();
    doc.get_last_local_change().expect("a change").clone()
}

/// Pushes `changes` of ticket `id` as the phone's device, straight over HTTP.
fn push(server: &Server, phone: &Phone, id: &str, changes: &[&Change]) -> SyncResponse {
    let token = phone
        .store
        .session()
        .expect("reads")
        .expect("logged in")
        .token;
    let request = SyncRequest {
        protocol: PROTOCOL_VERSION,
        cursor: 0,
        changes: changes
            .iter()
            .map(|c| PushChange {
                ticket_id: id.to_owned(),
                part: Default::default(),
                change: ByteBuf::from(c.raw_bytes().to_vec()),
            })
            .collect(),
        wait_ms: 0,
        max_bytes: 0,
        clock_offset_ms: None,
        kb_cursor: None,
    };
    let client = ServerClient::new(&server.url).expect("client");
    block_on(client.sync(&token, &request))
        .expect("runtime")
        .expect("the server answers")
        .0
}

#[test]
fn pushes_nested_thousands_deep_are_refused_and_the_server_keeps_serving() {
    let server = Server::start();
    let tenant = server.tenant("acme");
    let (_, rider_token) = server.user(&tenant, "rider", "rider7", None);
    let (_, ops_token) = server.user(&tenant, "dispatcher", "ops", None);
    let phone = Phone::login(&server.url, &rider_token);
    let id = phone
        .store
        .help_request(None, None, Some("help".into()))
        .expect("created")
        .id;
    phone.sync(3).expect("synced");

    // The phone's copy of the ticket, authored further by its own actor.
    let identity = phone.store.identity().expect("logged in");
    let actor = ActorId::try_from(identity.actor_id.as_str()).expect("actor");
    let held = phone.store.export(Some(&id), None).expect("export");
    let changes = held.tickets[0]
        .changes
        .iter()
        .map(|b| Change::from_bytes(b.to_vec()).expect("a change"))
        .collect();
    let mut doc = TicketDocument::empty(fieldwork_core::ticket::Part::Public, actor);
    doc.apply_changes(changes).expect("applies");

    for depth in [3_000, 30_000, 100_000] {
        let mut attempt = doc.fork();
        let deep = nested_change(attempt.raw_mut(), depth);
        let answer = push(&server, &phone, &id, &[&deep]);
        assert!(answer.accepted.is_empty(), "{depth} levels were stored");
        assert_eq!(answer.rejected.len(), 1);
        assert_eq!(answer.rejected[0].code, RejectCode::TooLarge, "{depth}");
    }

    // The server is alive and serves another device as before, and the rider's ticket is whole.
    let desk = Device::login(&server.url, &ops_token);
    desk.sync();
    assert!(desk.ids().contains(&id));
    assert!(
        desk.show(&id)["conflicts"]
            .as_array()
            .expect("conflicts")
            .is_empty()
    );
    phone.sync(3).expect("the rider syncs on");
}

#[test]
fn importing_a_bundle_nested_thirty_thousand_deep_fails_clearly() {
    let home = Device::new();
    home.json(&[
        "init",
        "--tenant",
        "acme",
        "--user-id",
        "r1",
        "--role",
        "rider",
    ]);
    let rider = Actor {
        tenant: "acme".into(),
        user_id: "r2".into(),
        role: Role::Rider,
        name: None,
        team: None,
    };
    let id = "01900000-0000-7000-8000-000000000001";
    let new = NewTicket::help_request(None, None, Some("help".into()));
    let mut doc = TicketDocument::create(id, &rider, &new, ActorId::random(), 1).expect("doc");
    let creation = doc.changes_since(&[]).remove(0);
    let deep = nested_change(doc.raw_mut(), 30_000);
    let bundle = Bundle {
        format: FORMAT,
        tenant: "acme".into(),
        exported_at: 1,
        until_seq: 1,
        tickets: vec![BundleTicket {
            id: id.into(),
            changes: [creation, deep]
                .iter()
                .map(|c| ByteBuf::from(c.raw_bytes().to_vec()))
                .collect(),
            staff: Vec::new(),
        }],
    };
    let file = home.home.with_extension("fwb");
    std::fs::write(&file, bundle.encode()).expect("bundle written");

    let out = home.run(&["import", file.to_str().expect("utf-8 path")]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.starts_with("error: "), "{stderr}");
    assert!(stderr.contains("levels deep"), "{stderr}");
    assert!(home.ids().is_empty(), "nothing of the bundle was stored");
}
