//! The cast of the authorization tests: one of each role in one organization, plus another
//! organization's administrator, a member who has yet to replace a one-time password, and callers
//! whose token must not let them in: nobody at all, a disabled, resigned or removed member, and
//! forged, expired or tampered tokens.

use super::{ADMIN_PASSWORD, TestApp, fixtures, jwt};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use roster::authz::roles::BuiltinRole;
use serde_json::{Value, json};
use std::collections::HashMap;

/// Tokens and ids of the cast.
pub struct Actors {
    /// Access tokens by actor name; anonymous has none.
    pub tokens: HashMap<&'static str, Option<String>>,
    /// Role ids by built-in key, plus `custom_org` and `custom_ws`.
    pub roles: HashMap<String, String>,
    /// Member ids by actor name.
    pub members: HashMap<&'static str, String>,
    /// A group workspace where the workspace actors hold their roles.
    pub workspace_id: String,
    /// A department of the organization.
    pub department_id: String,
    /// The organization id.
    pub organization_id: String,
}

/// Every actor, in table order.
pub const ACTORS: [&str; 18] = [
    "org_admin",
    "perm_admin",
    "standard",
    "custom",
    "ws_admin",
    "ws_developer",
    "ws_analyst",
    "ws_viewer",
    "viewer_type",
    "other_org_admin",
    "disabled",
    "anonymous",
    "forged",
    "expired",
    "tampered",
    "resigned",
    "removed",
    "password_pending",
];

/// Actors whose token must not let them in, whatever the operation: none at all, a disabled
/// member's, the administrator's claims under a key that is not the server's (`forged`) or past
/// their expiry (`expired`), a standard user's token whose claims were edited to name the
/// administrator (`tampered`), and tokens of members who resigned or were removed afterwards.
pub const UNAUTHENTICATED: [&str; 7] = [
    "anonymous",
    "disabled",
    "forged",
    "expired",
    "tampered",
    "resigned",
    "removed",
];

/// The password every actor gets.
pub const PASSWORD: &str = "actor-password-1";

/// Runs an operation as the administrator and returns `data`, panicking on errors.
pub async fn admin_ok(app: &TestApp, token: &str, query: &str, vars: Value) -> Value {
    let body = app.gql(query, vars, Some(token)).await;
    assert!(body["errors"].is_null(), "{query}: {body}");
    body["data"].clone()
}

/// Creates a generic organization named `name` and returns its id.
pub async fn create_organization(app: &TestApp, token: &str, name: &str) -> Value {
    admin_ok(
        app,
        token,
        "mutation($n: String!) { createOrganization(name: $n) { id } }",
        json!({ "n": name }),
    )
    .await["createOrganization"]["id"]
        .clone()
}

/// Creates a department named `name` under `parent` (at the top without) and returns its id.
pub async fn create_department(
    app: &TestApp,
    token: &str,
    name: &str,
    parent: Option<&Value>,
) -> Value {
    admin_ok(
        app,
        token,
        "mutation($n: String!, $p: ID) { createDepartment(name: $n, parentId: $p) { id } }",
        json!({ "n": name, "p": parent }),
    )
    .await["createDepartment"]["id"]
        .clone()
}

/// Switches the caller of `token` into the organization `org` and returns the new access token.
pub async fn switch_to(app: &TestApp, token: &str, org: &Value) -> String {
    admin_ok(
        app,
        token,
        "mutation($o: ID!) { switchOrganization(organizationId: $o) { accessToken } }",
        json!({ "o": org }),
    )
    .await["switchOrganization"]["accessToken"]
        .as_str()
        .expect("an access token")
        .to_string()
}

/// Creates a member through the API with [`PASSWORD`], to keep, and returns its id.
pub async fn create_member(
    app: &TestApp,
    token: &str,
    account: &str,
    user_type: &str,
    role_id: Option<&str>,
) -> String {
    let data = admin_ok(
        app,
        token,
        "mutation($i: CreateMemberInput!) { createMember(input: $i) { member { id } } }",
        json!({ "i": { "account": account, "password": PASSWORD, "passwordChangeRequired": false, "userType": user_type, "roleId": role_id } }),
    )
    .await;
    data["createMember"]["member"]["id"]
        .as_str()
        .expect("id")
        .to_string()
}

/// Builds the cast in a fresh app.
pub async fn setup(app: &TestApp) -> Actors {
    let admin = app.admin_token().await;
    let roles_data = admin_ok(
        app,
        &admin,
        "{ roles { id builtinKey } me { member { id } organization { id } } }",
        json!({}),
    )
    .await;
    let mut roles: HashMap<String, String> = roles_data["roles"]
        .as_array()
        .expect("roles")
        .iter()
        .filter_map(|r| {
            Some((
                r["builtinKey"].as_str()?.to_string(),
                r["id"].as_str()?.to_string(),
            ))
        })
        .collect();
    let organization_id = roles_data["me"]["organization"]["id"]
        .as_str()
        .expect("org")
        .to_string();
    let custom_org = admin_ok(
        app,
        &admin,
        "mutation { createRole(scope: ORGANIZATION, name: \"Agent keeper\", permissions: [VIEW_MEMBERS, MANAGE_AGENTS]) { id } }",
        json!({}),
    )
    .await["createRole"]["id"]
        .as_str()
        .expect("id")
        .to_string();
    roles.insert("custom_org".into(), custom_org.clone());

    let mut members: HashMap<&'static str, String> = HashMap::new();
    members.insert(
        "org_admin",
        roles_data["me"]["member"]["id"]
            .as_str()
            .expect("id")
            .to_string(),
    );
    members.insert(
        "perm_admin",
        create_member(
            app,
            &admin,
            "perm_admin",
            "ANALYST",
            Some(&roles["permission_admin"]),
        )
        .await,
    );
    members.insert(
        "standard",
        create_member(app, &admin, "standard", "DEVELOPER", None).await,
    );
    members.insert(
        "custom",
        create_member(app, &admin, "custom", "DEVELOPER", Some(&custom_org)).await,
    );
    for name in ["ws_admin", "ws_developer", "ws_analyst"] {
        members.insert(
            name,
            create_member(app, &admin, name, "DEVELOPER", None).await,
        );
    }
    members.insert(
        "ws_viewer",
        create_member(app, &admin, "ws_viewer", "VIEWER", None).await,
    );
    members.insert(
        "viewer_type",
        create_member(app, &admin, "viewer_type", "VIEWER", None).await,
    );
    for name in ["disabled", "resigned", "removed"] {
        members.insert(
            name,
            create_member(app, &admin, name, "DEVELOPER", None).await,
        );
    }

    let workspace_id = admin_ok(
        app,
        &admin,
        "mutation { createWorkspace(name: \"Analytics\") { id } }",
        json!({}),
    )
    .await["createWorkspace"]["id"]
        .as_str()
        .expect("ws")
        .to_string();
    for (actor, key) in [
        ("ws_admin", "workspace_admin"),
        ("ws_developer", "workspace_developer"),
        ("ws_analyst", "workspace_analyst"),
        ("ws_viewer", "workspace_viewer"),
    ] {
        admin_ok(
            app,
            &admin,
            "mutation($w: ID!, $m: [ID!]!, $r: ID!) { addWorkspaceMembers(id: $w, memberIds: $m, roleId: $r) { id } }",
            json!({ "w": workspace_id, "m": [members[actor]], "r": roles[key] }),
        )
        .await;
    }
    let department_id = admin_ok(
        app,
        &admin,
        "mutation { createDepartment(name: \"Sales\") { id } }",
        json!({}),
    )
    .await["createDepartment"]["id"]
        .as_str()
        .expect("dep")
        .to_string();

    let other_org = fixtures::organization(&app.state, "Other Org").await;
    fixtures::account(
        &app.state,
        other_org,
        "other_admin",
        PASSWORD,
        BuiltinRole::OrgAdmin,
    )
    .await;

    let mut tokens: HashMap<&'static str, Option<String>> = HashMap::new();
    tokens.insert("org_admin", Some(admin.clone()));
    for name in [
        "perm_admin",
        "standard",
        "custom",
        "ws_admin",
        "ws_developer",
        "ws_analyst",
        "ws_viewer",
        "viewer_type",
        "disabled",
        "resigned",
        "removed",
    ] {
        tokens.insert(
            name,
            Some(
                app.login(name, PASSWORD).await["accessToken"]
                    .as_str()
                    .expect("token")
                    .to_string(),
            ),
        );
    }
    tokens.insert(
        "other_org_admin",
        Some(
            app.login("other_admin", PASSWORD).await["accessToken"]
                .as_str()
                .expect("t")
                .to_string(),
        ),
    );
    // A standard user logged in with the one-time password `createMember` generated.
    let pending = admin_ok(
        app,
        &admin,
        "mutation { createMember(input: { account: \"password_pending\", userType: DEVELOPER }) { member { id } generatedPassword } }",
        json!({}),
    )
    .await;
    members.insert(
        "password_pending",
        pending["createMember"]["member"]["id"]
            .as_str()
            .expect("id")
            .to_string(),
    );
    let one_time = pending["createMember"]["generatedPassword"]
        .as_str()
        .expect("generated");
    tokens.insert(
        "password_pending",
        Some(
            app.login("password_pending", one_time).await["accessToken"]
                .as_str()
                .expect("token")
                .to_string(),
        ),
    );
    tokens.insert("anonymous", None);
    let now = chrono::Utc::now().timestamp();
    let mut expired = jwt::claims_of(&admin);
    expired["iat"] = json!(now - 7200);
    expired["exp"] = json!(now - 3600);
    tokens.insert("expired", Some(jwt::sign_with_server_key(app, &expired)));
    let (kid, _) = app.state.keys.signing_key().expect("key");
    // The administrator's claims and the server's kid, under another Ed25519 key.
    let mut der = hex_bytes("302e020100300506032b657004220420");
    der.extend_from_slice(&[42u8; 32]);
    let foreign = jsonwebtoken::EncodingKey::from_ed_der(&der);
    tokens.insert(
        "forged",
        Some(jwt::sign(&kid, &foreign, &jwt::claims_of(&admin))),
    );
    let standard = tokens["standard"].clone().expect("standard");
    let mut parts: Vec<String> = standard.split('.').map(str::to_string).collect();
    parts[1] = URL_SAFE_NO_PAD.encode(jwt::claims_of(&admin).to_string());
    tokens.insert("tampered", Some(parts.join(".")));
    for (mutation, actor) in [
        ("disableMembers", "disabled"),
        ("resignMembers", "resigned"),
        ("removeMembers", "removed"),
    ] {
        let done = admin_ok(
            app,
            &admin,
            &format!("mutation($m: [ID!]!) {{ {mutation}(ids: $m) {{ ok message }} }}"),
            json!({ "m": [members[actor]] }),
        )
        .await;
        assert_eq!(done[mutation][0]["ok"], true, "{mutation}: {done}");
    }
    let _ = ADMIN_PASSWORD;
    Actors {
        tokens,
        roles,
        members,
        workspace_id,
        department_id,
        organization_id,
    }
}

/// Role ids by built-in key, as the organization sees them.
pub async fn role_ids(app: &TestApp, token: &str) -> std::collections::HashMap<String, String> {
    admin_ok(app, token, "{ roles { id builtinKey } }", json!({})).await["roles"]
        .as_array()
        .expect("roles")
        .iter()
        .filter_map(|r| {
            Some((
                r["builtinKey"].as_str()?.to_string(),
                r["id"].as_str()?.to_string(),
            ))
        })
        .collect()
}

fn hex_bytes(hex: &str) -> Vec<u8> {
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).expect("hex"))
        .collect()
}
