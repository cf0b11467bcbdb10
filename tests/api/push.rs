//! Pushing local changes to DingTalk through the outbox: each kind of change arrives in the
//! sandbox with the right parent and ids; an outage queues, then delivers once; an answer lost
//! after DingTalk acted and a restart mid-delivery neither lose nor duplicate; a refusal surfaces
//! on the item and can be retried; the echo events DingTalk sends back change nothing.

use crate::{
    common::{
        TestApp,
        actors::{self, admin_ok},
        error_code, eventually,
    },
    sync::{
        AES_KEY, TOKEN, dingtalk_connection, event_runs, faults, push_dingtalk, setup, sync, tree,
        until,
    },
};
use roster::providers::callback_crypto::CallbackCrypto;
use sandbox::Sandbox;
use serde_json::{Value, json};
use std::time::Duration;

const ITEM: &str = "id objectType objectId action name status attempts errcode error externalId";

/// A DingTalk organization in the sandbox, fully synced, with push turned on.
async fn pushing(people: usize, departments: usize) -> (TestApp, Sandbox, String, String) {
    let (app, sandbox, admin) = setup(people, departments).await;
    let conn = dingtalk_connection(&app, &admin, &sandbox).await;
    // Not before the initial import.
    let early = app
        .gql(
            "mutation($c: ID!) { setConnectionPush(id: $c, enabled: true) { pushEnabled } }",
            json!({ "c": conn }),
            Some(&admin),
        )
        .await;
    assert_eq!(error_code(&early), "VALIDATION", "{early}");
    assert!(early.to_string().contains("full sync"), "{early}");
    assert_eq!(sync(&app, &admin, &conn).await["status"], "SUCCEEDED");
    let on = admin_ok(
        &app,
        &admin,
        "mutation($c: ID!) { setConnectionPush(id: $c, enabled: true) { pushEnabled outboxPending outboxFailed } }",
        json!({ "c": conn }),
    )
    .await;
    assert_eq!(
        on["setConnectionPush"],
        json!({ "pushEnabled": true, "outboxPending": 0, "outboxFailed": 0 })
    );
    (app, sandbox, admin, conn)
}

async fn items(app: &TestApp, admin: &str) -> Vec<Value> {
    admin_ok(
        app,
        admin,
        &format!("{{ outboxItems(first: 500) {{ {ITEM} }} }}"),
        json!({}),
    )
    .await["outboxItems"]
        .as_array()
        .expect("items")
        .clone()
}

/// Waits until no item is pending; returns the items, newest first.
async fn settled(app: &TestApp, admin: &str) -> Vec<Value> {
    let settled = |all: &Vec<Value>| all.iter().all(|i| i["status"] != "PENDING");
    let all = eventually(Duration::from_secs(15), || items(app, admin), settled).await;
    assert!(settled(&all), "the outbox did not settle: {all:?}");
    all
}

fn department_id(app_tree: &[Value], name: &str) -> String {
    app_tree
        .iter()
        .find(|d| d["name"] == name)
        .and_then(|d| d["id"].as_str())
        .unwrap_or_else(|| panic!("no department {name} in {app_tree:?}"))
        .to_string()
}

/// DingTalk's departments named `name`: (id, parent id).
fn sandbox_departments(sandbox: &Sandbox, name: &str) -> Vec<(i64, Option<i64>)> {
    sandbox
        .state
        .company()
        .departments
        .iter()
        .filter(|d| d.name == name)
        .map(|d| (d.id, d.parent_id))
        .collect()
}

async fn create_department(app: &TestApp, admin: &str, name: &str, parent: &str) -> String {
    actors::create_department(app, admin, name, Some(&json!(parent)))
        .await
        .as_str()
        .expect("id")
        .to_string()
}

#[tokio::test]
async fn each_kind_of_change_arrives_in_dingtalk_with_its_parent_and_ids() {
    let (app, sandbox, admin, conn) = pushing(8, 2).await;
    let hq = department_id(&tree(&app, &admin).await, "Headquarters");

    // A department under the synced root, a sub-department, a role group with a role, and a
    // member in the new department holding that role.
    let ops = create_department(&app, &admin, "Operations", &hq).await;
    let night = create_department(&app, &admin, "Night Shift", &ops).await;
    let group = admin_ok(
        &app,
        &admin,
        "mutation { createRoleGroup(name: \"Duty\") { id } }",
        json!({}),
    )
    .await["createRoleGroup"]["id"]
        .clone();
    let role = admin_ok(
        &app,
        &admin,
        "mutation($g: ID!) { createDirectoryRole(roleGroupId: $g, name: \"Shift Lead\") { id } }",
        json!({ "g": group }),
    )
    .await["createDirectoryRole"]["id"]
        .clone();
    let member = admin_ok(
        &app,
        &admin,
        "mutation($d: [ID!]) { createMember(input: { account: \"lin_shift\", name: \"Lin Shift\", phone: \"13800000077\", email: \"lin@example.com\", departmentIds: $d }) { member { id } } }",
        json!({ "d": [ops] }),
    )
    .await["createMember"]["member"]["id"]
        .clone();
    admin_ok(
        &app,
        &admin,
        "mutation($r: ID!, $m: [ID!]!) { addDirectoryRoleMembers(id: $r, memberIds: $m) { id } }",
        json!({ "r": role, "m": [member] }),
    )
    .await;
    let all = settled(&app, &admin).await;
    assert!(all.iter().all(|i| i["status"] == "DELIVERED"), "{all:#?}");

    let ops_dt = sandbox_departments(&sandbox, "Operations");
    assert_eq!(ops_dt.len(), 1, "{ops_dt:?}");
    assert_eq!(
        ops_dt[0].1,
        Some(1),
        "Operations sits under DingTalk's root"
    );
    let night_dt = sandbox_departments(&sandbox, "Night Shift");
    assert_eq!(night_dt, vec![(night_dt[0].0, Some(ops_dt[0].0))]);
    let created_ops = all
        .iter()
        .find(|i| {
            i["objectType"] == "DEPARTMENT"
                && i["objectId"] == ops.as_str()
                && i["action"] == "CREATE"
        })
        .expect("item");
    assert_eq!(created_ops["externalId"], ops_dt[0].0.to_string());
    {
        let company = sandbox.state.company();
        let duty = company
            .role_groups
            .iter()
            .find(|g| g.name == "Duty")
            .expect("role group in DingTalk");
        assert_eq!(duty.roles.len(), 1);
        assert_eq!(duty.roles[0].name, "Shift Lead");
        assert_eq!(duty.roles[0].holders, vec!["lin_shift".to_string()]);
        let lin = company.person("lin_shift").expect("person in DingTalk");
        assert_eq!(lin.name, "Lin Shift");
        assert_eq!(lin.mobile, "13800000077");
        assert_eq!(lin.email, "lin@example.com");
        assert_eq!(lin.dept_ids, vec![ops_dt[0].0]);
    }
    // The member is now linked to their DingTalk person (a DingTalk QR login finds them).
    {
        use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
        let linked = entity::identity::Entity::find()
            .filter(entity::identity::Column::ProviderUserId.eq("lin_shift"))
            .count(&app.state.db)
            .await
            .expect("identities");
        assert_eq!(linked, 1);
    }
    let _ = member.clone();

    // Rename, move, update the member, delete a department, resign the member.
    admin_ok(
        &app,
        &admin,
        "mutation($d: ID!) { updateDepartment(id: $d, name: \"Operations Center\") { id } }",
        json!({ "d": ops }),
    )
    .await;
    admin_ok(
        &app,
        &admin,
        "mutation($d: ID!, $p: ID) { moveDepartment(id: $d, parentId: $p) { id } }",
        json!({ "d": night, "p": hq }),
    )
    .await;
    admin_ok(
        &app,
        &admin,
        "mutation($m: ID!, $d: [ID!]) { updateMember(id: $m, input: { name: \"Lin Night\", position: \"Lead\", departmentIds: $d }) { id } }",
        json!({ "m": member, "d": [night] }),
    )
    .await;
    settled(&app, &admin).await;
    {
        let company = sandbox.state.company();
        assert_eq!(
            sandbox_departments(&sandbox, "Operations Center"),
            vec![(ops_dt[0].0, Some(1))]
        );
        assert_eq!(
            sandbox_departments(&sandbox, "Night Shift"),
            vec![(night_dt[0].0, Some(1))]
        );
        let lin = company.person("lin_shift").expect("person");
        assert_eq!(
            (lin.name.as_str(), lin.title.as_str()),
            ("Lin Night", "Lead")
        );
        assert_eq!(lin.dept_ids, vec![night_dt[0].0]);
    }
    admin_ok(
        &app,
        &admin,
        "mutation($d: ID!) { deleteDepartment(id: $d) }",
        json!({ "d": ops }),
    )
    .await;
    admin_ok(
        &app,
        &admin,
        "mutation($m: [ID!]!) { resignMembers(ids: $m) { ok message } }",
        json!({ "m": [member] }),
    )
    .await;
    let all = settled(&app, &admin).await;
    assert!(all.iter().all(|i| i["status"] == "DELIVERED"), "{all:#?}");
    assert!(sandbox_departments(&sandbox, "Operations Center").is_empty());
    assert!(sandbox.state.company().person("lin_shift").is_none());
    // Every change was sent once.
    assert_eq!(
        sandbox
            .state
            .calls("/dingtalk/oapi/topapi/v2/department/create"),
        2
    );
    assert_eq!(
        sandbox.state.calls("/dingtalk/oapi/topapi/v2/user/create"),
        1
    );
    let connection = admin_ok(
        &app,
        &admin,
        "{ connections { id outboxPending outboxFailed } }",
        json!({}),
    )
    .await;
    assert_eq!(
        connection["connections"][0],
        json!({ "id": conn, "outboxPending": 0, "outboxFailed": 0 })
    );
}

#[tokio::test]
async fn outages_lost_answers_and_restarts_neither_lose_nor_duplicate() {
    let (app, sandbox, admin, conn) = pushing(6, 1).await;
    let hq = department_id(&tree(&app, &admin).await, "Headquarters");

    // DingTalk is down: the change waits at the head of the queue with the reason.
    faults(
        &sandbox,
        json!({ "next": [
            { "status": 503, "body": "Service Unavailable" },
            { "status": 503, "body": "Service Unavailable" },
        ] }),
    )
    .await;
    create_department(&app, &admin, "Down Time", &hq).await;
    let waiting = eventually(
        Duration::from_secs(2),
        || items(&app, &admin),
        |waiting| {
            waiting[0]["attempts"].as_i64().unwrap_or(0) >= 1 && waiting[0]["error"].is_string()
        },
    )
    .await;
    assert_eq!(waiting[0]["status"], "PENDING", "{waiting:?}");
    assert!(
        waiting[0]["error"]
            .as_str()
            .unwrap_or_default()
            .contains("DingTalk"),
        "{waiting:?}"
    );
    // A full sync now would undo the waiting change here: it is refused until delivery.
    let refused = app
        .gql(
            "mutation($c: ID!) { startSync(connectionId: $c) { id } }",
            json!({ "c": conn }),
            Some(&admin),
        )
        .await;
    assert_eq!(error_code(&refused), "CONFLICT", "{refused}");
    assert!(
        refused
            .to_string()
            .contains("1 local change is still on the way to DingTalk"),
        "{refused}"
    );
    let backlog = admin_ok(
        &app,
        &admin,
        "{ connections { id outboxPending outboxFailed } }",
        json!({}),
    )
    .await;
    assert_eq!(
        backlog["connections"],
        json!([{ "id": conn, "outboxPending": 1, "outboxFailed": 0 }])
    );
    let all = settled(&app, &admin).await;
    assert_eq!(all[0]["status"], "DELIVERED", "{all:?}");
    assert!(all[0]["attempts"].as_i64().unwrap_or(0) >= 2, "{all:?}");
    assert_eq!(sandbox_departments(&sandbox, "Down Time").len(), 1);

    // DingTalk creates the department but its answer is lost: the retry finds it instead of
    // creating a second one.
    faults(
        &sandbox,
        json!({ "next": [{ "status": 502, "body": "Bad Gateway", "after": true }] }),
    )
    .await;
    create_department(&app, &admin, "Lost Answer", &hq).await;
    let all = settled(&app, &admin).await;
    assert_eq!(all[0]["status"], "DELIVERED", "{all:?}");
    let lost = sandbox_departments(&sandbox, "Lost Answer");
    assert_eq!(lost.len(), 1, "{lost:?}");
    assert_eq!(all[0]["externalId"], lost[0].0.to_string());

    // The server dies while DingTalk is slow to answer; the restarted one delivers everything
    // once.
    faults(&sandbox, json!({ "latency_ms": 1500 })).await;
    let parent = create_department(&app, &admin, "Crash Site", &hq).await;
    create_department(&app, &admin, "Crash Child", &parent).await;
    tokio::time::sleep(Duration::from_millis(400)).await;
    let app = app.restart().await;
    faults(&sandbox, json!({ "latency_ms": 0 })).await;
    let admin = app.admin_token().await;
    let all = settled(&app, &admin).await;
    assert!(all.iter().all(|i| i["status"] == "DELIVERED"), "{all:#?}");
    let site = sandbox_departments(&sandbox, "Crash Site");
    assert_eq!(site.len(), 1, "{site:?}");
    assert_eq!(
        sandbox_departments(&sandbox, "Crash Child"),
        vec![(
            sandbox_departments(&sandbox, "Crash Child")[0].0,
            Some(site[0].0)
        )]
    );
}

#[tokio::test]
async fn refusals_surface_on_the_item_and_echo_events_change_nothing() {
    let (app, sandbox, admin, conn) = pushing(6, 1).await;
    let hq = department_id(&tree(&app, &admin).await, "Headquarters");

    // DingTalk needs a mobile number: the item fails with a plain explanation, the queue moves
    // on, and after the phone is set a retry delivers it.
    let member = admin_ok(
        &app,
        &admin,
        "mutation { createMember(input: { account: \"no_phone\", name: \"No Phone\" }) { member { id } } }",
        json!({}),
    )
    .await["createMember"]["member"]["id"]
        .clone();
    let later = create_department(&app, &admin, "After The Refusal", &hq).await;
    let all = settled(&app, &admin).await;
    let refused = all
        .iter()
        .find(|i| i["objectType"] == "MEMBER")
        .expect("member item");
    assert_eq!(refused["status"], "FAILED", "{all:?}");
    assert!(
        refused["error"]
            .as_str()
            .unwrap_or_default()
            .contains("mobile"),
        "{refused}"
    );
    assert_eq!(sandbox_departments(&sandbox, "After The Refusal").len(), 1);
    let counts = admin_ok(&app, &admin, "{ connections { outboxFailed } }", json!({})).await;
    assert_eq!(counts["connections"][0]["outboxFailed"], 1);
    // DingTalk's own refusal (a taken mobile number) carries its code.
    admin_ok(
        &app,
        &admin,
        "mutation($m: ID!, $p: String) { updateMember(id: $m, input: { phone: $p }) { id } }",
        json!({ "m": member, "p": sandbox.state.company().people[0].mobile }),
    )
    .await;
    let retried = admin_ok(
        &app,
        &admin,
        &format!("mutation($i: ID!) {{ retryOutboxItem(id: $i) {{ {ITEM} }} }}"),
        json!({ "i": refused["id"] }),
    )
    .await;
    assert_eq!(retried["retryOutboxItem"]["status"], "PENDING");
    let all = settled(&app, &admin).await;
    let refused = all
        .iter()
        .find(|i| i["objectType"] == "MEMBER" && i["action"] == "CREATE")
        .expect("member item");
    assert_eq!(refused["status"], "FAILED", "{all:?}");
    assert_eq!(refused["errcode"], "60104", "{refused}");
    admin_ok(
        &app,
        &admin,
        "mutation($m: ID!) { updateMember(id: $m, input: { phone: \"13800000099\" }) { id } }",
        json!({ "m": member }),
    )
    .await;
    admin_ok(
        &app,
        &admin,
        "mutation($i: ID!) { retryOutboxItem(id: $i) { id } }",
        json!({ "i": refused["id"] }),
    )
    .await;
    let all = settled(&app, &admin).await;
    assert!(all.iter().all(|i| i["status"] == "DELIVERED"), "{all:#?}");
    assert!(sandbox.state.company().person("no_phone").is_some());
    // Only failed items can be retried; delivered ones cannot be discarded.
    let again = app
        .gql(
            "mutation($i: ID!) { discardOutboxItem(id: $i) { id } }",
            json!({ "i": all[0]["id"] }),
            Some(&admin),
        )
        .await;
    assert_eq!(error_code(&again), "VALIDATION", "{again}");

    // The events DingTalk sends back for these pushes find the mirror already equal.
    let before_tree = tree(&app, &admin).await;
    let before_items = items(&app, &admin).await.len();
    let app_key = sandbox.state.company().app_key.clone();
    let crypto = CallbackCrypto::new(TOKEN, AES_KEY, &app_key).expect("crypto");
    let dept = sandbox_departments(&sandbox, "After The Refusal")[0].0;
    for (event, id) in [
        (
            json!({ "EventType": "org_dept_create", "deptId": [dept], "eventId": "echo-1" }),
            1,
        ),
        (
            json!({ "EventType": "user_add_org", "userId": ["no_phone"], "eventId": "echo-2" }),
            2,
        ),
    ] {
        let (status, _) = push_dingtalk(&app, &conn, &crypto, &event, false).await;
        assert_eq!(status, 200);
        let runs = until(&app, &admin, |r| r.len() >= id).await;
        assert_eq!(runs.len(), id, "{runs:?}");
    }
    for run in event_runs(&app, &admin).await {
        assert_eq!(run["status"], "SUCCEEDED", "{run}");
        assert_eq!(
            (&run["added"], &run["updated"], &run["flagged"]),
            (&json!(0), &json!(0), &json!(0)),
            "an echo changed something: {run}"
        );
    }
    assert_eq!(tree(&app, &admin).await, before_tree);
    assert_eq!(items(&app, &admin).await.len(), before_items);
    let _ = later;
}
