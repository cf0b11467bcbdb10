//! Organization reads scoped to the caller.

use crate::error::{Error, Result};
use entity::{member, organization};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

/// The organization with this id.
pub async fn get<C: ConnectionTrait>(db: &C, organization_id: i64) -> Result<organization::Model> {
    organization::Entity::find_by_id(organization_id)
        .one(db)
        .await?
        .ok_or(Error::NotFound("organization"))
}

/// The organizations a user is an active or disabled member of, by name.
pub async fn of_user<C: ConnectionTrait>(db: &C, user_id: i64) -> Result<Vec<organization::Model>> {
    let ids: Vec<i64> = member::Entity::find()
        .select_only()
        .column(member::Column::OrganizationId)
        .filter(member::Column::UserId.eq(user_id))
        .filter(member::Column::Status.ne(entity::enums::MemberStatus::Resigned))
        .into_tuple()
        .all(db)
        .await?;
    Ok(organization::Entity::find()
        .filter(organization::Column::Id.is_in(ids))
        .order_by_asc(organization::Column::Name)
        .order_by_asc(organization::Column::Id)
        .all(db)
        .await?)
}

/// Changes to an organization; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct OrganizationChanges {
    /// New name.
    pub name: Option<String>,
    /// New leader (`Some(None)` clears it).
    pub leader_member_id: Option<Option<i64>>,
    /// Whether people may register themselves.
    pub allow_self_registration: Option<bool>,
    /// New seat limit (`Some(None)` removes it).
    pub seat_limit: Option<Option<i32>>,
    /// SPA redirect URIs allowed after provider login.
    pub redirect_allow_list: Option<Vec<String>>,
}

/// Creates a generic organization; the caller joins it as its organization administrator (with
/// the same account and nickname) and can switch to it.
///
/// **Permissions**: any authenticated member.
pub async fn create(
    db: &sea_orm::DatabaseConnection,
    principal: &crate::auth::Principal,
    name: &str,
    kind: entity::enums::OrgKind,
    cx: &super::audit::Change,
) -> Result<organization::Model> {
    use crate::authz::roles::{BuiltinRole, builtin_role_ids};
    use chrono::Utc;
    use entity::enums::{MemberStatus, UserType};
    use sea_orm::ActiveValue::Set;
    let name = super::rules::name("name", name)?;
    let me = super::members::get(db, principal.organization_id, principal.member_id).await?;
    let roles = builtin_role_ids(db).await?;
    let now = Utc::now();
    let txn = crate::db::begin_write(db).await?;
    let org = organization::Entity::insert(organization::ActiveModel {
        name: Set(name),
        kind: Set(kind),
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
    let admin = member::Entity::insert(member::ActiveModel {
        organization_id: Set(org.id),
        user_id: Set(me.user_id),
        account: Set(me.account.clone()),
        nickname: Set(me.nickname.clone()),
        name: Set(me.name.clone()),
        user_type: Set(if me.user_type == UserType::Viewer {
            UserType::Developer
        } else {
            me.user_type
        }),
        role_id: Set(roles[&BuiltinRole::OrgAdmin]),
        status: Set(MemberStatus::Active),
        email: Set(me.email.clone()),
        phone: Set(me.phone.clone()),
        employee_no: Set(None),
        position: Set(None),
        account_type: Set(me.account_type),
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
    let org = organization::Entity::update(organization::ActiveModel {
        id: Set(org.id),
        leader_member_id: Set(Some(admin.id)),
        ..Default::default()
    })
    .exec(&txn)
    .await?;
    let event = super::audit::record(
        &txn,
        super::audit::AuditEntry {
            organization_id: org.id,
            actor_member_id: Some(admin.id),
            action: "organization.create",
            target_type: "organization",
            target_id: Some(org.id.to_string()),
            summary: serde_json::json!({ "name": org.name, "createdFrom": principal.organization_id }),
            client_ip: cx.client_ip.clone(),
        },
    )
    .await?;
    txn.commit().await?;
    cx.published([event]);
    Ok(org)
}

/// Changes the organization's settings.
///
/// **Permissions**: `org.organization.manage`.
pub async fn update(
    db: &sea_orm::DatabaseConnection,
    access: &crate::authz::OrgAccess,
    changes: OrganizationChanges,
    cx: &super::audit::Change,
) -> Result<organization::Model> {
    use sea_orm::ActiveValue::Set;
    use serde_json::json;
    let current = get(db, access.org_id()).await?;
    let mut row = organization::ActiveModel {
        id: Set(current.id),
        updated_at: Set(chrono::Utc::now()),
        ..Default::default()
    };
    let mut summary = serde_json::Map::new();
    if let Some(name) = &changes.name {
        let name = super::rules::name("name", name)?;
        summary.insert("name".into(), json!({ "from": current.name, "to": name }));
        row.name = Set(name);
    }
    if let Some(leader) = changes.leader_member_id {
        if let Some(id) = leader {
            let m = super::members::get(db, current.id, id).await.map_err(|_| {
                Error::validation(
                    "leaderId",
                    "the leader must be a member of this organization",
                )
            })?;
            if m.status != entity::enums::MemberStatus::Active {
                return Err(Error::validation(
                    "leaderId",
                    "the leader must be an active member",
                ));
            }
        }
        summary.insert(
            "leaderId".into(),
            json!({ "from": current.leader_member_id, "to": leader }),
        );
        row.leader_member_id = Set(leader);
    }
    if let Some(allow) = changes.allow_self_registration {
        summary.insert("allowSelfRegistration".into(), json!(allow));
        row.allow_self_registration = Set(allow);
    }
    if let Some(limit) = changes.seat_limit {
        if let Some(limit) = limit {
            let used = super::members::seats_in_use(db, current.id).await?;
            if limit < 0 || (limit as u64) < used {
                return Err(Error::validation(
                    "seatLimit",
                    format!("{used} seats are in use; the limit cannot be below that"),
                ));
            }
        }
        summary.insert(
            "seatLimit".into(),
            json!({ "from": current.seat_limit, "to": limit }),
        );
        row.seat_limit = Set(limit);
    }
    if let Some(uris) = &changes.redirect_allow_list {
        for uri in uris {
            if !(uri.starts_with("https://") || uri.starts_with("http://")) {
                return Err(Error::validation(
                    "redirectAllowList",
                    format!("`{uri}` is not an http(s) address"),
                ));
            }
        }
        summary.insert("redirectAllowList".into(), json!(uris));
        row.redirect_allow_list = Set(json!(uris));
    }
    let txn = crate::db::begin_write(db).await?;
    let updated = organization::Entity::update(row).exec(&txn).await?;
    let event = super::audit::record(
        &txn,
        super::audit::AuditEntry {
            organization_id: current.id,
            actor_member_id: Some(access.actor()),
            action: "organization.update",
            target_type: "organization",
            target_id: Some(current.id.to_string()),
            summary: serde_json::Value::Object(summary),
            client_ip: cx.client_ip.clone(),
        },
    )
    .await?;
    txn.commit().await?;
    cx.published([event]);
    Ok(updated)
}

/// The caller's active membership in another organization, for switching.
pub async fn membership_for_switch<C: ConnectionTrait>(
    db: &C,
    user_id: i64,
    organization_id: i64,
) -> Result<member::Model> {
    let m = member::Entity::find()
        .filter(member::Column::UserId.eq(user_id))
        .filter(member::Column::OrganizationId.eq(organization_id))
        .one(db)
        .await?
        .ok_or(Error::NotFound("organization"))?;
    match m.status {
        entity::enums::MemberStatus::Active => Ok(m),
        entity::enums::MemberStatus::Disabled => Err(Error::Forbidden(
            "your membership in that organization is disabled".into(),
        )),
        entity::enums::MemberStatus::Resigned => Err(Error::NotFound("organization")),
    }
}

/// Registers a new person in an organization that allows self-registration; they join as a viewer
/// with the standard user role.
///
/// **Permissions**: public, when the organization allows it.
pub async fn register(
    db: &sea_orm::DatabaseConnection,
    organization_id: i64,
    account: &str,
    password: String,
    nickname: Option<&str>,
    email: Option<&str>,
    cx: &super::audit::Change,
) -> Result<member::Model> {
    use crate::authz::roles::{BuiltinRole, builtin_role_ids};
    use chrono::Utc;
    use entity::enums::UserType;
    use sea_orm::ActiveValue::Set;
    let org = organization::Entity::find_by_id(organization_id)
        .one(db)
        .await?
        .ok_or(Error::NotFound("organization"))?;
    if !org.allow_self_registration {
        return Err(Error::Forbidden(
            "this organization does not accept registrations; ask an administrator to add you"
                .into(),
        ));
    }
    let account = super::rules::account("account", account)?;
    let nickname = super::rules::nickname("nickname", nickname.unwrap_or(&account))?;
    let email = super::rules::email("email", email)?;
    crate::auth::password::validate_new("password", &password)?;
    super::members::check_account_free(db, org.id, &account).await?;
    super::members::check_nickname_free(db, org.id, &nickname, None).await?;
    let hash = crate::auth::password::hash(password).await?;
    let roles = builtin_role_ids(db).await?;
    let now = Utc::now();
    let txn = crate::db::begin_write(db).await?;
    super::members::check_seats(&txn, &org, 1).await?;
    let person = entity::user::Entity::insert(entity::user::ActiveModel {
        name: Set(nickname.clone()),
        avatar_url: Set(None),
        password_hash: Set(Some(hash)),
        password_change_required: Set(false),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    })
    .exec_with_returning(&txn)
    .await?;
    let m = super::members::insert_local_member(
        &txn,
        super::members::LocalMember {
            organization_id: org.id,
            user_id: person.id,
            account,
            name: nickname.clone(),
            nickname,
            user_type: UserType::Viewer,
            role_id: roles[&BuiltinRole::StandardUser],
            email,
            phone: None,
            employee_no: None,
            position: None,
        },
        now,
    )
    .await?;
    super::members::create_personal_workspace_in_txn(&txn, &m).await?;
    let event = super::audit::record(
        &txn,
        super::audit::AuditEntry {
            organization_id: org.id,
            actor_member_id: Some(m.id),
            action: "member.register",
            target_type: "member",
            target_id: Some(m.id.to_string()),
            summary: serde_json::json!({ "account": m.account }),
            client_ip: cx.client_ip.clone(),
        },
    )
    .await?;
    txn.commit().await?;
    cx.published([event]);
    Ok(m)
}
