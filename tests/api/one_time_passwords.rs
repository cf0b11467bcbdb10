//! One-time passwords: a password Roster generated (createMember without one, import, the first
//! administrator, an administrator's reset) lets its holder do nothing but `me`, `changePassword`
//! and `logout` until they choose their own; administrators reset passwords, within limits.

use crate::common::{
    TestApp,
    actors::{PASSWORD, admin_ok, create_member, role_ids},
    assert_unauthenticated, error_code, fixtures,
};
use roster::authz::roles::BuiltinRole;
use serde_json::{Value, json};

const CHANGE: &str =
    "mutation($c: String!, $n: String!) { changePassword(currentPassword: $c, newPassword: $n) }";
const RESET: &str = "mutation($id: ID!) { resetMemberPassword(id: $id) { member { id account } generatedPassword } }";
const ME: &str = "{ me { passwordChangeRequired member { account } } }";
const REFRESH: &str = "mutation($t: String!) { refreshToken(refreshToken: $t) { accessToken passwordChangeRequired } }";

/// The answer is PASSWORD_CHANGE_REQUIRED, and its message says how to leave that state.
fn assert_change_required(body: &Value) {
    assert_eq!(error_code(body), "PASSWORD_CHANGE_REQUIRED", "{body}");
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("changePassword")),
        "{body}"
    );
}

/// A member of `org` who logs in through DingTalk (and also holds the password `x-password-1`,
/// which a reset must leave alone).
async fn dingtalk_member(app: &TestApp, org: i64, account: &str) -> i64 {
    let id = fixtures::account(
        &app.state,
        org,
        account,
        "x-password-1",
        BuiltinRole::StandardUser,
    )
    .await;
    fixtures::set_account_type(&app.state, id, entity::enums::AccountType::Dingtalk).await;
    id
}

fn token(payload: &Value) -> String {
    payload["accessToken"].as_str().expect("token").to_string()
}

/// `changePassword` from `current` to `my-own-password-1`, with the access token `token`.
async fn change_to_own(app: &TestApp, token: &str, current: &str) -> Value {
    app.gql(
        CHANGE,
        json!({ "c": current, "n": "my-own-password-1" }),
        Some(token),
    )
    .await
}

/// Logs `account` in with its one-time password and chooses `my-own-password-1` instead.
async fn choose_own_password(app: &TestApp, account: &str, one_time: &str) {
    let pending = token(&app.login(account, one_time).await);
    let changed = change_to_own(app, &pending, one_time).await;
    assert_eq!(changed["data"]["changePassword"], true, "{changed}");
}

#[tokio::test]
async fn a_generated_password_must_be_changed_before_anything_else() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let created = admin_ok(
        &app,
        &admin,
        "mutation { createMember(input: { account: \"newcomer\", userType: ANALYST }) { member { id } generatedPassword } }",
        json!({}),
    )
    .await;
    let one_time = created["createMember"]["generatedPassword"]
        .as_str()
        .expect("generated")
        .to_string();

    let payload = app.login("newcomer", &one_time).await;
    assert_eq!(payload["passwordChangeRequired"], true, "{payload}");
    let pending = token(&payload);
    let me = app.gql(ME, json!({}), Some(&pending)).await;
    assert_eq!(me["data"]["me"]["passwordChangeRequired"], true, "{me}");
    assert_eq!(me["data"]["me"]["member"]["account"], "newcomer");
    for query in [
        "{ organization { id } }",
        "{ members(first: 5) { totalCount } }",
        "{ workspaces { id } }",
        "mutation { createWorkspace(name: \"Mine\") { id } }",
    ] {
        assert_change_required(&app.gql(query, json!({}), Some(&pending)).await);
    }
    // A refreshed token is no way round it.
    let refreshed = app
        .gql(REFRESH, json!({ "t": payload["refreshToken"] }), None)
        .await;
    assert_eq!(
        refreshed["data"]["refreshToken"]["passwordChangeRequired"], true,
        "{refreshed}"
    );
    let refreshed = refreshed["data"]["refreshToken"]["accessToken"]
        .as_str()
        .expect("token")
        .to_string();
    assert_change_required(
        &app.gql("{ organization { id } }", json!({}), Some(&refreshed))
            .await,
    );
    // The same one-time password is not accepted as the new one.
    let same = app
        .gql(
            CHANGE,
            json!({ "c": one_time, "n": one_time }),
            Some(&pending),
        )
        .await;
    assert_eq!(error_code(&same), "VALIDATION", "{same}");

    let changed = change_to_own(&app, &pending, &one_time).await;
    assert_eq!(changed["data"]["changePassword"], true, "{changed}");
    // The same access token works at once, for everything the role allows.
    let body = app
        .gql(
            "{ organization { id } me { passwordChangeRequired } }",
            json!({}),
            Some(&pending),
        )
        .await;
    assert!(body["errors"].is_null(), "{body}");
    assert_eq!(body["data"]["me"]["passwordChangeRequired"], false);
    // The one-time password is spent.
    assert_unauthenticated(
        &app.try_login("newcomer", &one_time).await,
        "the account or password is incorrect",
    );
    let again = app.login("newcomer", "my-own-password-1").await;
    assert_eq!(again["passwordChangeRequired"], false);
}

#[tokio::test]
async fn administrators_see_who_has_yet_to_choose_a_password() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let pending = admin_ok(
        &app,
        &admin,
        "mutation { createMember(input: { account: \"pending\" }) { member { id } generatedPassword } }",
        json!({}),
    )
    .await;
    create_member(&app, &admin, "settled", "ANALYST", None).await;
    let flags = || async {
        let page = admin_ok(
            &app,
            &admin,
            "{ members(first: 10, orderBy: { field: ACCOUNT, direction: ASC }) { edges { node { account passwordChangeRequired } } } }",
            json!({}),
        )
        .await;
        page["members"]["edges"]
            .as_array()
            .expect("edges")
            .iter()
            .map(|e| {
                (
                    e["node"]["account"].as_str().expect("account").to_string(),
                    e["node"]["passwordChangeRequired"].as_bool().expect("flag"),
                )
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(
        flags().await,
        [
            ("admin".into(), false),
            ("pending".into(), true),
            ("settled".into(), false)
        ]
    );
    let one_time = pending["createMember"]["generatedPassword"]
        .as_str()
        .expect("generated");
    choose_own_password(&app, "pending", one_time).await;
    assert!(flags().await.iter().all(|(_, required)| !required));
}

#[tokio::test]
async fn a_password_given_at_creation_is_one_time_unless_said_otherwise() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let create = "mutation($i: CreateMemberInput!) { createMember(input: $i) { member { id } generatedPassword } }";
    for (account, keep, one_time) in [("given", None, true), ("kept", Some(false), false)] {
        let body = app
            .gql(
                create,
                json!({ "i": { "account": account, "password": PASSWORD, "passwordChangeRequired": keep } }),
                Some(&admin),
            )
            .await;
        assert!(body["errors"].is_null(), "{body}");
        assert_eq!(
            body["data"]["createMember"]["generatedPassword"],
            Value::Null
        );
        assert_eq!(
            app.login(account, PASSWORD).await["passwordChangeRequired"],
            one_time,
            "{account}"
        );
    }
    let body = app
        .gql(
            create,
            json!({ "i": { "account": "nothing_to_keep", "passwordChangeRequired": false } }),
            Some(&admin),
        )
        .await;
    assert_eq!(error_code(&body), "VALIDATION", "{body}");
    assert_eq!(
        body["errors"][0]["extensions"]["field"],
        "passwordChangeRequired"
    );
    let body = app
        .gql(
            "{ members(filter: { keyword: \"nothing_to_keep\" }) { totalCount } }",
            json!({}),
            Some(&admin),
        )
        .await;
    assert_eq!(
        body["data"]["members"]["totalCount"], 0,
        "nothing was created: {body}"
    );
}

#[tokio::test]
async fn logout_works_while_a_password_change_is_required() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let id = create_member(&app, &admin, "leaver", "ANALYST", None).await;
    let reset = admin_ok(&app, &admin, RESET, json!({ "id": id })).await;
    let one_time = reset["resetMemberPassword"]["generatedPassword"]
        .as_str()
        .expect("generated");
    let payload = app.login("leaver", one_time).await;
    let pending = token(&payload);
    let body = app
        .gql(
            "mutation { logout(everywhere: true) }",
            json!({}),
            Some(&pending),
        )
        .await;
    assert_eq!(body["data"]["logout"], true, "{body}");
    assert_unauthenticated(
        &app.gql(REFRESH, json!({ "t": payload["refreshToken"] }), None)
            .await,
        "not valid",
    );
}

#[tokio::test]
async fn an_administrator_resets_a_members_password() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let id = create_member(&app, &admin, "forgetful", "DEVELOPER", None).await;
    let before = app.login("forgetful", PASSWORD).await;
    let old_token = token(&before);

    let reset = admin_ok(&app, &admin, RESET, json!({ "id": id })).await;
    assert_eq!(
        reset["resetMemberPassword"]["member"]["account"],
        "forgetful"
    );
    let one_time = reset["resetMemberPassword"]["generatedPassword"]
        .as_str()
        .expect("generated")
        .to_string();
    assert_eq!(one_time.len(), 20);

    // The old password no longer works.
    assert_unauthenticated(
        &app.try_login("forgetful", PASSWORD).await,
        "the account or password is incorrect",
    );
    assert_unauthenticated(
        &app.gql(REFRESH, json!({ "t": before["refreshToken"] }), None)
            .await,
        "not valid",
    );
    // An access token issued before the reset is held to the password change at once.
    assert_change_required(
        &app.gql("{ organization { id } }", json!({}), Some(&old_token))
            .await,
    );
    let payload = app.login("forgetful", &one_time).await;
    assert_eq!(payload["passwordChangeRequired"], true);

    let audit = admin_ok(
        &app,
        &admin,
        "{ auditEvents(first: 5) { edges { node { action targetId actorMemberId } } } }",
        json!({}),
    )
    .await;
    let last = &audit["auditEvents"]["edges"]
        .as_array()
        .expect("edges")
        .iter()
        .find(|e| e["node"]["action"] == "member.password_reset")
        .expect("a password_reset event")["node"];
    assert_eq!(last["targetId"], id.as_str());
    let body = app.gql(ME, json!({}), Some(&admin)).await;
    assert_eq!(body["data"]["me"]["passwordChangeRequired"], false);
}

#[tokio::test]
async fn resetting_is_refused_where_it_would_open_another_login() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let me = admin_ok(&app, &admin, "{ me { member { id } } }", json!({})).await;
    let own = app
        .gql(
            RESET,
            json!({ "id": me["me"]["member"]["id"] }),
            Some(&admin),
        )
        .await;
    assert_eq!(error_code(&own), "VALIDATION", "{own}");
    assert!(
        own["errors"][0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("changePassword"))
    );

    // A person who also belongs to another organization: the password opens that one too.
    let org = fixtures::default_organization(&app.state).await;
    let second = fixtures::organization(&app.state, "Second").await;
    let person = fixtures::person(&app.state, "Dana", "dana-password").await;
    let dana = fixtures::member(&app.state, org, person, "dana", BuiltinRole::StandardUser).await;
    fixtures::member(&app.state, second, person, "dana", BuiltinRole::OrgAdmin).await;
    let body = app
        .gql(RESET, json!({ "id": dana.to_string() }), Some(&admin))
        .await;
    assert_eq!(error_code(&body), "FORBIDDEN", "{body}");
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("another organization"))
    );
    app.login("dana", "dana-password").await;

    // A member of another organization does not exist here.
    let stranger = fixtures::account(
        &app.state,
        second,
        "stranger",
        "x-password-1",
        BuiltinRole::StandardUser,
    )
    .await;
    let body = app
        .gql(RESET, json!({ "id": stranger.to_string() }), Some(&admin))
        .await;
    assert_eq!(error_code(&body), "NOT_FOUND", "{body}");

    // A member who logs in through a provider has no Roster password.
    let synced = dingtalk_member(&app, org, "synced").await;
    let body = app
        .gql(RESET, json!({ "id": synced.to_string() }), Some(&admin))
        .await;
    assert_eq!(error_code(&body), "VALIDATION", "{body}");
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("DingTalk")),
        "{body}"
    );

    // Managing members is not enough to take over an administrator's login.
    let roles = role_ids(&app, &admin).await;
    let keeper_role = admin_ok(
        &app,
        &admin,
        "mutation { createRole(scope: ORGANIZATION, name: \"Member keeper\", permissions: [VIEW_MEMBERS, MANAGE_MEMBERS]) { id } }",
        json!({}),
    )
    .await["createRole"]["id"]
        .as_str()
        .expect("role")
        .to_string();
    create_member(&app, &admin, "keeper", "DEVELOPER", Some(&keeper_role)).await;
    let perm_admin = create_member(
        &app,
        &admin,
        "perm",
        "ANALYST",
        Some(&roles["permission_admin"]),
    )
    .await;
    let standard = create_member(&app, &admin, "plain", "VIEWER", None).await;
    let keeper = token(&app.login("keeper", PASSWORD).await);
    for target in [
        &me["me"]["member"]["id"].as_str().expect("id").to_string(),
        &perm_admin,
    ] {
        let body = app.gql(RESET, json!({ "id": target }), Some(&keeper)).await;
        assert_eq!(error_code(&body), "FORBIDDEN", "{body}");
    }
    let body = app
        .gql(RESET, json!({ "id": standard }), Some(&keeper))
        .await;
    assert!(
        body["errors"].is_null(),
        "a standard user's password: {body}"
    );
    // Nothing changed for the refused ones.
    app.login("perm", PASSWORD).await;
    app.login("synced", "x-password-1").await;
}

#[tokio::test]
async fn passwords_are_reset_in_batch_with_an_outcome_for_each_member() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let me = admin_ok(&app, &admin, "{ me { member { id } } }", json!({})).await;
    let own = me["me"]["member"]["id"].as_str().expect("id").to_string();
    let first = create_member(&app, &admin, "first", "ANALYST", None).await;
    let second = create_member(&app, &admin, "second", "VIEWER", None).await;
    let org = fixtures::default_organization(&app.state).await;
    let synced = dingtalk_member(&app, org, "synced").await;
    let elsewhere = fixtures::organization(&app.state, "Elsewhere").await;
    let stranger = fixtures::account(
        &app.state,
        elsewhere,
        "stranger",
        "x-password-1",
        BuiltinRole::StandardUser,
    )
    .await;
    const BATCH: &str = "mutation($ids: [ID!]!) { resetMemberPasswords(ids: $ids) { memberId ok message generatedPassword } }";

    let ids = [
        first.clone(),
        own.clone(),
        synced.to_string(),
        stranger.to_string(),
        second.clone(),
        first.clone(),
    ];
    let data = admin_ok(&app, &admin, BATCH, json!({ "ids": ids })).await;
    let outcomes = data["resetMemberPasswords"].as_array().expect("outcomes");
    // Each member once, in the order given.
    let order: Vec<&str> = outcomes
        .iter()
        .map(|o| o["memberId"].as_str().expect("id"))
        .collect();
    assert_eq!(
        order,
        ids[..5].iter().map(String::as_str).collect::<Vec<_>>()
    );
    let refused = |i: usize, says: &str| {
        let o = &outcomes[i];
        assert_eq!(o["ok"], false, "{o}");
        assert!(o["generatedPassword"].is_null(), "{o}");
        assert!(
            o["message"].as_str().is_some_and(|m| m.contains(says)),
            "{o}"
        );
    };
    refused(1, "changePassword");
    refused(2, "DingTalk");
    refused(3, "no such member");
    let mut passwords = Vec::new();
    for (i, account) in [(0, "first"), (4, "second")] {
        let o = &outcomes[i];
        assert_eq!(o["ok"], true, "{o}");
        assert!(o["message"].is_null(), "{o}");
        let one_time = o["generatedPassword"].as_str().expect("generated");
        assert_eq!(one_time.len(), 20);
        assert_unauthenticated(
            &app.try_login(account, PASSWORD).await,
            "the account or password is incorrect",
        );
        let payload = app.login(account, one_time).await;
        assert_eq!(payload["passwordChangeRequired"], true, "{payload}");
        passwords.push(one_time.to_string());
    }
    assert_ne!(passwords[0], passwords[1]);
    // The refused keep their passwords.
    app.login("synced", "x-password-1").await;
    app.login("stranger", "x-password-1").await;
    let body = app.gql(ME, json!({}), Some(&admin)).await;
    assert_eq!(
        body["data"]["me"]["passwordChangeRequired"], false,
        "{body}"
    );

    let audit = admin_ok(
        &app,
        &admin,
        "{ auditEvents(first: 20, action: \"member.password_reset\") { edges { node { targetId } } } }",
        json!({}),
    )
    .await;
    let mut targets: Vec<&str> = audit["auditEvents"]["edges"]
        .as_array()
        .expect("edges")
        .iter()
        .map(|e| e["node"]["targetId"].as_str().expect("target"))
        .collect();
    targets.sort_unstable();
    let mut expected = [first.as_str(), second.as_str()];
    expected.sort_unstable();
    assert_eq!(targets, expected);

    // A batch in which every member is refused changes nothing and generates nothing.
    let data = admin_ok(
        &app,
        &admin,
        BATCH,
        json!({ "ids": [own, synced.to_string()] }),
    )
    .await;
    assert!(
        data["resetMemberPasswords"]
            .as_array()
            .expect("outcomes")
            .iter()
            .all(|o| o["ok"] == false && o["generatedPassword"].is_null()),
        "{data}"
    );
    app.login("synced", "x-password-1").await;
}

/// `at` as a time, from an RFC 3339 string in a response.
fn time(at: &Value) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::parse_from_rfc3339(at.as_str().unwrap_or_else(|| panic!("a time: {at}")))
        .expect("RFC 3339")
        .with_timezone(&chrono::Utc)
}

/// Sets the one-time password expiry of member `id`'s person to `at`, as if time had passed.
async fn set_expiry(app: &TestApp, id: &str, at: Option<chrono::DateTime<chrono::Utc>>) {
    use sea_orm::{ActiveValue::Set, EntityTrait};
    let member = entity::member::Entity::find_by_id(id.parse::<i64>().expect("id"))
        .one(&app.state.db)
        .await
        .expect("read")
        .expect("member");
    entity::user::Entity::update(entity::user::ActiveModel {
        id: Set(member.user_id),
        password_expires_at: Set(at),
        ..Default::default()
    })
    .exec(&app.state.db)
    .await
    .expect("update");
}

#[tokio::test]
async fn one_time_passwords_expire() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    const EXPIRY: &str =
        "query($id: ID!) { member(id: $id) { passwordChangeRequired passwordExpiresAt } }";
    let before = chrono::Utc::now();
    let created = admin_ok(
        &app,
        &admin,
        "mutation { createMember(input: { account: \"late\", userType: ANALYST }) { member { id passwordExpiresAt } generatedPassword } }",
        json!({}),
    )
    .await;
    let id = created["createMember"]["member"]["id"]
        .as_str()
        .expect("id")
        .to_string();
    let one_time = created["createMember"]["generatedPassword"]
        .as_str()
        .expect("generated")
        .to_string();
    // Seven days by default.
    let week = chrono::Duration::days(7);
    let expires = time(&created["createMember"]["member"]["passwordExpiresAt"]);
    assert!(
        expires >= before + week && expires <= chrono::Utc::now() + week,
        "{expires}"
    );
    // Passwords people keep do not expire.
    let kept = create_member(&app, &admin, "kept", "VIEWER", None).await;
    let data = admin_ok(&app, &admin, EXPIRY, json!({ "id": kept })).await;
    assert!(data["member"]["passwordExpiresAt"].is_null(), "{data}");

    // Logged in before it expired, but not changed in time.
    let pending = token(&app.login("late", &one_time).await);
    let past = chrono::Utc::now() - chrono::Duration::minutes(1);
    set_expiry(&app, &id, Some(past)).await;
    let refused = app.try_login("late", &one_time).await;
    assert_eq!(error_code(&refused), "PASSWORD_EXPIRED", "{refused}");
    let message = refused["errors"][0]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("expired on") && message.contains("administrator"),
        "{message}"
    );
    // A disabled member is told that first: a new password would not let them in.
    let toggle = |mutation: &'static str| {
        let (app, admin, id) = (&app, &admin, &id);
        async move {
            let query = format!("mutation($ids: [ID!]!) {{ {mutation}(ids: $ids) {{ ok }} }}");
            let done = admin_ok(app, admin, &query, json!({ "ids": [id] })).await;
            assert_eq!(done[mutation][0]["ok"], true, "{done}");
        }
    };
    toggle("disableMembers").await;
    assert_unauthenticated(&app.try_login("late", &one_time).await, "disabled");
    toggle("activateMembers").await;
    // A wrong password learns nothing of the expiry.
    assert_unauthenticated(
        &app.try_login("late", "not-the-password").await,
        "the account or password is incorrect",
    );
    // Nor does the session it opened let it become a lasting password.
    let change = change_to_own(&app, &pending, &one_time).await;
    assert_eq!(error_code(&change), "PASSWORD_EXPIRED", "{change}");
    assert_unauthenticated(
        &app.try_login("late", "my-own-password-1").await,
        "the account or password is incorrect",
    );

    // A reset gives a new week; choosing a password ends expiry.
    let reset = admin_ok(
        &app,
        &admin,
        "mutation($ids: [ID!]!) { resetMemberPasswords(ids: $ids) { ok generatedPassword passwordExpiresAt } }",
        json!({ "ids": [id] }),
    )
    .await;
    let outcome = &reset["resetMemberPasswords"][0];
    assert_eq!(outcome["ok"], true, "{outcome}");
    assert!(
        time(&outcome["passwordExpiresAt"]) >= before + week,
        "{outcome}"
    );
    let fresh = outcome["generatedPassword"].as_str().expect("generated");
    choose_own_password(&app, "late", fresh).await;
    let data = admin_ok(&app, &admin, EXPIRY, json!({ "id": id })).await;
    assert_eq!(
        data["member"],
        json!({ "passwordChangeRequired": false, "passwordExpiresAt": null })
    );
    app.login("late", "my-own-password-1").await;
}

#[tokio::test]
async fn a_lifetime_of_zero_keeps_one_time_passwords_until_used() {
    let app = TestApp::spawn_with(|s| s.login.one_time_password_ttl_secs = 0).await;
    let admin = app.admin_token().await;
    let created = admin_ok(
        &app,
        &admin,
        "mutation { createMember(input: { account: \"whenever\" }) { member { id passwordChangeRequired passwordExpiresAt } generatedPassword } }",
        json!({}),
    )
    .await;
    let member = &created["createMember"]["member"];
    assert_eq!(member["passwordChangeRequired"], true, "{member}");
    assert!(member["passwordExpiresAt"].is_null(), "{member}");
    let reset = admin_ok(
        &app,
        &admin,
        "mutation($ids: [ID!]!) { resetMemberPasswords(ids: $ids) { ok generatedPassword passwordExpiresAt } }",
        json!({ "ids": [member["id"]] }),
    )
    .await;
    let outcome = &reset["resetMemberPasswords"][0];
    assert_eq!(outcome["ok"], true, "{outcome}");
    assert!(outcome["passwordExpiresAt"].is_null(), "{outcome}");
    let fresh = outcome["generatedPassword"].as_str().expect("generated");
    assert_eq!(
        app.login("whenever", fresh).await["passwordChangeRequired"],
        true
    );
}

#[tokio::test]
async fn members_are_found_by_the_state_of_their_one_time_password() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let mut ids = std::collections::HashMap::new();
    for account in ["fresh", "stale", "timeless"] {
        let created = admin_ok(
            &app,
            &admin,
            "mutation($a: String!) { createMember(input: { account: $a }) { member { id } } }",
            json!({ "a": account }),
        )
        .await;
        let id = created["createMember"]["member"]["id"]
            .as_str()
            .expect("id");
        ids.insert(account, id.to_string());
    }
    create_member(&app, &admin, "settled", "VIEWER", None).await;
    let past = chrono::Utc::now() - chrono::Duration::minutes(1);
    set_expiry(&app, &ids["stale"], Some(past)).await;
    set_expiry(&app, &ids["timeless"], None).await;
    let found = |filter: Value| {
        let app = &app;
        let admin = &admin;
        async move {
            let page = admin_ok(
                app,
                admin,
                "query($f: MemberFilter) { members(first: 10, filter: $f, orderBy: { field: ACCOUNT }) { totalCount edges { node { account } } } }",
                json!({ "f": filter }),
            )
            .await;
            let accounts: Vec<String> = page["members"]["edges"]
                .as_array()
                .expect("edges")
                .iter()
                .map(|e| e["node"]["account"].as_str().expect("account").to_string())
                .collect();
            assert_eq!(page["members"]["totalCount"], accounts.len(), "{page}");
            accounts
        }
    };
    assert_eq!(
        found(json!({ "oneTimePasswords": ["PENDING"] })).await,
        ["fresh", "timeless"]
    );
    assert_eq!(
        found(json!({ "oneTimePasswords": ["EXPIRED"] })).await,
        ["stale"]
    );
    assert_eq!(
        found(json!({ "oneTimePasswords": ["PENDING", "EXPIRED"] })).await,
        ["fresh", "stale", "timeless"]
    );
    assert_eq!(
        found(json!({ "oneTimePasswords": ["PENDING", "EXPIRED"], "keyword": "ESS" })).await,
        ["timeless"],
        "with the other filters"
    );
    assert_eq!(found(json!({ "oneTimePasswords": [] })).await.len(), 5);

    // The expired get new passwords, and are pending again.
    let reset = admin_ok(
        &app,
        &admin,
        "mutation($ids: [ID!]!) { resetMemberPasswords(ids: $ids) { ok } }",
        json!({ "ids": [ids["stale"]] }),
    )
    .await;
    assert_eq!(reset["resetMemberPasswords"][0]["ok"], true, "{reset}");
    assert!(
        found(json!({ "oneTimePasswords": ["EXPIRED"] }))
            .await
            .is_empty()
    );
    assert_eq!(
        found(json!({ "oneTimePasswords": ["PENDING"] })).await,
        ["fresh", "stale", "timeless"]
    );
}
