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
    enums::{OrgKind, UserType},
    organization, user,
};
use sea_orm::{ActiveValue::Set, DatabaseConnection, EntityTrait, PaginatorTrait};

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
    let chosen = settings
        .bootstrap
        .admin_password
        .as_ref()
        .map(|p| p.expose().to_string());
    let (hash, generated) = password::hash_or_generate(chosen).await?;
    let account = settings.bootstrap.admin_account.trim().to_string();
    let now = Utc::now();
    let role_id = roles
        .get(&BuiltinRole::OrgAdmin)
        .copied()
        .ok_or_else(|| crate::error::Error::internal("built-in roles missing"))?;

    let txn = crate::db::begin_write(db).await?;
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
        password_change_required: Set(generated.is_some()),
        // The printed password does not expire: nobody else could give the first administrator a
        // new one.
        password_expires_at: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    })
    .exec_with_returning(&txn)
    .await?;
    let admin = super::members::insert_local_member(
        &txn,
        super::members::LocalMember {
            organization_id: org.id,
            user_id: person.id,
            account: account.clone(),
            nickname: account.clone(),
            name: "Administrator".into(),
            user_type: UserType::Developer,
            role_id,
            email: None,
            phone: None,
            employee_no: None,
            position: None,
        },
        now,
    )
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
