//! First start: the built-in roles, and on an empty database the default organization with its
//! first administrator. Idempotent: a restart finds the organization and creates nothing.

use crate::{
    auth::password,
    authz::roles::{BuiltinRole, seed_builtin_roles},
    config::Settings,
    error::Result,
};
use chrono::Utc;
use entity::{
    enums::{AccountType, MemberStatus, OrgKind, UserType},
    member, organization, user,
};
use sea_orm::{
    ActiveValue::Set, DatabaseConnection, EntityTrait, PaginatorTrait, TransactionTrait,
};

/// What bootstrapping did.
#[derive(Debug, Clone)]
pub enum Bootstrap {
    /// The database already had an organization.
    Existing,
    /// A default organization and administrator were created.
    Created {
        /// The administrator's account.
        account: String,
        /// The generated one-time password, when none was configured.
        generated_password: Option<String>,
    },
}

/// Seeds built-in roles and, on an empty database, the default organization and administrator.
pub async fn run(db: &DatabaseConnection, settings: &Settings) -> Result<Bootstrap> {
    let roles = seed_builtin_roles(db).await?;
    if organization::Entity::find().count(db).await? > 0 {
        return Ok(Bootstrap::Existing);
    }
    let (plain, generated) = match &settings.bootstrap.admin_password {
        Some(p) => (p.expose().to_string(), None),
        None => {
            let p = password::generate();
            (p.clone(), Some(p))
        }
    };
    let hash = password::hash(plain).await?;
    let account = settings.bootstrap.admin_account.trim().to_string();
    let now = Utc::now();
    let role_id = roles
        .get(&BuiltinRole::OrgAdmin)
        .copied()
        .ok_or_else(|| crate::error::Error::internal("built-in roles missing"))?;

    let txn = db.begin().await?;
    // Re-check inside the transaction: another instance may have bootstrapped meanwhile.
    if organization::Entity::find().count(&txn).await? > 0 {
        return Ok(Bootstrap::Existing);
    }
    let org = organization::Entity::insert(organization::ActiveModel {
        name: Set(settings.bootstrap.organization.clone()),
        kind: Set(OrgKind::Generic),
        leader_member_id: Set(None),
        allow_self_registration: Set(false),
        seat_limit: Set(None),
        redirect_allow_list: Set(serde_json::json!([])),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    })
    .exec_with_returning(&txn)
    .await?;
    let person = user::Entity::insert(user::ActiveModel {
        name: Set("Administrator".into()),
        avatar_url: Set(None),
        password_hash: Set(Some(hash)),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    })
    .exec_with_returning(&txn)
    .await?;
    let admin = member::Entity::insert(member::ActiveModel {
        organization_id: Set(org.id),
        user_id: Set(person.id),
        account: Set(account.clone()),
        nickname: Set(account.clone()),
        name: Set("Administrator".into()),
        user_type: Set(UserType::Developer),
        role_id: Set(role_id),
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
    .exec_with_returning(&txn)
    .await?;
    super::members::create_personal_workspace_in_txn(&txn, &admin).await?;
    organization::Entity::update(organization::ActiveModel {
        id: Set(org.id),
        leader_member_id: Set(Some(admin.id)),
        ..Default::default()
    })
    .exec(&txn)
    .await?;
    txn.commit().await?;
    Ok(Bootstrap::Created {
        account,
        generated_password: generated,
    })
}
