//! Test fixtures written straight to the database (member management arrives with its own API).

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
