//! The positions of the organization chart: role groups (e.g. "Management") holding directory
//! roles (e.g. "R&D Manager") held by members.

use super::audit::Change;
use crate::{
    authz::OrgAccess,
    error::{Error, Result},
};
use chrono::Utc;
use entity::{directory_role, directory_role_member, role_group};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect,
};
use serde_json::json;
use std::collections::HashMap;

/// The organization's role groups by name.
pub async fn groups<C: ConnectionTrait>(db: &C, org: i64) -> Result<Vec<role_group::Model>> {
    Ok(role_group::Entity::find()
        .filter(role_group::Column::OrganizationId.eq(org))
        .order_by_asc(role_group::Column::Name)
        .order_by_asc(role_group::Column::Id)
        .all(db)
        .await?)
}

/// The roles of a group by name.
pub async fn roles_of_group<C: ConnectionTrait>(
    db: &C,
    org: i64,
    group: i64,
) -> Result<Vec<directory_role::Model>> {
    Ok(directory_role::Entity::find()
        .filter(directory_role::Column::OrganizationId.eq(org))
        .filter(directory_role::Column::RoleGroupId.eq(group))
        .order_by_asc(directory_role::Column::Name)
        .order_by_asc(directory_role::Column::Id)
        .all(db)
        .await?)
}

/// The positions of each of several role groups, by name (one query).
pub async fn roles_of_groups<C: ConnectionTrait>(
    db: &C,
    org: i64,
    groups: &[i64],
) -> Result<HashMap<i64, Vec<directory_role::Model>>> {
    let query = directory_role::Entity::find()
        .filter(directory_role::Column::OrganizationId.eq(org))
        .order_by_asc(directory_role::Column::Name)
        .order_by_asc(directory_role::Column::Id);
    let by = |r: &directory_role::Model| Some(r.role_group_id);
    Ok(crate::db::rows_by(db, query, directory_role::Column::RoleGroupId, groups, by).await?)
}

/// The member ids holding each of several directory roles (one query). The ids are of positions
/// already read within the caller's organization.
pub async fn holders_of<C: ConnectionTrait>(
    db: &C,
    roles: &[i64],
) -> Result<HashMap<i64, Vec<i64>>> {
    let rows: Vec<(i64, i64)> = directory_role_member::Entity::find()
        .select_only()
        .column(directory_role_member::Column::DirectoryRoleId)
        .column(directory_role_member::Column::MemberId)
        .filter(directory_role_member::Column::DirectoryRoleId.is_in(roles.iter().copied()))
        .order_by_asc(directory_role_member::Column::MemberId)
        .into_tuple()
        .all(db)
        .await?;
    Ok(crate::db::grouped(roles, rows))
}

async fn group<C: ConnectionTrait>(db: &C, org: i64, id: i64) -> Result<role_group::Model> {
    role_group::Entity::find_by_id(id)
        .filter(role_group::Column::OrganizationId.eq(org))
        .one(db)
        .await?
        .ok_or(Error::NotFound("role group"))
}

async fn role<C: ConnectionTrait>(db: &C, org: i64, id: i64) -> Result<directory_role::Model> {
    directory_role::Entity::find_by_id(id)
        .filter(directory_role::Column::OrganizationId.eq(org))
        .one(db)
        .await?
        .ok_or(Error::NotFound("directory role"))
}

async fn record<C: ConnectionTrait>(
    db: &C,
    access: &OrgAccess,
    action: &'static str,
    kind: &'static str,
    id: i64,
    summary: serde_json::Value,
    cx: &Change,
) -> Result<entity::audit_event::Model> {
    cx.record(db, access, action, kind, id, summary).await
}

/// Creates a role group.
///
/// **Permissions**: `org.members.manage`.
pub async fn create_group(
    db: &DatabaseConnection,
    access: &OrgAccess,
    name: &str,
    cx: &Change,
) -> Result<role_group::Model> {
    let name = super::rules::name("name", name)?;
    if groups(db, access.org_id())
        .await?
        .iter()
        .any(|g| g.name == name)
    {
        return Err(Error::Conflict(format!(
            "a role group named `{name}` already exists"
        )));
    }
    let txn = crate::db::begin_write(db).await?;
    let g = role_group::Entity::insert(role_group::ActiveModel {
        organization_id: Set(access.org_id()),
        name: Set(name),
        external_id: Set(None),
        source_connection_id: Set(None),
        created_at: Set(Utc::now()),
        ..Default::default()
    })
    .exec_with_returning(&txn)
    .await?;
    crate::push::outbox::created(
        &txn,
        access.org_id(),
        Some(access.actor()),
        entity::enums::OutboxObject::RoleGroup,
        g.id,
        json!({ "name": g.name }),
    )
    .await?;
    let event = record(
        &txn,
        access,
        "role_group.create",
        "role_group",
        g.id,
        json!({ "name": g.name }),
        cx,
    )
    .await?;
    txn.commit().await?;
    cx.published([event]);
    Ok(g)
}

/// Renames a role group.
///
/// **Permissions**: `org.members.manage`.
pub async fn rename_group(
    db: &DatabaseConnection,
    access: &OrgAccess,
    id: i64,
    name: &str,
    cx: &Change,
) -> Result<role_group::Model> {
    let current = group(db, access.org_id(), id).await?;
    let name = super::rules::name("name", name)?;
    if groups(db, access.org_id())
        .await?
        .iter()
        .any(|g| g.name == name && g.id != id)
    {
        return Err(Error::Conflict(format!(
            "a role group named `{name}` already exists"
        )));
    }
    let txn = crate::db::begin_write(db).await?;
    let g = role_group::Entity::update(role_group::ActiveModel {
        id: Set(id),
        name: Set(name.clone()),
        ..Default::default()
    })
    .exec(&txn)
    .await?;
    let event = record(
        &txn,
        access,
        "role_group.rename",
        "role_group",
        id,
        json!({ "from": current.name, "to": name }),
        cx,
    )
    .await?;
    txn.commit().await?;
    cx.published([event]);
    Ok(g)
}

/// Deletes a role group with its roles.
///
/// **Permissions**: `org.members.manage`.
pub async fn delete_group(
    db: &DatabaseConnection,
    access: &OrgAccess,
    id: i64,
    cx: &Change,
) -> Result<()> {
    let g = group(db, access.org_id(), id).await?;
    let txn = crate::db::begin_write(db).await?;
    role_group::Entity::delete_by_id(id).exec(&txn).await?;
    let event = record(
        &txn,
        access,
        "role_group.delete",
        "role_group",
        id,
        json!({ "name": g.name }),
        cx,
    )
    .await?;
    txn.commit().await?;
    cx.published([event]);
    Ok(())
}

/// Creates a directory role in a group.
///
/// **Permissions**: `org.members.manage`.
pub async fn create_role(
    db: &DatabaseConnection,
    access: &OrgAccess,
    group_id: i64,
    name: &str,
    cx: &Change,
) -> Result<directory_role::Model> {
    let g = group(db, access.org_id(), group_id).await?;
    let name = super::rules::name("name", name)?;
    if roles_of_group(db, access.org_id(), g.id)
        .await?
        .iter()
        .any(|r| r.name == name)
    {
        return Err(Error::Conflict(format!(
            "group `{}` already has a role named `{name}`",
            g.name
        )));
    }
    let txn = crate::db::begin_write(db).await?;
    let r = directory_role::Entity::insert(directory_role::ActiveModel {
        organization_id: Set(access.org_id()),
        role_group_id: Set(g.id),
        name: Set(name),
        external_id: Set(None),
        source_connection_id: Set(None),
        created_at: Set(Utc::now()),
        ..Default::default()
    })
    .exec_with_returning(&txn)
    .await?;
    crate::push::outbox::created(
        &txn,
        access.org_id(),
        Some(access.actor()),
        entity::enums::OutboxObject::Role,
        r.id,
        json!({ "name": r.name, "groupId": g.id }),
    )
    .await?;
    let event = record(
        &txn,
        access,
        "directory_role.create",
        "directory_role",
        r.id,
        json!({ "name": r.name, "groupId": g.id }),
        cx,
    )
    .await?;
    txn.commit().await?;
    cx.published([event]);
    Ok(r)
}

/// Renames a directory role.
///
/// **Permissions**: `org.members.manage`.
pub async fn rename_role(
    db: &DatabaseConnection,
    access: &OrgAccess,
    id: i64,
    name: &str,
    cx: &Change,
) -> Result<directory_role::Model> {
    let current = role(db, access.org_id(), id).await?;
    let name = super::rules::name("name", name)?;
    if roles_of_group(db, access.org_id(), current.role_group_id)
        .await?
        .iter()
        .any(|r| r.name == name && r.id != id)
    {
        return Err(Error::Conflict(format!(
            "this group already has a role named `{name}`"
        )));
    }
    let txn = crate::db::begin_write(db).await?;
    let r = directory_role::Entity::update(directory_role::ActiveModel {
        id: Set(id),
        name: Set(name.clone()),
        ..Default::default()
    })
    .exec(&txn)
    .await?;
    let event = record(
        &txn,
        access,
        "directory_role.rename",
        "directory_role",
        id,
        json!({ "from": current.name, "to": name }),
        cx,
    )
    .await?;
    txn.commit().await?;
    cx.published([event]);
    Ok(r)
}

/// Deletes a directory role.
///
/// **Permissions**: `org.members.manage`.
pub async fn delete_role(
    db: &DatabaseConnection,
    access: &OrgAccess,
    id: i64,
    cx: &Change,
) -> Result<()> {
    let r = role(db, access.org_id(), id).await?;
    let txn = crate::db::begin_write(db).await?;
    directory_role::Entity::delete_by_id(id).exec(&txn).await?;
    let event = record(
        &txn,
        access,
        "directory_role.delete",
        "directory_role",
        id,
        json!({ "name": r.name }),
        cx,
    )
    .await?;
    txn.commit().await?;
    cx.published([event]);
    Ok(())
}

/// Gives members a directory role, or takes it away.
///
/// **Permissions**: `org.members.manage`.
pub async fn set_holders(
    db: &DatabaseConnection,
    access: &OrgAccess,
    id: i64,
    member_ids: &[i64],
    add: bool,
    cx: &Change,
) -> Result<directory_role::Model> {
    let r = role(db, access.org_id(), id).await?;
    let ids: Vec<i64> = super::members::in_organization(db, access.org_id(), member_ids)
        .await?
        .into_iter()
        .map(|m| m.id)
        .collect();
    let txn = crate::db::begin_write(db).await?;
    if add {
        if !ids.is_empty() {
            directory_role_member::Entity::insert_many(ids.iter().map(|&member_id| {
                directory_role_member::ActiveModel {
                    directory_role_id: Set(r.id),
                    member_id: Set(member_id),
                    organization_id: Set(access.org_id()),
                }
            }))
            .on_conflict(
                sea_orm::sea_query::OnConflict::columns([
                    directory_role_member::Column::DirectoryRoleId,
                    directory_role_member::Column::MemberId,
                ])
                .do_nothing()
                .to_owned(),
            )
            .exec_without_returning(&txn)
            .await?;
        }
        // New holders reach DingTalk with their next update.
        crate::push::outbox::changed(
            &txn,
            access.org_id(),
            Some(access.actor()),
            entity::enums::OutboxObject::Member,
            &ids,
        )
        .await?;
    } else {
        directory_role_member::Entity::delete_many()
            .filter(directory_role_member::Column::DirectoryRoleId.eq(r.id))
            .filter(directory_role_member::Column::MemberId.is_in(ids.clone()))
            .exec(&txn)
            .await?;
    }
    let action = if add {
        "directory_role.add_members"
    } else {
        "directory_role.remove_members"
    };
    let event = record(
        &txn,
        access,
        action,
        "directory_role",
        r.id,
        json!({ "memberIds": ids }),
        cx,
    )
    .await?;
    txn.commit().await?;
    cx.published([event]);
    Ok(r)
}
