//! Test fixtures written straight to the database: single rows through the entities, and members
//! by the thousand through plain SQL.

use crate::common::TestApp;
use chrono::Utc;
use entity::{
    enums::{AccountType, MemberStatus, OrgKind, UserType},
    member, organization, user,
};
use roster::{
    authz::roles::{BuiltinRole, builtin_role_ids},
    state::AppState,
};
use sea_orm::{ActiveValue::Set, EntityTrait};

/// Creates an organization.
pub async fn organization(state: &AppState, name: &str) -> i64 {
    let now = Utc::now();
    organization::Entity::insert(organization::ActiveModel {
        name: Set(name.into()),
        kind: Set(OrgKind::Generic),
        leader_member_id: Set(None),
        allow_self_registration: Set(false),
        seat_limit: Set(None),
        redirect_allow_list: Set(serde_json::json!([])),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    })
    .exec_with_returning(&state.db)
    .await
    .expect("insert organization")
    .id
}

/// The bootstrap organization's id.
pub async fn default_organization(state: &AppState) -> i64 {
    organization::Entity::find()
        .one(&state.db)
        .await
        .expect("query")
        .expect("bootstrap organization")
        .id
}

/// Creates a person with a password.
pub async fn person(state: &AppState, name: &str, password: &str) -> i64 {
    let now = Utc::now();
    let hash = roster::auth::password::hash(password.to_string())
        .await
        .expect("hash");
    user::Entity::insert(user::ActiveModel {
        name: Set(name.into()),
        avatar_url: Set(None),
        password_hash: Set(Some(hash)),
        password_change_required: Set(false),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    })
    .exec_with_returning(&state.db)
    .await
    .expect("insert user")
    .id
}

/// Adds a person to an organization with a built-in organization role.
pub async fn member(
    state: &AppState,
    organization_id: i64,
    user_id: i64,
    account: &str,
    role: BuiltinRole,
) -> i64 {
    let roles = builtin_role_ids(&state.db).await.expect("roles");
    let now = Utc::now();
    member::Entity::insert(member::ActiveModel {
        organization_id: Set(organization_id),
        user_id: Set(user_id),
        account: Set(account.into()),
        nickname: Set(account.into()),
        name: Set(account.into()),
        user_type: Set(UserType::Analyst),
        role_id: Set(roles[&role]),
        status: Set(MemberStatus::Active),
        email: Set(None),
        phone: Set(None),
        employee_no: Set(None),
        position: Set(None),
        account_type: Set(AccountType::Local),
        source_connection_id: Set(None),
        joined_at: Set(now),
        last_login_at: Set(None),
        name_changed: Set(false),
        to_be_deleted: Set(false),
        updated_at: Set(now),
        ..Default::default()
    })
    .exec_with_returning(&state.db)
    .await
    .expect("insert member")
    .id
}

/// Creates a person and makes them a member in one go; returns the member id.
pub async fn account(
    state: &AppState,
    organization_id: i64,
    account: &str,
    password: &str,
    role: BuiltinRole,
) -> i64 {
    let user_id = person(state, account, password).await;
    member(state, organization_id, user_id, account, role).await
}

/// Makes a member look as if a provider connection had brought it.
pub async fn set_account_type(state: &AppState, member_id: i64, account_type: AccountType) {
    member::Entity::update(member::ActiveModel {
        id: Set(member_id),
        account_type: Set(account_type),
        ..Default::default()
    })
    .exec(&state.db)
    .await
    .expect("update member");
}

/// Runs one statement of fixture SQL against the test database.
pub async fn exec(app: &TestApp, sql: &str) {
    use sea_orm::ConnectionTrait;
    app.state
        .db
        .execute_unprepared(sql)
        .await
        .unwrap_or_else(|e| panic!("{e}: {sql}"));
}

/// The organization and role of the bootstrap administrator.
pub async fn admin_org_and_role(app: &TestApp) -> (i64, i64) {
    use sea_orm::{ConnectionTrait, Statement};
    let db = &app.state.db;
    let row = db
        .query_one_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT organization_id, role_id FROM member WHERE account = 'admin'",
        ))
        .await
        .expect("query")
        .expect("the administrator");
    (
        row.try_get_by_index(0).expect("org"),
        row.try_get_by_index(1).expect("role"),
    )
}

/// A member row of the fixtures: id, account, nickname, month joined (1–9).
pub type Fixture = (i64, String, String, i64);

/// The start of a statement inserting fixture users, for [`user_values`].
pub const INSERT_USERS: &str =
    "INSERT INTO \"user\" (id, name, avatar_url, password_hash, created_at, updated_at) VALUES";

/// The start of a statement inserting fixture members, for [`member_values`].
pub const INSERT_MEMBERS: &str = "INSERT INTO member (id, organization_id, user_id, account, nickname, name, user_type, role_id, status, email, phone, account_type, joined_at, last_login_at, name_changed, to_be_deleted, updated_at) VALUES";

/// When fixture rows were written.
pub const FIXTURE_NOW: &str = "2026-01-01T00:00:00+00:00";

/// The users of fixture members (same id, named after the account), as `VALUES` rows.
pub fn user_values(rows: &[Fixture]) -> String {
    let now = FIXTURE_NOW;
    rows.iter()
        .map(|(id, account, ..)| format!("({id}, '{account}', NULL, NULL, '{now}', '{now}')"))
        .collect::<Vec<_>>()
        .join(",")
}

/// Fixture members of `org`, active developers holding `role`, as `VALUES` rows.
pub fn member_values(org: i64, role: i64, rows: &[Fixture]) -> String {
    let now = FIXTURE_NOW;
    rows.iter()
        .map(|(id, account, nick, month)| format!(
            "({id}, {org}, {id}, '{account}', '{nick}', '{account}', 'developer', {role}, 'active', NULL, NULL, 'local', '2025-0{month}-01T08:00:00+00:00', NULL, false, false, '{now}')"
        ))
        .collect::<Vec<_>>()
        .join(",")
}

/// Inserts fixture members (with their users) and department links straight into the database,
/// 500 rows per statement.
pub async fn insert_members(
    app: &TestApp,
    org: i64,
    role: i64,
    rows: &[Fixture],
    links: &[(i64, i64)],
) {
    for chunk in rows.chunks(500) {
        exec(app, &format!("{INSERT_USERS} {}", user_values(chunk))).await;
        exec(
            app,
            &format!("{INSERT_MEMBERS} {}", member_values(org, role, chunk)),
        )
        .await;
    }
    for chunk in links.chunks(500) {
        let links: Vec<String> = chunk
            .iter()
            .map(|(d, m)| format!("({d}, {m}, {org})"))
            .collect();
        exec(app, &format!("INSERT INTO department_member (department_id, member_id, organization_id) VALUES {}", links.join(","))).await;
    }
}
