//! Workspaces: group workspaces with an owner and members holding workspace roles, and each
//! member's personal workspace.

use super::{
    audit::{self, AuditEntry, Change},
    members, rules,
};
use crate::{
    auth::Principal,
    authz::{OrgAccess, Permission, WorkspaceAccess},
    error::{Error, Result},
};
use chrono::Utc;
use entity::{enums::*, member, role, role_permission, workspace, workspace_member};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, sea_query::ExprTrait,
};
use serde_json::json;
use std::collections::{HashMap, HashSet};

/// The workspaces a caller may see: every one with `org.workspaces.manage`, else those they
/// belong to or own.
async fn visible<C: ConnectionTrait>(
    db: &C,
    principal: &Principal,
) -> Result<sea_orm::Select<workspace::Entity>> {
    let query = workspace::Entity::find()
        .filter(workspace::Column::OrganizationId.eq(principal.organization_id));
    if principal.has(Permission::ManageWorkspaces) {
        return Ok(query);
    }
    let mine: Vec<i64> = workspace_member::Entity::find()
        .select_only()
        .column(workspace_member::Column::WorkspaceId)
        .filter(workspace_member::Column::MemberId.eq(principal.member_id))
        .into_tuple()
        .all(db)
        .await?;
    Ok(query.filter(
        workspace::Column::Id
            .is_in(mine)
            .or(workspace::Column::OwnerMemberId.eq(principal.member_id)),
    ))
}

/// The workspaces a caller may see, by name.
pub async fn list<C: ConnectionTrait>(
    db: &C,
    principal: &Principal,
) -> Result<Vec<workspace::Model>> {
    Ok(visible(db, principal)
        .await?
        .order_by_asc(workspace::Column::Name)
        .order_by_asc(workspace::Column::Id)
        .all(db)
        .await?)
}

/// One workspace the caller may see; any other is NOT_FOUND.
pub async fn get_visible<C: ConnectionTrait>(
    db: &C,
    principal: &Principal,
    id: i64,
) -> Result<workspace::Model> {
    visible(db, principal)
        .await?
        .filter(workspace::Column::Id.eq(id))
        .one(db)
        .await?
        .ok_or(Error::NotFound("workspace"))
}

/// A workspace role of this organization (or built-in), for assignment.
async fn workspace_role<C: ConnectionTrait>(db: &C, org: i64, role_id: i64) -> Result<role::Model> {
    role::Entity::find_by_id(role_id)
        .filter(
            role::Column::OrganizationId
                .eq(org)
                .or(role::Column::OrganizationId.is_null()),
        )
        .one(db)
        .await?
        .filter(|r| r.scope == RoleScope::Workspace)
        .ok_or_else(|| {
            Error::validation(
                "roleId",
                "no workspace role with this id in your organization",
            )
        })
}

async fn role_is_view_only<C: ConnectionTrait>(db: &C, role_id: i64) -> Result<bool> {
    let keys: Vec<String> = role_permission::Entity::find()
        .select_only()
        .column(role_permission::Column::Permission)
        .filter(role_permission::Column::RoleId.eq(role_id))
        .into_tuple()
        .all(db)
        .await?;
    Ok(keys.iter().all(|k| k.ends_with(".view")))
}

/// The members among `member_ids` who hold a workspace role that is not view-only (a viewer may
/// not), in one query per distinct role.
pub async fn holding_editing_roles<C: ConnectionTrait>(
    db: &C,
    member_ids: &[i64],
) -> Result<HashSet<i64>> {
    let mut by_role: HashMap<i64, Vec<i64>> = HashMap::new();
    for chunk in member_ids.chunks(1000) {
        let rows: Vec<(i64, i64)> = workspace_member::Entity::find()
            .select_only()
            .columns([
                workspace_member::Column::MemberId,
                workspace_member::Column::RoleId,
            ])
            .filter(workspace_member::Column::MemberId.is_in(chunk.iter().copied()))
            .into_tuple()
            .all(db)
            .await?;
        for (member, role) in rows {
            by_role.entry(role).or_default().push(member);
        }
    }
    let mut out = HashSet::new();
    for (role, members) in by_role {
        if !role_is_view_only(db, role).await? {
            out.extend(members);
        }
    }
    Ok(out)
}

async fn builtin_workspace_admin<C: ConnectionTrait>(db: &C) -> Result<i64> {
    crate::authz::roles::builtin_role_ids(db)
        .await?
        .get(&crate::authz::roles::BuiltinRole::WorkspaceAdmin)
        .copied()
        .ok_or_else(|| Error::internal("built-in roles missing"))
}

/// Creates a group workspace owned by the caller, who becomes its administrator.
///
/// **Permissions**: `org.workspaces.manage`.
pub async fn create(
    db: &DatabaseConnection,
    access: &OrgAccess,
    name: &str,
    cx: &Change,
) -> Result<workspace::Model> {
    let name = rules::name("name", name)?;
    let owner = members::get(db, access.org_id(), access.actor()).await?;
    let admin_role = builtin_workspace_admin(db).await?;
    let txn = crate::db::begin_write(db).await?;
    let ws = workspace::Entity::insert(workspace::ActiveModel {
        organization_id: Set(access.org_id()),
        name: Set(name),
        kind: Set(WorkspaceKind::Group),
        owner_member_id: Set(owner.id),
        created_at: Set(Utc::now()),
        ..Default::default()
    })
    .exec_with_returning(&txn)
    .await?;
    let role_id = if owner.user_type == UserType::Viewer {
        // A viewer cannot administer; the owner keeps ownership and views.
        crate::authz::roles::builtin_role_ids(&txn).await?
            [&crate::authz::roles::BuiltinRole::WorkspaceViewer]
    } else {
        admin_role
    };
    add_in_txn(&txn, &ws, owner.id, role_id).await?;
    let event = record(
        &txn,
        access.org_id(),
        access.actor(),
        "workspace.create",
        ws.id,
        json!({ "name": ws.name }),
        cx,
    )
    .await?;
    txn.commit().await?;
    cx.published([event]);
    Ok(ws)
}

async fn record<C: ConnectionTrait>(
    db: &C,
    org: i64,
    actor: i64,
    action: &'static str,
    workspace_id: i64,
    summary: serde_json::Value,
    cx: &Change,
) -> Result<entity::audit_event::Model> {
    audit::record(
        db,
        AuditEntry {
            organization_id: org,
            actor_member_id: Some(actor),
            action,
            target_type: "workspace",
            target_id: Some(workspace_id.to_string()),
            summary,
            client_ip: cx.client_ip.clone(),
        },
    )
    .await
}

async fn add_in_txn<C: ConnectionTrait>(
    db: &C,
    ws: &workspace::Model,
    member_id: i64,
    role_id: i64,
) -> Result<()> {
    workspace_member::Entity::insert(workspace_member::ActiveModel {
        workspace_id: Set(ws.id),
        member_id: Set(member_id),
        organization_id: Set(ws.organization_id),
        role_id: Set(role_id),
        created_at: Set(Utc::now()),
    })
    .on_conflict(
        sea_orm::sea_query::OnConflict::columns([
            workspace_member::Column::WorkspaceId,
            workspace_member::Column::MemberId,
        ])
        .update_column(workspace_member::Column::RoleId)
        .to_owned(),
    )
    .exec_without_returning(db)
    .await?;
    Ok(())
}

async fn load<C: ConnectionTrait>(db: &C, access: &WorkspaceAccess) -> Result<workspace::Model> {
    workspace::Entity::find_by_id(access.workspace_id())
        .filter(workspace::Column::OrganizationId.eq(access.org_id()))
        .one(db)
        .await?
        .ok_or(Error::NotFound("workspace"))
}

/// Renames a workspace.
///
/// **Permissions**: `ws.manage` in the workspace, or `org.workspaces.manage`.
pub async fn rename(
    db: &DatabaseConnection,
    access: &WorkspaceAccess,
    name: &str,
    cx: &Change,
) -> Result<workspace::Model> {
    let name = rules::name("name", name)?;
    let ws = load(db, access).await?;
    let txn = crate::db::begin_write(db).await?;
    let updated = workspace::Entity::update(workspace::ActiveModel {
        id: Set(ws.id),
        name: Set(name.clone()),
        ..Default::default()
    })
    .exec(&txn)
    .await?;
    let event = record(
        &txn,
        access.org_id(),
        access.actor(),
        "workspace.rename",
        ws.id,
        json!({ "from": ws.name, "to": name }),
        cx,
    )
    .await?;
    txn.commit().await?;
    cx.published([event]);
    Ok(updated)
}

/// Deletes a group workspace and its memberships.
///
/// **Permissions**: `org.workspaces.manage`.
pub async fn delete(
    db: &DatabaseConnection,
    access: &OrgAccess,
    workspace_id: i64,
    cx: &Change,
) -> Result<()> {
    let ws = workspace::Entity::find_by_id(workspace_id)
        .filter(workspace::Column::OrganizationId.eq(access.org_id()))
        .one(db)
        .await?
        .ok_or(Error::NotFound("workspace"))?;
    if ws.kind == WorkspaceKind::Personal {
        return Err(Error::validation(
            "workspaceId",
            "a personal workspace goes with its member; it cannot be deleted on its own",
        ));
    }
    let txn = crate::db::begin_write(db).await?;
    workspace::Entity::delete_by_id(ws.id).exec(&txn).await?;
    let event = record(
        &txn,
        access.org_id(),
        access.actor(),
        "workspace.delete",
        ws.id,
        json!({ "name": ws.name }),
        cx,
    )
    .await?;
    txn.commit().await?;
    cx.published([event]);
    Ok(())
}

/// Adds members to a workspace with a role (or changes their role if already there).
///
/// **Permissions**: `ws.manage` in the workspace, or `org.workspaces.manage`.
pub async fn add_members(
    db: &DatabaseConnection,
    access: &WorkspaceAccess,
    member_ids: &[i64],
    role_id: i64,
    cx: &Change,
) -> Result<workspace::Model> {
    let ws = load(db, access).await?;
    if ws.kind == WorkspaceKind::Personal {
        return Err(Error::validation(
            "workspaceId",
            "a personal workspace has only its owner",
        ));
    }
    let role = workspace_role(db, access.org_id(), role_id).await?;
    let view_only = role_is_view_only(db, role.id).await?;
    let mut found = Vec::new();
    for &id in member_ids {
        let m = members::get(db, access.org_id(), id).await?;
        if m.status != MemberStatus::Active {
            return Err(Error::validation(
                "memberIds",
                format!("`{}` is not active; activate them first", m.nickname),
            ));
        }
        if m.user_type == UserType::Viewer && !view_only {
            return Err(Error::validation(
                "roleId",
                format!(
                    "`{}` is a viewer and may only hold view-only workspace roles such as Viewer",
                    m.nickname
                ),
            ));
        }
        found.push(m.id);
    }
    let txn = crate::db::begin_write(db).await?;
    for &id in &found {
        add_in_txn(&txn, &ws, id, role.id).await?;
    }
    let event = record(
        &txn,
        access.org_id(),
        access.actor(),
        "workspace.add_members",
        ws.id,
        json!({ "memberIds": found, "roleId": role.id }),
        cx,
    )
    .await?;
    txn.commit().await?;
    cx.published([event]);
    Ok(ws)
}

/// Removes members from a workspace; its owner stays.
///
/// **Permissions**: `ws.manage` in the workspace, or `org.workspaces.manage`.
pub async fn remove_members(
    db: &DatabaseConnection,
    access: &WorkspaceAccess,
    member_ids: &[i64],
    cx: &Change,
) -> Result<workspace::Model> {
    let ws = load(db, access).await?;
    if member_ids.contains(&ws.owner_member_id) {
        return Err(Error::validation(
            "memberIds",
            "the owner cannot be removed from their workspace; transfer ownership first",
        ));
    }
    let txn = crate::db::begin_write(db).await?;
    workspace_member::Entity::delete_many()
        .filter(workspace_member::Column::WorkspaceId.eq(ws.id))
        .filter(workspace_member::Column::MemberId.is_in(member_ids.iter().copied()))
        .exec(&txn)
        .await?;
    let event = record(
        &txn,
        access.org_id(),
        access.actor(),
        "workspace.remove_members",
        ws.id,
        json!({ "memberIds": member_ids }),
        cx,
    )
    .await?;
    txn.commit().await?;
    cx.published([event]);
    Ok(ws)
}

/// Gives the workspace to another member, who becomes its administrator.
///
/// **Permissions**: `ws.manage` in the workspace, or `org.workspaces.manage`.
pub async fn transfer(
    db: &DatabaseConnection,
    access: &WorkspaceAccess,
    new_owner: i64,
    cx: &Change,
) -> Result<workspace::Model> {
    let ws = load(db, access).await?;
    if ws.kind == WorkspaceKind::Personal {
        return Err(Error::validation(
            "workspaceId",
            "a personal workspace cannot change hands",
        ));
    }
    let owner = members::get(db, access.org_id(), new_owner).await?;
    if owner.status != MemberStatus::Active || owner.user_type == UserType::Viewer {
        return Err(Error::validation(
            "memberId",
            "the new owner must be an active developer or analyst",
        ));
    }
    let admin_role = builtin_workspace_admin(db).await?;
    let txn = crate::db::begin_write(db).await?;
    let updated = workspace::Entity::update(workspace::ActiveModel {
        id: Set(ws.id),
        owner_member_id: Set(owner.id),
        ..Default::default()
    })
    .exec(&txn)
    .await?;
    add_in_txn(&txn, &ws, owner.id, admin_role).await?;
    let event = record(
        &txn,
        access.org_id(),
        access.actor(),
        "workspace.transfer",
        ws.id,
        json!({ "from": ws.owner_member_id, "to": owner.id }),
        cx,
    )
    .await?;
    txn.commit().await?;
    cx.published([event]);
    Ok(updated)
}

/// The members of each of several workspaces with their roles, by member id (one query).
pub async fn memberships_of<C: ConnectionTrait>(
    db: &C,
    org: i64,
    workspace_ids: &[i64],
) -> Result<HashMap<i64, Vec<workspace_member::Model>>> {
    let query = workspace_member::Entity::find()
        .filter(workspace_member::Column::OrganizationId.eq(org))
        .order_by_asc(workspace_member::Column::MemberId);
    let by = |m: &workspace_member::Model| Some(m.workspace_id);
    let column = workspace_member::Column::WorkspaceId;
    Ok(crate::db::rows_by(db, query, column, workspace_ids, by).await?)
}

/// The number of members of each of several workspaces (one query over the primary key, which
/// starts with the workspace). The ids are of workspaces already read within the caller's
/// organization.
pub async fn member_counts<C: ConnectionTrait>(
    db: &C,
    workspace_ids: &[i64],
) -> Result<HashMap<i64, u64>> {
    Ok(crate::db::counts_by(
        db,
        workspace_member::Entity::find(),
        workspace_member::Column::WorkspaceId,
        workspace_ids,
    )
    .await?)
}

/// The caller's memberships with their role permissions, for `me`.
pub async fn permissions_of<C: ConnectionTrait>(
    db: &C,
    member_id: i64,
) -> Result<Vec<(workspace::Model, role::Model, Vec<Permission>)>> {
    // Four statements however many workspaces: the memberships, then their workspaces, roles
    // and the roles' permissions, each by id.
    let memberships = workspace_member::Entity::find()
        .filter(workspace_member::Column::MemberId.eq(member_id))
        .order_by_asc(workspace_member::Column::WorkspaceId)
        .all(db)
        .await?;
    if memberships.is_empty() {
        return Ok(Vec::new());
    }
    let mut workspaces: HashMap<i64, workspace::Model> = workspace::Entity::find()
        .filter(workspace::Column::Id.is_in(memberships.iter().map(|m| m.workspace_id)))
        .all(db)
        .await?
        .into_iter()
        .map(|w| (w.id, w))
        .collect();
    let role_ids: HashSet<i64> = memberships.iter().map(|m| m.role_id).collect();
    let roles: HashMap<i64, role::Model> = role::Entity::find()
        .filter(role::Column::Id.is_in(role_ids.iter().copied()))
        .all(db)
        .await?
        .into_iter()
        .map(|r| (r.id, r))
        .collect();
    let role_ids: Vec<i64> = role_ids.into_iter().collect();
    let permissions = crate::auth::principal::permissions_of_roles(db, &role_ids).await?;
    Ok(memberships
        .into_iter()
        .filter_map(|m| {
            let ws = workspaces.remove(&m.workspace_id)?;
            let role = roles.get(&m.role_id)?.clone();
            let perms = permissions
                .get(&m.role_id)
                .map(|p| p.iter().copied().collect())
                .unwrap_or_default();
            Some((ws, role, perms))
        })
        .collect())
}

/// Whether a member exists (used by loaders that resolve owners).
pub async fn owner<C: ConnectionTrait>(
    db: &C,
    ws: &workspace::Model,
) -> Result<Option<member::Model>> {
    Ok(member::Entity::find_by_id(ws.owner_member_id)
        .one(db)
        .await?)
}
