//! Authorization as a table: every query and mutation of the organization API × every actor.
//! Expected outcomes: OK, REFUSED (a batch that answered "not applied" for each member),
//! FORBIDDEN, NOT_FOUND (another organization's object), VALIDATION (a list naming another
//! organization's members, refused whole), UNAUTHENTICATED, or
//! PASSWORD_CHANGE_REQUIRED for a member who has yet to replace a one-time password (who may
//! only ask `me`).

use crate::common::{
    TestApp,
    actors::{self, ACTORS, Actors},
};
use serde_json::{Value, json};

/// Who may run an operation.
#[derive(Clone, Copy)]
enum Allowed {
    /// Anyone, even without a token.
    Public,
    /// Any active member of the organization (and the other organization's admin in their own).
    Members,
    /// Only these actors of the organization; the other organization's admin gets `other`.
    Only(&'static [&'static str], &'static str),
    /// Only these actors see it; to everyone else it does not exist (NOT_FOUND).
    Visible(&'static [&'static str]),
}

struct Op {
    name: &'static str,
    query: &'static str,
    vars: fn(&Actors, &str) -> Value,
    allowed: Allowed,
    /// Outcome for the other organization's administrator when `Members`.
    other: &'static str,
}

const VIEWERS: &[&str] = &[
    "org_admin",
    "perm_admin",
    "standard",
    "custom",
    "ws_admin",
    "ws_developer",
    "ws_analyst",
    "ws_viewer",
    "viewer_type",
];

fn none(_: &Actors, _: &str) -> Value {
    json!({})
}

fn ops() -> Vec<Op> {
    vec![
        Op {
            name: "me",
            query: "{ me { member { id } } }",
            vars: none,
            allowed: Allowed::Members,
            other: "OK",
        },
        Op {
            name: "organization",
            query: "{ organization { id } }",
            vars: none,
            allowed: Allowed::Members,
            other: "OK",
        },
        Op {
            name: "organizations",
            query: "{ organizations { id } }",
            vars: none,
            allowed: Allowed::Members,
            other: "OK",
        },
        Op {
            name: "members",
            query: "{ members(first: 5) { totalCount edges { node { id departments { path } role { id } tags { name } workspaces { id } } } } }",
            vars: none,
            allowed: Allowed::Only(VIEWERS, "OK"),
            other: "",
        },
        Op {
            name: "member",
            query: "query($id: ID!) { member(id: $id) { id } }",
            vars: |a, _| json!({ "id": a.members["standard"] }),
            allowed: Allowed::Only(VIEWERS, "NOT_FOUND"),
            other: "",
        },
        Op {
            name: "departments",
            query: "{ departments { id children { id } } }",
            vars: none,
            allowed: Allowed::Only(VIEWERS, "OK"),
            other: "",
        },
        Op {
            name: "department",
            query: "query($id: ID!) { department(id: $id) { id path } }",
            vars: |a, _| json!({ "id": a.department_id }),
            allowed: Allowed::Only(VIEWERS, "NOT_FOUND"),
            other: "",
        },
        Op {
            name: "searchDirectory",
            query: "{ searchDirectory(keyword: \"s\") { departments { id } members { id } } }",
            vars: none,
            allowed: Allowed::Only(VIEWERS, "OK"),
            other: "",
        },
        Op {
            name: "roleGroups",
            query: "{ roleGroups { id } }",
            vars: none,
            allowed: Allowed::Only(VIEWERS, "OK"),
            other: "",
        },
        Op {
            name: "roles",
            query: "{ roles { id permissions } }",
            vars: none,
            allowed: Allowed::Members,
            other: "OK",
        },
        Op {
            name: "role",
            query: "query($id: ID!) { role(id: $id) { id } }",
            vars: |a, _| json!({ "id": a.roles["custom_org"] }),
            allowed: Allowed::Members,
            other: "NOT_FOUND",
        },
        Op {
            name: "permissionCatalog",
            query: "{ permissionCatalog { key } }",
            vars: none,
            allowed: Allowed::Public,
            other: "OK",
        },
        Op {
            name: "workspaces",
            query: "{ workspaces { id } }",
            vars: none,
            allowed: Allowed::Members,
            other: "OK",
        },
        Op {
            name: "workspace",
            query: "query($id: ID!) { workspace(id: $id) { id members { member { id } } } }",
            vars: |a, _| json!({ "id": a.workspace_id }),
            allowed: Allowed::Visible(&[
                "org_admin",
                "perm_admin",
                "ws_admin",
                "ws_developer",
                "ws_analyst",
                "ws_viewer",
            ]),
            other: "",
        },
        Op {
            name: "agents",
            query: "{ agents { id } }",
            vars: none,
            allowed: Allowed::Members,
            other: "OK",
        },
        Op {
            name: "auditEvents",
            query: "{ auditEvents(first: 1) { edges { node { id } } } }",
            vars: none,
            allowed: Allowed::Only(&["org_admin"], "OK"),
            other: "",
        },
        Op {
            name: "createMember",
            query: "mutation($a: String!) { createMember(input: { account: $a }) { member { id } } }",
            vars: |_, who| json!({ "a": format!("new_{who}") }),
            allowed: Allowed::Only(&["org_admin"], "OK"),
            other: "",
        },
        Op {
            name: "updateMember",
            query: "mutation($id: ID!) { updateMember(id: $id, input: { position: \"Clerk\" }) { id } }",
            vars: |a, _| json!({ "id": a.members["standard"] }),
            allowed: Allowed::Only(&["org_admin"], "NOT_FOUND"),
            other: "",
        },
        Op {
            name: "updateMember role",
            query: "mutation($id: ID!, $r: ID!) { updateMember(id: $id, input: { roleId: $r }) { id } }",
            vars: |a, _| json!({ "id": a.members["target_role"], "r": a.roles["custom_org"] }),
            allowed: Allowed::Only(&["org_admin"], "NOT_FOUND"),
            other: "",
        },
        Op {
            name: "resetMemberPassword",
            query: "mutation($id: ID!) { resetMemberPassword(id: $id) { generatedPassword } }",
            vars: |a, _| json!({ "id": a.members["target_password"] }),
            allowed: Allowed::Only(&["org_admin"], "NOT_FOUND"),
            other: "",
        },
        Op {
            name: "resetMemberPasswords",
            query: "mutation($ids: [ID!]!) { resetMemberPasswords(ids: $ids) { ok message generatedPassword } }",
            vars: |a, _| json!({ "ids": [a.members["target_password"]] }),
            allowed: Allowed::Only(&["org_admin"], "REFUSED"),
            other: "",
        },
        Op {
            name: "disableMembers",
            query: "mutation($ids: [ID!]!) { disableMembers(ids: $ids) { ok message } }",
            vars: |a, _| json!({ "ids": [a.members["target_status"]] }),
            allowed: Allowed::Only(&["org_admin"], "REFUSED"),
            other: "",
        },
        Op {
            name: "activateMembers",
            query: "mutation($ids: [ID!]!) { activateMembers(ids: $ids) { ok message } }",
            vars: |a, _| json!({ "ids": [a.members["target_status"]] }),
            allowed: Allowed::Only(&["org_admin"], "REFUSED"),
            other: "",
        },
        Op {
            name: "resignMembers",
            query: "mutation($ids: [ID!]!) { resignMembers(ids: $ids) { ok message } }",
            vars: |a, _| json!({ "ids": [a.members["target_resign"]] }),
            allowed: Allowed::Only(&["org_admin"], "REFUSED"),
            other: "",
        },
        Op {
            name: "removeMembers",
            query: "mutation($ids: [ID!]!) { removeMembers(ids: $ids) { ok message } }",
            vars: |a, _| json!({ "ids": [a.members["target_remove"]] }),
            allowed: Allowed::Only(&["org_admin"], "REFUSED"),
            other: "",
        },
        Op {
            name: "flaggedDepartments",
            query: "{ flaggedDepartments { id path } }",
            vars: none,
            allowed: Allowed::Only(VIEWERS, "OK"),
            other: "",
        },
        Op {
            name: "acknowledgeRenames",
            query: "mutation($m: [ID!], $d: [ID!]) { acknowledgeRenames(memberIds: $m, departmentIds: $d) { members { id } departments { id } } }",
            vars: |a, _| json!({ "m": [a.members["standard"]], "d": [a.department_id] }),
            allowed: Allowed::Only(&["org_admin"], "VALIDATION"),
            other: "",
        },
        Op {
            name: "createDepartment",
            query: "mutation($n: String!) { createDepartment(name: $n) { id } }",
            vars: |_, who| json!({ "n": format!("Dept {who}") }),
            allowed: Allowed::Only(&["org_admin"], "OK"),
            other: "",
        },
        Op {
            name: "updateDepartment",
            query: "mutation($id: ID!) { updateDepartment(id: $id, sortOrder: 3) { id } }",
            vars: |a, _| json!({ "id": a.department_id }),
            allowed: Allowed::Only(&["org_admin"], "NOT_FOUND"),
            other: "",
        },
        Op {
            name: "addDepartmentMembers",
            query: "mutation($id: ID!, $m: [ID!]!) { addDepartmentMembers(id: $id, memberIds: $m) { id } }",
            vars: |a, _| json!({ "id": a.department_id, "m": [a.members["standard"]] }),
            allowed: Allowed::Only(&["org_admin"], "NOT_FOUND"),
            other: "",
        },
        Op {
            name: "createRoleGroup",
            query: "mutation($n: String!) { createRoleGroup(name: $n) { id } }",
            vars: |_, who| json!({ "n": format!("Group {who}") }),
            allowed: Allowed::Only(&["org_admin"], "OK"),
            other: "",
        },
        Op {
            name: "createRole",
            query: "mutation($n: String!) { createRole(scope: ORGANIZATION, name: $n, permissions: [VIEW_MEMBERS]) { id } }",
            vars: |_, who| json!({ "n": format!("Role {who}") }),
            allowed: Allowed::Only(&["org_admin", "perm_admin"], "OK"),
            other: "",
        },
        Op {
            name: "updateRole",
            query: "mutation($id: ID!) { updateRole(id: $id, description: \"keeps agents\") { id } }",
            vars: |a, _| json!({ "id": a.roles["custom_org"] }),
            allowed: Allowed::Only(&["org_admin", "perm_admin"], "NOT_FOUND"),
            other: "",
        },
        Op {
            name: "createWorkspace",
            query: "mutation($n: String!) { createWorkspace(name: $n) { id } }",
            vars: |_, who| json!({ "n": format!("Space {who}") }),
            allowed: Allowed::Only(&["org_admin", "perm_admin"], "OK"),
            other: "",
        },
        Op {
            name: "renameWorkspace",
            query: "mutation($id: ID!, $n: String!) { renameWorkspace(id: $id, name: $n) { id } }",
            vars: |a, who| json!({ "id": a.workspace_id, "n": format!("Analytics {who}") }),
            allowed: Allowed::Only(&["org_admin", "perm_admin", "ws_admin"], "NOT_FOUND"),
            other: "",
        },
        Op {
            name: "addWorkspaceMembers",
            query: "mutation($id: ID!, $m: [ID!]!, $r: ID!) { addWorkspaceMembers(id: $id, memberIds: $m, roleId: $r) { id } }",
            vars: |a, _| json!({ "id": a.workspace_id, "m": [a.members["standard"]], "r": a.roles["workspace_viewer"] }),
            allowed: Allowed::Only(&["org_admin", "perm_admin", "ws_admin"], "NOT_FOUND"),
            other: "",
        },
        Op {
            name: "createAgent",
            query: "mutation($n: String!) { createAgent(name: $n, seatQuota: 2) { id } }",
            vars: |_, who| json!({ "n": format!("Agent {who}") }),
            allowed: Allowed::Only(&["org_admin", "custom"], "OK"),
            other: "",
        },
        Op {
            name: "updateOrganization",
            query: "mutation { updateOrganization(allowSelfRegistration: false) { id } }",
            vars: none,
            allowed: Allowed::Only(&["org_admin"], "OK"),
            other: "",
        },
        Op {
            name: "syncRuns",
            query: "{ syncRuns { id status } }",
            vars: none,
            allowed: Allowed::Only(&["org_admin"], "OK"),
            other: "",
        },
        Op {
            name: "outboxItems",
            query: "{ outboxItems { id status } }",
            vars: none,
            allowed: Allowed::Only(&["org_admin"], "OK"),
            other: "",
        },
        Op {
            name: "exportMembers",
            query: "mutation { exportMembers { url } }",
            vars: none,
            allowed: Allowed::Only(VIEWERS, "OK"),
            other: "",
        },
        Op {
            name: "memberTemplate",
            query: "mutation { memberTemplate(kind: IMPORT) { url } }",
            vars: none,
            allowed: Allowed::Only(&["org_admin"], "OK"),
            other: "",
        },
        Op {
            name: "batchUpdateMembers",
            query: "mutation($file: Upload!) { batchUpdateMembers(file: $file, dryRun: true) { applied } }",
            vars: none,
            allowed: Allowed::Only(&["org_admin"], "OK"),
            other: "",
        },
        Op {
            name: "importMembers",
            query: "mutation($file: Upload!) { importMembers(file: $file, dryRun: true) { applied } }",
            vars: none,
            allowed: Allowed::Only(&["org_admin"], "OK"),
            other: "",
        },
        Op {
            name: "switchOrganization",
            query: "mutation($o: ID!) { switchOrganization(organizationId: $o) { accessToken } }",
            vars: |a, _| json!({ "o": a.organization_id }),
            allowed: Allowed::Members,
            other: "NOT_FOUND",
        },
    ]
}

fn expected(op: &Op, actor: &str) -> &'static str {
    match (op.allowed, actor) {
        (Allowed::Public, _) => "OK",
        (_, actor) if actors::UNAUTHENTICATED.contains(&actor) => "UNAUTHENTICATED",
        (_, "password_pending") if op.name == "me" => "OK",
        (_, "password_pending") => "PASSWORD_CHANGE_REQUIRED",
        (Allowed::Members, "other_org_admin") => op.other,
        (Allowed::Members, _) => "OK",
        (Allowed::Only(_, other), "other_org_admin") => other,
        (Allowed::Only(who, _), actor) if who.contains(&actor) => "OK",
        (Allowed::Only(..), _) => "FORBIDDEN",
        (Allowed::Visible(who), actor) if who.contains(&actor) => "OK",
        (Allowed::Visible(_), _) => "NOT_FOUND",
    }
}

fn outcome(body: &Value) -> String {
    if let Some(error) = body["errors"].get(0) {
        return error["extensions"]["code"]
            .as_str()
            .map(str::to_string)
            .unwrap_or_else(|| format!("ERROR {}", error["message"]));
    }
    let refused = body["data"]
        .as_object()
        .and_then(|d| d.values().next())
        .and_then(Value::as_array)
        .is_some_and(|list| !list.is_empty() && list.iter().all(|o| o["ok"] == false));
    if refused {
        "REFUSED".into()
    } else {
        "OK".into()
    }
}

/// The workbook an upload operation sends: a valid sheet (dry run) naming nobody of the caller's
/// organization, so that only the role decides the outcome.
fn upload_for(op: &str) -> Option<Vec<u8>> {
    use roster::excel::columns;
    let (columns, row): (Vec<columns::Column>, Vec<&str>) = match op {
        "batchUpdateMembers" => (
            columns::update_columns(&[]),
            vec![
                "999999",
                "ghost",
                "Local",
                "ghost",
                "",
                "",
                "Viewer",
                "Standard user",
                "Active",
            ],
        ),
        "importMembers" => (columns::import_columns(), vec!["matrix_new_member"]),
        _ => return None,
    };
    let mut wb = rust_xlsxwriter::Workbook::new();
    let ws = wb.add_worksheet();
    for (c, column) in columns.iter().enumerate() {
        ws.write_string(0, c as u16, column.header())
            .expect("header");
    }
    for (c, value) in row.iter().enumerate() {
        ws.write_string(1, c as u16, *value).expect("cell");
    }
    Some(wb.save_to_buffer().expect("workbook"))
}

#[tokio::test]
async fn every_operation_for_every_actor() {
    let app = TestApp::spawn().await;
    let mut cast = actors::setup(&app).await;
    let admin = cast.tokens["org_admin"].clone().expect("admin");
    for target in [
        "target_status",
        "target_resign",
        "target_remove",
        "target_role",
        "target_password",
    ] {
        let id = actors::create_member(&app, &admin, target, "ANALYST", None).await;
        cast.members.insert(target, id);
    }

    let mut mismatches = Vec::new();
    let mut checked = 0;
    for op in ops() {
        for actor in ACTORS {
            let vars = (op.vars)(&cast, actor);
            let token = cast.tokens[actor].as_deref();
            let body = match upload_for(op.name) {
                Some(file) => app.upload(op.query, vars, file, token).await,
                None => app.gql(op.query, vars, token).await,
            };
            let got = outcome(&body);
            let want = expected(&op, actor);
            checked += 1;
            if got != want {
                mismatches.push(format!(
                    "{:<22} {:<16} expected {want:<16} got {got}: {}",
                    op.name, actor, body["errors"][0]["message"]
                ));
            }
        }
    }
    assert!(
        mismatches.is_empty(),
        "{} of {checked} cells differ:\n{}",
        mismatches.len(),
        mismatches.join("\n")
    );
}

#[tokio::test]
async fn another_organizations_data_never_shows() {
    let app = TestApp::spawn().await;
    let cast = actors::setup(&app).await;
    let other = cast.tokens["other_org_admin"].clone().expect("token");
    let body = app
        .gql(
            "{ members(first: 100) { totalCount edges { node { account } } } }",
            json!({}),
            Some(&other),
        )
        .await;
    let accounts: Vec<&str> = body["data"]["members"]["edges"]
        .as_array()
        .expect("edges")
        .iter()
        .filter_map(|e| e["node"]["account"].as_str())
        .collect();
    assert_eq!(accounts, vec!["other_admin"], "{body}");
    let body = app
        .gql(
            "{ departments { id } workspaces { id } roleGroups { id } agents { id } }",
            json!({}),
            Some(&other),
        )
        .await;
    assert_eq!(body["data"]["departments"], json!([]));
    assert!(
        body["data"]["workspaces"]
            .as_array()
            .is_some_and(|w| w.iter().all(|w| w["id"] != cast.workspace_id.as_str()))
    );
    let body = app.gql("{ roles { id } }", json!({}), Some(&other)).await;
    assert!(
        body["data"]["roles"]
            .as_array()
            .expect("roles")
            .iter()
            .all(|r| r["id"] != cast.roles["custom_org"].as_str()),
        "custom roles of another organization are invisible"
    );
    let filter = json!({ "f": { "departmentId": cast.department_id } });
    let body = app
        .gql(
            "query($f: MemberFilter) { members(filter: $f) { totalCount } }",
            filter,
            Some(&other),
        )
        .await;
    assert_eq!(
        crate::common::error_code(&body),
        "NOT_FOUND",
        "a foreign id in a filter is NOT_FOUND"
    );
}
