//! Departments, positions, access roles, workspaces and agents: their rules, and the bounded
//! number of SQL statements behind a members page.

use crate::common::{
    TestApp,
    actors::{PASSWORD, admin_ok, create_department, create_member, role_ids},
    error_code, fixtures,
};
use serde_json::{Value, json};
use std::sync::atomic::Ordering;

/// Runs a query three times; answers its data and the fewest statements a run took. The server's
/// background tasks (push delivery, sync scheduling, planner statistics) may run a statement in
/// one run's window.
async fn fewest_statements(app: &TestApp, token: &str, query: &str) -> (Value, u64) {
    let mut fewest = u64::MAX;
    let mut body = Value::Null;
    for _ in 0..3 {
        let before = app.state.statements.load(Ordering::SeqCst);
        body = app.gql(query, json!({}), Some(token)).await;
        assert!(body["errors"].is_null(), "{body}");
        fewest = fewest.min(app.state.statements.load(Ordering::SeqCst) - before);
    }
    (body["data"].clone(), fewest)
}

/// The data of `query` before and after `grow` adds to what it lists, checking that the fewest
/// statements of three runs did not grow with the list: at most two more, for a loader batch cut
/// in two on a starved machine. `what` names the lists for the failure message. Answers the two
/// data and the statements of the larger one.
async fn statements_do_not_grow(
    app: &TestApp,
    token: &str,
    query: &str,
    what: &str,
    grow: impl std::future::Future<Output = ()>,
) -> (Value, Value, u64) {
    let (small, few) = fewest_statements(app, token, query).await;
    grow.await;
    let (large, many) = fewest_statements(app, token, query).await;
    assert!(
        many <= few + 2,
        "{what}: {few} statements, then {many}: one per object somewhere"
    );
    (small, large, many)
}

/// The id of a built-in workspace role, such as `workspace_viewer`.
async fn workspace_role(app: &TestApp, token: &str, key: &str) -> Value {
    admin_ok(
        app,
        token,
        "{ roles(scope: WORKSPACE) { id builtinKey } }",
        json!({}),
    )
    .await["roles"]
        .as_array()
        .expect("roles")
        .iter()
        .find(|r| r["builtinKey"] == key)
        .expect("a built-in workspace role")["id"]
        .clone()
}

async fn path(app: &TestApp, token: &str, id: &Value) -> String {
    admin_ok(
        app,
        token,
        "query($id: ID!) { department(id: $id) { path } }",
        json!({ "id": id }),
    )
    .await["department"]["path"]
        .as_str()
        .expect("path")
        .to_string()
}

#[tokio::test]
async fn department_tree_rules() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let sales = create_department(&app, &admin, "Sales", None).await;
    let north = create_department(&app, &admin, "North", Some(&sales)).await;
    let city = create_department(&app, &admin, "City", Some(&north)).await;
    let support = create_department(&app, &admin, "Support", None).await;
    assert_eq!(path(&app, &admin, &city).await, "/Sales/North/City");

    let body = app
        .gql(
            "mutation { createDepartment(name: \"Sales\") { id } }",
            json!({}),
            Some(&admin),
        )
        .await;
    assert_eq!(error_code(&body), "CONFLICT", "sibling names are unique");
    let body = app
        .gql(
            "mutation { createDepartment(name: \"A/B\") { id } }",
            json!({}),
            Some(&admin),
        )
        .await;
    assert_eq!(error_code(&body), "VALIDATION");

    // Moves: into its own sub-tree is a cycle.
    let mv = "mutation($id: ID!, $p: ID) { moveDepartment(id: $id, parentId: $p) { id } }";
    let body = app
        .gql(mv, json!({ "id": sales, "p": city }), Some(&admin))
        .await;
    assert_eq!(error_code(&body), "VALIDATION");
    let body = app
        .gql(mv, json!({ "id": sales, "p": sales }), Some(&admin))
        .await;
    assert_eq!(error_code(&body), "VALIDATION");
    admin_ok(&app, &admin, mv, json!({ "id": north, "p": support })).await;
    assert_eq!(
        path(&app, &admin, &city).await,
        "/Support/North/City",
        "the sub-tree moves along"
    );
    admin_ok(&app, &admin, mv, json!({ "id": north, "p": null })).await;
    assert_eq!(path(&app, &admin, &city).await, "/North/City");

    // Members, sub-tree filter, delete refused while populated.
    let m = create_member(&app, &admin, "mia", "ANALYST", None).await;
    admin_ok(
        &app,
        &admin,
        "mutation($d: ID!, $m: [ID!]!) { addDepartmentMembers(id: $d, memberIds: $m) { id } }",
        json!({ "d": city, "m": [m] }),
    )
    .await;
    let body = app
        .gql(
            "mutation($id: ID!) { deleteDepartment(id: $id) }",
            json!({ "id": north }),
            Some(&admin),
        )
        .await;
    assert_eq!(error_code(&body), "CONFLICT");
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .is_some_and(|msg| msg.contains("transferTo")),
        "{body}"
    );

    // Merge: members and children move, the source disappears.
    admin_ok(
        &app,
        &admin,
        "mutation($s: ID!, $t: ID!) { mergeDepartments(sourceId: $s, targetId: $t) { id } }",
        json!({ "s": north, "t": sales }),
    )
    .await;
    assert_eq!(path(&app, &admin, &city).await, "/Sales/City");
    assert_eq!(
        error_code(
            &app.gql(
                "query($id: ID!) { department(id: $id) { id } }",
                json!({ "id": north }),
                Some(&admin)
            )
            .await
        ),
        "NOT_FOUND"
    );
    let body = admin_ok(
        &app,
        &admin,
        "query($m: ID!) { member(id: $m) { departments { path } } }",
        json!({ "m": m }),
    )
    .await;
    assert_eq!(
        body["member"]["departments"],
        json!([{ "path": "/Sales/City" }])
    );

    // Delete with transfer.
    admin_ok(
        &app,
        &admin,
        "mutation($id: ID!, $t: ID) { deleteDepartment(id: $id, transferTo: $t) }",
        json!({ "id": city, "t": support }),
    )
    .await;
    let body = admin_ok(
        &app,
        &admin,
        "query($m: ID!) { member(id: $m) { departments { path } } }",
        json!({ "m": m }),
    )
    .await;
    assert_eq!(
        body["member"]["departments"],
        json!([{ "path": "/Support" }])
    );

    // Leader, order, browsing.
    admin_ok(&app, &admin, "mutation($id: ID!, $l: ID) { updateDepartment(id: $id, leaderId: $l, sortOrder: -1, name: \"Help Desk\") { id } }", json!({ "id": support, "l": m })).await;
    let tree = admin_ok(
        &app,
        &admin,
        "{ departments { name sortOrder leader { account } memberCount children { name } } }",
        json!({}),
    )
    .await;
    assert_eq!(
        tree["departments"][0],
        json!({ "name": "Help Desk", "sortOrder": -1, "leader": { "account": "mia" }, "memberCount": 1, "children": [] })
    );
    assert_eq!(tree["departments"][1]["name"], "Sales");

    let found = admin_ok(
        &app,
        &admin,
        "{ searchDirectory(keyword: \"help\") { departments { name path } members { account } } }",
        json!({}),
    )
    .await;
    assert_eq!(
        found["searchDirectory"]["departments"],
        json!([{ "name": "Help Desk", "path": "/Help Desk" }])
    );
    let found = admin_ok(
        &app,
        &admin,
        "{ searchDirectory(keyword: \"MIA\") { members { account departments { path } } } }",
        json!({}),
    )
    .await;
    assert_eq!(
        found["searchDirectory"]["members"],
        json!([{ "account": "mia", "departments": [{ "path": "/Help Desk" }] }])
    );
}

#[tokio::test]
async fn positions_roles_and_workspaces() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let m = create_member(&app, &admin, "pat", "DEVELOPER", None).await;
    let v = create_member(&app, &admin, "val", "VIEWER", None).await;

    // Role groups and positions.
    let group = admin_ok(
        &app,
        &admin,
        "mutation { createRoleGroup(name: \"Management\") { id } }",
        json!({}),
    )
    .await["createRoleGroup"]["id"]
        .clone();
    let role = admin_ok(
        &app,
        &admin,
        "mutation($g: ID!) { createDirectoryRole(roleGroupId: $g, name: \"R&D Manager\") { id } }",
        json!({ "g": group }),
    )
    .await["createDirectoryRole"]["id"]
        .clone();
    admin_ok(
        &app,
        &admin,
        "mutation($r: ID!, $m: [ID!]!) { addDirectoryRoleMembers(id: $r, memberIds: $m) { id } }",
        json!({ "r": role, "m": [m, v] }),
    )
    .await;
    admin_ok(&app, &admin, "mutation($r: ID!, $m: [ID!]!) { removeDirectoryRoleMembers(id: $r, memberIds: $m) { id } }", json!({ "r": role, "m": [v] })).await;
    admin_ok(
        &app,
        &admin,
        "mutation($r: ID!) { renameDirectoryRole(id: $r, name: \"CTO\") { id } }",
        json!({ "r": role }),
    )
    .await;
    let groups = admin_ok(
        &app,
        &admin,
        "{ roleGroups { name roles { name members { account } } } }",
        json!({}),
    )
    .await;
    assert_eq!(
        groups["roleGroups"],
        json!([{ "name": "Management", "roles": [{ "name": "CTO", "members": [{ "account": "pat" }] }] }])
    );
    let body = app
        .gql(
            "mutation($g: ID!) { createDirectoryRole(roleGroupId: $g, name: \"CTO\") { id } }",
            json!({ "g": group }),
            Some(&admin),
        )
        .await;
    assert_eq!(error_code(&body), "CONFLICT");
    admin_ok(
        &app,
        &admin,
        "mutation($g: ID!) { deleteRoleGroup(id: $g) }",
        json!({ "g": group }),
    )
    .await;
    assert_eq!(
        admin_ok(&app, &admin, "{ roleGroups { id } }", json!({})).await["roleGroups"],
        json!([])
    );

    // Custom roles: scope checks, deletion refused while held unless replaced.
    let body = app.gql("mutation { createRole(scope: WORKSPACE, name: \"Bad\", permissions: [MANAGE_MEMBERS]) { id } }", json!({}), Some(&admin)).await;
    assert_eq!(error_code(&body), "VALIDATION");
    let reader = admin_ok(&app, &admin, "mutation { createRole(scope: WORKSPACE, name: \"Reader\", permissions: [DASHBOARD_VIEW, PORTAL_VIEW]) { id permissions } }", json!({})).await;
    let reader_id = reader["createRole"]["id"].clone();
    let ws = admin_ok(
        &app,
        &admin,
        "mutation { createWorkspace(name: \"Sales BI\") { id } }",
        json!({}),
    )
    .await["createWorkspace"]["id"]
        .clone();
    let add = "mutation($w: ID!, $m: [ID!]!, $r: ID!) { addWorkspaceMembers(id: $w, memberIds: $m, roleId: $r) { members { member { account } role { name } } } }";
    admin_ok(
        &app,
        &admin,
        add,
        json!({ "w": ws, "m": [v], "r": reader_id }),
    )
    .await;
    let roles = role_ids(&app, &admin).await;
    let body = app
        .gql(
            add,
            json!({ "w": ws, "m": [v], "r": roles["workspace_developer"] }),
            Some(&admin),
        )
        .await;
    assert_eq!(
        error_code(&body),
        "VALIDATION",
        "a viewer cannot hold a role beyond viewing"
    );
    let body = app
        .gql(
            "mutation($r: ID!) { deleteRole(id: $r) }",
            json!({ "r": reader_id }),
            Some(&admin),
        )
        .await;
    assert_eq!(error_code(&body), "CONFLICT");
    let body = app
        .gql(
            "mutation($r: ID!, $x: ID!) { deleteRole(id: $r, replacementRoleId: $x) }",
            json!({ "r": reader_id, "x": roles["standard_user"] }),
            Some(&admin),
        )
        .await;
    assert_eq!(
        error_code(&body),
        "VALIDATION",
        "the replacement must have the same scope"
    );
    admin_ok(
        &app,
        &admin,
        "mutation($r: ID!, $x: ID!) { deleteRole(id: $r, replacementRoleId: $x) }",
        json!({ "r": reader_id, "x": roles["workspace_viewer"] }),
    )
    .await;
    let members = admin_ok(&app, &admin, "query($w: ID!) { workspace(id: $w) { members { member { account } role { builtinKey } } } }", json!({ "w": ws })).await;
    assert!(
        members["workspace"]["members"]
            .as_array()
            .expect("list")
            .iter()
            .any(|m| m["member"]["account"] == "val"
                && m["role"]["builtinKey"] == "workspace_viewer")
    );
    let body = app
        .gql(
            "mutation($r: ID!) { updateRole(id: $r, name: \"Mine\") { id } }",
            json!({ "r": roles["org_admin"] }),
            Some(&admin),
        )
        .await;
    assert_eq!(
        error_code(&body),
        "VALIDATION",
        "built-in roles cannot be changed"
    );

    // Effective permissions per workspace in `me`.
    admin_ok(
        &app,
        &admin,
        add,
        json!({ "w": ws, "m": [m], "r": roles["workspace_analyst"] }),
    )
    .await;
    let pat = app.login("pat", PASSWORD).await["accessToken"]
        .as_str()
        .expect("t")
        .to_string();
    let me = admin_ok(
        &app,
        &pat,
        "{ me { permissions workspaces { workspace { name } role { builtinKey } permissions } } }",
        json!({}),
    )
    .await;
    let spaces = me["me"]["workspaces"].as_array().expect("workspaces");
    let sales_bi = spaces
        .iter()
        .find(|w| w["workspace"]["name"] == "Sales BI")
        .expect("member of Sales BI");
    assert_eq!(sales_bi["role"]["builtinKey"], "workspace_analyst");
    let perms: Vec<&str> = sales_bi["permissions"]
        .as_array()
        .expect("perms")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(
        perms.contains(&"DASHBOARD_EDIT")
            && perms.contains(&"DATASET_USE")
            && !perms.contains(&"DATA_SOURCE_EDIT"),
        "{perms:?}"
    );
    assert_eq!(me["me"]["permissions"], json!(["VIEW_MEMBERS"]));

    // An analyst in a workspace cannot manage it; its administrator can.
    let body = app
        .gql(
            "mutation($w: ID!) { renameWorkspace(id: $w, name: \"Mine\") { id } }",
            json!({ "w": ws }),
            Some(&pat),
        )
        .await;
    assert_eq!(error_code(&body), "FORBIDDEN");
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .is_some_and(|msg| msg.contains("Sales BI"))
    );
    let body = app
        .gql(
            "mutation($w: ID!) { deleteWorkspace(id: $w) }",
            json!({ "w": ws }),
            Some(&admin),
        )
        .await;
    assert_eq!(body["data"]["deleteWorkspace"], true);
}

#[tokio::test]
async fn agent_seats_respect_quota_and_user_type() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let agent = admin_ok(
        &app,
        &admin,
        "mutation { createAgent(name: \"Copilot\", seatQuota: 3) { id } }",
        json!({}),
    )
    .await["createAgent"]["id"]
        .clone();
    let viewer = create_member(&app, &admin, "viv", "VIEWER", None).await;
    let assign =
        "mutation($a: ID!, $m: [ID!]!) { assignAgentSeats(id: $a, memberIds: $m) { seatsUsed } }";
    let body = app
        .gql(assign, json!({ "a": agent, "m": [viewer] }), Some(&admin))
        .await;
    assert_eq!(error_code(&body), "VALIDATION");
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("viewers cannot hold agent seats"))
    );

    let mut ids = Vec::new();
    for i in 0..8 {
        ids.push(create_member(&app, &admin, &format!("dev{i}"), "DEVELOPER", None).await);
    }
    // Eight concurrent single-seat requests for three seats.
    let results = futures_util::future::join_all(
        ids.iter()
            .map(|id| app.gql(assign, json!({ "a": agent, "m": [id] }), Some(&admin))),
    )
    .await;
    let granted = results.iter().filter(|b| b["errors"].is_null()).count();
    let refused: Vec<&str> = results
        .iter()
        .filter(|b| !b["errors"].is_null())
        .map(error_code)
        .collect();
    let used = admin_ok(
        &app,
        &admin,
        "{ agents { seatsUsed seatQuota } }",
        json!({}),
    )
    .await["agents"][0]["seatsUsed"]
        .as_u64()
        .expect("used");
    assert_eq!(used, 3, "the quota holds under concurrent requests");
    assert_eq!(granted, 3, "{refused:?}");
    assert!(refused.iter().all(|c| *c == "CONFLICT"), "{refused:?}");

    let body = app
        .gql(
            "mutation($a: ID!) { setAgentQuota(id: $a, seatQuota: 2) { id } }",
            json!({ "a": agent }),
            Some(&admin),
        )
        .await;
    assert_eq!(error_code(&body), "VALIDATION");
    let holder = create_member(&app, &admin, "holder", "DEVELOPER", None).await;
    admin_ok(
        &app,
        &admin,
        "mutation($a: ID!) { setAgentQuota(id: $a, seatQuota: 4) { id } }",
        json!({ "a": agent }),
    )
    .await;
    admin_ok(&app, &admin, assign, json!({ "a": agent, "m": [holder] })).await;
    let body = app
        .gql(
            "mutation($m: ID!) { updateMember(id: $m, input: { userType: VIEWER }) { id } }",
            json!({ "m": holder }),
            Some(&admin),
        )
        .await;
    assert_eq!(
        error_code(&body),
        "VALIDATION",
        "a seat holder cannot become a viewer"
    );
    admin_ok(
        &app,
        &admin,
        "mutation($a: ID!, $m: [ID!]!) { unassignAgentSeats(id: $a, memberIds: $m) { seatsUsed } }",
        json!({ "a": agent, "m": [holder] }),
    )
    .await;
    admin_ok(
        &app,
        &admin,
        "mutation($m: ID!) { updateMember(id: $m, input: { userType: VIEWER }) { id } }",
        json!({ "m": holder }),
    )
    .await;
}

#[tokio::test]
async fn a_members_page_costs_a_bounded_number_of_statements() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let d1 = create_department(&app, &admin, "One", None).await;
    let d2 = create_department(&app, &admin, "Two", Some(&d1)).await;
    let ws = admin_ok(
        &app,
        &admin,
        "mutation { createWorkspace(name: \"W\") { id } }",
        json!({}),
    )
    .await["createWorkspace"]["id"]
        .clone();
    let viewer_role = workspace_role(&app, &admin, "workspace_viewer").await;
    let query = "{ members(first: 50) { totalCount edges { cursor node { id nickname role { name } departments { path } tags { name values } workspaces { name role { name } } } } pageInfo { hasNextPage } } }";
    let count = |n: usize| {
        let app = &app;
        let admin = admin.clone();
        async move {
            let (data, statements) = fewest_statements(app, &admin, query).await;
            assert_eq!(data["members"]["edges"].as_array().map(Vec::len), Some(n));
            statements
        }
    };
    // Members with departments, tags and a workspace each, so that the few rows and the many
    // need the same loaders and only the number of rows differs.
    let add = |prefix: &'static str, n: usize| {
        let (app, admin) = (&app, admin.clone());
        let (d1, d2, ws, viewer_role) = (d1.clone(), d2.clone(), ws.clone(), viewer_role.clone());
        async move {
            let mut ids = Vec::new();
            for i in 0..n {
                ids.push(
                    create_member(app, &admin, &format!("{prefix}{i}"), "ANALYST", None).await,
                );
            }
            for id in &ids {
                admin_ok(app, &admin, "mutation($m: ID!, $d: [ID!]!) { updateMember(id: $m, input: { departmentIds: $d, tags: [{ name: \"t\", values: \"a,b\" }] }) { id } }", json!({ "m": id, "d": [d1, d2] })).await;
            }
            admin_ok(app, &admin, "mutation($w: ID!, $m: [ID!]!, $r: ID!) { addWorkspaceMembers(id: $w, memberIds: $m, roleId: $r) { id } }", json!({ "w": ws, "m": ids, "r": viewer_role })).await;
        }
    };
    add("few", 5).await;
    let few = count(6).await;
    add("many", 55).await;
    let many = count(50).await;
    assert!(
        many <= 16,
        "50 members with departments, roles, tags and workspaces took {many} statements"
    );
    // A DataLoader batch is cut after a 1 ms window; on a starved CI machine one field's keys can
    // land in two batches, even in the best of three runs. An N+1 would add dozens of statements,
    // so a slack of two still catches it.
    assert!(
        many <= few + 2,
        "the statement count does not grow with the page ({few} for 6 rows, {many} for 50)"
    );
}

#[tokio::test]
async fn a_page_that_holds_every_match_is_counted_without_a_statement() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    for i in 0..3 {
        create_member(&app, &admin, &format!("counted{i}"), "ANALYST", None).await;
    }
    let run = |args: &'static str, fields: &'static str| {
        let (app, admin) = (&app, admin.clone());
        async move {
            let query = format!(
                "{{ members({args}, filter: {{ keyword: \"counted\" }}) {{ {fields} nodes {{ id }} pageInfo {{ hasNextPage endCursor }} }} }}"
            );
            let (data, fewest) = fewest_statements(app, &admin, &query).await;
            (data["members"].clone(), fewest)
        }
    };
    // All three fit on the page: the count is the page's length.
    let (_, plain) = run("first: 10", "").await;
    let (whole, counted) = run("first: 10", "totalCount").await;
    assert_eq!(whole["totalCount"], 3, "{whole}");
    assert_eq!(
        counted, plain,
        "counting a page that holds every match ran a statement"
    );
    let (whole, counted) = run("last: 10", "totalCount").await;
    assert_eq!(whole["totalCount"], 3, "{whole}");
    assert_eq!(counted, plain, "the same, read backwards");
    // Matches beyond the page are counted in the database.
    let (_, plain) = run("first: 2", "").await;
    let (first, counted) = run("first: 2", "totalCount").await;
    assert_eq!(first["totalCount"], 3, "{first}");
    assert_eq!(first["pageInfo"]["hasNextPage"], true, "{first}");
    assert!(
        counted > plain,
        "a partial page must be counted: {counted} statements"
    );
    // And so are matches before it, though the page itself is the last.
    let after = first["pageInfo"]["endCursor"].as_str().expect("cursor");
    let query = format!(
        "{{ members(first: 2, after: \"{after}\", filter: {{ keyword: \"counted\" }}) {{ totalCount nodes {{ id }} pageInfo {{ hasNextPage }} }} }}"
    );
    let body = app.gql(&query, json!({}), Some(&admin)).await;
    assert_eq!(body["data"]["members"]["totalCount"], 3, "{body}");
    assert_eq!(
        body["data"]["members"]["nodes"].as_array().map(Vec::len),
        Some(1)
    );
    assert_eq!(body["data"]["members"]["pageInfo"]["hasNextPage"], false);
}

#[tokio::test]
async fn a_department_tree_costs_the_same_statements_however_wide() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let query = "{ departments { id name path memberCount children { id name path memberCount children { id name path memberCount children { id } } } } }";
    // `wide` top-level departments, each with `wide` sub-departments, each with `wide` more.
    let grow = |prefix: &'static str, wide: usize| {
        let (app, admin) = (&app, admin.clone());
        async move {
            let mut leaves = Vec::new();
            for i in 0..wide {
                let top = create_department(app, &admin, &format!("{prefix}{i}"), None).await;
                for j in 0..wide {
                    let mid =
                        create_department(app, &admin, &format!("{prefix}{i}m{j}"), Some(&top))
                            .await;
                    for k in 0..wide {
                        let name = format!("{prefix}{i}m{j}g{k}");
                        leaves.push(create_department(app, &admin, &name, Some(&mid)).await);
                    }
                }
            }
            leaves
        }
    };
    let leaves = grow("a", 2).await;
    let placed = create_member(&app, &admin, "placed", "ANALYST", None).await;
    admin_ok(
        &app,
        &admin,
        "mutation($d: ID!, $m: [ID!]!) { addDepartmentMembers(id: $d, memberIds: $m) { id } }",
        json!({ "d": leaves[5], "m": [placed] }),
    )
    .await;
    let (small, large, many) =
        statements_do_not_grow(&app, &admin, query, "14 departments, then 53", async {
            grow("b", 3).await;
        })
        .await;
    assert!(many <= 12, "a three-level tree took {many} statements");

    // The same answers as one department at a time would give.
    for data in [&small, &large] {
        let a1 = data["departments"]
            .as_array()
            .expect("departments")
            .iter()
            .find(|d| d["name"] == "a1")
            .expect("a1");
        assert_eq!(a1["path"], "/a1");
        let names: Vec<&Value> = a1["children"]
            .as_array()
            .expect("children")
            .iter()
            .map(|c| &c["name"])
            .collect();
        assert_eq!(names, [&json!("a1m0"), &json!("a1m1")]);
        let leaf = &a1["children"][0]["children"][1];
        assert_eq!(leaf["path"], "/a1/a1m0/a1m0g1");
        assert_eq!(leaf["memberCount"], 1, "{leaf}");
        assert_eq!(a1["memberCount"], 0);
        assert_eq!(leaf["children"], json!([]));
    }
    assert_eq!(
        large["departments"].as_array().map(Vec::len),
        Some(5),
        "{large}"
    );
}

#[tokio::test]
async fn workspaces_with_their_members_cost_the_same_statements_however_many() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let analyst = workspace_role(&app, &admin, "workspace_analyst").await;
    let query = "{ workspaces { name memberCount owner { account } members { member { account } role { name } } } }";
    // `n` workspaces with `n` members each.
    let grow = |prefix: &'static str, n: usize| {
        let (app, admin, analyst) = (&app, admin.clone(), analyst.clone());
        async move {
            for w in 0..n {
                let mut ids = Vec::new();
                for m in 0..n {
                    let account = format!("{prefix}{w}m{m}");
                    ids.push(create_member(app, &admin, &account, "ANALYST", None).await);
                }
                let id = admin_ok(
                    app,
                    &admin,
                    "mutation($n: String!) { createWorkspace(name: $n) { id } }",
                    json!({ "n": format!("{prefix}{w}") }),
                )
                .await["createWorkspace"]["id"]
                    .clone();
                admin_ok(
                    app,
                    &admin,
                    "mutation($w: ID!, $m: [ID!]!, $r: ID!) { addWorkspaceMembers(id: $w, memberIds: $m, roleId: $r) { id } }",
                    json!({ "w": id, "m": ids, "r": analyst }),
                )
                .await;
            }
        }
    };
    grow("a", 2).await;
    let (small, large, _) = statements_do_not_grow(
        &app,
        &admin,
        query,
        "2 workspaces of 2 members, then 5 more of 5",
        grow("b", 5),
    )
    .await;
    for data in [&small, &large] {
        let a1 = data["workspaces"]
            .as_array()
            .expect("workspaces")
            .iter()
            .find(|w| w["name"] == "a1")
            .expect("a1")
            .clone();
        assert_eq!(a1["owner"]["account"], "admin", "{a1}");
        let members: Vec<(&Value, &Value)> = a1["members"]
            .as_array()
            .expect("members")
            .iter()
            .map(|m| (&m["member"]["account"], &m["role"]["name"]))
            .collect();
        assert_eq!(a1["memberCount"], members.len(), "{a1}");
        for account in ["a1m0", "a1m1"] {
            assert!(
                members.iter().any(|(a, _)| *a == account),
                "{account} missing from {a1}"
            );
        }
        assert!(members.iter().all(|(_, role)| role.is_string()), "{a1}");
    }
}

#[tokio::test]
async fn roles_count_their_holders_in_this_organization_only() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    // Another organization whose administrator holds the same built-in roles and owns a
    // workspace (its owner holds the built-in workspace administrator role there).
    let other = fixtures::organization(&app.state, "Elsewhere").await;
    fixtures::account(
        &app.state,
        other,
        "elsewhere_admin",
        PASSWORD,
        roster::authz::roles::BuiltinRole::OrgAdmin,
    )
    .await;
    let elsewhere = app.login("elsewhere_admin", PASSWORD).await["accessToken"]
        .as_str()
        .expect("token")
        .to_string();
    admin_ok(
        &app,
        &elsewhere,
        "mutation { createWorkspace(name: \"Theirs\") { id } }",
        json!({}),
    )
    .await;
    create_member(&app, &admin, "ours", "ANALYST", None).await;
    let holders = |token: &str| {
        let (app, token) = (&app, token.to_string());
        async move {
            let data = admin_ok(
                app,
                &token,
                "{ roles { builtinKey holderCount permissions } }",
                json!({}),
            )
            .await;
            data["roles"]
                .as_array()
                .expect("roles")
                .iter()
                .map(|r| {
                    (
                        r["builtinKey"].as_str().unwrap_or("custom").to_string(),
                        (r["holderCount"].clone(), r["permissions"].clone()),
                    )
                })
                .collect::<std::collections::HashMap<_, _>>()
        }
    };
    let ours = holders(&admin).await;
    let theirs = holders(&elsewhere).await;
    assert_eq!(ours["org_admin"].0, 1, "only our administrator: {ours:?}");
    assert_eq!(
        theirs["org_admin"].0, 1,
        "only their administrator: {theirs:?}"
    );
    assert_eq!(ours["standard_user"].0, 1, "the member we added: {ours:?}");
    assert_eq!(theirs["standard_user"].0, 0, "{theirs:?}");
    assert_eq!(
        ours["workspace_admin"].0, 0,
        "their workspace is theirs: {ours:?}"
    );
    assert_eq!(theirs["workspace_admin"].0, 1, "{theirs:?}");
    // Each role lists its own permissions.
    assert_ne!(ours["org_admin"].1, ours["standard_user"].1);
    assert!(
        ours["org_admin"]
            .1
            .as_array()
            .is_some_and(|p| p.contains(&json!("MANAGE_MEMBERS"))),
        "{ours:?}"
    );
}

#[tokio::test]
async fn positions_and_roles_cost_the_same_statements_however_many() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let chart = "{ roleGroups { name roles { name members { account } } } }";
    let roles = "{ roles { name holderCount permissions } }";
    // `n` role groups of `n` positions, each held by `n` members; and `n` custom roles.
    let grow = |prefix: &'static str, n: usize| {
        let (app, admin) = (&app, admin.clone());
        async move {
            let mut holders = Vec::new();
            for m in 0..n {
                let account = format!("{prefix}h{m}");
                holders.push(create_member(app, &admin, &account, "ANALYST", None).await);
            }
            for g in 0..n {
                let group = admin_ok(
                    app,
                    &admin,
                    "mutation($n: String!) { createRoleGroup(name: $n) { id } }",
                    json!({ "n": format!("{prefix}{g}") }),
                )
                .await["createRoleGroup"]["id"]
                    .clone();
                for p in 0..n {
                    let position = admin_ok(
                        app,
                        &admin,
                        "mutation($g: ID!, $n: String!) { createDirectoryRole(roleGroupId: $g, name: $n) { id } }",
                        json!({ "g": group, "n": format!("{prefix}{g}p{p}") }),
                    )
                    .await["createDirectoryRole"]["id"]
                        .clone();
                    admin_ok(
                        app,
                        &admin,
                        "mutation($p: ID!, $m: [ID!]!) { addDirectoryRoleMembers(id: $p, memberIds: $m) { id } }",
                        json!({ "p": position, "m": holders }),
                    )
                    .await;
                }
                admin_ok(
                    app,
                    &admin,
                    "mutation($n: String!) { createRole(scope: ORGANIZATION, name: $n, permissions: [VIEW_MEMBERS]) { id } }",
                    json!({ "n": format!("{prefix}role{g}") }),
                )
                .await;
            }
        }
    };
    grow("a", 2).await;
    let (small_chart, few_chart) = fewest_statements(&app, &admin, chart).await;
    let (_, few_roles) = fewest_statements(&app, &admin, roles).await;
    grow("b", 4).await;
    let (large_chart, many_chart) = fewest_statements(&app, &admin, chart).await;
    let (large_roles, many_roles) = fewest_statements(&app, &admin, roles).await;
    assert!(
        many_chart <= few_chart + 2,
        "role groups: {few_chart} statements for 2 × 2 positions, {many_chart} with 4 × 4 more"
    );
    assert!(
        many_roles <= few_roles + 2,
        "roles: {few_roles} statements with 2 custom roles, {many_roles} with 4 more"
    );
    for data in [&small_chart, &large_chart] {
        let a1 = data["roleGroups"]
            .as_array()
            .expect("role groups")
            .iter()
            .find(|g| g["name"] == "a1")
            .expect("a1");
        assert_eq!(a1["roles"][1]["name"], "a1p1", "{a1}");
        assert_eq!(
            a1["roles"][1]["members"],
            json!([{ "account": "ah0" }, { "account": "ah1" }]),
            "{a1}"
        );
    }
    let b3 = large_roles["roles"]
        .as_array()
        .expect("roles")
        .iter()
        .find(|r| r["name"] == "brole3")
        .expect("brole3");
    assert_eq!(b3["holderCount"], 0, "{b3}");
    assert_eq!(b3["permissions"], json!(["VIEW_MEMBERS"]), "{b3}");
}

#[tokio::test]
async fn me_costs_the_same_statements_however_many_workspaces() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let query = "{ me { workspaces { workspace { name } role { builtinKey } permissions } } }";
    let create = |from: usize, to: usize| {
        let (app, admin) = (&app, admin.clone());
        async move {
            for i in from..to {
                admin_ok(
                    app,
                    &admin,
                    "mutation($n: String!) { createWorkspace(name: $n) { id } }",
                    json!({ "n": format!("w{i}") }),
                )
                .await;
            }
        }
    };
    create(0, 2).await;
    let (small, large, _) = statements_do_not_grow(
        &app,
        &admin,
        query,
        "me in 2 workspaces, then in 8",
        create(2, 8),
    )
    .await;
    for (data, n) in [(&small, 2), (&large, 8)] {
        let mine = data["me"]["workspaces"].as_array().expect("workspaces");
        let created: Vec<&Value> = mine
            .iter()
            .filter(|w| {
                w["workspace"]["name"]
                    .as_str()
                    .is_some_and(|n| n.starts_with('w'))
            })
            .collect();
        assert_eq!(created.len(), n, "{data}");
        for w in created {
            assert_eq!(
                w["role"]["builtinKey"], "workspace_admin",
                "the creator owns it: {w}"
            );
            assert!(
                w["permissions"]
                    .as_array()
                    .is_some_and(|p| p.contains(&json!("WORKSPACE_MANAGE"))),
                "{w}"
            );
        }
    }
}

#[tokio::test]
async fn agents_count_their_seats_in_the_same_statements_however_many() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let query = "{ agents { name seatQuota seatsUsed } }";
    let mut holders = Vec::new();
    for i in 0..4 {
        holders.push(create_member(&app, &admin, &format!("seat{i}"), "DEVELOPER", None).await);
    }
    // Agent `a<i>` gets `i % 4` seats, so the counts differ from agent to agent.
    let create = |from: usize, to: usize| {
        let (app, admin, holders) = (&app, admin.clone(), holders.clone());
        async move {
            for i in from..to {
                let agent = admin_ok(
                    app,
                    &admin,
                    "mutation($n: String!) { createAgent(name: $n, seatQuota: 5) { id } }",
                    json!({ "n": format!("a{i}") }),
                )
                .await["createAgent"]["id"]
                    .clone();
                admin_ok(
                    app,
                    &admin,
                    "mutation($a: ID!, $m: [ID!]!) { assignAgentSeats(id: $a, memberIds: $m) { seatsUsed } }",
                    json!({ "a": agent, "m": holders[..i % 4] }),
                )
                .await;
            }
        }
    };
    create(0, 2).await;
    let (small, large, _) =
        statements_do_not_grow(&app, &admin, query, "2 agents, then 8", create(2, 8)).await;
    for (data, n) in [(&small, 2), (&large, 8)] {
        let agents = data["agents"].as_array().expect("agents");
        assert_eq!(agents.len(), n, "{data}");
        for agent in agents {
            let i: usize = agent["name"].as_str().expect("name")[1..]
                .parse()
                .expect("a<i>");
            assert_eq!(agent["seatsUsed"], i % 4, "{agent}");
            assert_eq!(agent["seatQuota"], 5, "{agent}");
        }
    }
}
