//! `fieldwork admin` on a running server's data directory: a tenant's own quotas and device cap,
//! what is used, and freeing a device place for a user who reached the cap.

mod common;

use common::{Device, Server};

#[test]
fn a_user_at_the_device_cap_is_told_why_and_an_admin_frees_a_place() {
    let server = Server::start();
    server.tenant("acme");
    let (_, token) = server.user("acme", "technician", "li", None);
    let set = server.admin(&["set-quota", "--tenant", "acme", "--devices-per-user", "1"]);
    assert_eq!(set["devices_per_user"], 1);
    assert!(set["blob_bytes"].is_null(), "left at the server's default");

    let phone = Device::login(&server.url, &token);
    let tablet = Device::new();
    let refused = tablet.fails(&["login", "--server", &server.url, "--token", &token]);
    assert!(refused.contains("allowed (1)"), "{refused}");
    assert!(refused.contains("ask an admin"), "{refused}");

    let devices = server.admin(&["list-devices", "--tenant", "acme", "--user", "li"]);
    let devices = devices.as_array().expect("a list");
    assert_eq!(devices.len(), 1);
    let id = devices[0]["id"].as_str().expect("id");
    let removed = server.admin(&["remove-device", id]);
    assert!(removed["removed_at"].is_i64());
    assert_eq!(removed["live_tokens"], 0);

    tablet.json(&["login", "--server", &server.url, "--token", &token]);
    tablet.sync();
    let lost = phone.fails(&["sync"]);
    assert!(lost.contains("sign in again"), "{lost}");
}

#[test]
fn an_admin_sets_a_tenants_storage_quotas_and_sees_what_is_held() {
    let server = Server::start();
    server.tenant("acme");
    let set = server.admin(&[
        "set-quota",
        "--tenant",
        "acme",
        "--blob-bytes",
        "2GiB",
        "--user-blob-bytes",
        "300MiB",
    ]);
    assert_eq!(set["blob_bytes"], 2u64 << 30);
    assert_eq!(set["user_blob_bytes"], 300u64 << 20);
    let back = server.admin(&[
        "set-quota",
        "--tenant",
        "acme",
        "--user-blob-bytes",
        "default",
    ]);
    assert_eq!(back["blob_bytes"], 2u64 << 30, "flags left out are kept");
    assert!(back["user_blob_bytes"].is_null());

    let shown = server.admin(&["quota", "--tenant", "acme"]);
    assert_eq!(shown["quotas"]["blob_bytes"], 2u64 << 30);
    assert_eq!(shown["usage"]["tenant"]["stored_bytes"], 0);
    assert_eq!(shown["usage"]["tenant"]["open_bytes"], 0);
    assert_eq!(shown["usage"]["users"].as_array().map(Vec::len), Some(0));
}
