//! Password login, refresh, logout, password change and throttling.

use crate::common::{
    ADMIN_PASSWORD, TestApp,
    actors::{create_member, create_organization},
    app::LOGIN,
    error_code, fixtures,
};
use roster::authz::roles::BuiltinRole;
use serde_json::json;

const REFRESH: &str = "mutation($t: String!) { refreshToken(refreshToken: $t) { accessToken refreshToken member { account } } }";
const ME: &str = "{ me { member { account } } }";

#[tokio::test]
async fn login_then_me() {
    let app = TestApp::spawn().await;
    let payload = app.login("admin", ADMIN_PASSWORD).await;
    assert_eq!(payload["tokenType"], "Bearer");
    assert_eq!(payload["expiresIn"], 900);
    assert_eq!(
        payload["passwordChangeRequired"], false,
        "a password that was chosen (ROSTER_ADMIN_PASSWORD) is not one-time"
    );
    assert!(
        payload["refreshToken"]
            .as_str()
            .is_some_and(|t| t.starts_with("rt_"))
    );
    let token = payload["accessToken"].as_str().expect("token");
    let body = app.gql(ME, json!({}), Some(token)).await;
    assert_eq!(body["data"]["me"]["member"]["account"], "admin");
}

#[tokio::test]
async fn unknown_account_and_wrong_password_look_the_same() {
    let app = TestApp::spawn().await;
    let wrong = app.try_login("admin", "not-the-password").await;
    let unknown = app.try_login("nobody", "not-the-password").await;
    assert_eq!(error_code(&wrong), "UNAUTHENTICATED");
    assert_eq!(error_code(&unknown), "UNAUTHENTICATED");
    assert_eq!(
        wrong["errors"][0]["message"],
        unknown["errors"][0]["message"]
    );
    assert!(wrong["data"].is_null());
}

#[tokio::test]
async fn me_without_a_token_is_unauthenticated() {
    let app = TestApp::spawn().await;
    let body = app.gql(ME, json!({}), None).await;
    assert_eq!(error_code(&body), "UNAUTHENTICATED");
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("Bearer"))
    );
}

#[tokio::test]
async fn repeated_failures_are_throttled_per_account() {
    let app = TestApp::spawn_with(|s| s.login.max_failures_per_account = 3).await;
    for _ in 0..3 {
        assert_eq!(
            login_code(&app, "admin", "guess-guess").await,
            "UNAUTHENTICATED"
        );
    }
    let body = app.try_login("admin", ADMIN_PASSWORD).await;
    assert_eq!(
        error_code(&body),
        "RATE_LIMITED",
        "even the right password waits: {body}"
    );
    assert!(
        body["errors"][0]["extensions"]["retryAfter"]
            .as_u64()
            .is_some_and(|s| s > 0)
    );
}

#[tokio::test]
async fn wrong_current_passwords_count_as_failed_logins() {
    let app = TestApp::spawn_with(|s| s.login.max_failures_per_account = 3).await;
    let token = app.admin_token().await;
    let change = "mutation($c: String!) { changePassword(currentPassword: $c, newPassword: \"new-password-2\") }";
    for _ in 0..2 {
        let body = app
            .gql(change, json!({ "c": "guess-guess" }), Some(&token))
            .await;
        assert_eq!(error_code(&body), "VALIDATION", "{body}");
    }
    assert_eq!(
        login_code(&app, "admin", "guess-guess").await,
        "UNAUTHENTICATED"
    );
    // Three failures of the account, whichever way they came: the right password waits too.
    let body = app
        .gql(change, json!({ "c": ADMIN_PASSWORD }), Some(&token))
        .await;
    assert_eq!(error_code(&body), "RATE_LIMITED", "{body}");
    assert_eq!(
        login_code(&app, "admin", ADMIN_PASSWORD).await,
        "RATE_LIMITED"
    );
}

#[tokio::test]
async fn repeated_failures_are_throttled_per_address() {
    let app = TestApp::spawn_with(|s| {
        s.login.max_failures_per_account = 100;
        s.login.max_failures_per_address = 4;
    })
    .await;
    for i in 0..4 {
        assert_eq!(
            login_code(&app, &format!("user{i}"), "guess-guess").await,
            "UNAUTHENTICATED"
        );
    }
    let body = app.try_login("admin", ADMIN_PASSWORD).await;
    assert_eq!(error_code(&body), "RATE_LIMITED");
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("address"))
    );
}

#[tokio::test]
async fn refresh_rotates_and_reuse_revokes_the_family() {
    let app = TestApp::spawn().await;
    let first = app.login("admin", ADMIN_PASSWORD).await;
    let r1 = first["refreshToken"].as_str().expect("refresh").to_string();

    let body = app.gql(REFRESH, json!({ "t": r1 }), None).await;
    assert!(body["errors"].is_null(), "{body}");
    let r2 = body["data"]["refreshToken"]["refreshToken"]
        .as_str()
        .expect("rotated")
        .to_string();
    assert_ne!(r1, r2);
    let access = body["data"]["refreshToken"]["accessToken"]
        .as_str()
        .expect("access");
    assert_eq!(
        app.gql(ME, json!({}), Some(access)).await["data"]["me"]["member"]["account"],
        "admin"
    );

    // The used token is refused, and presenting it revokes its successor too.
    let body = app.gql(REFRESH, json!({ "t": r1 }), None).await;
    assert_eq!(error_code(&body), "UNAUTHENTICATED");
    let body = app.gql(REFRESH, json!({ "t": r2 }), None).await;
    assert_eq!(
        error_code(&body),
        "UNAUTHENTICATED",
        "reuse of a rotated token revokes the whole login"
    );

    // Another login is unaffected.
    let other = app.login("admin", ADMIN_PASSWORD).await;
    let body = app
        .gql(REFRESH, json!({ "t": other["refreshToken"] }), None)
        .await;
    assert!(body["errors"].is_null());

    let body = app.gql(REFRESH, json!({ "t": "rt_made_up" }), None).await;
    assert_eq!(error_code(&body), "UNAUTHENTICATED");
}

#[tokio::test]
async fn refresh_tokens_are_stored_hashed() {
    let app = TestApp::spawn().await;
    let payload = app.login("admin", ADMIN_PASSWORD).await;
    let token = payload["refreshToken"].as_str().expect("refresh");
    use sea_orm::EntityTrait;
    let rows = entity::refresh_token::Entity::find()
        .all(&app.state.db)
        .await
        .expect("rows");
    assert_eq!(rows.len(), 1);
    assert_ne!(rows[0].token_hash, token);
    assert_eq!(rows[0].token_hash, roster::auth::token_hash(token));
}

#[tokio::test]
async fn logout_revokes_the_refresh_token() {
    let app = TestApp::spawn().await;
    let a = app.login("admin", ADMIN_PASSWORD).await;
    let b = app.login("admin", ADMIN_PASSWORD).await;
    let body = app
        .gql(
            "mutation($t: String) { logout(refreshToken: $t) }",
            json!({ "t": a["refreshToken"] }),
            None,
        )
        .await;
    assert_eq!(body["data"]["logout"], true, "{body}");
    assert_eq!(
        error_code(
            &app.gql(REFRESH, json!({ "t": a["refreshToken"] }), None)
                .await
        ),
        "UNAUTHENTICATED"
    );
    assert!(
        app.gql(REFRESH, json!({ "t": b["refreshToken"] }), None)
            .await["errors"]
            .is_null(),
        "other sessions stay"
    );

    let c = app.login("admin", ADMIN_PASSWORD).await;
    let token = c["accessToken"].as_str().expect("access");
    let body = app
        .gql(
            "mutation { logout(everywhere: true) }",
            json!({}),
            Some(token),
        )
        .await;
    assert_eq!(body["data"]["logout"], true);
    assert_eq!(
        error_code(
            &app.gql(REFRESH, json!({ "t": c["refreshToken"] }), None)
                .await
        ),
        "UNAUTHENTICATED"
    );

    let body = app
        .gql("mutation { logout(everywhere: true) }", json!({}), None)
        .await;
    assert_eq!(error_code(&body), "UNAUTHENTICATED");
}

#[tokio::test]
async fn change_password() {
    let app = TestApp::spawn().await;
    let payload = app.login("admin", ADMIN_PASSWORD).await;
    let token = payload["accessToken"].as_str().expect("token");
    let change = "mutation($c: String!, $n: String!) { changePassword(currentPassword: $c, newPassword: $n) }";
    let body = app
        .gql(
            change,
            json!({ "c": "wrong-current", "n": "new-password-2" }),
            Some(token),
        )
        .await;
    assert_eq!(error_code(&body), "VALIDATION");
    assert_eq!(body["errors"][0]["extensions"]["field"], "currentPassword");
    let body = app
        .gql(
            change,
            json!({ "c": ADMIN_PASSWORD, "n": "short" }),
            Some(token),
        )
        .await;
    assert_eq!(error_code(&body), "VALIDATION");
    assert_eq!(body["errors"][0]["extensions"]["field"], "newPassword");
    let body = app
        .gql(
            change,
            json!({ "c": ADMIN_PASSWORD, "n": "new-password-2" }),
            Some(token),
        )
        .await;
    assert_eq!(body["data"]["changePassword"], true, "{body}");
    assert_eq!(
        error_code(&app.try_login("admin", ADMIN_PASSWORD).await),
        "UNAUTHENTICATED"
    );
    app.login("admin", "new-password-2").await;
    assert_eq!(
        error_code(
            &app.gql(REFRESH, json!({ "t": payload["refreshToken"] }), None)
                .await
        ),
        "UNAUTHENTICATED",
        "other sessions are logged out"
    );
}

#[tokio::test]
async fn account_in_two_organizations() {
    let app = TestApp::spawn().await;
    let org_a = fixtures::default_organization(&app.state).await;
    let org_b = fixtures::organization(&app.state, "Second").await;
    let person = fixtures::person(&app.state, "Dana", "dana-password").await;
    fixtures::member(&app.state, org_a, person, "dana", BuiltinRole::StandardUser).await;
    fixtures::member(&app.state, org_b, person, "dana", BuiltinRole::OrgAdmin).await;

    let body = app
        .gql(LOGIN, json!({ "account": "dana", "password": "dana-password", "organization": org_b.to_string() }), None)
        .await;
    let token = body["data"]["login"]["accessToken"]
        .as_str()
        .expect("token");
    let me = app
        .gql(
            "{ me { organization { name } } organizations { name } }",
            json!({}),
            Some(token),
        )
        .await;
    assert_eq!(me["data"]["me"]["organization"]["name"], "Second");
    let names: Vec<&str> = me["data"]["organizations"]
        .as_array()
        .expect("list")
        .iter()
        .filter_map(|o| o["name"].as_str())
        .collect();
    assert_eq!(names, vec!["Default", "Second"]);

    let body = app.try_login("dana", "dana-password").await;
    assert!(
        body["errors"].is_null(),
        "without an organization the most recent one is used: {body}"
    );
    let token = body["data"]["login"]["accessToken"]
        .as_str()
        .expect("token");
    let me = app
        .gql("{ me { organization { name } } }", json!({}), Some(token))
        .await;
    assert_eq!(me["data"]["me"]["organization"]["name"], "Second");
}

#[tokio::test]
async fn audit_events_are_for_organization_administrators() {
    let app = TestApp::spawn().await;
    let org = fixtures::default_organization(&app.state).await;
    fixtures::account(
        &app.state,
        org,
        "sam",
        "sam-password",
        BuiltinRole::StandardUser,
    )
    .await;
    let other_org = fixtures::organization(&app.state, "Elsewhere").await;
    fixtures::account(
        &app.state,
        other_org,
        "olga",
        "olga-password",
        BuiltinRole::OrgAdmin,
    )
    .await;

    let admin = app.admin_token().await;
    let sam = app.login("sam", "sam-password").await["accessToken"]
        .as_str()
        .expect("t")
        .to_string();
    let olga = app.login("olga", "olga-password").await["accessToken"]
        .as_str()
        .expect("t")
        .to_string();
    let query = "{ auditEvents(first: 10) { edges { node { action actorMemberId } } pageInfo { hasNextPage } } }";

    let body = app.gql(query, json!({}), Some(&admin)).await;
    let actions: Vec<&str> = body["data"]["auditEvents"]["edges"]
        .as_array()
        .expect("edges")
        .iter()
        .filter_map(|e| e["node"]["action"].as_str())
        .collect();
    assert_eq!(
        actions,
        vec!["auth.login", "auth.login"],
        "admin and sam logged in here: {body}"
    );

    let body = app.gql(query, json!({}), Some(&sam)).await;
    assert_eq!(error_code(&body), "FORBIDDEN");
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("org.audit.view"))
    );

    let body = app.gql(query, json!({}), Some(&olga)).await;
    let edges = body["data"]["auditEvents"]["edges"]
        .as_array()
        .expect("edges");
    assert_eq!(
        edges.len(),
        1,
        "another organization's administrator sees only their own organization"
    );

    assert_eq!(
        error_code(&app.gql(query, json!({}), None).await),
        "UNAUTHENTICATED"
    );
}

#[tokio::test]
async fn audit_events_page_with_cursors() {
    let app = TestApp::spawn().await;
    for _ in 0..4 {
        app.login("admin", ADMIN_PASSWORD).await;
    }
    let token = app.admin_token().await;
    let query = "query($after: String) { auditEvents(first: 2, after: $after) { edges { cursor node { id } } pageInfo { hasNextPage endCursor } } }";
    let mut seen = Vec::new();
    let mut after = serde_json::Value::Null;
    loop {
        let body = app
            .gql(query, json!({ "after": after }), Some(&token))
            .await;
        let page = &body["data"]["auditEvents"];
        for edge in page["edges"].as_array().expect("edges") {
            seen.push(
                edge["node"]["id"]
                    .as_str()
                    .expect("id")
                    .parse::<i64>()
                    .expect("numeric"),
            );
        }
        if page["pageInfo"]["hasNextPage"] != true {
            break;
        }
        after = page["pageInfo"]["endCursor"].clone();
    }
    assert_eq!(seen.len(), 5);
    assert!(
        seen.windows(2).all(|w| w[0] > w[1]),
        "newest first, no repeats: {seen:?}"
    );
    let body = app
        .gql(query, json!({ "after": "garbage" }), Some(&token))
        .await;
    assert_eq!(error_code(&body), "VALIDATION");
}

/// A guessing loop that sends its guesses side by side: no more guesses are checked than the
/// limits allow, for one account and for one address spread over many accounts.
#[tokio::test]
async fn concurrent_guesses_get_no_more_tries_than_the_limits() {
    let app = TestApp::spawn_with(|s| {
        s.login.max_failures_per_account = 5;
        s.login.max_failures_per_address = 8;
    })
    .await;
    let guess = |account: String| {
        let app = &app;
        async move { login_code(app, &account, "guess-guess").await }
    };
    let codes = futures_util::future::join_all((0..40).map(|_| guess("admin".into()))).await;
    let checked = codes.iter().filter(|c| *c == "UNAUTHENTICATED").count();
    let limited = codes.iter().filter(|c| *c == "RATE_LIMITED").count();
    assert_eq!(
        checked, 5,
        "exactly the account limit is checked: {codes:?}"
    );
    assert_eq!(limited, 35, "{codes:?}");
    assert_eq!(
        login_code(&app, "admin", ADMIN_PASSWORD).await,
        "RATE_LIMITED",
        "the account waits, even with the right password"
    );

    // The address has 5 failures; guesses at other accounts get 3 more, together.
    let codes = futures_util::future::join_all((0..30).map(|i| guess(format!("someone{i}")))).await;
    let checked = codes.iter().filter(|c| *c == "UNAUTHENTICATED").count();
    assert_eq!(checked, 3, "the address limit holds too: {codes:?}");
}

/// The error code of a password login (`<no error>` when it lets the caller in).
async fn login_code(app: &TestApp, account: &str, password: &str) -> String {
    let body = app.try_login(account, password).await;
    error_code(&body).to_string()
}

#[tokio::test]
async fn the_member_a_login_answers_with_shows_its_role_departments_and_workspaces() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let ok = |token: String, query: &'static str, vars: serde_json::Value| {
        let app = &app;
        async move {
            let body = app.gql(query, vars, Some(&token)).await;
            assert!(body["errors"].is_null(), "{body}");
            body["data"].clone()
        }
    };
    let me = ok(admin.clone(), "{ me { member { id } } }", json!({})).await;
    let admin_id = me["me"]["member"]["id"].clone();
    let sales = ok(
        admin.clone(),
        "mutation { createDepartment(name: \"Sales\") { id } }",
        json!({}),
    )
    .await["createDepartment"]["id"]
        .clone();
    ok(
        admin.clone(),
        "mutation($d: ID!, $m: [ID!]!) { addDepartmentMembers(id: $d, memberIds: $m) { id } }",
        json!({ "d": sales, "m": [admin_id] }),
    )
    .await;
    ok(
        admin.clone(),
        "mutation { createWorkspace(name: \"Reports\") { id } }",
        json!({}),
    )
    .await;

    // Anonymous until the login answers: the member's fields are read in its organization.
    const MEMBER: &str = "member { account passwordChangeRequired role { builtinKey permissions holderCount } departments { path } tags { name } workspaces { name role { builtinKey } } }";
    let body = app
        .gql(
            &format!("mutation($a: String!, $p: String!) {{ login(account: $a, password: $p) {{ {MEMBER} }} }}"),
            json!({ "a": "admin", "p": ADMIN_PASSWORD }),
            None,
        )
        .await;
    assert!(body["errors"].is_null(), "{body}");
    let member = &body["data"]["login"]["member"];
    assert_eq!(member["passwordChangeRequired"], false, "{member}");
    assert_eq!(member["role"]["builtinKey"], "org_admin", "{member}");
    assert_eq!(member["role"]["holderCount"], 1, "{member}");
    assert!(
        member["role"]["permissions"]
            .as_array()
            .is_some_and(|p| p.contains(&json!("MANAGE_MEMBERS"))),
        "{member}"
    );
    assert_eq!(
        member["departments"],
        json!([{ "path": "/Sales" }]),
        "{member}"
    );
    assert!(
        member["workspaces"].as_array().is_some_and(|w| w
            .iter()
            .any(|w| w["name"] == "Reports" && w["role"]["builtinKey"] == "workspace_admin")),
        "{member}"
    );

    // A second administrator here, so that a count of them tells the two organizations apart.
    let roles = ok(
        admin.clone(),
        "{ roles(scope: ORGANIZATION) { id builtinKey } }",
        json!({}),
    )
    .await;
    let org_admin = roles["roles"]
        .as_array()
        .and_then(|r| r.iter().find(|r| r["builtinKey"] == "org_admin"))
        .and_then(|r| r["id"].as_str())
        .expect("the org_admin role")
        .to_string();
    create_member(&app, &admin, "second", "DEVELOPER", Some(&org_admin)).await;

    // Switching: the member answered with is the one of the other organization, with its
    // departments and role there, though the caller's token is of the first.
    let branch = create_organization(&app, &admin, "Branch").await;
    let switch = "mutation($o: ID!) { switchOrganization(organizationId: $o) { accessToken member { id departments { path } role { builtinKey holderCount } } } }";
    let there = ok(admin.clone(), switch, json!({ "o": branch })).await;
    assert_eq!(
        there["switchOrganization"]["member"]["role"],
        json!({ "builtinKey": "org_admin", "holderCount": 1 }),
        "the new organization has one administrator, the first has two: {there}"
    );
    let branch_token = there["switchOrganization"]["accessToken"]
        .as_str()
        .expect("token")
        .to_string();
    let north = ok(
        branch_token.clone(),
        "mutation { createDepartment(name: \"North\") { id } }",
        json!({}),
    )
    .await["createDepartment"]["id"]
        .clone();
    ok(
        branch_token,
        "mutation($d: ID!, $m: [ID!]!) { addDepartmentMembers(id: $d, memberIds: $m) { id } }",
        json!({ "d": north, "m": [there["switchOrganization"]["member"]["id"]] }),
    )
    .await;
    let again = ok(admin, switch, json!({ "o": branch })).await;
    assert_eq!(
        again["switchOrganization"]["member"]["departments"],
        json!([{ "path": "/North" }]),
        "{again}"
    );
}
