//! Email, web form and phone channels (`docs/channels.md`): real-world messages as fixtures (a
//! GB2312 message, HTML only, a photo and a PDF, a quoting reply, a number in the subject, an
//! out-of-office reply, a bounce, a duplicate), a web form with its read-only status page, and
//! calls that open a ticket or add to the caller's open one — each refusing a wrong credential,
//! a bad body and another tenant's ticket, storing nothing.

mod support;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use fieldwork_core::Role;
use fieldwork_server::storage::ChannelKind;
use fieldwork_test_images as samples;
use serde_json::{Value, json};
use support::Harness;
use support::api::Browser;

struct Delivery {
    status: StatusCode,
    json: Value,
}

async fn post(h: &Harness, path: &str, token: &str, content_type: &str, body: Vec<u8>) -> Delivery {
    let reply = h
        .request(
            Request::post(path)
                .header("authorization", format!("Bearer {token}"))
                .header("content-type", content_type)
                .body(Body::from(body))
                .expect("request"),
        )
        .await;
    Delivery {
        status: reply.status,
        json: serde_json::from_slice(&reply.body).unwrap_or(Value::Null),
    }
}

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/tests/fixtures/email/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .expect("fixture")
}

async fn email(h: &Harness, token: &str, message: Vec<u8>) -> Delivery {
    post(h, "/intake/email", token, "message/rfc822", message).await
}

fn token(h: &Harness, tenant: &str, kind: ChannelKind) -> String {
    h.admin
        .create_channel(tenant, kind, None)
        .expect("channel")
        .token
}

async fn ticket(h: &Harness, admin: &Browser, id: &Value) -> Value {
    let id = id.as_str().expect("a ticket id");
    let t = admin.get(h, &format!("/api/v1/tickets/{id}")).await;
    assert_eq!(t.status, StatusCode::OK, "{}", t.json);
    t.json
}

async fn count(h: &Harness, admin: &Browser, channel: &str) -> usize {
    let list = admin
        .get(h, &format!("/api/v1/tickets?channel={channel}&limit=200"))
        .await;
    list.json["items"].as_array().map_or(0, Vec::len)
}

#[tokio::test]
async fn email_threads_replies_and_ignores_what_is_automatic() {
    let h = Harness::new();
    h.tenant("acme");
    let root = h.user("acme", "root", Role::Admin, None);
    let admin = Browser::with_token(&root.api_token);
    let mail = token(&h, "acme", ChannelKind::Email);

    // A plain Chinese message in GB2312, its subject an encoded word.
    let gb = email(&h, &mail, fixture("gb2312.eml")).await;
    assert_eq!(gb.status, StatusCode::CREATED, "{}", gb.json);
    assert_eq!(gb.json["outcome"], "created");
    let t = ticket(&h, &admin, &gb.json["ticket_id"]).await;
    assert_eq!(t["title"], "空调不制冷");
    assert_eq!(t["channel"], "email");
    assert!(
        t["description"]
            .as_str()
            .expect("text")
            .contains("三楼的空调不制冷了")
    );
    assert_eq!(t["customer"]["name"], "王芳");
    let found = admin.get(&h, "/api/v1/tickets?q=%E7%A9%BA%E8%B0%83").await;
    assert_eq!(
        found.json["items"][0]["id"], gb.json["ticket_id"],
        "found by 空调"
    );

    // The same message again: one ticket.
    let again = email(&h, &mail, fixture("gb2312.eml")).await;
    assert_eq!(again.status, StatusCode::OK);
    assert_eq!(again.json["repeated"], true);
    assert_eq!(again.json["ticket_id"], gb.json["ticket_id"]);

    // HTML only: text, no markup, no script.
    let html = email(&h, &mail, fixture("html-only.eml")).await;
    assert_eq!(html.status, StatusCode::CREATED);
    let printer = ticket(&h, &admin, &html.json["ticket_id"]).await;
    let text = printer["description"].as_str().expect("text");
    assert!(text.contains("receipt printer"), "{text}");
    assert!(!text.contains('<') && !text.contains("alert(1)"), "{text}");

    // A photo and a PDF: the photo filed as a photo, the PDF kept as a file with its name.
    let multi = email(&h, &mail, fixture("photo-and-pdf.eml")).await;
    assert_eq!(multi.status, StatusCode::CREATED);
    let fridge = ticket(&h, &admin, &multi.json["ticket_id"]).await;
    let text = fridge["description"].as_str().expect("text");
    assert!(text.contains("Water under the drinks fridge"), "{text}");
    assert!(
        !text.contains("kept by the mail system"),
        "nothing left behind: {text}"
    );
    let filed = fridge["attachments"].as_array().expect("attachments");
    assert_eq!(filed.len(), 2, "the photo and the PDF: {fridge}");
    let pdf = filed
        .iter()
        .find(|a| a["mime"] == "application/pdf")
        .expect("the PDF is filed");
    assert_eq!(pdf["name"], "invoice.pdf");
    assert!(pdf["thumb"].is_null() && pdf["width"] == 0, "{pdf}");
    let photo = filed
        .iter()
        .find(|a| a["mime"] == "image/jpeg")
        .expect("the photo");
    assert!(photo["name"].is_null());
    // Downloaded as it came, as a download: never shown as a page of this origin.
    let file = admin.get(&h, pdf["url"].as_str().expect("a url")).await;
    assert_eq!(file.status, StatusCode::OK);
    assert!(file.reply.body.starts_with(b"%PDF-1.4"));
    assert_eq!(pdf["bytes"].as_u64(), Some(file.reply.body.len() as u64));
    let header = |name: &str| {
        file.reply
            .headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    assert_eq!(header("content-type"), "application/pdf");
    assert_eq!(header("content-disposition"), "attachment");
    assert!(header("content-security-policy").contains("sandbox"));

    // A reply quoting the message it answers: a note on that ticket, the quote trimmed.
    let reply = email(&h, &mail, fixture("reply-quoting.eml")).await;
    assert_eq!(reply.json["outcome"], "noted", "{}", reply.json);
    assert_eq!(reply.json["ticket_id"], multi.json["ticket_id"]);
    let fridge = ticket(&h, &admin, &multi.json["ticket_id"]).await;
    let note = fridge["notes"][0]["text"].as_str().expect("a note");
    assert!(note.contains("The technician fixed it"), "{note}");
    assert!(
        !note.contains("Water under"),
        "the quote is trimmed: {note}"
    );
    assert_eq!(fridge["notes"][0]["internal"], false);

    // Only the number in the subject: a note on that ticket, the signature trimmed.
    let number = printer["number"].as_str().expect("numbered");
    let message = String::from_utf8(fixture("number-in-subject.eml"))
        .expect("text")
        .replace("NUMBER", number);
    let by_number = email(&h, &mail, message.into_bytes()).await;
    assert_eq!(by_number.json["outcome"], "noted");
    assert_eq!(by_number.json["ticket_id"], html.json["ticket_id"]);
    let printer = ticket(&h, &admin, &html.json["ticket_id"]).await;
    let note = printer["notes"][0]["text"].as_str().expect("a note");
    assert!(
        note.contains("working again") && !note.contains("Nanjing Road"),
        "{note}"
    );

    // An out-of-office reply and a bounce: recorded, ignored, nothing written.
    for name in ["out-of-office.eml", "bounce.eml"] {
        let auto = email(&h, &mail, fixture(name)).await;
        assert_eq!(auto.status, StatusCode::OK, "{name}: {}", auto.json);
        assert_eq!(auto.json["outcome"], "ignored", "{name}");
        assert_eq!(auto.json["ticket_id"], Value::Null);
    }
    assert_eq!(count(&h, &admin, "email").await, 3);
    let fridge = ticket(&h, &admin, &multi.json["ticket_id"]).await;
    assert_eq!(
        fridge["notes"].as_array().map(Vec::len),
        Some(1),
        "no note from the auto-reply"
    );
}

#[tokio::test]
async fn email_refuses_what_is_not_its_own_and_stores_nothing() {
    let h = Harness::new();
    h.tenant("acme");
    h.tenant("globex");
    let root = h.user("acme", "root", Role::Admin, None);
    let admin = Browser::with_token(&root.api_token);
    let mail = token(&h, "acme", ChannelKind::Email);
    let globex_mail = token(&h, "globex", ChannelKind::Email);
    let iot = token(&h, "acme", ChannelKind::Iot);

    let wrong = email(&h, "fwc_nope", fixture("html-only.eml")).await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    let kind = email(&h, &iot, fixture("html-only.eml")).await;
    assert_eq!(kind.status, StatusCode::FORBIDDEN);
    let json = post(
        &h,
        "/intake/email",
        &mail,
        "application/json",
        fixture("html-only.eml"),
    )
    .await;
    assert_eq!(json.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let garbage = email(&h, &mail, b"\x00\x01 not a message".to_vec()).await;
    assert_eq!(garbage.status, StatusCode::BAD_REQUEST);
    assert_eq!(garbage.json["error"]["code"], "bad_request");
    assert_eq!(count(&h, &admin, "email").await, 0, "nothing stored");

    // Another tenant's reply naming acme's ticket number opens globex's own ticket.
    let ours = email(&h, &mail, fixture("html-only.eml")).await;
    let number = ticket(&h, &admin, &ours.json["ticket_id"]).await["number"]
        .as_str()
        .expect("numbered")
        .to_owned();
    let message = String::from_utf8(fixture("number-in-subject.eml"))
        .expect("text")
        .replace("NUMBER", &number);
    let theirs = email(&h, &globex_mail, message.into_bytes()).await;
    assert_eq!(theirs.json["outcome"], "created", "{}", theirs.json);
    assert_ne!(theirs.json["ticket_id"], ours.json["ticket_id"]);
    let untouched = ticket(&h, &admin, &ours.json["ticket_id"]).await;
    assert_eq!(untouched["notes"].as_array().map(Vec::len), Some(0));
}

#[tokio::test]
async fn a_web_form_opens_a_ticket_with_a_read_only_status_page() {
    let h = Harness::new();
    h.tenant("acme");
    let root = h.user("acme", "root", Role::Admin, None);
    let admin = Browser::with_token(&root.api_token);
    let web = token(&h, "acme", ChannelKind::Web);
    let form = json!({
        "name": "Zhao Lei",
        "contact": "+86 138 0013 8000",
        "order_ref": "ORD-5521",
        "description": "收银机打印不出小票\nThe till printer prints blank receipts.",
        "kind": "fault_report"
    });
    let sent = post(
        &h,
        "/intake/web",
        &web,
        "application/json",
        form.to_string().into_bytes(),
    )
    .await;
    assert_eq!(sent.status, StatusCode::CREATED, "{}", sent.json);
    assert_eq!(sent.json["outcome"], "created");
    let t = ticket(&h, &admin, &sent.json["ticket_id"]).await;
    assert_eq!(t["channel"], "web");
    assert_eq!(t["kind"], "fault_report");
    assert_eq!(t["title"], "收银机打印不出小票");
    assert_eq!(t["customer"]["phone"], "+8613800138000");
    assert_eq!(t["order_ref"], "ORD-5521");

    // The status page: number and status, public notes only.
    let id = sent.json["ticket_id"].as_str().expect("id");
    let edits = json!({"edits": [
        {"type": "add_note", "text": "A technician comes tomorrow at 10.", "internal": false},
        {"type": "add_note", "text": "Customer was rude on the phone.", "internal": true}
    ]});
    let noted = admin
        .post(&h, &format!("/api/v1/tickets/{id}/edits"), edits)
        .await;
    assert_eq!(noted.status, StatusCode::OK, "{}", noted.json);
    let path = sent.json["status_path"].as_str().expect("a status link");
    let page = h
        .request(Request::get(path).body(Body::empty()).expect("request"))
        .await;
    assert_eq!(page.status, StatusCode::OK);
    let html = String::from_utf8(page.body).expect("html");
    assert!(
        html.contains(t["number"].as_str().expect("number")),
        "{html}"
    );
    assert!(html.contains("Received"));
    assert!(html.contains("A technician comes tomorrow"));
    assert!(!html.contains("rude"), "internal notes never show");
    assert_eq!(page.headers["referrer-policy"], "no-referrer");
    let forged = h
        .request(
            Request::get(
                "/status/fws_0000000000000000000000000000000000000000000000000000000000000000",
            )
            .body(Body::empty())
            .expect("request"),
        )
        .await;
    assert_eq!(forged.status, StatusCode::NOT_FOUND);

    // The same form again: one ticket, a new status link.
    let again = post(
        &h,
        "/intake/web",
        &web,
        "application/json",
        form.to_string().into_bytes(),
    )
    .await;
    assert_eq!(again.json["repeated"], true);
    assert_eq!(again.json["ticket_id"], sent.json["ticket_id"]);

    // Bad forms say why and store nothing.
    let bad = post(
        &h,
        "/intake/web",
        &web,
        "application/json",
        br#"{"name":"A","contact":"?","description":"x"}"#.to_vec(),
    )
    .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(
        bad.json["error"]["message"]
            .as_str()
            .expect("message")
            .contains("contact")
    );
    let huge = post(
        &h,
        "/intake/web",
        &web,
        "application/json",
        vec![b' '; 33 * 1024 * 1024],
    )
    .await;
    assert_eq!(huge.status, StatusCode::PAYLOAD_TOO_LARGE);
    let not_an_image = json!({
        "name": "A", "contact": "+8613800138000", "description": "x",
        "images": [{"name": "notes.txt", "data": STANDARD.encode(b"just text")}]
    });
    let refused = post(
        &h,
        "/intake/web",
        &web,
        "application/json",
        not_an_image.to_string().into_bytes(),
    )
    .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{}", refused.json);
    assert!(
        refused.json["error"]["message"]
            .as_str()
            .expect("message")
            .contains("notes.txt")
    );
    assert_eq!(count(&h, &admin, "web").await, 1);
}

#[tokio::test]
async fn photos_from_a_form_and_an_email_go_through_the_photo_pipeline() {
    let h = Harness::new();
    h.tenant("acme");
    let root = h.user("acme", "root", Role::Admin, None);
    let admin = Browser::with_token(&root.api_token);
    let web = token(&h, "acme", ChannelKind::Web);
    let mail = token(&h, "acme", ChannelKind::Email);

    // A 2400 x 1600 photo with a GPS position and a camera in its EXIF.
    let photo = samples::jpeg_with_exif(
        2400,
        1600,
        1,
        Some((31.2304, 121.4737)),
        Some("2026:12:01 08:00:00"),
    );
    let form = json!({
        "name": "Zhao Lei", "contact": "zhao@example.com", "description": "Broken screen",
        "images": [{"name": "screen.jpg", "data": STANDARD.encode(&photo)}]
    });
    let sent = post(
        &h,
        "/intake/web",
        &web,
        "application/json",
        form.to_string().into_bytes(),
    )
    .await;
    assert_eq!(sent.status, StatusCode::CREATED, "{}", sent.json);
    let t = ticket(&h, &admin, &sent.json["ticket_id"]).await;
    let attachments = t["attachments"].as_array().expect("attachments");
    assert_eq!(attachments.len(), 1, "{t}");
    let a = &attachments[0];
    assert_eq!(
        (a["width"].as_i64(), a["height"].as_i64()),
        (Some(1920), Some(1280))
    );
    let sha = a["sha256"].as_str().expect("sha");
    let file = admin.get(&h, &format!("/api/v1/files/{sha}")).await;
    assert_eq!(file.status, StatusCode::OK);
    let bytes = &file.reply.body;
    assert_eq!(&bytes[..2], b"\xff\xd8", "a JPEG");
    assert!(!bytes.windows(4).any(|w| w == b"Exif"), "metadata stripped");
    assert!(
        !bytes.windows(23).any(|w| w == b"Fieldwork Sample Camera"),
        "the camera is gone"
    );
    let thumb = a["thumb"].as_str().expect("a thumbnail");
    assert_eq!(
        admin
            .get(&h, &format!("/api/v1/files/{thumb}"))
            .await
            .status,
        StatusCode::OK
    );

    // The email with a photo and a PDF: both filed; the photo's original name is not kept.
    let multi = email(&h, &mail, fixture("photo-and-pdf.eml")).await;
    assert_eq!(multi.status, StatusCode::CREATED, "{}", multi.json);
    let fridge = ticket(&h, &admin, &multi.json["ticket_id"]).await;
    assert_eq!(
        fridge["attachments"].as_array().map(Vec::len),
        Some(2),
        "{fridge}"
    );
    assert!(!fridge.to_string().contains("leak.jpg"), "{fridge}");
}

#[tokio::test]
async fn a_call_opens_a_ticket_and_the_next_one_adds_to_it_when_the_agent_says_so() {
    let h = Harness::new();
    h.tenant("acme");
    h.tenant("globex");
    let root = h.user("acme", "root", Role::Admin, None);
    let other = h.user("globex", "root", Role::Admin, None);
    let admin = Browser::with_token(&root.api_token);
    let phone = token(&h, "acme", ChannelKind::Phone);
    let call = |id: &str, note_on_open: bool, ticket: Option<&str>| {
        json!({
            "call_id": id,
            "caller": "021-5555-0101",
            "caller_name": "Chen Jing",
            "agent": "desk-3",
            "transcript": "The oven in kitchen 2 does not heat.\nShe tried the fuse.",
            "started_at": "2026-12-01T09:30:00Z",
            "duration_s": 185,
            "recording_url": "https://pbx.example.com/rec/123.mp3",
            "note_on_open": note_on_open,
            "ticket": ticket,
        })
        .to_string()
        .into_bytes()
    };
    let first = post(
        &h,
        "/intake/phone",
        &phone,
        "application/json",
        call("c-1", false, None),
    )
    .await;
    assert_eq!(first.status, StatusCode::CREATED, "{}", first.json);
    let t = ticket(&h, &admin, &first.json["ticket_id"]).await;
    assert_eq!(t["channel"], "phone");
    assert_eq!(t["title"], "The oven in kitchen 2 does not heat.");
    assert_eq!(t["customer"]["phone"], "02155550101");
    let text = t["description"].as_str().expect("text");
    assert!(
        text.contains("3 min 5 s") && text.contains("desk-3") && text.contains("rec/123.mp3"),
        "{text}"
    );

    let second = post(
        &h,
        "/intake/phone",
        &phone,
        "application/json",
        call("c-2", true, None),
    )
    .await;
    assert_eq!(second.json["outcome"], "noted", "{}", second.json);
    assert_eq!(second.json["ticket_id"], first.json["ticket_id"]);
    let repeat = post(
        &h,
        "/intake/phone",
        &phone,
        "application/json",
        call("c-2", true, None),
    )
    .await;
    assert_eq!(repeat.json["repeated"], true);
    let t = ticket(&h, &admin, &first.json["ticket_id"]).await;
    assert_eq!(t["notes"].as_array().map(Vec::len), Some(1), "noted once");

    // Without the agent's word, a call opens its own ticket.
    let third = post(
        &h,
        "/intake/phone",
        &phone,
        "application/json",
        call("c-3", false, None),
    )
    .await;
    assert_eq!(third.json["outcome"], "created");

    // Numbers are per tenant: globex's ticket FW-000002 is not acme's, and a number acme does
    // not have is refused.
    let globex = Browser::with_token(&other.api_token);
    for title in ["One", "Two"] {
        let made = globex
            .post(
                &h,
                "/api/v1/tickets",
                json!({"title": title, "description": ""}),
            )
            .await;
        assert_eq!(made.status, StatusCode::CREATED);
    }
    let unknown = post(
        &h,
        "/intake/phone",
        &phone,
        "application/json",
        call("c-4", false, Some("FW-999999")),
    )
    .await;
    assert_eq!(unknown.status, StatusCode::BAD_REQUEST, "{}", unknown.json);
    // FW-000002 names acme's own second ticket (the third call), never globex's.
    let named = post(
        &h,
        "/intake/phone",
        &phone,
        "application/json",
        call("c-5", false, Some("FW-000002")),
    )
    .await;
    assert_eq!(named.json["outcome"], "noted", "{}", named.json);
    assert_eq!(named.json["ticket_id"], third.json["ticket_id"]);
    let bad = post(
        &h,
        "/intake/phone",
        &phone,
        "application/json",
        br#"{"call_id":"x"}"#.to_vec(),
    )
    .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert_eq!(count(&h, &admin, "phone").await, 2);
}

#[tokio::test]
async fn an_admin_makes_and_revokes_a_channel_through_the_api() {
    let h = Harness::new();
    h.tenant("acme");
    let root = h.user("acme", "root", Role::Admin, None);
    let ops = h.user("acme", "ops", Role::Dispatcher, None);
    let admin = Browser::with_token(&root.api_token);
    let made = admin
        .post(
            &h,
            "/api/v1/channels",
            json!({"kind": "phone", "name": "Call centre"}),
        )
        .await;
    assert_eq!(made.status, StatusCode::CREATED, "{}", made.json);
    let token = made.json["token"].as_str().expect("a token").to_owned();
    let id = made.json["channel_id"].as_str().expect("an id").to_owned();
    let listed = admin.get(&h, "/api/v1/channels").await;
    assert_eq!(listed.json["items"][0]["name"], "Call centre");
    assert!(
        listed.json["items"][0].get("token").is_none(),
        "secrets are never listed"
    );
    let bad = admin
        .post(&h, "/api/v1/channels", json!({"kind": "fax"}))
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    let dispatcher = Browser::with_token(&ops.api_token);
    let refused = dispatcher.get(&h, "/api/v1/channels").await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);

    let call =
        json!({"call_id": "c-1", "caller": "+8613800138000", "agent": "a", "transcript": "t",
        "started_at": "2026-12-01T09:30:00Z", "duration_s": 1})
        .to_string()
        .into_bytes();
    let before = post(
        &h,
        "/intake/phone",
        &token,
        "application/json",
        call.clone(),
    )
    .await;
    assert_eq!(before.status, StatusCode::CREATED);
    let revoked = admin
        .send(&h, "DELETE", &format!("/api/v1/channels/{id}"), None)
        .await;
    assert_eq!(revoked.status, StatusCode::NO_CONTENT);
    let again = admin
        .send(&h, "DELETE", &format!("/api/v1/channels/{id}"), None)
        .await;
    assert_eq!(again.status, StatusCode::NOT_FOUND);
    let after = post(&h, "/intake/phone", &token, "application/json", call).await;
    assert_eq!(
        after.status,
        StatusCode::UNAUTHORIZED,
        "a revoked channel's token stops at once"
    );
}

#[tokio::test]
async fn a_delivery_that_stopped_half_way_is_finished_by_its_retry_under_the_same_ticket() {
    use fieldwork_server::storage::IntakeReceipt;
    let h = Harness::new();
    let tenant_id = h.tenant("acme");
    let root = h.user("acme", "root", Role::Admin, None);
    let admin = Browser::with_token(&root.api_token);
    let made = h
        .admin
        .create_channel("acme", ChannelKind::Web, None)
        .expect("channel");
    let form = json!({"name": "Li", "contact": "+8613800138000", "description": "Till is dead"})
        .to_string()
        .into_bytes();
    let send = |key: &'static str| {
        Request::post("/intake/web")
            .header("authorization", format!("Bearer {}", made.token))
            .header("content-type", "application/json")
            .header("idempotency-key", key)
            .body(Body::from(form.clone()))
            .expect("request")
    };
    // A first try recorded its receipt and stopped before the ticket: a minute ago, and now.
    let now = h.state.now_ms();
    for (key, at, ticket) in [
        (
            "stalled",
            now - 60_000,
            "01a23000-0000-7000-8000-000000000001",
        ),
        ("busy", now, "01a23000-0000-7000-8000-000000000002"),
    ] {
        let (_, first) = h
            .state
            .store()
            .record_intake(&IntakeReceipt {
                channel_id: made.channel_id.clone(),
                key: key.into(),
                tenant_id: tenant_id.clone(),
                ticket_id: Some(ticket.into()),
                outcome: "created".into(),
                at,
                done: false,
            })
            .expect("a receipt");
        assert!(first);
    }
    // Still at work: come back later.
    let busy = h.request(send("busy")).await;
    assert_eq!(busy.status, StatusCode::CONFLICT);
    assert!(busy.headers.contains_key("retry-after"));
    // Stalled: the retry makes the ticket under the id the first try chose, once.
    let retried = h.request(send("stalled")).await;
    assert_eq!(retried.status, StatusCode::OK);
    let answer: Value = serde_json::from_slice(&retried.body).expect("json");
    assert_eq!(answer["ticket_id"], "01a23000-0000-7000-8000-000000000001");
    assert_eq!(answer["repeated"], true);
    assert!(
        answer["number"]
            .as_str()
            .is_some_and(|n| n.starts_with("FW-"))
    );
    let again = h.request(send("stalled")).await;
    assert_eq!(again.status, StatusCode::OK);
    assert_eq!(count(&h, &admin, "web").await, 1, "one ticket");
}
