//! Tickets through the back-office API (`docs/api.md`, "Tickets"): created and edited as
//! Automerge changes in the caller's name and judged by the same rules as a device; listed,
//! filtered, searched (Chinese too) and paged within what each role sees; never anything of
//! another tenant; and an API edit and a phone's offline edit of the same ticket merge like two
//! devices' edits.

mod support;

use std::sync::Arc;

use axum::http::StatusCode;
use fieldwork_core::Role;
use fieldwork_core::clock::ManualClock;
use fieldwork_core::ticket::Edit;
use serde_json::{Value, json};
use support::api::Browser;
use support::{Harness, PASSWORD, repair};

const T0: i64 = 1_795_400_060_000;

fn harness() -> Harness {
    Harness::with_config(Arc::new(ManualClock::at(T0)), |config| {
        config.logins.refusal_delay = std::time::Duration::ZERO;
    })
}

async fn create(h: &Harness, who: &Browser, body: Value) -> Value {
    let made = who.post(h, "/api/v1/tickets", body).await;
    assert_eq!(made.status, StatusCode::CREATED, "{}", made.json);
    made.json
}

async fn edit(h: &Harness, who: &Browser, id: &str, edits: Value) -> support::api::Answer {
    who.post(
        h,
        &format!("/api/v1/tickets/{id}/edits"),
        json!({ "edits": edits }),
    )
    .await
}

fn ids(list: &Value) -> Vec<String> {
    list["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|t| t["id"].as_str().expect("id").to_owned())
        .collect()
}

#[tokio::test]
async fn a_ticket_made_and_edited_through_the_api_is_judged_like_a_devices() {
    let h = harness();
    h.tenant("acme");
    h.user("acme", "ops", Role::Dispatcher, None);
    let tech = h.user("acme", "tech", Role::Technician, Some("north"));
    h.user("acme", "li", Role::Rider, None);
    let (desk, _) = Browser::sign_in(&h, "acme", "ops", PASSWORD).await;
    let (rider, _) = Browser::sign_in(&h, "acme", "li", PASSWORD).await;

    let ticket = create(
        &h,
        &desk,
        json!({"title": "Freezer warm", "channel": "phone", "priority": "high", "description": "冰柜不制冷", "category": "cold"}),
    )
    .await;
    let id = ticket["id"].as_str().expect("id").to_owned();
    assert!(
        ticket["number"]
            .as_str()
            .is_some_and(|n| n.starts_with("FW-")),
        "numbered like any ticket: {ticket}"
    );
    assert_eq!(
        (ticket["channel"].as_str(), ticket["kind"].as_str()),
        (Some("phone"), Some("repair"))
    );
    assert_eq!(ticket["status"], "new");

    let done = edit(
        &h,
        &desk,
        &id,
        json!([
            {"type": "assign", "assignee": tech.id},
            {"type": "add_note", "text": "customer called twice", "internal": true},
            {"type": "add_note", "text": "a technician is on the way"},
            {"type": "add_tag", "tag": "vip"}
        ]),
    )
    .await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.json);
    assert_eq!(done.json["assignee"], tech.id.as_str());
    assert_eq!(done.json["status"], "assigned");
    assert_eq!(done.json["tags"], json!(["vip"]));
    let ops_id = done.json["notes"][0]["author"].clone();
    assert!(
        done.json["notes"]
            .as_array()
            .expect("notes")
            .iter()
            .all(|n| n["author"] == ops_id)
    );

    // The workflow and the roles hold as for a device.
    let skip = edit(
        &h,
        &desk,
        &id,
        json!([{"type": "set_status", "status": "closed"}]),
    )
    .await;
    assert_eq!(skip.error(StatusCode::UNPROCESSABLE_ENTITY), "refused");
    assert!(
        skip.json["error"]["message"]
            .as_str()
            .expect("message")
            .contains("allowed next")
    );
    let bad = edit(
        &h,
        &desk,
        &id,
        json!([{"type": "set_status", "status": "done"}]),
    )
    .await;
    assert_eq!(bad.error(StatusCode::BAD_REQUEST), "bad_request");
    let nobody = edit(
        &h,
        &desk,
        &id,
        json!([{"type": "assign", "assignee": "someone-else"}]),
    )
    .await;
    assert_eq!(nobody.error(StatusCode::BAD_REQUEST), "bad_request");
    assert_eq!(
        rider
            .get(&h, &format!("/api/v1/tickets/{id}"))
            .await
            .error(StatusCode::NOT_FOUND),
        "not_found"
    );

    // A rider's own help request: they see no internal note and may not write one.
    let help = create(&h, &rider, json!({"title": "Chain snapped"})).await;
    let help_id = help["id"].as_str().expect("id").to_owned();
    assert_eq!(help["kind"], "help_request");
    edit(
        &h,
        &desk,
        &help_id,
        json!([{"type": "add_note", "text": "rider has 3 prior fraud flags", "internal": true}]),
    )
    .await;
    let seen = rider.get(&h, &format!("/api/v1/tickets/{help_id}")).await;
    assert!(
        !seen.reply.body.windows(5).any(|w| w == b"fraud"),
        "{}",
        seen.json
    );
    let internal = edit(
        &h,
        &rider,
        &help_id,
        json!([{"type": "add_note", "text": "x", "internal": true}]),
    )
    .await;
    assert_eq!(internal.error(StatusCode::UNPROCESSABLE_ENTITY), "refused");
    let status = edit(
        &h,
        &rider,
        &help_id,
        json!([{"type": "set_status", "status": "resolved"}]),
    )
    .await;
    assert_eq!(status.error(StatusCode::UNPROCESSABLE_ENTITY), "refused");
    let kind = rider
        .post(
            &h,
            "/api/v1/tickets",
            json!({"title": "x", "kind": "repair"}),
        )
        .await;
    assert_eq!(kind.error(StatusCode::UNPROCESSABLE_ENTITY), "refused");

    // The assigned technician's phone gets it all after a sync, staff note included.
    let mut phone = h.login(&tech).await;
    phone.pull_all(&h).await;
    let on_phone = phone.view(&id);
    assert_eq!(on_phone.assignee.as_deref(), Some(tech.id.as_str()));
    assert!(
        on_phone
            .notes
            .iter()
            .any(|n| n.internal && n.text == "customer called twice")
    );
}

#[tokio::test]
async fn an_api_edit_and_an_offline_phone_edit_merge_like_two_devices() {
    let h = harness();
    h.tenant("acme");
    let ops = h.user("acme", "ops", Role::Dispatcher, None);
    let tech = h.user("acme", "tech", Role::Technician, None);
    let mut desk_phone = h.login(&ops).await;
    let (id, created) = desk_phone.create(repair("Oven door"));
    let assign = desk_phone.edit(
        &id,
        Edit::Assign {
            assignee: Some(tech.id.clone()),
        },
    );
    desk_phone
        .sync(&h, &[(&id, &created), (&id, &assign)])
        .await;
    let mut phone = h.login(&tech).await;
    phone.pull_all(&h).await;

    // Offline, the technician notes; the supervisor's tablet, offline too, sets the priority…
    let sup = h.user("acme", "sup", Role::Supervisor, None);
    let mut tablet = h.login(&sup).await;
    tablet.pull_all(&h).await;
    let note = phone.edit(
        &id,
        Edit::AddNote {
            text: "hinge broken".into(),
            internal: false,
        },
    );
    let priority = tablet.edit(
        &id,
        Edit::SetPriority {
            priority: fieldwork_core::Priority::Urgent,
        },
    );
    // …while the dispatcher, through the API, notes and sets another priority.
    let desk = Browser::with_token(&ops.api_token);
    let api = edit(
        &h,
        &desk,
        &id,
        json!([{"type": "add_note", "text": "customer asks for a call"}, {"type": "set_priority", "priority": "low"}]),
    )
    .await;
    assert_eq!(api.status, StatusCode::OK, "{}", api.json);
    let pushed = phone.sync(&h, &[(&id, &note)]).await;
    assert!(pushed.rejected.is_empty(), "{:?}", pushed.rejected);
    let pushed = tablet.sync(&h, &[(&id, &priority)]).await;
    assert!(pushed.rejected.is_empty(), "{:?}", pushed.rejected);
    phone.pull_all(&h).await;

    let merged = desk.get(&h, &format!("/api/v1/tickets/{id}")).await.json;
    let texts: Vec<&str> = merged["notes"]
        .as_array()
        .expect("notes")
        .iter()
        .filter_map(|n| n["text"].as_str())
        .collect();
    assert!(
        texts.contains(&"hinge broken") && texts.contains(&"customer asks for a call"),
        "both notes kept: {texts:?}"
    );
    let conflict = merged["conflicts"]
        .as_array()
        .expect("conflicts")
        .iter()
        .find(|c| c["field"] == "priority")
        .unwrap_or_else(|| panic!("the same-field conflict is shown: {merged}"));
    let values: Vec<&str> = conflict["values"]
        .as_array()
        .expect("values")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(
        values.contains(&"urgent") && values.contains(&"low"),
        "{values:?}"
    );
    assert_eq!(merged["priority"], *values.last().expect("a winner"));
    // The phone agrees.
    let on_phone = phone.view(&id);
    assert_eq!(
        on_phone.priority.as_str(),
        merged["priority"].as_str().expect("priority")
    );
    assert_eq!(on_phone.notes.len(), 2);
}

#[tokio::test]
async fn lists_are_filtered_searched_and_paged_within_what_each_role_sees() {
    let h = harness();
    h.tenant("acme");
    h.tenant("globex");
    h.user("acme", "ops", Role::Dispatcher, None);
    let tech = h.user("acme", "tech", Role::Technician, Some("north"));
    h.user("acme", "li", Role::Rider, None);
    h.user("globex", "g", Role::Dispatcher, None);
    let (desk, _) = Browser::sign_in(&h, "acme", "ops", PASSWORD).await;
    let (rider, _) = Browser::sign_in(&h, "acme", "li", PASSWORD).await;
    let (other, _) = Browser::sign_in(&h, "globex", "g", PASSWORD).await;
    let tech_api = Browser::with_token(&tech.api_token);

    let printer = create(
        &h,
        &desk,
        json!({"title": "POS 打印机卡纸", "category": "pos", "priority": "urgent"}),
    )
    .await;
    let freezer = create(
        &h,
        &desk,
        json!({"title": "Freezer warm", "category": "cold"}),
    )
    .await;
    let queue = create(&h, &desk, json!({"title": "Oven door", "category": "cold"})).await;
    let help = create(&h, &rider, json!({"title": "Chain snapped"})).await;
    create(&h, &other, json!({"title": "打印机 at globex"})).await;
    let id = |t: &Value| t["id"].as_str().expect("id").to_owned();
    edit(
        &h,
        &desk,
        &id(&freezer),
        json!([{"type": "assign", "assignee": tech.id}]),
    )
    .await;
    edit(
        &h,
        &desk,
        &id(&queue),
        json!([{"type": "set_team", "team": "north"}]),
    )
    .await;
    edit(
        &h,
        &desk,
        &id(&printer),
        json!([{"type": "add_note", "text": "客户很着急", "internal": true}]),
    )
    .await;

    let all = desk.get(&h, "/api/v1/tickets").await;
    assert_eq!(all.json["total"], 4, "{}", all.json);
    assert_eq!(all.json["total_exact"], true, "{}", all.json);
    assert_eq!(
        ids(&all.json),
        [id(&printer), id(&freezer), id(&queue), id(&help)]
    );
    let urgent = desk.get(&h, "/api/v1/tickets?sort=priority").await;
    assert_eq!(ids(&urgent.json)[0], id(&printer), "most urgent first");
    let cold = desk
        .get(&h, "/api/v1/tickets?category=cold&assignee=none")
        .await;
    assert_eq!(ids(&cold.json), [id(&queue)]);
    let search = desk.get(&h, "/api/v1/tickets?q=%E6%89%93%E5%8D%B0").await; // 打印
    assert_eq!(
        ids(&search.json),
        [id(&printer)],
        "Chinese, in this tenant only"
    );
    let internal = desk.get(&h, "/api/v1/tickets?q=%E7%9D%80%E6%80%A5").await; // 着急
    assert_eq!(
        ids(&internal.json),
        [id(&printer)],
        "staff find internal notes"
    );
    let kinds = desk.get(&h, "/api/v1/tickets?kind=help_request").await;
    assert_eq!(ids(&kinds.json), [id(&help)]);

    // Pages of two, then the rest; the count is of all.
    let first = desk.get(&h, "/api/v1/tickets?limit=2").await;
    assert_eq!(
        (ids(&first.json).len(), first.json["total"].as_u64()),
        (2, Some(4))
    );
    let cursor = first.json["next_cursor"].as_str().expect("a cursor");
    let second = desk
        .get(&h, &format!("/api/v1/tickets?limit=2&cursor={cursor}"))
        .await;
    assert_eq!(ids(&second.json), [id(&queue), id(&help)]);
    let wrong = desk
        .get(&h, &format!("/api/v1/tickets?sort=due&cursor={cursor}"))
        .await;
    assert_eq!(wrong.error(StatusCode::BAD_REQUEST), "bad_request");

    // Each role sees its own.
    assert_eq!(
        ids(&tech_api.get(&h, "/api/v1/tickets").await.json),
        [id(&freezer), id(&queue)]
    );
    let mine = rider.get(&h, "/api/v1/tickets").await;
    assert_eq!(
        (ids(&mine.json), mine.json["total"].as_u64()),
        (vec![id(&help)], Some(1))
    );
    let rider_search = rider.get(&h, "/api/v1/tickets?q=%E7%9D%80%E6%80%A5").await;
    assert!(
        ids(&rider_search.json).is_empty(),
        "no internal notes for reporters"
    );
    assert_eq!(
        rider
            .get(&h, "/api/v1/tickets?tag=vip")
            .await
            .error(StatusCode::FORBIDDEN),
        "forbidden"
    );
    let theirs = other.get(&h, "/api/v1/tickets").await;
    assert_eq!(theirs.json["total"], 1);
    assert_eq!(
        other
            .get(&h, &format!("/api/v1/tickets/{}", id(&printer)))
            .await
            .error(StatusCode::NOT_FOUND),
        "not_found"
    );
    let write = edit(
        &h,
        &other,
        &id(&printer),
        json!([{"type": "add_note", "text": "hi"}]),
    )
    .await;
    assert_eq!(write.error(StatusCode::NOT_FOUND), "not_found");

    for bad in [
        "status=done",
        "priority=max",
        "limit=0",
        "limit=500",
        "sort=colour",
        "order=up",
        "cursor=%%%",
        "unknown=1",
    ] {
        let answer = desk.get(&h, &format!("/api/v1/tickets?{bad}")).await;
        assert_eq!(
            answer.error(StatusCode::BAD_REQUEST),
            "bad_request",
            "{bad}"
        );
    }
}

#[tokio::test]
async fn an_assets_tickets_are_its_history_within_the_tenant() {
    let h = harness();
    h.tenant("acme");
    h.tenant("globex");
    let ops = h.user("acme", "ops", Role::Dispatcher, None);
    let other = h.user("globex", "other", Role::Dispatcher, None);
    let desk = Browser::with_token(&ops.api_token);
    let stranger = Browser::with_token(&other.api_token);
    let fridge =
        json!({"serial": "FR-2231", "model": "Haier SC-340", "warranty_until": "2027-06-30"});
    let first = create(&h, &desk, json!({"title": "Fridge warm", "asset": fridge})).await;
    assert_eq!(first["asset"]["serial"], "FR-2231");
    assert_eq!(first["asset"]["model"], "Haier SC-340");
    create(&h, &desk, json!({"title": "Oven door"})).await;
    let second = create(
        &h,
        &desk,
        json!({"title": "Fridge again", "asset": {"serial": "FR-2231"}}),
    )
    .await;
    create(
        &h,
        &stranger,
        json!({"title": "Their fridge", "asset": {"serial": "FR-2231"}}),
    )
    .await;

    let history = desk.get(&h, "/api/v1/tickets?asset=FR-2231").await;
    assert_eq!(history.status, StatusCode::OK, "{}", history.json);
    assert_eq!(
        ids(&history.json),
        [
            first["id"].as_str().expect("id"),
            second["id"].as_str().expect("id")
        ],
        "this tenant's tickets about the fridge, oldest first"
    );
    assert_eq!(history.json["total"], 2);
    assert_eq!(
        desk.get(&h, "/api/v1/tickets?asset=NOPE").await.json["total"],
        0
    );
    let bad = desk
        .post(
            &h,
            "/api/v1/tickets",
            json!({"title": "No serial", "asset": {"serial": "  "}}),
        )
        .await;
    assert_eq!(bad.error(StatusCode::BAD_REQUEST), "bad_request");
}
