//! Member management rules: list filters, sorting and pages; edits; disable, remove, resign;
//! seat limit, self-registration and switching organizations.

use crate::common::{
    TestApp,
    actors::{
        PASSWORD, admin_ok, create_department, create_member, create_organization, role_ids,
        switch_to,
    },
    error_code,
    fixtures::{
        FIXTURE_NOW, Fixture, INSERT_MEMBERS, INSERT_USERS, admin_org_and_role, exec,
        insert_members, member_values, user_values,
    },
};
use serde_json::{Value, json};

const UPDATE: &str = "mutation($id: ID!, $i: UpdateMemberInput!) { updateMember(id: $id, input: $i) { id nickname userType role { builtinKey } tags { name values } departments { path } } }";

fn accounts(page: &Value) -> Vec<String> {
    page["edges"]
        .as_array()
        .expect("edges")
        .iter()
        .map(|e| e["node"]["account"].as_str().expect("account").to_string())
        .collect()
}

/// The accounts of every page of `members` read forward in pages of `size` (`vars` holds the
/// filter and order; the query takes `$first` and `$after`).
async fn read_forward(
    app: &TestApp,
    token: &str,
    query: &str,
    vars: Value,
    size: i32,
) -> Vec<String> {
    let mut seen = Vec::new();
    let mut after = Value::Null;
    loop {
        let mut page_vars = vars.clone();
        page_vars["first"] = json!(size);
        page_vars["after"] = after;
        let body = app.gql(query, page_vars, Some(token)).await;
        let page = &body["data"]["members"];
        seen.extend(accounts(page));
        if page["pageInfo"]["hasNextPage"] != true {
            return seen;
        }
        after = page["pageInfo"]["endCursor"].clone();
    }
}

/// The same read backward from the end (`$last` and `$before`), in the order the pages show.
async fn read_backward(
    app: &TestApp,
    token: &str,
    query: &str,
    vars: Value,
    size: i32,
) -> Vec<String> {
    let mut seen: Vec<String> = Vec::new();
    let mut before = Value::Null;
    loop {
        let mut page_vars = vars.clone();
        page_vars["last"] = json!(size);
        page_vars["before"] = before;
        let body = app.gql(query, page_vars, Some(token)).await;
        let page = &body["data"]["members"];
        let mut chunk = accounts(page);
        chunk.extend(seen);
        seen = chunk;
        if page["pageInfo"]["hasPreviousPage"] != true {
            return seen;
        }
        before = page["pageInfo"]["startCursor"].clone();
    }
}

#[tokio::test]
async fn nicknames_sort_regardless_of_letter_case() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    // Accounts in another order than their nicknames, so that the page shows which one decided.
    for (account, nickname) in [
        ("m1", "carol"),
        ("m2", "Bob"),
        ("m3", "eve"),
        ("m4", "Alice"),
        ("m5", "Dave"),
    ] {
        admin_ok(
            &app,
            &admin,
            "mutation($i: CreateMemberInput!) { createMember(input: $i) { member { id } } }",
            json!({ "i": { "account": account, "nickname": nickname, "password": PASSWORD, "passwordChangeRequired": false } }),
        )
        .await;
    }
    let query = "query($o: MemberOrder, $first: Int, $after: String, $last: Int, $before: String) {
        members(orderBy: $o, first: $first, after: $after, last: $last, before: $before) {
          edges { node { account } } pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } }";
    // admin, Alice, Bob, carol, Dave, eve: not `A…`, `B…`, `D…` before `a…`, `c…`, `e…`.
    let ascending = ["admin", "m4", "m2", "m1", "m5", "m3"];
    for direction in ["ASC", "DESC"] {
        let mut expected: Vec<String> = ascending.iter().map(|a| a.to_string()).collect();
        if direction == "DESC" {
            expected.reverse();
        }
        let vars = json!({ "o": { "field": "NICKNAME", "direction": direction } });
        assert_eq!(
            read_forward(&app, &admin, query, vars.clone(), 2).await,
            expected,
            "forward {direction}"
        );
        assert_eq!(
            read_backward(&app, &admin, query, vars, 2).await,
            expected,
            "backward {direction}"
        );
    }
}

#[tokio::test]
async fn filters_match_what_they_say() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let roles = role_ids(&app, &admin).await;
    let sales = admin_ok(
        &app,
        &admin,
        "mutation { createDepartment(name: \"Sales\") { id } }",
        json!({}),
    )
    .await["createDepartment"]["id"]
        .clone();
    let north = admin_ok(
        &app,
        &admin,
        "mutation($p: ID) { createDepartment(name: \"North\", parentId: $p) { id } }",
        json!({ "p": sales }),
    )
    .await["createDepartment"]["id"]
        .clone();
    let zhang = create_member(&app, &admin, "zhang", "DEVELOPER", None).await;
    admin_ok(&app, &admin, UPDATE, json!({ "id": zhang, "i": { "name": "张三丰", "email": "Zhang@Example.com", "departmentIds": [north], "tags": [{ "name": "tag_region", "values": "East,West" }] } })).await;
    let li = create_member(
        &app,
        &admin,
        "li",
        "ANALYST",
        Some(&roles["permission_admin"]),
    )
    .await;
    admin_ok(&app, &admin, UPDATE, json!({ "id": li, "i": { "phone": "+86 138 0013 8000", "departmentIds": [sales], "tags": [{ "name": "region", "values": "$ALL_MEMBERS$" }] } })).await;
    let wang = create_member(&app, &admin, "wang", "VIEWER", None).await;
    admin_ok(
        &app,
        &admin,
        "mutation($ids: [ID!]!) { disableMembers(ids: $ids) { ok } }",
        json!({ "ids": [wang] }),
    )
    .await;

    let list = |filter: Value| {
        let app = &app;
        let admin = admin.clone();
        async move {
            let body = app.gql("query($f: MemberFilter) { members(filter: $f, first: 50) { totalCount edges { node { account } } } }", json!({ "f": filter }), Some(&admin)).await;
            assert!(body["errors"].is_null(), "{body}");
            let page = &body["data"]["members"];
            let mut found = accounts(page);
            assert_eq!(page["totalCount"].as_u64(), Some(found.len() as u64));
            found.sort();
            found
        }
    };
    assert_eq!(
        list(json!({ "keyword": "ZHANG" })).await,
        ["zhang"],
        "case-insensitive over account and email"
    );
    assert_eq!(
        list(json!({ "keyword": "三丰" })).await,
        ["zhang"],
        "a two-character Chinese name matches"
    );
    assert_eq!(list(json!({ "keyword": "0013" })).await, ["li"], "phone");
    assert_eq!(
        list(json!({ "keyword": "@e" })).await,
        ["zhang"],
        "a keyword too short for the trigram index ignores case too"
    );
    // The search index follows changes of searchable text, and only those.
    let edit_li = |input: Value| admin_ok(&app, &admin, UPDATE, json!({ "id": li, "i": input }));
    edit_li(json!({ "phone": "+86 139 0000 7777" })).await;
    let found = |keyword: &str| list(json!({ "keyword": keyword }));
    assert_eq!(found("0013").await, Vec::<String>::new(), "old phone");
    assert_eq!(found("7777").await, ["li"], "new phone");
    edit_li(json!({ "userType": "DEVELOPER" })).await;
    assert_eq!(found("7777").await, ["li"], "other changes keep it found");
    edit_li(json!({ "userType": "ANALYST" })).await;
    assert_eq!(
        list(json!({ "keyword": "%" })).await,
        Vec::<String>::new(),
        "wildcards are literal"
    );
    assert_eq!(list(json!({ "userTypes": ["VIEWER"] })).await, ["wang"]);
    assert_eq!(
        list(json!({ "userTypes": ["DEVELOPER", "ANALYST"] })).await,
        ["admin", "li", "zhang"]
    );
    assert_eq!(list(json!({ "statuses": ["DISABLED"] })).await, ["wang"]);
    assert_eq!(list(json!({ "accountTypes": ["LOCAL"] })).await.len(), 4);
    assert_eq!(
        list(json!({ "accountTypes": ["DINGTALK"] })).await,
        Vec::<String>::new()
    );
    assert_eq!(list(json!({ "bound": true })).await, Vec::<String>::new());
    assert_eq!(list(json!({ "bound": false })).await.len(), 4);
    assert_eq!(
        list(json!({ "departmentId": sales })).await,
        ["li", "zhang"],
        "sub-departments included by default"
    );
    assert_eq!(
        list(json!({ "departmentId": sales, "includeSubDepartments": false })).await,
        ["li"]
    );
    assert_eq!(
        list(json!({ "roleId": roles["permission_admin"] })).await,
        ["li"]
    );
    assert_eq!(
        list(json!({ "tagName": "tag_region" })).await,
        ["li", "zhang"]
    );
    assert_eq!(
        list(json!({ "tagName": "region", "tagValue": "East" })).await,
        ["li", "zhang"],
        "$ALL_MEMBERS$ matches any value"
    );
    assert_eq!(
        list(json!({ "tagName": "region", "tagValue": "South" })).await,
        ["li"]
    );
    let ws = admin_ok(
        &app,
        &admin,
        "mutation { createWorkspace(name: \"BI\") { id } }",
        json!({}),
    )
    .await["createWorkspace"]["id"]
        .clone();
    assert_eq!(
        list(json!({ "workspaceId": ws })).await,
        ["admin"],
        "the creator is a member of their workspace"
    );
}

#[tokio::test]
async fn every_sort_pages_stably_both_ways() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    for (i, (account, user_type)) in [
        ("b_dev", "DEVELOPER"),
        ("a_view", "VIEWER"),
        ("c_an", "ANALYST"),
        ("e_dev", "DEVELOPER"),
        ("d_view", "VIEWER"),
    ]
    .iter()
    .enumerate()
    {
        let id = create_member(&app, &admin, account, user_type, None).await;
        if i % 2 == 0 {
            app.login(account, PASSWORD).await;
        }
        let _ = id;
    }
    let query = "query($o: MemberOrder, $first: Int, $after: String, $last: Int, $before: String) {
        members(orderBy: $o, first: $first, after: $after, last: $last, before: $before) {
          edges { node { account } } pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } }";
    for field in [
        "NICKNAME",
        "ACCOUNT",
        "JOINED_AT",
        "LAST_LOGIN_AT",
        "USER_TYPE",
        "ORGANIZATION_ROLE",
        "STATUS",
    ] {
        for direction in ["ASC", "DESC"] {
            let order = json!({ "field": field, "direction": direction });
            let all = app
                .gql(query, json!({ "o": order, "first": 50 }), Some(&admin))
                .await;
            let expected = accounts(&all["data"]["members"]);
            assert_eq!(expected.len(), 6, "{field} {direction}: {all}");
            // Forward and backward in pages of two.
            let vars = json!({ "o": order });
            let seen = read_forward(&app, &admin, query, vars.clone(), 2).await;
            assert_eq!(seen, expected, "forward {field} {direction}");
            let back = read_backward(&app, &admin, query, vars, 2).await;
            assert_eq!(back, expected, "backward {field} {direction}");
        }
    }
    let body = app
        .gql(
            query,
            json!({ "o": { "field": "LAST_LOGIN_AT", "direction": "DESC" }, "first": 50 }),
            Some(&admin),
        )
        .await;
    let order = accounts(&body["data"]["members"]);
    assert_eq!(order[0], "d_view", "the most recent login first: {order:?}");
    let mut never: Vec<&str> = order.iter().skip(4).map(String::as_str).collect();
    never.sort_unstable();
    assert_eq!(
        never,
        ["a_view", "e_dev"],
        "never-logged-in members come last: {order:?}"
    );
    let body = app.gql(query, json!({ "o": { "field": "ACCOUNT" }, "first": 2, "after": body["data"]["members"]["pageInfo"]["endCursor"] }), Some(&admin)).await;
    assert_eq!(
        error_code(&body),
        "VALIDATION",
        "a cursor of another ordering is refused"
    );
}

#[tokio::test]
async fn edit_rules() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let roles = role_ids(&app, &admin).await;
    let a = create_member(&app, &admin, "amy", "ANALYST", None).await;
    create_member(&app, &admin, "bob", "VIEWER", None).await;

    let body = app
        .gql(
            UPDATE,
            json!({ "id": a, "i": { "nickname": "amy smith" } }),
            Some(&admin),
        )
        .await;
    assert_eq!(error_code(&body), "VALIDATION");
    assert_eq!(body["errors"][0]["extensions"]["field"], "nickname");
    let body = app
        .gql(
            UPDATE,
            json!({ "id": a, "i": { "nickname": "x".repeat(51) } }),
            Some(&admin),
        )
        .await;
    assert_eq!(error_code(&body), "VALIDATION");
    let body = app
        .gql(
            UPDATE,
            json!({ "id": a, "i": { "nickname": "BOB" } }),
            Some(&admin),
        )
        .await;
    assert_eq!(
        error_code(&body),
        "CONFLICT",
        "nicknames are unique in the organization: {body}"
    );
    let body = app
        .gql(
            UPDATE,
            json!({ "id": a, "i": { "nickname": "Amy_(QA)[1]/x\\y|z" } }),
            Some(&admin),
        )
        .await;
    assert!(body["errors"].is_null(), "{body}");
    let body = app
        .gql(
            UPDATE,
            json!({ "id": a, "i": { "email": "not-an-email" } }),
            Some(&admin),
        )
        .await;
    assert_eq!(body["errors"][0]["extensions"]["field"], "email");
    let body = app
        .gql(
            UPDATE,
            json!({ "id": a, "i": { "phone": "call me" } }),
            Some(&admin),
        )
        .await;
    assert_eq!(body["errors"][0]["extensions"]["field"], "phone");

    // Administrator roles need developer or analyst.
    let b = create_member(&app, &admin, "vic", "VIEWER", None).await;
    let body = app
        .gql(
            UPDATE,
            json!({ "id": b, "i": { "roleId": roles["permission_admin"] } }),
            Some(&admin),
        )
        .await;
    assert_eq!(error_code(&body), "VALIDATION");
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("developers or analysts")),
        "{body}"
    );
    let body = app
        .gql(
            UPDATE,
            json!({ "id": a, "i": { "roleId": roles["org_admin"] } }),
            Some(&admin),
        )
        .await;
    assert_eq!(
        body["data"]["updateMember"]["role"]["builtinKey"], "org_admin",
        "{body}"
    );
    let body = app
        .gql(
            UPDATE,
            json!({ "id": a, "i": { "userType": "VIEWER" } }),
            Some(&admin),
        )
        .await;
    assert_eq!(
        error_code(&body),
        "VALIDATION",
        "an administrator cannot become a viewer"
    );
    assert_eq!(body["errors"][0]["extensions"]["field"], "userType");
    let body = app.gql(UPDATE, json!({ "id": b, "i": { "userType": "DEVELOPER", "roleId": roles["permission_admin"] } }), Some(&admin)).await;
    assert!(body["errors"].is_null(), "both at once is fine: {body}");

    // A permission administrator may assign roles but not the organization administrator role.
    let perm = app.login("vic", PASSWORD).await["accessToken"]
        .as_str()
        .expect("t")
        .to_string();
    let body = app
        .gql(
            UPDATE,
            json!({ "id": a, "i": { "roleId": roles["standard_user"] } }),
            Some(&perm),
        )
        .await;
    assert_eq!(error_code(&body), "FORBIDDEN");

    // Tags.
    let body = app.gql(UPDATE, json!({ "id": a, "i": { "tags": [{ "name": "tag_level", "values": "1, 2 ,1" }, { "name": "all", "values": "$ALL_MEMBERS$" }] } }), Some(&admin)).await;
    let tags = &body["data"]["updateMember"]["tags"];
    assert_eq!(
        tags,
        &json!([{ "name": "all", "values": ["$ALL_MEMBERS$"] }, { "name": "level", "values": ["1", "2"] }]),
        "{body}"
    );
    let body = app
        .gql(
            UPDATE,
            json!({ "id": a, "i": { "tags": [{ "name": "bad name", "values": "1" }] } }),
            Some(&admin),
        )
        .await;
    assert_eq!(error_code(&body), "VALIDATION");
}

#[tokio::test]
async fn disable_activate_remove_resign() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let me_id = admin_ok(&app, &admin, "{ me { member { id } } }", json!({})).await["me"]["member"]
        ["id"]
        .clone();
    let d = create_member(&app, &admin, "dora", "DEVELOPER", None).await;
    let dora = app.login("dora", PASSWORD).await;
    let token = dora["accessToken"].as_str().expect("t").to_string();

    let body = app
        .gql(
            "mutation($ids: [ID!]!) { disableMembers(ids: $ids) { memberId ok message } }",
            json!({ "ids": [d, me_id] }),
            Some(&admin),
        )
        .await;
    let out = body["data"]["disableMembers"].as_array().expect("outcomes");
    assert_eq!(out[0]["ok"], true);
    assert_eq!(out[1]["ok"], false);
    // A list longer than a batch-update workbook is refused whole.
    let mut many: Vec<Value> = (100_000..105_000).map(|n| json!(n.to_string())).collect();
    many.push(json!(d));
    let body = app
        .gql(
            "mutation($ids: [ID!]!) { activateMembers(ids: $ids) { ok } }",
            json!({ "ids": many }),
            Some(&admin),
        )
        .await;
    assert_eq!(error_code(&body), "VALIDATION", "{body}");
    let message = body["errors"][0]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("at most 5000 member ids") && message.contains("5001"),
        "{message}"
    );
    assert!(
        out[1]["message"]
            .as_str()
            .is_some_and(|m| m.contains("yourself"))
    );
    assert_eq!(
        error_code(
            &app.gql("{ me { member { id } } }", json!({}), Some(&token))
                .await
        ),
        "UNAUTHENTICATED",
        "refused on the next request"
    );
    let refresh = app
        .gql(
            "mutation($t: String!) { refreshToken(refreshToken: $t) { accessToken } }",
            json!({ "t": dora["refreshToken"] }),
            None,
        )
        .await;
    assert_eq!(error_code(&refresh), "UNAUTHENTICATED");
    admin_ok(
        &app,
        &admin,
        "mutation($ids: [ID!]!) { activateMembers(ids: $ids) { ok } }",
        json!({ "ids": [d] }),
    )
    .await;
    let token = app.login("dora", PASSWORD).await["accessToken"]
        .as_str()
        .expect("t")
        .to_string();

    // Removal rules.
    let ws = admin_ok(
        &app,
        &admin,
        "mutation { createWorkspace(name: \"Finance\") { id } }",
        json!({}),
    )
    .await["createWorkspace"]["id"]
        .clone();
    let roles = role_ids(&app, &admin).await;
    admin_ok(&app, &admin, "mutation($w: ID!, $m: [ID!]!, $r: ID!) { addWorkspaceMembers(id: $w, memberIds: $m, roleId: $r) { id } }", json!({ "w": ws, "m": [d], "r": roles["workspace_developer"] })).await;
    let other_admin = create_member(
        &app,
        &admin,
        "oscar",
        "DEVELOPER",
        Some(&roles["org_admin"]),
    )
    .await;
    let remove = "mutation($ids: [ID!]!) { removeMembers(ids: $ids) { memberId ok message } }";
    let body = app
        .gql(
            remove,
            json!({ "ids": [me_id, d, other_admin, "999999"] }),
            Some(&admin),
        )
        .await;
    let out = body["data"]["removeMembers"].as_array().expect("outcomes");
    assert!(out.iter().all(|o| o["ok"] == false), "{body}");
    assert!(
        out[0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("yourself"))
    );
    assert!(
        out[1]["message"]
            .as_str()
            .is_some_and(|m| m.contains("remove them from workspace `Finance` first")),
        "{body}"
    );
    assert!(
        out[2]["message"]
            .as_str()
            .is_some_and(|m| m.contains("organization administrator"))
    );
    assert!(
        out[3]["message"]
            .as_str()
            .is_some_and(|m| m.contains("no such member"))
    );

    // A workspace owner cannot be removed either.
    let owner_ws = admin_ok(&app, &admin, "mutation($w: ID!, $m: ID!) { transferWorkspace(id: $w, memberId: $m) { owner { account } } }", json!({ "w": ws, "m": d })).await;
    assert_eq!(owner_ws["transferWorkspace"]["owner"]["account"], "dora");
    let body = app.gql(remove, json!({ "ids": [d] }), Some(&admin)).await;
    assert!(
        body["data"]["removeMembers"][0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("owns workspace `Finance`")),
        "{body}"
    );
    admin_ok(
        &app,
        &admin,
        "mutation($w: ID!, $m: ID!) { transferWorkspace(id: $w, memberId: $m) { id } }",
        json!({ "w": ws, "m": me_id }),
    )
    .await;
    admin_ok(
        &app,
        &admin,
        "mutation($w: ID!, $m: [ID!]!) { removeWorkspaceMembers(id: $w, memberIds: $m) { id } }",
        json!({ "w": ws, "m": [d] }),
    )
    .await;
    let body = app.gql(remove, json!({ "ids": [d] }), Some(&admin)).await;
    assert_eq!(body["data"]["removeMembers"][0]["ok"], true, "{body}");
    assert_eq!(
        error_code(
            &app.gql("{ me { member { id } } }", json!({}), Some(&token))
                .await
        ),
        "UNAUTHENTICATED",
        "removal revokes access"
    );
    assert_eq!(
        error_code(
            &app.gql(
                "query($id: ID!) { member(id: $id) { id } }",
                json!({ "id": d }),
                Some(&admin)
            )
            .await
        ),
        "NOT_FOUND"
    );

    // Resignation keeps the record.
    let r = create_member(&app, &admin, "rita", "ANALYST", None).await;
    let dep = admin_ok(
        &app,
        &admin,
        "mutation { createDepartment(name: \"Ops\") { id } }",
        json!({}),
    )
    .await["createDepartment"]["id"]
        .clone();
    admin_ok(
        &app,
        &admin,
        "mutation($d: ID!, $m: [ID!]!) { addDepartmentMembers(id: $d, memberIds: $m) { id } }",
        json!({ "d": dep, "m": [r] }),
    )
    .await;
    admin_ok(&app, &admin, "mutation($w: ID!, $m: [ID!]!, $r: ID!) { addWorkspaceMembers(id: $w, memberIds: $m, roleId: $r) { id } }", json!({ "w": ws, "m": [r], "r": roles["workspace_viewer"] })).await;
    let rita = app.login("rita", PASSWORD).await["accessToken"]
        .as_str()
        .expect("t")
        .to_string();
    let body = app
        .gql(
            "mutation($ids: [ID!]!) { resignMembers(ids: $ids) { ok message } }",
            json!({ "ids": [r] }),
            Some(&admin),
        )
        .await;
    assert_eq!(body["data"]["resignMembers"][0]["ok"], true, "{body}");
    let body = app
        .gql(
            "query($id: ID!) { member(id: $id) { status departments { id } workspaces { id } } }",
            json!({ "id": r }),
            Some(&admin),
        )
        .await;
    assert_eq!(
        body["data"]["member"],
        json!({ "status": "RESIGNED", "departments": [], "workspaces": [] })
    );
    assert_eq!(
        error_code(
            &app.gql("{ me { member { id } } }", json!({}), Some(&rita))
                .await
        ),
        "UNAUTHENTICATED"
    );
    let body = app
        .gql(
            "{ members(filter: { statuses: [RESIGNED] }) { edges { node { account } } } }",
            json!({}),
            Some(&admin),
        )
        .await;
    assert_eq!(accounts(&body["data"]["members"]), ["rita"]);
    assert_eq!(
        error_code(
            &app.gql(
                crate::common::app::LOGIN,
                json!({ "account": "rita", "password": PASSWORD }),
                None
            )
            .await
        ),
        "UNAUTHENTICATED"
    );

    // Every change is in the audit trail.
    let body = app
        .gql(
            "{ auditEvents(first: 100) { edges { node { action } } } }",
            json!({}),
            Some(&admin),
        )
        .await;
    let actions: Vec<&str> = body["data"]["auditEvents"]["edges"]
        .as_array()
        .expect("edges")
        .iter()
        .filter_map(|e| e["node"]["action"].as_str())
        .collect();
    for action in [
        "member.create",
        "member.disable",
        "member.activate",
        "member.remove",
        "member.resign",
        "workspace.transfer",
        "department.add_members",
    ] {
        assert!(
            actions.contains(&action),
            "{action} missing from {actions:?}"
        );
    }
}

#[tokio::test]
async fn seat_limit_registration_and_switching() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let org =
        admin_ok(&app, &admin, "{ organization { id } }", json!({})).await["organization"]["id"]
            .clone();
    admin_ok(
        &app,
        &admin,
        "mutation { updateOrganization(seatLimit: 2, allowSelfRegistration: true) { id } }",
        json!({}),
    )
    .await;
    create_member(&app, &admin, "second", "DEVELOPER", None).await;
    let body = app
        .gql(
            "mutation { createMember(input: { account: \"third\" }) { member { id } } }",
            json!({}),
            Some(&admin),
        )
        .await;
    assert_eq!(error_code(&body), "CONFLICT");
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("seat limit is 2")),
        "{body}"
    );
    let register = "mutation($o: ID!, $a: String!) { register(organizationId: $o, account: $a, password: \"register-pw-1\") { accessToken member { userType } } }";
    assert_eq!(
        error_code(
            &app.gql(register, json!({ "o": org, "a": "newbie" }), None)
                .await
        ),
        "CONFLICT",
        "registration respects the limit"
    );
    // A resigned member holds no seat.
    admin_ok(
        &app,
        &admin,
        "mutation { updateOrganization(seatLimit: 3) { id } }",
        json!({}),
    )
    .await;
    let spare = create_member(&app, &admin, "spare", "DEVELOPER", None).await;
    let resign = admin_ok(
        &app,
        &admin,
        "mutation($ids: [ID!]!) { resignMembers(ids: $ids) { ok message } }",
        json!({ "ids": [spare] }),
    )
    .await;
    assert_eq!(resign["resignMembers"][0]["ok"], json!(true), "{resign}");
    create_member(&app, &admin, "third", "DEVELOPER", None).await;
    let body = app
        .gql(
            "mutation { createMember(input: { account: \"fourth\" }) { member { id } } }",
            json!({}),
            Some(&admin),
        )
        .await;
    assert_eq!(
        error_code(&body),
        "CONFLICT",
        "the freed seat is taken again"
    );
    let body = app
        .gql(
            "mutation { updateOrganization(seatLimit: 1) { id } }",
            json!({}),
            Some(&admin),
        )
        .await;
    assert_eq!(
        error_code(&body),
        "VALIDATION",
        "the limit cannot go below the seats in use"
    );
    admin_ok(
        &app,
        &admin,
        "mutation { updateOrganization(seatLimit: null) { seatLimit } }",
        json!({}),
    )
    .await;
    let body = app
        .gql(register, json!({ "o": org, "a": "newbie" }), None)
        .await;
    assert_eq!(
        body["data"]["register"]["member"]["userType"], "VIEWER",
        "{body}"
    );
    let clash = app
        .gql(
            "mutation($o: ID!) { register(organizationId: $o, account: \"newbie2\", nickname: \"NEWBIE\", password: \"register-pw-1\") { accessToken } }",
            json!({ "o": org }),
            None,
        )
        .await;
    assert_eq!(
        error_code(&clash),
        "CONFLICT",
        "nicknames are unique regardless of letter case: {clash}"
    );
    assert!(
        clash["errors"][0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("the nickname `NEWBIE` is already used")),
        "the refusal names the nickname: {clash}"
    );
    admin_ok(
        &app,
        &admin,
        "mutation { updateOrganization(allowSelfRegistration: false) { id } }",
        json!({}),
    )
    .await;
    assert_eq!(
        error_code(
            &app.gql(register, json!({ "o": org, "a": "late" }), None)
                .await
        ),
        "FORBIDDEN"
    );

    // A second organization, then switching between them.
    let branch = create_organization(&app, &admin, "Branch").await;
    let branch_token = switch_to(&app, &admin, &branch).await;
    let me = admin_ok(
        &app,
        &branch_token,
        "{ me { organization { name } role { builtinKey } } members { totalCount } }",
        json!({}),
    )
    .await;
    assert_eq!(me["me"]["organization"]["name"], "Branch");
    assert_eq!(me["me"]["role"]["builtinKey"], "org_admin");
    assert_eq!(
        me["members"]["totalCount"], 1,
        "only the branch's members are visible"
    );
    let second = app.login("second", PASSWORD).await["accessToken"]
        .as_str()
        .expect("t")
        .to_string();
    let body = app
        .gql(
            "mutation($o: ID!) { switchOrganization(organizationId: $o) { accessToken } }",
            json!({ "o": branch }),
            Some(&second),
        )
        .await;
    assert_eq!(error_code(&body), "NOT_FOUND", "not a member there");

    // The leader must be a member.
    let body = app
        .gql(
            "mutation { updateOrganization(leaderId: \"999999\") { id } }",
            json!({}),
            Some(&admin),
        )
        .await;
    assert_eq!(error_code(&body), "VALIDATION");
}

/// `totalCount` of the whole organization, read with a one-row page so that it is counted.
async fn whole_count(app: &TestApp, token: &str) -> Value {
    admin_ok(
        app,
        token,
        "{ members(first: 1) { totalCount } }",
        json!({}),
    )
    .await["members"]["totalCount"]
        .clone()
}

/// An organization's unfiltered `totalCount` (read from the member tally) equals its members
/// counted one by one, in the database and through the API.
async fn assert_whole_count(app: &TestApp, token: &str, org: i64, expected: i64, what: &str) {
    let counted = scalar(
        app,
        &format!("SELECT count(*) FROM member WHERE organization_id = {org}"),
    )
    .await;
    assert_eq!(counted, expected, "{what}: the members in the database");
    assert_eq!(whole_count(app, token).await, json!(expected), "{what}");
}

/// The whole-organization count follows every way members come and go, whoever writes them: one
/// by one through the API, hundreds per statement, removed, deleted, moved to another
/// organization, upserted; so do status filters with active among them (the tally less the other
/// statuses); it stays exact when many statements' changes are folded together (PostgreSQL
/// appends one tally row per statement), by a count, also while other connections write, or by
/// the server's housekeeping, and when the tally is rebuilt from the members.
#[tokio::test]
async fn the_whole_organization_count_follows_every_change_to_its_members() {
    use migration::{Migrator, MigratorTrait};
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let (org, role) = admin_org_and_role(&app).await;
    let mut ids = Vec::new();
    for account in ["c1", "c2", "c3"] {
        ids.push(create_member(&app, &admin, account, "DEVELOPER", None).await);
    }
    assert_whole_count(&app, &admin, org, 4, "the administrator and three added").await;

    let bulk: Vec<Fixture> = (0..1_200)
        .map(|i| {
            (
                10_000 + i,
                format!("bulk{i}"),
                format!("Bulk{i}"),
                1 + i % 9,
            )
        })
        .collect();
    insert_members(&app, org, role, &bulk, &[]).await;
    assert_whole_count(&app, &admin, org, 1_204, "500 per statement").await;

    let body = app
        .gql(
            "mutation($ids: [ID!]!) { removeMembers(ids: $ids) { ok message } }",
            json!({ "ids": [ids[0]] }),
            Some(&admin),
        )
        .await;
    assert_eq!(
        body["data"]["removeMembers"][0]["ok"],
        json!(true),
        "{body}"
    );
    exec(&app, "DELETE FROM member WHERE id BETWEEN 10000 AND 10099").await;
    assert_whole_count(&app, &admin, org, 1_103, "one removed, a hundred deleted").await;

    // Status filters with active among them are the tally less the other statuses.
    for (mutation, id) in [("disableMembers", &ids[1]), ("resignMembers", &ids[2])] {
        let body = admin_ok(
            &app,
            &admin,
            &format!("mutation($ids: [ID!]!) {{ {mutation}(ids: $ids) {{ ok }} }}"),
            json!({ "ids": [id] }),
        )
        .await;
        assert_eq!(body[mutation][0]["ok"], json!(true), "{body}");
    }
    exec(
        &app,
        "UPDATE member SET status = 'disabled' WHERE id BETWEEN 10200 AND 10209",
    )
    .await;
    exec(
        &app,
        "UPDATE member SET status = 'resigned' WHERE id BETWEEN 10210 AND 10214",
    )
    .await;
    for statuses in [
        &["ACTIVE"][..],
        &["ACTIVE", "DISABLED"],
        &["RESIGNED", "ACTIVE"],
        &["ACTIVE", "DISABLED", "RESIGNED"],
        &["DISABLED"],
        &["RESIGNED"],
    ] {
        let listed: Vec<String> = statuses
            .iter()
            .map(|s| format!("'{}'", s.to_lowercase()))
            .collect();
        let counted = scalar(
            &app,
            &format!(
                "SELECT count(*) FROM member WHERE organization_id = {org} AND status IN ({})",
                listed.join(",")
            ),
        )
        .await;
        let body = admin_ok(
            &app,
            &admin,
            "query($s: [MemberStatus!]) { members(first: 1, filter: { statuses: $s }) { totalCount } }",
            json!({ "s": statuses }),
        )
        .await;
        assert_eq!(
            body["members"]["totalCount"],
            json!(counted),
            "{statuses:?}"
        );
    }

    // The administrator's organization and a second one, each counting only its own.
    let branch = create_organization(&app, &admin, "Branch").await;
    let branch_token = switch_to(&app, &admin, &branch).await;
    let branch_id: i64 = branch.as_str().and_then(|id| id.parse().ok()).expect("id");
    assert_whole_count(
        &app,
        &branch_token,
        branch_id,
        1,
        "the new organization's creator",
    )
    .await;
    exec(
        &app,
        &format!(
            "UPDATE member SET organization_id = {branch_id} WHERE id BETWEEN 10100 AND 10149"
        ),
    )
    .await;
    assert_whole_count(&app, &admin, org, 1_053, "fifty moved away").await;
    assert_whole_count(&app, &branch_token, branch_id, 51, "fifty moved in").await;

    // An upsert (as sync and import write): two members updated, three added, one statement.
    let fixture = |id: i64| (id, format!("up{id}"), format!("Up{id}"), 1);
    let added: Vec<Fixture> = (40_000..40_003).map(fixture).collect();
    exec(&app, &format!("{INSERT_USERS} {}", user_values(&added))).await;
    let upserted: Vec<Fixture> = [10_150, 10_151, 40_000, 40_001, 40_002]
        .into_iter()
        .map(fixture)
        .collect();
    exec(
        &app,
        &format!(
            "{INSERT_MEMBERS} {} ON CONFLICT (id) DO UPDATE SET nickname = excluded.nickname",
            member_values(org, role, &upserted)
        ),
    )
    .await;
    assert_whole_count(&app, &admin, org, 1_056, "an upsert adding three").await;

    for i in 0..70 {
        let one = (20_000 + i, format!("one{i}"), format!("One{i}"), 1);
        insert_members(&app, org, role, &[one], &[]).await;
    }
    assert_whole_count(&app, &admin, org, 1_126, "seventy statements").await;
    assert_eq!(
        scalar(
            &app,
            &format!("SELECT count(*) FROM member_tally WHERE organization_id = {org}")
        )
        .await,
        1,
        "a read folds the statements' rows into one"
    );
    assert_whole_count(&app, &admin, org, 1_126, "folded").await;

    // Writers in four connections while a reader folds: nothing is lost or counted twice.
    let writer = |w: i64| {
        let app = &app;
        async move {
            for i in 0..25 {
                let id = 30_000 + w * 100 + i;
                let one = (id, format!("w{id}"), format!("W{id}"), 1);
                insert_members(app, org, role, &[one], &[]).await;
            }
        }
    };
    let reader = async {
        for _ in 0..40 {
            whole_count(&app, &admin).await;
        }
    };
    tokio::join!(futures_util::future::join_all((0..4).map(writer)), reader);
    assert_whole_count(&app, &admin, org, 1_226, "written beside reads").await;

    // Statements in both organizations, fewer than a count folds: the housekeeping folds them.
    let tally_rows = |org: i64| {
        let app = &app;
        async move {
            let sql = format!("SELECT count(*) FROM member_tally WHERE organization_id = {org}");
            scalar(app, &sql).await
        }
    };
    let before = (tally_rows(org).await, tally_rows(branch_id).await);
    for i in 0..10 {
        for (at, organization) in [(50_000, org), (60_000, branch_id)] {
            let one = (at + i, format!("h{}", at + i), format!("H{}", at + i), 1);
            insert_members(&app, organization, role, &[one], &[]).await;
        }
    }
    let piled = (tally_rows(org).await, tally_rows(branch_id).await);
    if app.state.db.get_database_backend() == sea_orm::DbBackend::Postgres {
        assert_eq!(piled, (before.0 + 10, before.1 + 10), "a row per statement");
    } else {
        assert_eq!(piled, (1, 1), "SQLite keeps one row per organization");
    }
    roster::housekeeping(&app.state.db).await;
    assert_eq!(
        (tally_rows(org).await, tally_rows(branch_id).await),
        (1, 1),
        "folded by the housekeeping"
    );
    assert_whole_count(&app, &admin, org, 1_236, "folded by the housekeeping").await;
    assert_whole_count(
        &app,
        &branch_token,
        branch_id,
        61,
        "folded by the housekeeping",
    )
    .await;

    // Rebuilt from the members: the newest migrations rolled back down to the tally's and applied.
    let position = Migrator::migrations()
        .iter()
        .position(|m| m.name() == "m20261206_000020_member_tally")
        .expect("the tally migration");
    let newer = u32::try_from(Migrator::migrations().len() - position).expect("a few");
    Migrator::down(&app.state.db, Some(newer))
        .await
        .expect("roll back");
    Migrator::up(&app.state.db, None).await.expect("apply");
    assert_whole_count(&app, &admin, org, 1_236, "rebuilt").await;
    assert_whole_count(&app, &branch_token, branch_id, 61, "rebuilt").await;
}

/// The one number a statement of fixture SQL answers.
async fn scalar(app: &TestApp, sql: &str) -> i64 {
    use sea_orm::{ConnectionTrait, Statement};
    let db = &app.state.db;
    db.query_one_raw(Statement::from_string(db.get_database_backend(), sql))
        .await
        .unwrap_or_else(|e| panic!("{e}: {sql}"))
        .and_then(|row| row.try_get_by_index::<i64>(0).ok())
        .unwrap_or_else(|| panic!("no number: {sql}"))
}

/// A member list with every paging argument, for [`assert_pages`].
const PAGED: &str = "query($f: MemberFilter, $o: MemberOrder, $first: Int, $after: String, $last: Int, $before: String) {
    members(filter: $f, orderBy: $o, first: $first, after: $after, last: $last, before: $before) {
      totalCount edges { node { account } } pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } }";

/// The list with these variables (`f`, `o`) counts the expected accounts (from its first page of
/// one and of five) and shows exactly them, in this order, read forward and backward in pages of
/// 50.
async fn assert_pages(app: &TestApp, token: &str, vars: Value, expected: &[String], what: &str) {
    // Counted from a page of one and from a page of five: a page may read a keyword one way or
    // another by how many of its matches come first in order, and counts it the way it read it.
    for size in [1, 5] {
        let mut first = vars.clone();
        first["first"] = json!(size);
        let body = app.gql(PAGED, first, Some(token)).await;
        assert_eq!(
            body["data"]["members"]["totalCount"],
            json!(expected.len()),
            "{what}, first {size}: {body}"
        );
    }
    let forward = read_forward(app, token, PAGED, vars.clone(), 50).await;
    assert_eq!(forward, expected, "{what} forward");
    let backward = read_backward(app, token, PAGED, vars, 50).await;
    assert_eq!(backward, expected, "{what} backward");
}

/// A sub-tree row of the fixtures: account, nickname, month joined, id.
type SubTreeRow = (String, String, i64, i64);

/// Whether a sub-tree fixture member has logged in (three in four, when they joined).
fn logged_in(row: &SubTreeRow) -> bool {
    row.3 % 4 != 0
}

/// Each department's sub-tree pages hold exactly its `members`, by nickname both ways, by join
/// date, by organization role and by last login, ties by id.
async fn assert_sub_tree_pages(app: &TestApp, admin: &str, trees: [(i64, &Vec<SubTreeRow>); 2]) {
    for (department, members) in trees {
        for (field, direction) in [
            ("NICKNAME", "ASC"),
            ("NICKNAME", "DESC"),
            ("JOINED_AT", "DESC"),
            ("ORGANIZATION_ROLE", "ASC"),
            ("LAST_LOGIN_AT", "DESC"),
        ] {
            let order = json!({ "field": field, "direction": direction });
            let filter = json!({ "departmentId": department.to_string() });
            // What the pages must say, in order: by the sort value, then by id.
            let mut rows = members.clone();
            rows.sort_by(|a, b| match field {
                "NICKNAME" => a.1.cmp(&b.1).then(a.3.cmp(&b.3)),
                // Every member of the fixtures holds the same role: by id.
                "ORGANIZATION_ROLE" => a.3.cmp(&b.3),
                // Those who logged in did when they joined; the others by id.
                "LAST_LOGIN_AT" => {
                    let login = |r: &SubTreeRow| if logged_in(r) { r.2 } else { 0 };
                    login(a).cmp(&login(b)).then(a.3.cmp(&b.3))
                }
                _ => a.2.cmp(&b.2).then(a.3.cmp(&b.3)),
            });
            if direction == "DESC" {
                rows.reverse();
            }
            if field == "LAST_LOGIN_AT" {
                // Members who never logged in come last either way.
                rows.sort_by_key(|r| !logged_in(r));
            }
            let expected: Vec<String> = rows.into_iter().map(|r| r.0).collect();
            let what = format!("{department} {field} {direction}");
            assert_pages(
                app,
                admin,
                json!({ "f": filter, "o": order }),
                &expected,
                &what,
            )
            .await;
        }
    }
}

/// Sub-tree pages over more members than a page looks among before reading the whole sub-tree
/// (4,096): a sparse sub-tree (its page is not among the next rows in order) and a dense one,
/// read forward and backward in pages, come in exactly the order of their sort value and id.
#[tokio::test]
async fn sub_tree_pages_are_exact_sparse_or_dense() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let (org, role) = admin_org_and_role(&app).await;
    let now = FIXTURE_NOW;
    // Two trees: 9001 (sparse) with child 9002, and 9003 (dense) with child 9004.
    exec(&app, &format!(
        "INSERT INTO department (id, organization_id, parent_id, name, path, sort_order, name_changed, to_be_deleted, created_at) VALUES \
         (9001, {org}, NULL, 'Sparse', '/9001/', 0, false, false, '{now}'), \
         (9002, {org}, 9001, 'Sparse child', '/9001/9002/', 0, false, false, '{now}'), \
         (9003, {org}, NULL, 'Dense', '/9003/', 0, false, false, '{now}'), \
         (9004, {org}, 9003, 'Dense child', '/9003/9004/', 0, false, false, '{now}')"
    )).await;
    let total = 6_000;
    let mut sparse = Vec::new();
    let mut dense = Vec::new();
    let (mut rows, mut links) = (Vec::new(), Vec::new());
    for i in 0..total {
        let id = 100_000 + i;
        // Nicknames in an order unrelated to ids, so the sort index decides.
        let nick = format!("n{:05}", (i * 7_919) % total);
        rows.push((id, format!("acct{i:05}"), nick.clone(), 1 + i % 9));
        let department = if i % 97 == 0 {
            Some(if i % 2 == 0 { 9001 } else { 9002 })
        } else if i % 3 == 0 {
            Some(if i % 2 == 0 { 9003 } else { 9004 })
        } else {
            None
        };
        if let Some(d) = department {
            links.push((d, id));
            let row = (format!("acct{i:05}"), nick, 1 + i % 9, id);
            if d <= 9002 {
                sparse.push(row)
            } else {
                dense.push(row)
            }
        }
    }
    insert_members(&app, org, role, &rows, &links).await;
    exec(
        &app,
        "UPDATE member SET last_login_at = joined_at WHERE id >= 100000 AND id % 4 <> 0",
    )
    .await;
    // Before the table has statistics and after. With them, PostgreSQL probes a hash of both
    // sub-trees' members (each holds more than one member in 200 of the table), read by a second
    // server: the first remembers for a minute that they were small.
    assert_sub_tree_pages(&app, &admin, [(9001, &sparse), (9003, &dense)]).await;
    exec(&app, "ANALYZE member").await;
    let analyzed = app.another_instance().await;
    assert_sub_tree_pages(&analyzed, &admin, [(9001, &sparse), (9003, &dense)]).await;
    // The sparse tree's child alone: a leaf, read with its (empty) sub-tree by default.
    let child = app
        .gql(
            PAGED,
            json!({ "f": { "departmentId": "9002" }, "first": 200 }),
            Some(&admin),
        )
        .await;
    let child_count = (0..total).filter(|i| i % 97 == 0 && i % 2 == 1).count();
    assert_eq!(
        child["data"]["members"]["totalCount"],
        json!(child_count),
        "{child}"
    );
}

/// Keyword pages over more members than a keyword page looks among before it reads every match
/// through an index (1,024): a rare keyword whose matches lie beyond those rows, a common one and
/// one that matches nothing, each long enough for trigrams or not (on SQLite, a rare short one is
/// read through a range of trigrams, a one-character one at the very end of the text too, and one
/// held too often is scanned for; on PostgreSQL, a short one with characters beyond ASCII or
/// ASCII signs is read through the index of those characters, alone or beside ASCII, a
/// two-character one from the members holding both characters in either order, and two ASCII
/// letters through the trigram index, beside ASCII or Chinese characters), read forward and
/// backward in pages, come in exactly the order of their sort value and id.
#[tokio::test]
async fn keyword_pages_are_exact_rare_or_common() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let (org, role) = admin_org_and_role(&app).await;
    let total = 3_000;
    let rows: Vec<Fixture> = (0..total)
        .map(|i| {
            // Nicknames in an order unrelated to accounts, so matches lie all over the order.
            let nick = format!("n{:05}", (i * 7_919) % total);
            (200_000 + i, format!("acct{i:05}"), nick, 1 + i % 9)
        })
        .collect();
    insert_members(&app, org, role, &rows, &[]).await;
    // Two in three have logged in (when they joined); the others never did.
    exec(
        &app,
        "UPDATE member SET last_login_at = joined_at WHERE id >= 200000 AND id % 3 <> 0",
    )
    .await;
    // Ten phone numbers end with `Qz`, ten others with `鑫`, ten with `X鑫`: the end of a
    // member's searchable text. Ten e-mail addresses hold `kz` 120 times each: few members, but
    // more occurrences than a short keyword read through the trigram index on SQLite may have, so
    // it is scanned for. Ten phone numbers end with `明华`, ten with `华明`. Ten phone numbers hold
    // `jq` between two Chinese characters (`华Jq明`) and ten e-mail addresses begin with it: on
    // PostgreSQL both are found through the trigram index. Thirty members hold both characters of
    // `明华`, which the pattern narrows to ten. Ten phone numbers hold `(#)`: signs alone, which
    // PostgreSQL finds through its index of characters, and every phone number holds `+`. One in
    // a hundred members holds `q` and nobody `w`: letters alone, which a page of 50 finds rare and
    // PostgreSQL reads through its index of letters.
    let many = format!("{}@example.com", "kz".repeat(120));
    let texts = [
        (7, "phone", "+86 Qz"),
        (11, "phone", "+86 鑫"),
        (13, "email", many.as_str()),
        (17, "phone", "+86 明华"),
        (19, "phone", "+86 华明"),
        (23, "phone", "+86 X鑫"),
        (29, "phone", "+86 华Jq明"),
        (31, "email", "jq@example.com"),
        (37, "phone", "+86 (#)"),
    ];
    let text_of = |id: i64, column: &str| {
        let text = texts.iter().find(|t| id % 300 == t.0 && column == t.1);
        text.map_or("", |t| t.2)
    };
    for (rest, column, text) in texts {
        let sql = format!(
            "UPDATE member SET {column} = '{text}' WHERE id >= 200000 AND id % 300 = {rest}"
        );
        exec(&app, &sql).await;
    }
    let logged_in = |r: &Fixture| r.0 % 3 != 0;
    for (keyword, count) in [
        ("acct0042", 10),
        ("ACCT00", 1_000),
        ("nomatch", 0),
        ("12", 308),
        ("qZ", 10),
        ("鑫", 20),
        ("x鑫", 10),
        ("明华", 10),
        ("华", 30),
        ("xq", 0),
        ("Kz", 10),
        ("jQ", 20),
        ("华jq", 10),
        ("q明", 10),
        ("#", 10),
        ("(#", 10),
        ("#(", 0),
        ("+", 70),
        ("Q", 30),
        ("z", 20),
        ("w", 0),
    ] {
        let text = |r: &Fixture| {
            let (email, phone) = (text_of(r.0, "email"), text_of(r.0, "phone"));
            format!("{} {} {email} {phone}", r.2, r.1).to_lowercase()
        };
        let matching: Vec<&Fixture> = rows
            .iter()
            .filter(|r| text(r).contains(&keyword.to_lowercase()))
            .collect();
        assert_eq!(matching.len(), count);
        for (field, direction) in [
            ("NICKNAME", "ASC"),
            ("NICKNAME", "DESC"),
            ("JOINED_AT", "DESC"),
            ("LAST_LOGIN_AT", "ASC"),
            ("LAST_LOGIN_AT", "DESC"),
        ] {
            let mut expected = matching.clone();
            expected.sort_by(|a, b| match field {
                "NICKNAME" => a.2.cmp(&b.2).then(a.0.cmp(&b.0)),
                _ => a.3.cmp(&b.3).then(a.0.cmp(&b.0)),
            });
            if direction == "DESC" {
                expected.reverse();
            }
            if field == "LAST_LOGIN_AT" {
                // Members who never logged in come last either way, in the order of their ids.
                expected.sort_by(|a, b| {
                    let by_id = if direction == "DESC" {
                        b.0.cmp(&a.0)
                    } else {
                        a.0.cmp(&b.0)
                    };
                    match (logged_in(a), logged_in(b)) {
                        (true, false) => std::cmp::Ordering::Less,
                        (false, true) => std::cmp::Ordering::Greater,
                        (false, false) => by_id,
                        // Logged in when they joined.
                        (true, true) => if direction == "DESC" {
                            b.3.cmp(&a.3)
                        } else {
                            a.3.cmp(&b.3)
                        }
                        .then(by_id),
                    }
                });
            }
            let expected: Vec<String> = expected.into_iter().map(|r| r.1.clone()).collect();
            let vars = json!({
                "f": { "keyword": keyword },
                "o": { "field": field, "direction": direction },
            });
            let what = format!("{keyword} {field} {direction}");
            assert_pages(&app, &admin, vars, &expected, &what).await;
        }
    }
}

/// A page of a keyword with no other filter that holds every match shows how many members hold
/// it, and the server keeps that for a minute: on PostgreSQL, later pages of the keyword, or of
/// a keyword beginning with it, read every match through the keyword's index without looking
/// for a page among the first members in order (one statement fewer: the page is read at once
/// with sessions that walk no index in order). What it keeps only picks the
/// plan: once many more members hold the keyword, its pages are still exact.
#[tokio::test]
async fn keywords_found_to_match_few_are_read_through_their_index_at_once() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let (org, role) = admin_org_and_role(&app).await;
    // More members than the window of 1,024; five hold `zeta`, one each `zetaa` to `zetae`.
    let rows: Vec<Fixture> = (0..1_200)
        .map(|i| {
            let account = match i % 240 {
                7 => format!("zeta{}", char::from(b'a' + (i / 240) as u8)),
                _ => format!("plain{i:04}"),
            };
            (400_000 + i, account, format!("n{i:04}"), 1 + i % 9)
        })
        .collect();
    insert_members(&app, org, role, &rows, &[]).await;
    let query =
        "query($k: String!) { members(first: 10, filter: { keyword: $k }) { nodes { account } } }";
    // The statements of one page of `keyword`, and its accounts.
    let page = |keyword: &'static str| {
        let (app, admin) = (&app, admin.clone());
        async move {
            let before = app
                .state
                .statements
                .load(std::sync::atomic::Ordering::SeqCst);
            let body = app.gql(query, json!({ "k": keyword }), Some(&admin)).await;
            let statements = app
                .state
                .statements
                .load(std::sync::atomic::Ordering::SeqCst)
                - before;
            let nodes = body["data"]["members"]["nodes"].as_array().cloned();
            let accounts: Vec<String> = nodes
                .unwrap_or_else(|| panic!("{keyword}: {body}"))
                .iter()
                .map(|n| n["account"].as_str().expect("account").to_string())
                .collect();
            (accounts, statements)
        }
    };
    // The fewest statements of three keywords' pages, each showing its accounts (another
    // task's statement may land in one page's count).
    let fewest = |pages: [(&'static str, Vec<&'static str>); 3]| async move {
        let mut fewest = u64::MAX;
        for (keyword, expected) in pages {
            let (accounts, statements) = page(keyword).await;
            assert_eq!(accounts, expected, "{keyword}");
            fewest = fewest.min(statements);
        }
        fewest
    };
    let rare = || {
        [
            ("zetaa", vec!["zetaa"]),
            ("zetab", vec!["zetab"]),
            ("zetac", vec!["zetac"]),
        ]
    };
    let first = fewest(rare()).await;
    let again = fewest(rare()).await;
    let postgres = app.state.db.get_database_backend() == sea_orm::DbBackend::Postgres;
    if postgres {
        assert!(
            again < first,
            "{again} statements once known rare, {first} before"
        );
    } else {
        assert_eq!(
            again, first,
            "SQLite reads a keyword the same way every time"
        );
    }
    // Three new keywords, each looked for in the window first; then keywords beginning with
    // them, known rare from those.
    let all = vec!["zetaa", "zetab", "zetac", "zetad", "zetae"];
    fewest([("zeta", all.clone()), ("eta", all.clone()), ("ta", all)]).await;
    let typed_on = fewest([
        ("zetad", vec!["zetad"]),
        ("etad", vec!["zetad"]),
        ("tad", vec!["zetad"]),
    ])
    .await;
    if postgres {
        assert!(
            typed_on < first,
            "typed on: {typed_on} statements, {first} before"
        );
    }
    // 1,100 more members hold `zeta` now, while the server still takes it for rare.
    let more: Vec<Fixture> = (0..1_100)
        .map(|i| {
            (
                401_200 + i,
                format!("zetax{i:04}"),
                format!("m{i:04}"),
                1 + i % 9,
            )
        })
        .collect();
    insert_members(&app, org, role, &more, &[]).await;
    let mut expected: Vec<&Fixture> = rows
        .iter()
        .chain(&more)
        .filter(|r| r.1.contains("zeta"))
        .collect();
    expected.sort_by(|a, b| a.2.cmp(&b.2));
    let expected: Vec<String> = expected.into_iter().map(|r| r.1.clone()).collect();
    let vars =
        json!({ "f": { "keyword": "zeta" }, "o": { "field": "NICKNAME", "direction": "ASC" } });
    assert_pages(&app, &admin, vars, &expected, "zeta, grown").await;
}

/// Keywords over names that mix ASCII letters (either case), digits, signs (those of patterns
/// and regular expressions among them), Chinese characters, an accented letter and an emoji find
/// exactly the members whose text holds them, whichever way each database reads a keyword of its
/// length: every piece of one to four characters of the names, in the case written, and pieces
/// of two that nobody may hold. On PostgreSQL this holds the marks of the stored search text
/// (where it passes between ASCII and beyond) to the marks the keyword's pattern gets, and two
/// ASCII characters to the trigrams they are read through.
#[tokio::test]
async fn keywords_over_mixed_text_find_exactly_their_holders() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let (org, role) = admin_org_and_role(&app).await;
    const ALPHABET: [char; 20] = [
        'k', 'q', 'x', 'Q', 'X', '1', '2', ' ', '@', '.', '_', '%', '(', '[', '\\', '王', '明',
        '华', 'é', '😀',
    ];
    // The administrator, also in the organization, holds none of these characters.
    exec(
        &app,
        "UPDATE member SET name = 'admin', email = NULL, phone = NULL WHERE account = 'admin'",
    )
    .await;
    // A fixed sequence of pseudo-random numbers (a linear congruential generator), so a failure
    // comes back the same on every run.
    let mut state: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = move |below: usize| {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        ((state >> 33) % below as u64) as usize
    };
    let total = 200;
    let rows: Vec<Fixture> = (0..total)
        .map(|i| {
            (
                300_000 + i,
                format!("m{i:03}"),
                format!("n{i:03}"),
                1 + i % 9,
            )
        })
        .collect();
    insert_members(&app, org, role, &rows, &[]).await;
    let mut names = Vec::new();
    for row in &rows {
        let length = 3 + next(8);
        let name: String = (0..length)
            .map(|_| ALPHABET[next(ALPHABET.len())])
            .collect();
        let sql = format!("UPDATE member SET name = '{name}' WHERE id = {}", row.0);
        exec(&app, &sql).await;
        names.push(name);
    }
    let mut keywords = Vec::new();
    for _ in 0..60 {
        let name: Vec<char> = names[next(names.len())].chars().collect();
        let length = 1 + next(4.min(name.len()));
        let start = next(name.len() - length + 1);
        keywords.push(name[start..start + length].iter().collect::<String>());
    }
    for _ in 0..20 {
        let pair = [
            ALPHABET[next(ALPHABET.len())],
            ALPHABET[next(ALPHABET.len())],
        ];
        keywords.push(pair.iter().collect());
    }
    let mut tried = std::collections::HashSet::new();
    for keyword in keywords {
        // The list trims its keyword; a keyword of spaces alone is no keyword.
        let keyword = keyword.trim().to_string();
        if keyword.is_empty() || !tried.insert(keyword.clone()) {
            continue;
        }
        let wanted = keyword.to_lowercase();
        let expected: Vec<String> = rows
            .iter()
            .zip(&names)
            .filter(|(row, name)| {
                let text = format!("{} {} {name}", row.2, row.1).to_lowercase();
                text.contains(&wanted)
            })
            .map(|(row, _)| row.1.clone())
            .collect();
        let vars = json!({ "f": { "keyword": keyword } });
        assert_pages(&app, &admin, vars, &expected, &format!("{keyword:?}")).await;
    }
}

/// Reads planned for their values: on PostgreSQL the pools of member pages plan every statement
/// for its values and start no parallel workers, in every session, and the pool of pages of few
/// walks no index in order; a count plans for its values in its transaction alone and keeps
/// parallel workers; the server's pool keeps the defaults. On SQLite there is nothing to set.
#[tokio::test]
async fn planned_reads_set_their_plans_for_their_pool_or_their_transaction() {
    use roster::db::begin_planned_per_value;
    use sea_orm::{ConnectionTrait, DbBackend, Statement};
    let app = TestApp::spawn().await;
    let db = &app.state.db;
    let show = |name: &'static str| {
        Statement::from_string(
            DbBackend::Postgres,
            format!("SELECT current_setting('{name}')"),
        )
    };
    async fn setting<C: ConnectionTrait>(db: &C, statement: Statement) -> String {
        db.query_one_raw(statement)
            .await
            .expect("current_setting")
            .and_then(|row| row.try_get_by_index::<String>(0).ok())
            .expect("a value")
    }
    if db.get_database_backend() != DbBackend::Postgres {
        assert!(app.state.planned.is_none(), "no pools of planned reads");
        let count = begin_planned_per_value(db).await.expect("begin");
        assert!(count.is_none(), "no transaction for a count");
        return;
    }
    let planned = app.state.planned.as_ref().expect("pools of planned reads");
    let parallel = setting(db, show("max_parallel_workers_per_gather")).await;
    assert_ne!(
        parallel, "0",
        "the server's default allows parallel workers"
    );
    // Settings as (plan_cache_mode, max_parallel_workers_per_gather, enable_indexscan).
    async fn settings<C: ConnectionTrait>(
        db: &C,
        show: impl Fn(&'static str) -> Statement,
    ) -> [String; 3] {
        [
            setting(db, show("plan_cache_mode")).await,
            setting(db, show("max_parallel_workers_per_gather")).await,
            setting(db, show("enable_indexscan")).await,
        ]
    }
    let count = begin_planned_per_value(db)
        .await
        .expect("begin")
        .expect("a transaction on PostgreSQL");
    assert_eq!(
        settings(&count, show).await,
        ["force_custom_plan", parallel.as_str(), "on"],
        "a count"
    );
    count.commit().await.expect("commit");
    // Every session of each pool (the count's among them, back in its pool): four statements
    // at once take four of them, or all a pool has.
    let pools = [
        ("pages", &planned.values, ["force_custom_plan", "0", "on"]),
        (
            "pages of few",
            &planned.few,
            ["force_custom_plan", "0", "off"],
        ),
        ("server", db, ["auto", parallel.as_str(), "on"]),
    ];
    for (pool, db, expected) in pools {
        let all = futures_util::future::join_all((0..4).map(|_| settings(db, show))).await;
        for found in all {
            assert_eq!(found, expected, "a session of the {pool} pool");
        }
    }
}

/// Every row of a statement of fixture SQL, each as the columns `read` takes from it.
async fn rows<T>(app: &TestApp, sql: &str, read: impl Fn(&Cells) -> T) -> Vec<T> {
    use sea_orm::{ConnectionTrait, Statement};
    let db = &app.state.db;
    db.query_all_raw(Statement::from_string(db.get_database_backend(), sql))
        .await
        .unwrap_or_else(|e| panic!("{e}: {sql}"))
        .iter()
        .map(|row| read(&Cells { row, sql }))
        .collect()
}

/// One row of [`rows`], read by column index.
struct Cells<'a> {
    row: &'a sea_orm::QueryResult,
    sql: &'a str,
}

impl Cells<'_> {
    fn at<T: sea_orm::TryGetable>(&self, index: usize) -> T {
        self.row
            .try_get_by_index(index)
            .unwrap_or_else(|e| panic!("column {index}: {e}: {}", self.sql))
    }
}

/// A department's sub-tree as `sub_tree_member` holds it and as the links, the departments'
/// paths and the members' nicknames say it must be: (department, member) → (lower-case
/// nickname, links), for every department.
type SubTrees = std::collections::BTreeMap<(i64, i64), (String, i64)>;

async fn sub_trees(app: &TestApp) -> (SubTrees, SubTrees) {
    let pairs = |r: &Cells| (r.at::<i64>(0), r.at::<String>(1));
    let paths: std::collections::HashMap<i64, String> =
        rows(app, "SELECT id, path FROM department", pairs)
            .await
            .into_iter()
            .collect();
    let nicknames: std::collections::HashMap<i64, String> =
        rows(app, "SELECT id, nickname FROM member", pairs)
            .await
            .into_iter()
            .collect();
    let links = rows(
        app,
        "SELECT department_id, member_id FROM department_member",
        |r| (r.at::<i64>(0), r.at::<i64>(1)),
    )
    .await;
    let mut expected = SubTrees::new();
    for (department, member) in links {
        for above in paths[&department]
            .split('/')
            .filter_map(|id| id.parse().ok())
        {
            expected
                .entry((above, member))
                .or_insert_with(|| (nicknames[&member].to_lowercase(), 0))
                .1 += 1;
        }
    }
    let kept = rows(
        app,
        "SELECT department_id, member_id, lower_nickname, CAST(links AS BIGINT) FROM sub_tree_member",
        |r| ((r.at(0), r.at(1)), (r.at(2), r.at(3))),
    )
    .await
    .into_iter()
    .collect();
    (kept, expected)
}

/// `sub_tree_member` is exactly what the tree says, and each of `departments`' member pages
/// (itself and the departments below it, by nickname both ways, two rows a page, forward and
/// backward) lists exactly its sub-tree's members.
async fn assert_sub_trees(app: &TestApp, token: &str, departments: &[&Value], what: &str) {
    let (kept, expected) = sub_trees(app).await;
    assert_eq!(kept, expected, "{what}: sub_tree_member against the tree");
    let accounts: std::collections::HashMap<i64, String> =
        rows(app, "SELECT id, account FROM member", |r| {
            (r.at(0), r.at(1))
        })
        .await
        .into_iter()
        .collect();
    for department in departments {
        let id: i64 = department
            .as_str()
            .and_then(|d| d.parse().ok())
            .expect("an id");
        let mut members: Vec<(&String, &String)> = expected
            .iter()
            .filter(|((d, _), _)| *d == id)
            .map(|((_, m), (nickname, _))| (nickname, &accounts[m]))
            .collect();
        members.sort();
        let mut ascending: Vec<String> = members.into_iter().map(|(_, a)| a.clone()).collect();
        for direction in ["ASC", "DESC"] {
            if direction == "DESC" {
                ascending.reverse();
            }
            let vars = json!({ "f": { "departmentId": department }, "o": { "field": "NICKNAME", "direction": direction } });
            let what = format!("{what}: department {id} {direction}");
            let counted = app
                .gql(PAGED, json!({ "f": vars["f"], "first": 1 }), Some(token))
                .await;
            assert_eq!(
                counted["data"]["members"]["totalCount"],
                json!(ascending.len()),
                "{what}: {counted}"
            );
            let forward = read_forward(app, token, PAGED, vars.clone(), 2).await;
            assert_eq!(forward, ascending, "{what} forward");
            let backward = read_backward(app, token, PAGED, vars, 2).await;
            assert_eq!(backward, ascending, "{what} backward");
        }
    }
}

/// `sub_tree_member`, the index of sub-tree pages, follows every change to the tree and its
/// members, whoever makes it: links added and removed through the API and in 600-row statements,
/// renames, moves, merges, a deletion with transfer, resignation, removal; and it is rebuilt when
/// its migration is rolled back and applied again.
#[tokio::test]
async fn sub_tree_members_follow_every_change_to_the_tree() {
    use migration::{Migrator, MigratorTrait};
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let sales = create_department(&app, &admin, "Sales", None).await;
    let north = create_department(&app, &admin, "North", Some(&sales)).await;
    let city = create_department(&app, &admin, "City", Some(&north)).await;
    let support = create_department(&app, &admin, "Support", None).await;
    let mut members = Vec::new();
    for account in ["mia", "Noah", "olga", "Pete", "quinn", "Ruth"] {
        members.push(create_member(&app, &admin, account, "ANALYST", None).await);
    }
    let link = |d: &Value, m: &[&String], add: bool| {
        let (app, admin) = (&app, &admin);
        let mutation = if add {
            "mutation($d: ID!, $m: [ID!]!) { addDepartmentMembers(id: $d, memberIds: $m) { id } }"
        } else {
            "mutation($d: ID!, $m: [ID!]!) { removeDepartmentMembers(id: $d, memberIds: $m) { id } }"
        };
        let vars = json!({ "d": d, "m": m });
        async move { admin_ok(app, admin, mutation, vars).await }
    };
    let m = &members;
    link(&city, &[&m[0], &m[1]], true).await;
    link(&north, &[&m[1], &m[2]], true).await;
    link(&sales, &[&m[3]], true).await;
    link(&support, &[&m[4]], true).await;
    let all = [&sales, &north, &city, &support];
    assert_sub_trees(&app, &admin, &all, "linked").await;
    let (kept, _) = sub_trees(&app).await;
    let id = |v: &Value| -> i64 { v.as_str().and_then(|s| s.parse().ok()).expect("an id") };
    let noah = m[1].parse::<i64>().expect("an id");
    assert_eq!(
        kept[&(id(&sales), noah)],
        ("noah".to_string(), 2),
        "a member of two departments under Sales is one row with two links"
    );

    // A rename reorders: Olga becomes "Aaron", first in every sub-tree she is in.
    admin_ok(
        &app,
        &admin,
        UPDATE,
        json!({ "id": m[2], "i": { "nickname": "Aaron" } }),
    )
    .await;
    assert_sub_trees(&app, &admin, &all, "renamed").await;

    // North (with City) moves under Support: their members leave Sales' sub-tree.
    let mv = "mutation($id: ID!, $p: ID) { moveDepartment(id: $id, parentId: $p) { id } }";
    admin_ok(&app, &admin, mv, json!({ "id": north, "p": support })).await;
    assert_sub_trees(&app, &admin, &all, "moved").await;

    // Noah leaves City but stays in North: one link fewer, the same sub-trees above.
    link(&city, &[&m[1]], false).await;
    assert_sub_trees(&app, &admin, &all, "unlinked").await;

    // North merges into Sales: its members and City move there, North disappears.
    admin_ok(
        &app,
        &admin,
        "mutation($s: ID!, $t: ID!) { mergeDepartments(sourceId: $s, targetId: $t) { id } }",
        json!({ "s": north, "t": sales }),
    )
    .await;
    let all = [&sales, &city, &support];
    assert_sub_trees(&app, &admin, &all, "merged").await;

    // City is deleted, its members transferred to Support.
    admin_ok(
        &app,
        &admin,
        "mutation($id: ID!, $t: ID) { deleteDepartment(id: $id, transferTo: $t) }",
        json!({ "id": city, "t": support }),
    )
    .await;
    let all = [&sales, &support];
    assert_sub_trees(&app, &admin, &all, "deleted with transfer").await;

    // Mia resigns (out of every department); Ruth, in none, is removed; Pete is removed.
    let resigned = admin_ok(
        &app,
        &admin,
        "mutation($ids: [ID!]!) { resignMembers(ids: $ids) { ok } }",
        json!({ "ids": [m[0]] }),
    )
    .await;
    assert_eq!(resigned["resignMembers"], json!([{ "ok": true }]));
    let removed = admin_ok(
        &app,
        &admin,
        "mutation($ids: [ID!]!) { removeMembers(ids: $ids) { ok } }",
        json!({ "ids": [m[3], m[5]] }),
    )
    .await;
    assert_eq!(
        removed["removeMembers"],
        json!([{ "ok": true }, { "ok": true }])
    );
    assert_sub_trees(&app, &admin, &all, "resigned and removed").await;

    // 600 members linked to a new department under Sales in one statement, then 300 of them
    // unlinked in one, as an import or a sync writes them.
    let (org, role) = admin_org_and_role(&app).await;
    let east = create_department(&app, &admin, "East", Some(&sales)).await;
    let rows: Vec<Fixture> = (0..600)
        .map(|i| {
            (
                50_000 + i,
                format!("bulk{i:03}"),
                format!("Bulk{:03}", (i * 7) % 600),
                1,
            )
        })
        .collect();
    let links: Vec<(i64, i64)> = rows.iter().map(|r| (id(&east), r.0)).collect();
    insert_members(&app, org, role, &rows, &[]).await;
    let values: Vec<String> = links
        .iter()
        .map(|(d, m)| format!("({d}, {m}, {org})"))
        .collect();
    exec(
        &app,
        &format!(
            "INSERT INTO department_member (department_id, member_id, organization_id) VALUES {}",
            values.join(",")
        ),
    )
    .await;
    let (kept, expected) = sub_trees(&app).await;
    assert_eq!(kept, expected, "600 links in one statement");
    exec(
        &app,
        &format!(
            "DELETE FROM department_member WHERE department_id = {} AND member_id % 2 = 0",
            id(&east)
        ),
    )
    .await;
    let (kept, expected) = sub_trees(&app).await;
    assert_eq!(kept, expected, "300 unlinked in one statement");
    assert_eq!(
        kept.keys().filter(|(d, _)| *d == id(&sales)).count(),
        300 + 2,
        "Sales holds East's 300 and its own two"
    );
    assert_sub_trees(&app, &admin, &[&sales], "bulk").await;

    // Rebuilt from the links: the newest migrations rolled back down to this one's and applied.
    let position = Migrator::migrations()
        .iter()
        .position(|m| m.name() == "m20261206_000021_sub_tree_member")
        .expect("the sub-tree migration");
    let newer = u32::try_from(Migrator::migrations().len() - position).expect("a few");
    Migrator::down(&app.state.db, Some(newer))
        .await
        .expect("roll back");
    Migrator::up(&app.state.db, None).await.expect("apply");
    assert_sub_trees(&app, &admin, &[&sales, &support], "rebuilt").await;
}

/// Runs `statements` in one transaction, pausing a moment before it commits, so that other
/// connections' transactions overlap it.
async fn slow_transaction(app: &TestApp, statements: &[String]) {
    use sea_orm::ConnectionTrait;
    // `BEGIN IMMEDIATE` on SQLite, as the server writes: two deferred transactions that both
    // upgrade to writing would be refused instead of waiting.
    let txn = roster::db::begin_write(&app.state.db)
        .await
        .expect("a transaction");
    for sql in statements {
        txn.execute_unprepared(sql)
            .await
            .unwrap_or_else(|e| panic!("{e}: {sql}"));
    }
    tokio::time::sleep(std::time::Duration::from_millis(3)).await;
    txn.commit().await.expect("commit");
}

/// Runs `first` in a transaction that stays open while `second` runs in another connection, and
/// commits it 50 ms later.
async fn overlapping(app: &TestApp, first: &[String], second: &str) {
    use sea_orm::ConnectionTrait;
    let txn = roster::db::begin_write(&app.state.db)
        .await
        .expect("a transaction");
    for sql in first {
        txn.execute_unprepared(sql)
            .await
            .unwrap_or_else(|e| panic!("{e}: {sql}"));
    }
    let commit = async {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        txn.commit().await.expect("commit");
    };
    tokio::join!(exec(app, second), commit);
}

/// Writers in overlapping transactions leave `sub_tree_member` exact: one moves a department back
/// and forth between two parents (its path and its child's rewritten), two link members to the
/// moving child and unlink them, one renames those members. First each race alone: on
/// PostgreSQL, without the triggers' share locks, a link written while its department moves keeps
/// the old path's departments, and a row added while its member is renamed keeps the old
/// nickname. (SQLite writes one transaction at a time.)
#[tokio::test]
async fn sub_tree_members_stay_exact_under_concurrent_writers() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let (org, role) = admin_org_and_role(&app).await;
    let now = FIXTURE_NOW;
    exec(&app, &format!(
        "INSERT INTO department (id, organization_id, parent_id, name, path, sort_order, name_changed, to_be_deleted, created_at) VALUES \
         (7001, {org}, NULL, 'Left', '/7001/', 0, false, false, '{now}'), \
         (7002, {org}, NULL, 'Right', '/7002/', 0, false, false, '{now}'), \
         (7003, {org}, 7001, 'Mover', '/7001/7003/', 0, false, false, '{now}'), \
         (7004, {org}, 7003, 'Child', '/7001/7003/7004/', 0, false, false, '{now}')"
    )).await;
    let rows: Vec<Fixture> = (0..40)
        .map(|i| (60_000 + i, format!("race{i:02}"), format!("Race{i:02}"), 1))
        .collect();
    insert_members(&app, org, role, &rows, &[]).await;

    // Each race in turn, the first writer's transaction still open when the second writes: a
    // link added while its department moves, a link added while its member is renamed, a
    // department moved while a member in it is renamed.
    overlapping(
        &app,
        &[
            "UPDATE department SET parent_id = 7002 WHERE id = 7003".into(),
            "UPDATE department SET path = '/7002/' || substr(path, length('/7001/') + 1) WHERE path LIKE '/7001/7003/%'".into(),
        ],
        &format!("INSERT INTO department_member (department_id, member_id, organization_id) VALUES (7004, 60000, {org})"),
    )
    .await;
    let (kept, expected) = sub_trees(&app).await;
    assert_eq!(kept, expected, "a link added while its department moved");
    overlapping(
        &app,
        &["UPDATE member SET nickname = 'Renamed' WHERE id = 60001".into()],
        &format!("INSERT INTO department_member (department_id, member_id, organization_id) VALUES (7004, 60001, {org})"),
    )
    .await;
    let (kept, expected) = sub_trees(&app).await;
    assert_eq!(kept, expected, "a link added while its member was renamed");
    overlapping(
        &app,
        &["UPDATE member SET nickname = 'Moved' WHERE id = 60000".into()],
        "UPDATE department SET path = '/7001/' || substr(path, length('/7002/') + 1) WHERE path LIKE '/7002/7003/%'",
    )
    .await;
    let (kept, expected) = sub_trees(&app).await;
    assert_eq!(
        kept, expected,
        "a department moved while its member was renamed"
    );
    exec(
        &app,
        "UPDATE department SET parent_id = 7001 WHERE id = 7003",
    )
    .await;
    exec(
        &app,
        "DELETE FROM department_member WHERE department_id = 7004",
    )
    .await;

    let mover = async {
        for i in 0..30 {
            let (from, to) = if i % 2 == 0 {
                (7001, 7002)
            } else {
                (7002, 7001)
            };
            slow_transaction(&app, &[
                format!("UPDATE department SET parent_id = {to} WHERE id = 7003"),
                format!("UPDATE department SET path = '/{to}/' || substr(path, length('/{from}/') + 1) WHERE path LIKE '/{from}/7003/%'"),
            ])
            .await;
        }
    };
    let linker = |half: i64| {
        let app = &app;
        async move {
            for round in 0..3 {
                for i in (half..40).step_by(2) {
                    let member = 60_000 + i;
                    let sql = if round % 2 == 0 {
                        format!(
                            "INSERT INTO department_member (department_id, member_id, organization_id) VALUES (7004, {member}, {org})"
                        )
                    } else {
                        format!(
                            "DELETE FROM department_member WHERE department_id = 7004 AND member_id = {member}"
                        )
                    };
                    slow_transaction(app, &[sql]).await;
                }
            }
        }
    };
    let renamer = async {
        for round in 0..3 {
            for i in 0..40 {
                slow_transaction(
                    &app,
                    &[format!(
                        "UPDATE member SET nickname = 'Race{i:02}r{round}' WHERE id = {}",
                        60_000 + i
                    )],
                )
                .await;
            }
        }
    };
    tokio::join!(mover, linker(0), linker(1), renamer);
    let (kept, expected) = sub_trees(&app).await;
    assert_eq!(kept, expected, "after overlapping writers");
    assert_eq!(
        kept.keys().filter(|(d, _)| *d == 7004).count(),
        40,
        "every member ends linked to the child"
    );
    assert_sub_trees(&app, &admin, &[&json!("7001"), &json!("7002")], "raced").await;
}
