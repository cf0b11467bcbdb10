//! Contacts sync through the sandbox: full syncs of DingTalk, WeCom and Microsoft into the mirror
//! and the department tree, flags, failures that change nothing, one sync at a time, adding
//! people from the mirror, clean-up, and incremental events (DingTalk and WeCom encrypted
//! callbacks, Graph notifications with delta queries).

use crate::common::{TestApp, actors::admin_ok, error_code, eventually};
use roster::providers::callback_crypto::CallbackCrypto;
use sandbox::{Sandbox, company::Company, directory::Change};
use serde_json::{Value, json};
use std::time::Duration;

pub(crate) const TOKEN: &str = "rostertoken1";
pub(crate) const AES_KEY: &str = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG";

pub(crate) async fn setup(people: usize, departments: usize) -> (TestApp, Sandbox, String) {
    let sandbox = Sandbox::start(
        Company::generate("dingsync", people, departments),
        "127.0.0.1:0",
    )
    .expect("sandbox starts");
    let base = sandbox.base_url();
    let app = TestApp::spawn_with(|s| {
        TestApp::use_sandbox(s, &base);
    })
    .await;
    let admin = app.admin_token().await;
    (app, sandbox, admin)
}

async fn connect(app: &TestApp, admin: &str, provider: &str, fields: Value) -> String {
    let created = admin_ok(
        app,
        admin,
        &format!("mutation($i: ConnectionFields!) {{ addConnection(provider: {provider}, input: $i) {{ id }} }}"),
        json!({ "i": fields }),
    )
    .await;
    created["addConnection"]["id"]
        .as_str()
        .expect("connection id")
        .to_string()
}

pub(crate) async fn dingtalk_connection(app: &TestApp, admin: &str, sandbox: &Sandbox) -> String {
    let c = sandbox.state.company().clone();
    connect(
        app,
        admin,
        "DINGTALK",
        json!({ "corpId": c.corp_id, "clientId": c.app_key, "clientSecret": c.app_secret, "callbackToken": TOKEN, "callbackAesKey": AES_KEY }),
    )
    .await
}

const RUN: &str = "id status trigger added updated flagged removed errors";

/// Starts a sync and waits for its end; returns the finished run.
pub(crate) async fn sync(app: &TestApp, admin: &str, connection: &str) -> Value {
    let started = admin_ok(
        app,
        admin,
        &format!("mutation($c: ID!) {{ startSync(connectionId: $c) {{ {RUN} }} }}"),
        json!({ "c": connection }),
    )
    .await["startSync"]
        .clone();
    wait(app, admin, started["id"].as_str().expect("run id")).await
}

pub(crate) async fn wait(app: &TestApp, admin: &str, run: &str) -> Value {
    let query = format!("query($r: ID!) {{ syncRun(id: $r) {{ {RUN} }} }}");
    let read =
        || async { admin_ok(app, admin, &query, json!({ "r": run })).await["syncRun"].clone() };
    let r = eventually(Duration::from_secs(30), read, |r| r["status"] != "RUNNING").await;
    assert_ne!(r["status"], "RUNNING", "sync run {run} did not finish: {r}");
    r
}

async fn contacts(app: &TestApp, admin: &str, connection: &str, flagged: bool) -> Vec<Value> {
    admin_ok(
        app,
        admin,
        "query($c: ID!, $f: Boolean) { directoryContacts(connectionId: $c, flaggedOnly: $f, first: 1000) { id externalId name nameChanged toBeDeleted departmentExternalIds } }",
        json!({ "c": connection, "f": flagged }),
    )
    .await["directoryContacts"]
        .as_array()
        .expect("contacts")
        .clone()
}

async fn mirror_departments(app: &TestApp, admin: &str, connection: &str) -> Vec<Value> {
    admin_ok(
        app,
        admin,
        "query($c: ID!) { directoryDepartments(connectionId: $c) { id externalId parentExternalId name nameChanged toBeDeleted } }",
        json!({ "c": connection }),
    )
    .await["directoryDepartments"]
        .as_array()
        .expect("departments")
        .clone()
}

/// The names of the leaders of the tree's departments, by department name (departments without a
/// leader left out).
pub(crate) async fn leaders(
    app: &TestApp,
    admin: &str,
) -> std::collections::BTreeMap<String, String> {
    let mut out = std::collections::BTreeMap::new();
    for d in tree(app, admin).await {
        let led = admin_ok(
            app,
            admin,
            "query($d: ID!) { department(id: $d) { name leader { name } } }",
            json!({ "d": d["id"] }),
        )
        .await["department"]
            .clone();
        if let Some(name) = led["leader"]["name"].as_str() {
            out.insert(
                led["name"].as_str().unwrap_or_default().to_string(),
                name.to_string(),
            );
        }
    }
    out
}

/// A Teams connection to the sandbox's tenant with this client state and further fields.
async fn teams_connection(
    app: &TestApp,
    admin: &str,
    sandbox: &Sandbox,
    client_state: &str,
    mut fields: Value,
) -> String {
    let entra = sandbox.state.company().entra.clone();
    fields["corpId"] = json!(entra.tenant_id);
    fields["clientId"] = json!(entra.client_id);
    fields["clientSecret"] = json!(entra.client_secret);
    fields["callbackToken"] = json!(client_state);
    connect(app, admin, "TEAMS", fields).await
}

/// Adds the people of a mirror department (by name) as members.
async fn admit_department(app: &TestApp, admin: &str, connection: &str, name: &str) {
    let department = mirror_departments(app, admin, connection)
        .await
        .into_iter()
        .find(|d| d["name"] == name)
        .expect("mirror department");
    admin_ok(
        app,
        admin,
        "mutation($i: AddMembersFromDirectoryInput!) { addMembersFromDirectory(input: $i) { run { added } } }",
        json!({ "i": { "connectionId": connection, "departmentIds": [department["id"]], "userType": "VIEWER" } }),
    )
    .await;
}

/// A mirror contact's name by its provider id.
async fn contact_name(app: &TestApp, admin: &str, connection: &str, external_id: &str) -> String {
    contacts(app, admin, connection, false)
        .await
        .iter()
        .find(|c| c["externalId"] == external_id)
        .and_then(|c| c["name"].as_str())
        .unwrap_or_default()
        .to_string()
}

/// Every department of the tree, walked from the top.
pub(crate) async fn tree(app: &TestApp, admin: &str) -> Vec<Value> {
    let mut out = Vec::new();
    let mut parents = vec![Value::Null];
    while let Some(parent) = parents.pop() {
        let children = admin_ok(
            app,
            admin,
            "query($p: ID) { departments(parentId: $p) { id name path nameChanged toBeDeleted } }",
            json!({ "p": parent }),
        )
        .await["departments"]
            .as_array()
            .expect("departments")
            .clone();
        parents.extend(children.iter().map(|d| d["id"].clone()));
        out.extend(children);
    }
    out
}

/// `testConnection` of a connection: `{ ok errcode message }`.
async fn test_connection(app: &TestApp, admin: &str, connection: &str) -> Value {
    admin_ok(
        app,
        admin,
        "mutation($c: ID!) { testConnection(id: $c) { ok errcode message } }",
        json!({ "c": connection }),
    )
    .await
}

pub(crate) async fn edit(sandbox: &Sandbox, changes: Value) {
    let changes: Vec<Change> = serde_json::from_value(changes).expect("changes");
    sandbox::directory::apply(&sandbox.state, &changes).expect("sandbox change");
}

/// Sends the sandbox's fault controls (`next` failures, `latency_ms`, …).
pub(crate) async fn faults(sandbox: &Sandbox, controls: Value) {
    let status = reqwest::Client::new()
        .post(format!("{}/sandbox/faults", sandbox.base_url()))
        .json(&controls)
        .send()
        .await
        .expect("fault controls")
        .status();
    assert!(status.is_success());
}

#[tokio::test]
async fn dingtalk_full_sync_flags_failures_and_clean_up() {
    // 250 people in two teams: every team has more than one page (100) of people.
    let (app, sandbox, admin) = setup(250, 2).await;
    let conn = dingtalk_connection(&app, &admin, &sandbox).await;

    let first = sync(&app, &admin, &conn).await;
    assert_eq!(first["status"], "SUCCEEDED", "{first}");
    assert_eq!(contacts(&app, &admin, &conn, false).await.len(), 250);
    let deps = mirror_departments(&app, &admin, &conn).await;
    assert_eq!(deps.len(), 3, "{deps:?}");
    let team0 = tree(&app, &admin)
        .await
        .into_iter()
        .find(|d| d["name"] == "Team 0")
        .expect("Team 0 in the department tree");
    assert_eq!(team0["path"], "/Headquarters/Team 0", "{team0}");
    // Provider departments are read-only here: the change belongs in the provider's console.
    let rename = app
        .gql(
            "mutation($d: ID!) { updateDepartment(id: $d, name: \"Local name\") { id } }",
            json!({ "d": team0["id"] }),
            Some(&admin),
        )
        .await;
    assert_eq!(error_code(&rename), "VALIDATION", "{rename}");
    assert!(rename.to_string().contains("admin console"), "{rename}");
    let roles = admin_ok(
        &app,
        &admin,
        "{ roleGroups { name roles { name } } }",
        json!({}),
    )
    .await;
    assert!(roles.to_string().contains("R&D Manager"), "{roles}");
    // A role deleted in DingTalk goes, and its group with it when it was the last one.
    edit(&sandbox, json!([{ "op": "remove_role", "id": 2003 }])).await;
    let after = sync(&app, &admin, &conn).await;
    assert_eq!(after["status"], "SUCCEEDED", "{after}");
    assert_eq!(after["removed"], 2, "the role and its group: {after}");
    let roles = admin_ok(
        &app,
        &admin,
        "{ roleGroups { name roles { name } } }",
        json!({}),
    )
    .await
    .to_string();
    assert!(
        roles.contains("R&D Manager") && !roles.contains("Finance") && !roles.contains("Functions"),
        "{roles}"
    );

    // The mirror is searched regardless of case, and filtered by department page after page.
    let found = admin_ok(
        &app,
        &admin,
        "query($c: ID!) { directoryContacts(connectionId: $c, keyword: \"ANNA LI\", first: 1000) { name } }",
        json!({ "c": conn }),
    )
    .await["directoryContacts"]
        .as_array()
        .expect("contacts")
        .clone();
    assert!(!found.is_empty());
    assert!(found.iter().all(|c| {
        c["name"]
            .as_str()
            .unwrap_or_default()
            .starts_with("Anna Li")
    }));
    let team1 = admin_ok(
        &app,
        &admin,
        "query($c: ID!) { directoryContacts(connectionId: $c, departmentExternalId: \"101\", first: 100) { departmentExternalIds } }",
        json!({ "c": conn }),
    )
    .await["directoryContacts"]
        .as_array()
        .expect("contacts")
        .clone();
    assert_eq!(team1.len(), 100);
    assert!(
        team1
            .iter()
            .all(|c| c["departmentExternalIds"] == json!(["101"]))
    );

    // A re-sync with no change writes nothing.
    let again = sync(&app, &admin, &conn).await;
    assert_eq!(
        (
            again["added"].clone(),
            again["updated"].clone(),
            again["flagged"].clone()
        ),
        (json!(0), json!(0), json!(0)),
        "{again}"
    );

    // People of Team 0 (and its sub-departments) become analysts.
    let team0_mirror = deps
        .iter()
        .find(|d| d["name"] == "Team 0")
        .expect("mirror Team 0");
    let added = admin_ok(
        &app,
        &admin,
        "mutation($i: AddMembersFromDirectoryInput!) { addMembersFromDirectory(input: $i) { run { added } added { id name userType departments { name } } existing { id } } }",
        json!({ "i": { "connectionId": conn, "departmentIds": [team0_mirror["id"]], "includeSubDepartments": true, "userType": "ANALYST" } }),
    )
    .await["addMembersFromDirectory"]
        .clone();
    let new_members = added["added"].as_array().expect("added");
    assert_eq!(new_members.len(), 125);
    assert_eq!(added["run"]["added"], 125, "{}", added["run"]);
    assert_eq!(new_members[0]["userType"], "ANALYST");
    assert_eq!(new_members[0]["departments"][0]["name"], "Team 0");
    // DingTalk names each department's leader; Team 0's (000000) is now a member and leads it
    // here too. Team 1's leader has not been added, so Team 1 has none yet.
    assert_eq!(
        leaders(&app, &admin).await,
        [(
            "Team 0".to_string(),
            contact_name(&app, &admin, &conn, "000000").await
        )]
        .into(),
    );
    // Their provider details are read-only here; Roster-only fields stay editable.
    let synced = new_members[0]["id"].clone();
    let email = app
        .gql(
            "mutation($m: ID!) { updateMember(id: $m, input: { email: \"elsewhere@example.com\" }) { id } }",
            json!({ "m": synced }),
            Some(&admin),
        )
        .await;
    assert_eq!(error_code(&email), "VALIDATION", "{email}");
    admin_ok(
        &app,
        &admin,
        "mutation($m: ID!) { updateMember(id: $m, input: { userType: DEVELOPER }) { id } }",
        json!({ "m": synced }),
    )
    .await;
    // A viewer may not hold an administrator role.
    let org_admin_role = crate::common::actors::role_ids(&app, &admin).await["org_admin"].clone();
    let refused = app
        .gql(
            "mutation($i: AddMembersFromDirectoryInput!) { addMembersFromDirectory(input: $i) { run { id } } }",
            json!({ "i": { "connectionId": conn, "contactIds": [contacts(&app, &admin, &conn, false).await[0]["id"]], "userType": "VIEWER", "roleId": org_admin_role } }),
            Some(&admin),
        )
        .await;
    assert_eq!(error_code(&refused), "VALIDATION", "{refused}");

    // The provider renames one person and a department, and one person leaves.
    edit(
        &sandbox,
        json!([
            { "op": "rename_person", "userid": "000000", "name": "张伟 (renamed)" },
            { "op": "remove_person", "userid": "000002" },
            { "op": "rename_department", "id": 100, "name": "Team Zero" }
        ]),
    )
    .await;
    let changed = sync(&app, &admin, &conn).await;
    assert_eq!(changed["status"], "SUCCEEDED", "{changed}");
    let flagged = contacts(&app, &admin, &conn, true).await;
    let flags: Vec<(String, bool, bool)> = flagged
        .iter()
        .map(|c| {
            (
                c["externalId"].as_str().unwrap_or_default().to_string(),
                c["nameChanged"].as_bool().unwrap_or_default(),
                c["toBeDeleted"].as_bool().unwrap_or_default(),
            )
        })
        .collect();
    assert!(flags.contains(&("000000".into(), true, false)), "{flags:?}");
    assert!(flags.contains(&("000002".into(), false, true)), "{flags:?}");
    let members = admin_ok(
        &app,
        &admin,
        "{ members(first: 200, filter: { keyword: \"张伟\" }) { edges { node { name nameChanged toBeDeleted } } } }",
        json!({}),
    )
    .await;
    assert!(
        members.to_string().contains("\"nameChanged\":true"),
        "{members}"
    );
    let renamed = tree(&app, &admin)
        .await
        .into_iter()
        .find(|d| d["name"] == "Team Zero")
        .expect("renamed department");
    assert_eq!(renamed["nameChanged"], true);

    // The leader moves to Team 1: Team Zero is led by its next member, Team 1 by 000000.
    edit(
        &sandbox,
        json!([{ "op": "move_person", "userid": "000000", "dept_ids": [101] }]),
    )
    .await;
    let moved = sync(&app, &admin, &conn).await;
    assert_eq!(moved["status"], "SUCCEEDED", "{moved}");
    assert_eq!(
        leaders(&app, &admin).await,
        [
            (
                "Team 1".to_string(),
                contact_name(&app, &admin, &conn, "000000").await
            ),
            (
                "Team Zero".to_string(),
                contact_name(&app, &admin, &conn, "000004").await
            ),
        ]
        .into(),
    );

    // A failure at any point changes nothing and says why.
    let before = contacts(&app, &admin, &conn, false).await;
    edit(
        &sandbox,
        json!([{ "op": "rename_person", "userid": "000001", "name": "Never Seen" }]),
    )
    .await;
    faults(&sandbox, json!({ "next": [{ "status": 200, "body": { "errcode": 60011, "errmsg": "没有调用该接口的权限" } }] })).await;
    let failed = sync(&app, &admin, &conn).await;
    assert_eq!(failed["status"], "FAILED");
    assert!(
        failed["errors"][0]
            .as_str()
            .unwrap_or_default()
            .contains("developer console"),
        "{failed}"
    );
    assert_eq!(contacts(&app, &admin, &conn, false).await, before);
    edit(&sandbox, json!([{ "op": "scope", "departments": [] }])).await;
    let empty = sync(&app, &admin, &conn).await;
    assert_eq!(empty["status"], "FAILED");
    assert!(
        empty["errors"][0]
            .as_str()
            .unwrap_or_default()
            .contains("sees no department"),
        "{empty}"
    );
    assert_eq!(contacts(&app, &admin, &conn, false).await, before);
    let checked = test_connection(&app, &admin, &conn).await;
    assert_eq!(checked["testConnection"]["ok"], false, "{checked}");
    assert_eq!(
        checked["testConnection"]["errcode"], "empty-scope",
        "{checked}"
    );
    edit(&sandbox, json!([{ "op": "scope", "departments": [1] }])).await;
    let checked = test_connection(&app, &admin, &conn).await;
    assert_eq!(checked["testConnection"]["ok"], true, "{checked}");

    // One sync per connection at a time.
    faults(&sandbox, json!({ "latency_ms": 20 })).await;
    let running = admin_ok(
        &app,
        &admin,
        "mutation($c: ID!) { startSync(connectionId: $c) { id } }",
        json!({ "c": conn }),
    )
    .await["startSync"]["id"]
        .clone();
    let second = app
        .gql(
            "mutation($c: ID!) { startSync(connectionId: $c) { id } }",
            json!({ "c": conn }),
            Some(&admin),
        )
        .await;
    assert_eq!(error_code(&second), "CONFLICT", "{second}");
    let done = wait(&app, &admin, running.as_str().expect("id")).await;
    assert_eq!(done["status"], "SUCCEEDED", "{done}");

    // Runs are listed newest first.
    let runs = admin_ok(
        &app,
        &admin,
        "{ syncRuns { id status trigger } }",
        json!({}),
    )
    .await;
    let ids: Vec<i64> = runs["syncRuns"]
        .as_array()
        .expect("runs")
        .iter()
        .filter_map(|r| r["id"].as_str()?.parse().ok())
        .collect();
    assert!(ids.windows(2).all(|w| w[0] > w[1]), "{ids:?}");

    // Update structure removes what is gone; clear all empties the mirror.
    let cleaned = admin_ok(
        &app,
        &admin,
        "mutation($c: ID!) { updateStructure(connectionId: $c) { removed } }",
        json!({ "c": conn }),
    )
    .await;
    assert_eq!(cleaned["updateStructure"]["removed"], 1, "{cleaned}");
    assert!(
        !contacts(&app, &admin, &conn, false)
            .await
            .iter()
            .any(|c| c["externalId"] == "000002")
    );
    let not_flagged = app
        .gql(
            "mutation($c: ID!, $i: [ID!]) { deleteFlaggedEntries(connectionId: $c, contactIds: $i) { removed } }",
            json!({ "c": conn, "i": [contacts(&app, &admin, &conn, false).await[5]["id"]] }),
            Some(&admin),
        )
        .await;
    assert_eq!(error_code(&not_flagged), "VALIDATION", "{not_flagged}");
    admin_ok(
        &app,
        &admin,
        "mutation($c: ID!) { clearDirectory(connectionId: $c) { removed } }",
        json!({ "c": conn }),
    )
    .await;
    assert!(contacts(&app, &admin, &conn, false).await.is_empty());
    assert!(
        !tree(&app, &admin)
            .await
            .iter()
            .any(|d| d["name"] == "Team Zero")
    );
}

pub(crate) async fn push_dingtalk(
    app: &TestApp,
    conn: &str,
    crypto: &CallbackCrypto,
    event: &Value,
    forged: bool,
) -> (u16, Value) {
    let encrypt = crypto.encrypt(&event.to_string());
    let (ts, nonce) = ("1700000000000", "nonce123");
    let signature = if forged {
        "0".repeat(40)
    } else {
        crypto.signature(ts, nonce, &encrypt)
    };
    let response = reqwest::Client::new()
        .post(format!("{}/callbacks/dingtalk/{conn}?signature={signature}&msg_signature={signature}&timestamp={ts}&nonce={nonce}", app.address))
        .json(&json!({ "encrypt": encrypt }))
        .send()
        .await
        .expect("callback");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

pub(crate) async fn event_runs(app: &TestApp, admin: &str) -> Vec<Value> {
    admin_ok(
        app,
        admin,
        "{ syncRuns { id status trigger added updated flagged errors } }",
        json!({}),
    )
    .await["syncRuns"]
        .as_array()
        .expect("runs")
        .iter()
        .filter(|r| r["trigger"] == "EVENT")
        .cloned()
        .collect()
}

pub(crate) async fn until<F: Fn(&[Value]) -> bool>(
    app: &TestApp,
    admin: &str,
    done: F,
) -> Vec<Value> {
    eventually(
        Duration::from_secs(10),
        || event_runs(app, admin),
        |runs| done(runs),
    )
    .await
}

#[tokio::test]
async fn a_deeper_tree_is_written_level_by_level_with_its_paths() {
    // Teams 0–4 under Headquarters, Teams 5–11 under Team (i % 5): three levels.
    let (app, sandbox, admin) = setup(24, 12).await;
    let conn = dingtalk_connection(&app, &admin, &sandbox).await;
    let run = sync(&app, &admin, &conn).await;
    assert_eq!(run["status"], "SUCCEEDED", "{run}");
    let paths: std::collections::BTreeMap<String, String> = tree(&app, &admin)
        .await
        .iter()
        .map(|d| {
            (
                d["name"].as_str().unwrap_or_default().to_string(),
                d["path"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    assert_eq!(paths.len(), 13, "{paths:?}");
    assert_eq!(paths["Headquarters"], "/Headquarters");
    for i in 0..12 {
        let expected = if i < 5 {
            format!("/Headquarters/Team {i}")
        } else {
            format!("/Headquarters/Team {}/Team {i}", i % 5)
        };
        assert_eq!(paths[&format!("Team {i}")], expected, "{paths:?}");
    }
    // Nothing changed: nothing is written again.
    let again = sync(&app, &admin, &conn).await;
    assert_eq!(
        (&again["added"], &again["updated"], &again["flagged"]),
        (&json!(0), &json!(0), &json!(0)),
        "{again}"
    );
}

/// The members a filter finds: `(name, nameChanged, toBeDeleted)` and the total count.
async fn flagged_members(app: &TestApp, admin: &str, filter: Value) -> (Vec<Value>, u64) {
    let page = admin_ok(
        app,
        admin,
        "query($f: MemberFilter) { members(first: 100, filter: $f) { totalCount nodes { id name nameChanged toBeDeleted status } } }",
        json!({ "f": filter }),
    )
    .await["members"]
        .clone();
    (
        page["nodes"].as_array().expect("members").clone(),
        page["totalCount"].as_u64().expect("total count"),
    )
}

#[tokio::test]
async fn flagged_members_are_found_and_renames_acknowledged() {
    let (app, sandbox, admin) = setup(6, 1).await;
    let conn = dingtalk_connection(&app, &admin, &sandbox).await;
    assert_eq!(sync(&app, &admin, &conn).await["status"], "SUCCEEDED");
    let people: Vec<Value> = contacts(&app, &admin, &conn, false)
        .await
        .iter()
        .map(|c| c["id"].clone())
        .collect();
    admin_ok(
        &app,
        &admin,
        "mutation($i: AddMembersFromDirectoryInput!) { addMembersFromDirectory(input: $i) { run { added } } }",
        json!({ "i": { "connectionId": conn, "contactIds": people, "userType": "ANALYST" } }),
    )
    .await;
    let (everyone, total) = flagged_members(&app, &admin, json!({})).await;
    assert_eq!(total, 7, "six people and the administrator: {everyone:?}");
    let (none, count) = flagged_members(&app, &admin, json!({ "nameChanged": true })).await;
    assert_eq!(
        (none.len(), count),
        (0, 0),
        "nobody is flagged yet: {none:?}"
    );

    // The provider renames one person and a department, and another person leaves.
    edit(
        &sandbox,
        json!([
            { "op": "rename_person", "userid": "000000", "name": "Renamed Person" },
            { "op": "remove_person", "userid": "000002" },
            { "op": "rename_department", "id": 100, "name": "Team Zero" }
        ]),
    )
    .await;
    assert_eq!(sync(&app, &admin, &conn).await["status"], "SUCCEEDED");
    let (renamed, count) = flagged_members(&app, &admin, json!({ "nameChanged": true })).await;
    assert_eq!(count, 1, "{renamed:?}");
    assert_eq!(renamed[0]["name"], "Renamed Person");
    assert_eq!(renamed[0]["toBeDeleted"], false);
    let renamed_id = renamed[0]["id"].clone();
    let (gone, count) = flagged_members(&app, &admin, json!({ "toBeDeleted": true })).await;
    assert_eq!(count, 1, "{gone:?}");
    assert_eq!(gone[0]["nameChanged"], false);
    let gone_id = gone[0]["id"].clone();
    let (staying, count) = flagged_members(&app, &admin, json!({ "toBeDeleted": false })).await;
    assert_eq!(count, 6, "{staying:?}");
    assert!(staying.iter().all(|m| m["id"] != gone_id), "{staying:?}");
    let (both, count) = flagged_members(
        &app,
        &admin,
        json!({ "nameChanged": true, "toBeDeleted": true }),
    )
    .await;
    assert_eq!(count, 0, "every given filter must match: {both:?}");
    // Combined with the other filters: the departed person is still active until resigned.
    let active_gone = json!({ "toBeDeleted": true, "statuses": ["ACTIVE"] });
    assert_eq!(
        flagged_members(&app, &admin, active_gone.clone()).await.1,
        1
    );
    admin_ok(
        &app,
        &admin,
        "mutation($ids: [ID!]!) { resignMembers(ids: $ids) { ok } }",
        json!({ "ids": [gone_id] }),
    )
    .await;
    assert_eq!(flagged_members(&app, &admin, active_gone).await.1, 0);
    let resigned_gone = json!({ "toBeDeleted": true, "statuses": ["RESIGNED"] });
    assert_eq!(flagged_members(&app, &admin, resigned_gone).await.1, 1);
    // An export takes the same filter: the record of who left.
    let sheet =
        crate::excel::exported(&app, &admin, json!({ "filter": { "toBeDeleted": true } })).await;
    let id = sheet[0]
        .iter()
        .position(|h| h == "User ID")
        .expect("a User ID column");
    let ids: Vec<&str> = sheet[1..].iter().map(|row| row[id].as_str()).collect();
    assert_eq!(ids, [gone_id.as_str().unwrap_or_default()], "{sheet:?}");

    // Acknowledging needs something to acknowledge, and only what is of this organization: a
    // stranger in the list refuses the whole of it.
    let flagged = admin_ok(
        &app,
        &admin,
        "{ flaggedDepartments { id name path nameChanged toBeDeleted } }",
        json!({}),
    )
    .await["flaggedDepartments"]
        .clone();
    assert_eq!(flagged.as_array().map(Vec::len), Some(1), "{flagged}");
    let team_zero = flagged[0].clone();
    assert_eq!(
        (
            &team_zero["path"],
            &team_zero["nameChanged"],
            &team_zero["toBeDeleted"]
        ),
        (
            &json!("/Headquarters/Team Zero"),
            &json!(true),
            &json!(false)
        )
    );
    const ACKNOWLEDGE: &str = "mutation($m: [ID!], $d: [ID!]) { acknowledgeRenames(memberIds: $m, departmentIds: $d) { members { id nameChanged } departments { id name nameChanged } } }";
    let empty = app.gql(ACKNOWLEDGE, json!({}), Some(&admin)).await;
    assert_eq!(error_code(&empty), "VALIDATION", "{empty}");
    let stranger = app
        .gql(
            ACKNOWLEDGE,
            json!({ "m": [renamed_id], "d": [team_zero["id"], "999999"] }),
            Some(&admin),
        )
        .await;
    assert_eq!(error_code(&stranger), "VALIDATION", "{stranger}");
    assert_eq!(
        stranger["errors"][0]["extensions"]["field"],
        "departmentIds"
    );
    assert!(
        stranger.to_string().contains("999999"),
        "the message names it: {stranger}"
    );
    let stranger = app
        .gql(
            ACKNOWLEDGE,
            json!({ "m": [renamed_id, "999998"] }),
            Some(&admin),
        )
        .await;
    assert_eq!(stranger["errors"][0]["extensions"]["field"], "memberIds");
    assert!(
        stranger
            .to_string()
            .contains("member 999998 does not exist"),
        "{stranger}"
    );
    assert_eq!(
        flagged_members(&app, &admin, json!({ "nameChanged": true }))
            .await
            .1,
        1,
        "nothing changed"
    );

    // Acknowledged: the flags are gone, members not flagged are left as they were, and each
    // acknowledgement is in the audit trail.
    let done = admin_ok(
        &app,
        &admin,
        ACKNOWLEDGE,
        json!({ "m": [renamed_id, staying[0]["id"]], "d": [team_zero["id"]] }),
    )
    .await["acknowledgeRenames"]
        .clone();
    assert_eq!(
        done,
        json!({
            "members": [
                { "id": renamed_id, "nameChanged": false },
                { "id": staying[0]["id"], "nameChanged": false }
            ],
            "departments": [{ "id": team_zero["id"], "name": "Team Zero", "nameChanged": false }]
        })
    );
    assert_eq!(
        flagged_members(&app, &admin, json!({ "nameChanged": true }))
            .await
            .1,
        0
    );
    let team_zero = tree(&app, &admin)
        .await
        .into_iter()
        .find(|d| d["name"] == "Team Zero")
        .expect("renamed department");
    assert_eq!(team_zero["nameChanged"], false);
    let flagged = admin_ok(&app, &admin, "{ flaggedDepartments { id } }", json!({})).await;
    assert_eq!(flagged["flaggedDepartments"], json!([]));
    let audit = admin_ok(
        &app,
        &admin,
        "{ auditEvents(first: 20) { edges { node { action targetId } } } }",
        json!({}),
    )
    .await
    .to_string();
    assert!(
        audit.contains(&format!(
            "{{\"action\":\"member.acknowledge_rename\",\"targetId\":{renamed_id}}}"
        )),
        "{audit}"
    );
    assert!(audit.contains("department.acknowledge_rename"), "{audit}");
    assert_eq!(
        audit.matches("acknowledge_rename").count(),
        2,
        "only those that were flagged: {audit}"
    );

    // An unchanged re-sync leaves them acknowledged; a new rename flags again.
    assert_eq!(sync(&app, &admin, &conn).await["status"], "SUCCEEDED");
    assert_eq!(
        flagged_members(&app, &admin, json!({ "nameChanged": true }))
            .await
            .1,
        0
    );
    edit(
        &sandbox,
        json!([{ "op": "rename_person", "userid": "000000", "name": "Renamed Twice" }]),
    )
    .await;
    assert_eq!(sync(&app, &admin, &conn).await["status"], "SUCCEEDED");
    let (again, _) = flagged_members(&app, &admin, json!({ "nameChanged": true })).await;
    assert_eq!(again.len(), 1);
    assert_eq!(again[0]["name"], "Renamed Twice");
}

/// The tables that have planner statistics on SQLite (`sqlite_stat1`), none before the first
/// analysis.
async fn analyzed_tables(app: &TestApp) -> Vec<String> {
    use sea_orm::{ConnectionTrait, DbBackend, Statement};
    app.state
        .db
        .query_all_raw(Statement::from_string(
            DbBackend::Sqlite,
            "SELECT DISTINCT tbl FROM sqlite_stat1 ORDER BY tbl",
        ))
        .await
        .map(|rows| {
            rows.iter()
                .filter_map(|row| row.try_get::<String>("", "tbl").ok())
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn a_sync_that_adds_people_has_sqlite_statistics_refreshed() {
    let (app, sandbox, admin) = setup(30, 2).await;
    if sea_orm::ConnectionTrait::get_database_backend(&app.state.db) != sea_orm::DbBackend::Sqlite {
        return; // PostgreSQL keeps its statistics with autovacuum.
    }
    // The server's own check at its start found nothing to analyze yet, and the next comes
    // within the minute: only the sync's additions can have asked for this one.
    assert!(
        !analyzed_tables(&app)
            .await
            .contains(&"directory_contact".to_string()),
        "nothing analyzed the mirror yet"
    );
    let conn = dingtalk_connection(&app, &admin, &sandbox).await;
    assert_eq!(sync(&app, &admin, &conn).await["status"], "SUCCEEDED");
    let analyzed = eventually(
        Duration::from_secs(10),
        || analyzed_tables(&app),
        |tables| tables.iter().any(|t| t == "directory_contact"),
    )
    .await;
    assert!(
        analyzed.iter().any(|t| t == "directory_contact"),
        "the mirror's statistics: {analyzed:?}"
    );
}

#[tokio::test]
async fn people_granted_one_by_one_are_synced_with_the_departments() {
    // 000000 and 000002 work in Team 0 (100), 000001 in Team 1 (101).
    let (app, sandbox, admin) = setup(3, 2).await;
    let conn = dingtalk_connection(&app, &admin, &sandbox).await;
    let ids = |contacts: Vec<Value>| -> Vec<(String, bool)> {
        let mut out: Vec<(String, bool)> = contacts
            .iter()
            .map(|c| {
                (
                    c["externalId"].as_str().unwrap_or_default().to_string(),
                    c["toBeDeleted"] == true,
                )
            })
            .collect();
        out.sort();
        out
    };

    // The range is Team 1 and one person of Team 0.
    edit(
        &sandbox,
        json!([{ "op": "scope", "departments": [101], "users": ["000000"] }]),
    )
    .await;
    let run = sync(&app, &admin, &conn).await;
    assert_eq!(run["status"], "SUCCEEDED", "{run}");
    assert_eq!(
        ids(contacts(&app, &admin, &conn, false).await),
        [("000000".to_string(), false), ("000001".to_string(), false)]
    );
    let alone = contacts(&app, &admin, &conn, false)
        .await
        .into_iter()
        .find(|c| c["externalId"] == "000000")
        .expect("the person granted alone");
    assert_eq!(alone["departmentExternalIds"], json!(["100"]), "{alone}");

    // A range of single people only: the check and the sync both work from them.
    edit(
        &sandbox,
        json!([{ "op": "scope", "departments": [], "users": ["000002"] }]),
    )
    .await;
    let checked = test_connection(&app, &admin, &conn).await;
    assert_eq!(checked["testConnection"]["ok"], true, "{checked}");
    let run = sync(&app, &admin, &conn).await;
    assert_eq!(run["status"], "SUCCEEDED", "{run}");
    assert_eq!(
        ids(contacts(&app, &admin, &conn, false).await),
        [
            ("000000".to_string(), true),
            ("000001".to_string(), true),
            ("000002".to_string(), false)
        ]
    );
}

#[tokio::test]
async fn dingtalk_callbacks_apply_events_once() {
    let (app, sandbox, admin) = setup(20, 2).await;
    let conn = dingtalk_connection(&app, &admin, &sandbox).await;
    assert_eq!(sync(&app, &admin, &conn).await["status"], "SUCCEEDED");
    let app_key = sandbox.state.company().app_key.clone();
    let crypto = CallbackCrypto::new(TOKEN, AES_KEY, &app_key).expect("crypto");

    // The URL check: an encrypted `success` comes back, signed.
    let (status, reply) = push_dingtalk(
        &app,
        &conn,
        &crypto,
        &json!({ "EventType": "check_url" }),
        false,
    )
    .await;
    assert_eq!(status, 200, "{reply}");
    let encrypted = reply["encrypt"].as_str().expect("encrypt");
    assert_eq!(crypto.decrypt(encrypted).expect("decrypts"), "success");
    crypto
        .verify(
            reply["msg_signature"].as_str().expect("signature"),
            reply["timeStamp"].as_str().expect("timeStamp"),
            reply["nonce"].as_str().expect("nonce"),
            encrypted,
        )
        .expect("the reply is signed");

    // A bad signature is refused and changes nothing.
    edit(
        &sandbox,
        json!([{ "op": "rename_person", "userid": "000003", "name": "Renamed By Event" }]),
    )
    .await;
    let event = json!({ "EventType": "user_modify_org", "userId": ["000003"], "eventId": "evt-1", "CorpId": sandbox.state.company().corp_id });
    let (status, _) = push_dingtalk(&app, &conn, &crypto, &event, true).await;
    assert_eq!(status, 403);
    assert!(event_runs(&app, &admin).await.is_empty());

    // The event is applied; a redelivery is acknowledged and not applied again.
    let (status, _) = push_dingtalk(&app, &conn, &crypto, &event, false).await;
    assert_eq!(status, 200);
    let (status, _) = push_dingtalk(&app, &conn, &crypto, &event, false).await;
    assert_eq!(status, 200);
    let runs = until(&app, &admin, |r| !r.is_empty()).await;
    assert_eq!(runs.len(), 1, "{runs:?}");
    assert_eq!(runs[0]["status"], "SUCCEEDED", "{runs:?}");
    let renamed = contacts(&app, &admin, &conn, true).await;
    assert!(
        renamed
            .iter()
            .any(|c| c["name"] == "Renamed By Event" && c["nameChanged"] == true),
        "{renamed:?}"
    );
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(event_runs(&app, &admin).await.len(), 1);

    // A person who left, and a new department.
    edit(
        &sandbox,
        json!([
            { "op": "remove_person", "userid": "000004" },
            { "op": "add_department", "id": 900, "parent_id": 100, "name": "Team 0 North" }
        ]),
    )
    .await;
    push_dingtalk(
        &app,
        &conn,
        &crypto,
        &json!({ "EventType": "user_leave_org", "userId": ["000004"], "eventId": "evt-2" }),
        false,
    )
    .await;
    push_dingtalk(
        &app,
        &conn,
        &crypto,
        &json!({ "EventType": "org_dept_create", "deptId": [900], "eventId": "evt-3" }),
        false,
    )
    .await;
    let runs = until(&app, &admin, |r| r.len() >= 3).await;
    let flagged = contacts(&app, &admin, &conn, true).await;
    assert!(
        flagged
            .iter()
            .any(|c| c["externalId"] == "000004" && c["toBeDeleted"] == true),
        "{flagged:?} {runs:?}"
    );
    let north = tree(&app, &admin)
        .await
        .into_iter()
        .find(|d| d["name"] == "Team 0 North")
        .expect("the new department is in the tree");
    assert_eq!(
        north["path"], "/Headquarters/Team 0/Team 0 North",
        "{north}"
    );
}

#[tokio::test]
async fn wecom_sync_and_callbacks() {
    let (app, sandbox, admin) = setup(30, 3).await;
    let wecom = sandbox.state.company().wecom.clone();
    let conn = connect(
        &app,
        &admin,
        "WECOM",
        json!({ "corpId": wecom.corp_id, "agentId": wecom.agent_id, "clientSecret": wecom.secret, "callbackToken": TOKEN, "callbackAesKey": AES_KEY }),
    )
    .await;
    let run = sync(&app, &admin, &conn).await;
    assert_eq!(run["status"], "SUCCEEDED", "{run}");
    assert_eq!(contacts(&app, &admin, &conn, false).await.len(), 30);
    assert_eq!(mirror_departments(&app, &admin, &conn).await.len(), 4);
    // WeCom names department leaders; once Team 1's people are members, its leader leads here.
    admit_department(&app, &admin, &conn, "Team 1").await;
    assert_eq!(
        leaders(&app, &admin).await,
        [(
            "Team 1".to_string(),
            contact_name(&app, &admin, &conn, "000001").await
        )]
        .into(),
    );

    // Tags are mirrored on request as the role group "WeCom tags": a tag's users hold it, and
    // so do the people of the departments it names.
    for (fields, field) in [
        (json!({ "teamsDepartments": "GROUPS" }), "teamsDepartments"),
        (json!({ "syncDepartments": ["sales"] }), "syncDepartments"),
    ] {
        let refused = app
            .gql(
                "mutation($c: ID!, $i: ConnectionFields!) { updateConnection(id: $c, input: $i) { id } }",
                json!({ "c": conn, "i": fields }),
                Some(&admin),
            )
            .await;
        assert_eq!(error_code(&refused), "VALIDATION", "{refused}");
        assert!(refused.to_string().contains(field), "{refused}");
    }
    admit_department(&app, &admin, &conn, "Team 0").await;
    let on = admin_ok(
        &app,
        &admin,
        "mutation($c: ID!) { updateConnection(id: $c, input: { syncTags: true }) { syncTags teamsDepartments } }",
        json!({ "c": conn }),
    )
    .await;
    assert_eq!(
        on["updateConnection"],
        json!({ "syncTags": true, "teamsDepartments": null })
    );
    let tagged = sync(&app, &admin, &conn).await;
    assert_eq!(tagged["status"], "SUCCEEDED", "{tagged}");
    let groups = admin_ok(
        &app,
        &admin,
        "{ roleGroups { name roles { name members { name } } } }",
        json!({}),
    )
    .await["roleGroups"]
        .clone();
    let tags = groups
        .as_array()
        .expect("role groups")
        .iter()
        .find(|g| g["name"] == "WeCom tags")
        .unwrap_or_else(|| panic!("a WeCom tags group in {groups}"));
    let holders = |tag: &str| -> usize {
        tags["roles"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|r| r["name"] == tag)
            .and_then(|r| r["members"].as_array())
            .map_or(usize::MAX, Vec::len)
    };
    // R&D Manager: 000001 (Team 1) and 000002 (Team 2, not a member); Team 0: its ten people.
    assert_eq!(holders("R&D Manager"), 1, "{tags}");
    assert_eq!(holders("Team 0 (whole department)"), 10, "{tags}");
    // Tags off: the next sync takes the tags group away.
    admin_ok(
        &app,
        &admin,
        "mutation($c: ID!) { updateConnection(id: $c, input: { syncTags: false }) { syncTags } }",
        json!({ "c": conn }),
    )
    .await;
    let untagged = sync(&app, &admin, &conn).await;
    assert_eq!(untagged["status"], "SUCCEEDED", "{untagged}");
    let groups = admin_ok(&app, &admin, "{ roleGroups { name } }", json!({})).await;
    assert!(!groups.to_string().contains("WeCom tags"), "{groups}");

    let crypto = CallbackCrypto::new(TOKEN, AES_KEY, &wecom.corp_id).expect("crypto");
    // URL verification answers the bare decrypted echostr.
    let echostr = crypto.encrypt("1616140317555161061");
    let (ts, nonce) = ("1409659589", "263014780");
    let sig = crypto.signature(ts, nonce, &echostr);
    let client = reqwest::Client::new();
    let url = format!("{}/callbacks/wecom/{conn}", app.address);
    let verified = client
        .get(&url)
        .query(&[
            ("msg_signature", sig.as_str()),
            ("timestamp", ts),
            ("nonce", nonce),
            ("echostr", echostr.as_str()),
        ])
        .send()
        .await
        .expect("verify");
    assert_eq!(verified.status(), 200);
    assert_eq!(verified.text().await.expect("body"), "1616140317555161061");
    let bad = client
        .get(&url)
        .query(&[
            ("msg_signature", "0000"),
            ("timestamp", ts),
            ("nonce", nonce),
            ("echostr", echostr.as_str()),
        ])
        .send()
        .await
        .expect("verify");
    assert_eq!(bad.status(), 403);

    // A member deleted in WeCom is flagged through the event.
    edit(
        &sandbox,
        json!([{ "op": "remove_person", "userid": "000007" }]),
    )
    .await;
    let xml = format!(
        "<xml><ToUserName><![CDATA[{}]]></ToUserName><FromUserName><![CDATA[sys]]></FromUserName><CreateTime>1700000000</CreateTime><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[change_contact]]></Event><ChangeType>delete_user</ChangeType><UserID><![CDATA[000007]]></UserID></xml>",
        wecom.corp_id
    );
    let encrypt = crypto.encrypt(&xml);
    let sig = crypto.signature(ts, nonce, &encrypt);
    let body = format!(
        "<xml><ToUserName><![CDATA[{}]]></ToUserName><Encrypt><![CDATA[{encrypt}]]></Encrypt><AgentID><![CDATA[]]></AgentID></xml>",
        wecom.corp_id
    );
    let posted = client
        .post(&url)
        .query(&[
            ("msg_signature", sig.as_str()),
            ("timestamp", ts),
            ("nonce", nonce),
        ])
        .body(body)
        .send()
        .await
        .expect("event");
    assert_eq!(posted.status(), 200);
    until(&app, &admin, |r| !r.is_empty()).await;
    assert!(
        contacts(&app, &admin, &conn, true)
            .await
            .iter()
            .any(|c| c["externalId"] == "000007" && c["toBeDeleted"] == true)
    );
}

#[tokio::test]
async fn teams_sync_with_graph_delta_and_notifications() {
    let (app, sandbox, admin) = setup(450, 3).await;
    let conn = teams_connection(&app, &admin, &sandbox, "client-state-secret", json!({})).await;
    let run = sync(&app, &admin, &conn).await;
    assert_eq!(run["status"], "SUCCEEDED", "{run}");
    // 450 users over three pages of the delta round; departments from the users' attribute.
    assert_eq!(contacts(&app, &admin, &conn, false).await.len(), 450);
    assert_eq!(mirror_departments(&app, &admin, &conn).await.len(), 3);
    // A department's leader is the manager its people report to (000001 for Team 1; Entra
    // knows people by object id).
    admit_department(&app, &admin, &conn, "Team 1").await;
    let team1 = [(
        "Team 1".to_string(),
        contact_name(&app, &admin, &conn, "00000000-0000-4000-8000-000000000001").await,
    )]
    .into();
    assert_eq!(leaders(&app, &admin).await, team1);

    let url = format!("{}/callbacks/microsoft/{conn}", app.address);
    let client = reqwest::Client::new();
    let handshake = client
        .post(format!(
            "{url}?validationToken=Validation%3A%20Testing%20client%20application%20reachability"
        ))
        .send()
        .await
        .expect("handshake");
    assert_eq!(handshake.status(), 200);
    assert_eq!(
        handshake.text().await.expect("body"),
        "Validation: Testing client application reachability"
    );
    let wrong = client
        .post(&url)
        .json(&json!({ "value": [{ "clientState": "guess", "changeType": "updated" }] }))
        .send()
        .await
        .expect("notification");
    assert_eq!(wrong.status(), 403);

    edit(
        &sandbox,
        json!([
            { "op": "rename_person", "userid": "000010", "name": "Graph Renamed" },
            { "op": "remove_person", "userid": "000011" }
        ]),
    )
    .await;
    let note = client
        .post(&url)
        .json(&json!({ "value": [{ "clientState": "client-state-secret", "changeType": "updated", "resource": "Users/x" }] }))
        .send()
        .await
        .expect("notification");
    assert_eq!(note.status(), 202);
    let runs = until(&app, &admin, |r| !r.is_empty()).await;
    assert_eq!(runs[0]["status"], "SUCCEEDED", "{runs:?}");
    let flagged = contacts(&app, &admin, &conn, true).await;
    assert_eq!(flagged.len(), 2, "{flagged:?}");
    assert!(flagged.iter().any(|c| c["name"] == "Graph Renamed"));
    // The delta round named Team 1 again (its renamed person); its leader stays.
    assert_eq!(leaders(&app, &admin).await, team1);
}

#[tokio::test]
async fn sync_progress_streams_until_the_run_ends() {
    use futures_util::SinkExt;
    use tokio_tungstenite::tungstenite::Message;
    let (app, sandbox, admin) = setup(300, 10).await;
    let conn = dingtalk_connection(&app, &admin, &sandbox).await;
    // Slow provider calls keep the run going long enough to watch it.
    faults(&sandbox, json!({ "latency_ms": 15 })).await;
    let run = admin_ok(
        &app,
        &admin,
        "mutation($c: ID!) { startSync(connectionId: $c) { id } }",
        json!({ "c": conn }),
    )
    .await["startSync"]["id"]
        .clone();
    let (mut ws, _) = crate::graphql_http::open_ws(&app).await;
    let send = |v: Value| Message::Text(v.to_string().into());
    ws.send(send(json!({ "type": "connection_init", "payload": { "Authorization": format!("Bearer {admin}") } })))
        .await
        .expect("init");
    assert_eq!(
        crate::graphql_http::next_json(&mut ws).await["type"],
        "connection_ack"
    );
    ws.send(send(json!({
        "id": "p", "type": "subscribe",
        "payload": { "query": "subscription($r: ID!) { syncProgress(runId: $r) { phase contactsRead providerCalls added error } }", "variables": { "r": run } }
    })))
    .await
    .expect("subscribe");
    let mut phases = Vec::new();
    let mut last = Value::Null;
    loop {
        let msg = crate::graphql_http::next_json(&mut ws).await;
        if msg["type"] == "complete" {
            break;
        }
        assert_eq!(msg["type"], "next", "{msg}");
        last = msg["payload"]["data"]["syncProgress"].clone();
        phases.push(last["phase"].as_str().unwrap_or_default().to_string());
    }
    assert_eq!(last["phase"], "SUCCEEDED", "{phases:?}");
    assert!(last["added"].as_i64().unwrap_or_default() > 300, "{last}");
    assert!(
        phases.iter().any(|p| p == "READING" || p == "APPLYING"),
        "progress was reported before the end: {phases:?}"
    );
    // A finished run answers its outcome once.
    ws.send(send(json!({
        "id": "q", "type": "subscribe",
        "payload": { "query": "subscription($r: ID!) { syncProgress(runId: $r) { phase } }", "variables": { "r": run } }
    })))
    .await
    .expect("subscribe");
    let once = crate::graphql_http::next_json(&mut ws).await;
    assert_eq!(
        once["payload"]["data"]["syncProgress"]["phase"], "SUCCEEDED",
        "{once}"
    );
    assert_eq!(
        crate::graphql_http::next_json(&mut ws).await["type"],
        "complete"
    );
}

#[tokio::test]
async fn runs_left_by_a_stopped_server_are_marked_interrupted() {
    use sea_orm::{ActiveValue::Set, EntityTrait};
    let (app, sandbox, admin) = setup(10, 1).await;
    let conn = dingtalk_connection(&app, &admin, &sandbox).await;
    let connection_id: i64 = conn.parse().expect("id");
    // A run a killed process left behind: status running, no live lease.
    let left = entity::sync_run::Entity::insert(entity::sync_run::ActiveModel {
        organization_id: Set(1),
        connection_id: Set(connection_id),
        trigger: Set(entity::enums::SyncTrigger::Schedule),
        actor_member_id: Set(None),
        status: Set(entity::enums::SyncStatus::Running),
        started_at: Set(chrono::Utc::now()),
        finished_at: Set(None),
        added: Set(0),
        updated: Set(0),
        flagged: Set(0),
        removed: Set(0),
        errors: Set(json!([])),
        ..Default::default()
    })
    .exec_with_returning(&app.state.db)
    .await
    .expect("insert");
    // While another instance holds the connection's lease, its run is left alone.
    assert!(
        roster::sync::lease::acquire(&app.state.db, &format!("sync:{connection_id}"), "other")
            .await
            .expect("lease")
    );
    assert_eq!(
        roster::sync::runner::recover_interrupted(&app.state.db)
            .await
            .expect("recover"),
        0
    );
    let busy = app
        .gql(
            "mutation($c: ID!) { startSync(connectionId: $c) { id } }",
            json!({ "c": conn }),
            Some(&admin),
        )
        .await;
    assert_eq!(error_code(&busy), "CONFLICT", "{busy}");
    roster::sync::lease::release(&app.state.db, &format!("sync:{connection_id}"), "other")
        .await
        .expect("release");
    assert_eq!(
        roster::sync::runner::recover_interrupted(&app.state.db)
            .await
            .expect("recover"),
        1
    );
    let run = wait(&app, &admin, &left.id.to_string()).await;
    assert_eq!(run["status"], "INTERRUPTED");
    assert!(
        run["errors"][0]
            .as_str()
            .unwrap_or_default()
            .contains("nothing was applied")
    );
}

#[tokio::test]
async fn scheduled_syncs_run_without_anyone_asking() {
    let sandbox = Sandbox::start(Company::generate("dingsched", 6, 1), "127.0.0.1:0")
        .expect("sandbox starts");
    let base = sandbox.base_url();
    let app = TestApp::spawn_with(|s| {
        TestApp::use_sandbox(s, &base);
        s.sync.interval_secs = 1;
    })
    .await;
    let admin = app.admin_token().await;
    let conn = dingtalk_connection(&app, &admin, &sandbox).await;
    let scheduled = || async {
        admin_ok(
            &app,
            &admin,
            &format!("{{ syncRuns {{ {RUN} }} }}"),
            json!({}),
        )
        .await["syncRuns"]
            .as_array()
            .expect("runs")
            .iter()
            .filter(|r| r["trigger"] == "SCHEDULE")
            .cloned()
            .collect::<Vec<_>>()
    };
    let runs = eventually(Duration::from_secs(10), &scheduled, |runs| {
        runs.iter().filter(|r| r["status"] == "SUCCEEDED").count() >= 2
    })
    .await;
    let done: Vec<&Value> = runs.iter().filter(|r| r["status"] == "SUCCEEDED").collect();
    assert!(done.len() >= 2, "two scheduled runs within 10 s: {runs:?}");
    // The first brought the chart in; the next found nothing to change.
    assert!(
        done.last().expect("first")["added"].as_i64().unwrap_or(0) > 0,
        "{runs:?}"
    );
    assert_eq!(done[0]["added"], 0, "{runs:?}");
    assert_eq!(done[0]["updated"], 0, "{runs:?}");
    // A disabled connection is left alone.
    admin_ok(
        &app,
        &admin,
        "mutation($c: ID!) { updateConnection(id: $c, input: { enabled: false }) { enabled } }",
        json!({ "c": conn }),
    )
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let before = scheduled().await.len();
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(scheduled().await.len(), before);
}

#[tokio::test]
async fn teams_groups_as_departments() {
    // Headquarters holds Team 0–4 as nested groups; Team 5 is nested in Team 0, Team 6 in Team 1.
    let (app, sandbox, admin) = setup(60, 7).await;
    let group = Company::group_id;
    let object = |i: usize| format!("00000000-0000-4000-8000-{i:012}");
    let conn = teams_connection(
        &app,
        &admin,
        &sandbox,
        "groups-secret",
        json!({ "teamsDepartments": "GROUPS" }),
    )
    .await;
    let run = sync(&app, &admin, &conn).await;
    assert_eq!(run["status"], "SUCCEEDED", "{run}");
    let paths: std::collections::BTreeSet<String> = tree(&app, &admin)
        .await
        .iter()
        .filter_map(|d| d["path"].as_str().map(str::to_string))
        .collect();
    for path in [
        "/Headquarters",
        "/Headquarters/Team 4",
        "/Headquarters/Team 0/Team 5",
        "/Headquarters/Team 1/Team 6",
    ] {
        assert!(paths.contains(path), "{path} in {paths:?}");
    }
    let departments_of = |all: &[Value], i: usize| -> Value {
        all.iter()
            .find(|c| c["externalId"] == object(i))
            .map(|c| c["departmentExternalIds"].clone())
            .unwrap_or(Value::Null)
    };
    let all = contacts(&app, &admin, &conn, false).await;
    assert_eq!(all.len(), 60);
    // Group membership, not the `department` attribute, places people.
    assert_eq!(departments_of(&all, 5), json!([group(105)]));
    // A group's leader is the manager its people report to: Team 5's first member.
    admit_department(&app, &admin, &conn, "Team 5").await;
    assert_eq!(
        leaders(&app, &admin).await,
        [(
            "Team 5".to_string(),
            contact_name(&app, &admin, &conn, &object(5)).await
        )]
        .into()
    );
    // A re-sync with no change writes nothing.
    let again = sync(&app, &admin, &conn).await;
    assert_eq!(
        (again["added"].clone(), again["updated"].clone()),
        (json!(0), json!(0)),
        "{again}"
    );

    // Changes arrive through the groups delta: a move, a renamed group, a new nested group with a
    // new person, a person deleted.
    edit(
        &sandbox,
        json!([
            { "op": "move_person", "userid": "000003", "dept_ids": [101] },
            { "op": "rename_department", "id": 102, "name": "Team Two" },
            { "op": "add_department", "id": 200, "parent_id": 100, "name": "Team 0 East" },
            { "op": "add_person", "userid": "east1", "name": "East One", "dept_ids": [200] },
            { "op": "remove_person", "userid": "000008" }
        ]),
    )
    .await;
    let note = reqwest::Client::new()
        .post(format!("{}/callbacks/microsoft/{conn}", app.address))
        .json(&json!({ "value": [{ "clientState": "groups-secret", "changeType": "updated", "resource": "Groups/x" }] }))
        .send()
        .await
        .expect("notification");
    assert_eq!(note.status(), 202);
    let runs = until(&app, &admin, |r| !r.is_empty()).await;
    assert_eq!(runs[0]["status"], "SUCCEEDED", "{runs:?}");
    let departments = tree(&app, &admin).await;
    let find = |name: &str| departments.iter().find(|d| d["name"] == name).cloned();
    assert_eq!(
        find("Team 0 East").map(|d| d["path"].clone()),
        Some(json!("/Headquarters/Team 0/Team 0 East"))
    );
    assert_eq!(
        find("Team Two").map(|d| d["nameChanged"].clone()),
        Some(json!(true))
    );
    let all = contacts(&app, &admin, &conn, false).await;
    assert_eq!(departments_of(&all, 3), json!([group(101)]));
    let east = all
        .iter()
        .find(|c| c["name"] == "East One")
        .expect("the new person");
    assert_eq!(east["departmentExternalIds"], json!([group(200)]));
    assert!(
        contacts(&app, &admin, &conn, true)
            .await
            .iter()
            .any(|c| c["externalId"] == object(8) && c["toBeDeleted"] == true)
    );
    // Team 5's leader was kept through the delta.
    assert!(leaders(&app, &admin).await.contains_key("Team 5"));

    // Limited to Team 0's group: its sub-tree stays, the rest is flagged gone.
    admin_ok(
        &app,
        &admin,
        "mutation($c: ID!, $g: [String!]) { updateConnection(id: $c, input: { syncDepartments: $g }) { syncDepartments teamsDepartments } }",
        json!({ "c": conn, "g": [group(100)] }),
    )
    .await;
    let limited = sync(&app, &admin, &conn).await;
    assert_eq!(limited["status"], "SUCCEEDED", "{limited}");
    let kept: Vec<String> = tree(&app, &admin)
        .await
        .iter()
        .filter(|d| d["toBeDeleted"] == false)
        .filter_map(|d| d["path"].as_str().map(str::to_string))
        .collect();
    assert_eq!(
        kept,
        vec![
            "/Team 0".to_string(),
            "/Team 0/Team 0 East".to_string(),
            "/Team 0/Team 5".to_string()
        ],
        "{kept:?}"
    );
    // Team 0 holds people 0, 7, 14, …; Team 5 holds 5, 12, …; and East One.
    let in_chart = contacts(&app, &admin, &conn, false)
        .await
        .into_iter()
        .filter(|c| c["toBeDeleted"] == false)
        .count();
    let expected = (0..60)
        .filter(|i| i % 7 == 0 || i % 7 == 5)
        .filter(|i| *i != 3 && *i != 8)
        .count()
        + 1;
    assert_eq!(in_chart, expected);
    // A group that is not the tenant's fails the run with what to correct.
    admin_ok(
        &app,
        &admin,
        "mutation($c: ID!) { updateConnection(id: $c, input: { syncDepartments: [\"no-such-group\"] }) { id } }",
        json!({ "c": conn }),
    )
    .await;
    let wrong = sync(&app, &admin, &conn).await;
    assert_eq!(wrong["status"], "FAILED", "{wrong}");
    assert!(
        wrong["errors"].to_string().contains("syncDepartments"),
        "{wrong}"
    );
}

#[tokio::test]
async fn graph_subscriptions_are_kept_and_notify() {
    let sandbox = Sandbox::start(Company::generate("dingsubs", 30, 3), "127.0.0.1:0")
        .expect("sandbox starts");
    let base = sandbox.base_url();
    // Graph must reach Roster's public address to validate a subscription: it is the real one.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let app = TestApp::spawn_with(|s| {
        TestApp::use_sandbox(s, &base);
        s.listen = format!("127.0.0.1:{port}").parse().expect("address");
        s.public_url = Some(format!("http://127.0.0.1:{port}"));
        s.sync.graph_interval_secs = 1;
    })
    .await;
    let admin = app.admin_token().await;
    let conn = teams_connection(&app, &admin, &sandbox, "subs-secret", json!({})).await;
    let run = sync(&app, &admin, &conn).await;
    assert_eq!(run["status"], "SUCCEEDED", "{run}");
    let held = || {
        sandbox
            .state
            .inner
            .lock()
            .map(|i| {
                i.subscriptions
                    .iter()
                    .map(|s| (s.id.clone(), s.resource.clone(), s.expires.clone()))
                    .collect::<Vec<_>>()
            })
            .unwrap_or_default()
    };
    let ten_s = Duration::from_secs(10);
    let first = eventually(ten_s, || async { held() }, |h| !h.is_empty()).await;
    assert_eq!(first.len(), 1, "one /users subscription: {first:?}");
    assert_eq!(first[0].1, "/users");
    // The provider holds the subscription a moment before Roster has recorded it.
    let shown = eventually(
        ten_s,
        || {
            admin_ok(
                &app,
                &admin,
                "{ connections { notificationSubscriptions { resource expiresAt } } }",
                json!({}),
            )
        },
        |shown| !shown["connections"][0]["notificationSubscriptions"][0].is_null(),
    )
    .await;
    assert_eq!(
        shown["connections"][0]["notificationSubscriptions"][0]["resource"], "/users",
        "{shown}"
    );

    // A change in the directory reaches Roster as a notification; the delta query applies it.
    edit(
        &sandbox,
        json!([{ "op": "rename_person", "userid": "000004", "name": "Notified Name" }]),
    )
    .await;
    let runs = until(&app, &admin, |r| !r.is_empty()).await;
    assert_eq!(
        runs.len(),
        1,
        "one run, rounds without changes record none: {runs:?}"
    );
    assert!(
        contacts(&app, &admin, &conn, true)
            .await
            .iter()
            .any(|c| c["name"] == "Notified Name" && c["nameChanged"] == true)
    );

    // Graph removed the subscription and says so: Roster subscribes again.
    sandbox
        .state
        .inner
        .lock()
        .expect("sandbox state")
        .subscriptions
        .clear();
    let lifecycle = reqwest::Client::new()
        .post(format!("{}/callbacks/microsoft/{conn}", app.address))
        .json(&json!({ "value": [{ "subscriptionId": first[0].0, "clientState": "subs-secret", "lifecycleEvent": "subscriptionRemoved" }] }))
        .send()
        .await
        .expect("lifecycle notification");
    assert_eq!(lifecycle.status(), 202);
    let again = eventually(ten_s, || async { held() }, |h| !h.is_empty()).await;
    assert_eq!(again.len(), 1, "{again:?}");
    assert_ne!(again[0].0, first[0].0, "a new subscription");

    // One close to lapsing is renewed: the same subscription, a later expiry.
    let id: i64 = conn.parse().expect("connection id");
    use sea_orm::EntityTrait;
    // Once Roster has stored the new subscription.
    let stored_settings = || async {
        entity::connection::Entity::find_by_id(id)
            .one(&app.state.db)
            .await
            .expect("query")
            .expect("connection")
            .settings
    };
    let mut settings = eventually(ten_s, &stored_settings, |s| {
        s["graphSubscriptions"][0]["id"] == again[0].0.as_str()
    })
    .await;
    settings["graphSubscriptions"][0]["expiresAt"] =
        json!((chrono::Utc::now() + chrono::Duration::hours(1)).to_rfc3339());
    entity::connection::Entity::update(entity::connection::ActiveModel {
        id: sea_orm::ActiveValue::Set(id),
        settings: sea_orm::ActiveValue::Set(settings),
        ..Default::default()
    })
    .exec(&app.state.db)
    .await
    .expect("update");
    // Renewed: Roster stores an expiry weeks ahead again, and Graph still has the same
    // subscription. (Graph's expiry string may equal the first one when the renewal falls in the
    // same second as the creation, so Roster's stored expiry is what shows the renewal.)
    let expiry = |stored: &Value| {
        stored["graphSubscriptions"][0]["expiresAt"]
            .as_str()
            .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
    };
    let weeks_ahead = |stored: &Value| {
        expiry(stored).is_some_and(|t| t > chrono::Utc::now() + chrono::Duration::days(20))
    };
    let stored = eventually(ten_s, &stored_settings, weeks_ahead).await;
    assert!(weeks_ahead(&stored), "renewed for weeks: {stored}");
    let stored = &stored["graphSubscriptions"];
    assert_eq!(
        stored[0]["id"],
        again[0].0.as_str(),
        "renewed, not replaced"
    );
    let renewed = held();
    assert_eq!(renewed.len(), 1, "{renewed:?}");
    assert_eq!(
        renewed[0].0, again[0].0,
        "Graph holds the same subscription"
    );
}
