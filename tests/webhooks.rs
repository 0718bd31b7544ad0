//! Webhooks through the binary and a real `fieldwork serve` (`docs/brain.md`, "Webhooks"): a rule
//! that calls a webhook delivers a signed POST to a receiver on loopback, and a receiver that is
//! down when the rule fires gets its delivery once it is up, with every attempt in the log.

mod common;

use std::net::TcpListener;

use common::receiver::receive;
use common::{Device, Server, eventually, id_of};
use fieldwork_server::webhooks::{DELIVERY_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, signature};

#[test]
fn deliveries_are_signed_and_a_receiver_that_was_down_loses_none() {
    let up = TcpListener::bind("127.0.0.1:0").expect("binds");
    let up_port = up.local_addr().expect("addr").port();
    let got_up = receive(up);
    // A port nothing listens on yet: the second receiver is down when the rule fires.
    let down_port = TcpListener::bind("127.0.0.1:0")
        .expect("binds")
        .local_addr()
        .expect("addr")
        .port();

    let server = Server::start_with(&["--webhook-retry", "1s"]);
    server.tenant("acme");
    let (_, rider_token) = server.user("acme", "rider", "li.wei", None);
    let config = format!(
        r#"
[[rules]]
name = "tell the call centre"
on = "create"
all = [{{ field = "kind", is = "help_request" }}]
actions = {{ webhook = "http://127.0.0.1:{up_port}/hook" }}

[[rules]]
name = "tell the backup desk"
on = "create"
all = [{{ field = "kind", is = "help_request" }}]
actions = {{ webhook = "http://127.0.0.1:{down_port}/hook" }}
"#
    );
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("tenant.toml");
    std::fs::write(&file, config).expect("writes");
    server.admin(&[
        "configure",
        "--tenant",
        "acme",
        "--file",
        file.to_str().expect("path"),
    ]);
    let secret = server.admin(&["webhook-secret", "--tenant", "acme"])["secret"]
        .as_str()
        .expect("a secret")
        .to_owned();

    let rider = Device::login(&server.url, &rider_token);
    let id = id_of(&rider.json(&["help", "--note", "chain snapped near gate 3"]));
    rider.sync();
    eventually("the receiver gets the delivery", || {
        !got_up.lock().expect("lock").is_empty()
    });
    let delivery = got_up.lock().expect("lock")[0].clone();
    let timestamp: i64 = delivery.headers[TIMESTAMP_HEADER]
        .parse()
        .expect("a timestamp");
    assert_eq!(
        delivery.headers[SIGNATURE_HEADER],
        signature(&secret, timestamp, delivery.body.as_bytes()),
        "signed with the tenant's secret over the timestamp and the body"
    );
    assert!(delivery.headers.contains_key(DELIVERY_HEADER));
    let body: serde_json::Value = serde_json::from_str(&delivery.body).expect("JSON");
    assert!(delivery.body.contains(&id), "{body}");
    assert!(delivery.body.contains("tell the call centre"), "{body}");
    assert!(
        !delivery.body.contains("chain snapped"),
        "no ticket text: {body}"
    );

    // The other receiver was down: its delivery waits, with the attempts in the log.
    eventually("a failed attempt is logged", || {
        let log = server.admin(&["deliveries", "--tenant", "acme"]);
        log.as_array().expect("a list").iter().any(|d| {
            d["url"]
                .as_str()
                .is_some_and(|u| u.contains(&down_port.to_string()))
                && d["state"] == "pending"
                && d["attempts"].as_u64().is_some_and(|a| a >= 1)
        })
    });
    let got_down = receive(TcpListener::bind(("127.0.0.1", down_port)).expect("the port is free"));
    eventually("the receiver that came back gets it", || {
        !got_down.lock().expect("lock").is_empty()
    });
    eventually("the log says delivered", || {
        let log = server.admin(&["deliveries", "--tenant", "acme"]);
        let rows = log.as_array().expect("a list");
        rows.len() == 2 && rows.iter().all(|d| d["state"] == "delivered")
    });
    assert_eq!(got_up.lock().expect("lock").len(), 1, "once each");
    assert_eq!(got_down.lock().expect("lock").len(), 1);
}
