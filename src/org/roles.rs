//! Access roles: the built-in roles shared by every organization and the organization's custom
//! roles of either scope, each a set of permissions from the catalog.

use super::audit::Change;
use crate::{
    authz::{OrgAccess, Permission, catalog::PermissionScope},
    error::{Error, Result},
};
use chrono::Utc;
use entity::{enums::RoleScope, member, role, role_permission, workspace_member};
use sea_orm::{
    ActiveValue::Set,
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder,
    sea_query::{Expr, ExprTrait},
};
use serde_json::json;
use std::collections::{BTreeSet, HashMap};

/// The roles visible in an organization: built-in first, then custom, optionally of one scope.
pub async fn list<C: ConnectionTrait>(
    db: &C,
    org: i64,
    scope: Option<RoleScope>,
) -> Result<Vec<role::Model>> {
    let mut query = role::Entity::find().filter(
        role::Column::OrganizationId
            .eq(org)
            .or(role::Column::OrganizationId.is_null()),
    );
    if let Some(scope) = scope {
        query = query.filter(role::Column::Scope.eq(scope));
    }
    Ok(query
        .order_by_asc(role::Column::OrganizationId)
        .order_by_asc(role::Column::Id)
        .all(db)
        .await?)
}

/// One role visible in the organization.
pub async fn get<C: ConnectionTrait>(db: &C, org: i64, id: i64) -> Result<role::Model> {
    role::Entity::find_by_id(id)
        .filter(
            role::Column::OrganizationId
                .eq(org)
                .or(role::Column::OrganizationId.is_null()),
        )
        .one(db)
        .await?
        .ok_or(Error::NotFound("role"))
}

fn check_permissions(scope: RoleScope, permissions: &[Permission]) -> Result<BTreeSet<Permission>> {
    let wanted = match scope {
        RoleScope::Organization => PermissionScope::Organization,
        RoleScope::Workspace => PermissionScope::Workspace,
    };
    if let Some(p) = permissions.iter().find(|p| p.scope() != wanted) {
        return Err(Error::validation(
            "permissions",
            format!(
                "`{}` is not a permission of {} roles",
                p.key(),
                if wanted == PermissionScope::Organization {
                    "organization"
                } else {
                    "workspace"
                }
            ),
        ));
    }
    Ok(permissions.iter().copied().collect())
}

async fn check_name_free<C: ConnectionTrait>(
    db: &C,
    org: i64,
    name: &str,
    except: Option<i64>,
) -> Result<()> {
    let clash = list(db, org, None)
        .await?
        .into_iter()
        .any(|r| r.name.eq_ignore_ascii_case(name) && Some(r.id) != except);
    if clash {
        return Err(Error::Conflict(format!(
            "a role named `{name}` already exists; choose another name"
        )));
    }
    Ok(())
}

async fn write_permissions_in_txn<C: ConnectionTrait>(
    db: &C,
    role_id: i64,
    permissions: &BTreeSet<Permission>,
) -> Result<()> {
    role_permission::Entity::delete_many()
        .filter(role_permission::Column::RoleId.eq(role_id))
        .exec(db)
        .await?;
    if !permissions.is_empty() {
        role_permission::Entity::insert_many(permissions.iter().map(|p| {
            role_permission::ActiveModel {
                role_id: Set(role_id),
                permission: Set(p.key().to_string()),
            }
        }))
        .exec_without_returning(db)
        .await?;
    }
    Ok(())
}

async fn record<C: ConnectionTrait>(
    db: &C,
    access: &OrgAccess,
    action: &'static str,
    id: i64,
    summary: serde_json::Value,
    cx: &Change,
) -> Result<entity::audit_event::Model> {
    cx.record(db, access, action, "role", id, summary).await
}

/// Creates a custom role.
///
/// **Permissions**: `org.permissions.manage`.
pub async fn create(
    db: &DatabaseConnection,
    access: &OrgAccess,
    scope: RoleScope,
    name: &str,
    description: Option<&str>,
    permissions: &[Permission],
    cx: &Change,
) -> Result<role::Model> {
    let name = super::rules::name("name", name)?;
    let perms = check_permissions(scope, permissions)?;
    check_name_free(db, access.org_id(), &name, None).await?;
    let txn = crate::db::begin_write(db).await?;
    let created = role::Entity::insert(role::ActiveModel {
        organization_id: Set(Some(access.org_id())),
        scope: Set(scope),
        builtin_key: Set(None),
        name: Set(name),
        description: Set(description.unwrap_or_default().trim().to_string()),
        created_at: Set(Utc::now()),
        ..Default::default()
    })
    .exec_with_returning(&txn)
    .await?;
    write_permissions_in_txn(&txn, created.id, &perms).await?;
    let keys: Vec<&str> = perms.iter().map(|p| p.key()).collect();
    let event = record(
        &txn,
        access,
        "role.create",
        created.id,
        json!({ "name": created.name, "scope": scope, "permissions": keys }),
        cx,
    )
    .await?;
    txn.commit().await?;
    cx.published([event]);
    Ok(created)
}

async fn custom<C: ConnectionTrait>(db: &C, org: i64, id: i64) -> Result<role::Model> {
    let role = get(db, org, id).await?;
    if role.organization_id.is_none() {
        return Err(Error::validation(
            "id",
            format!("`{}` is a built-in role and cannot be changed", role.name),
        ));
    }
    Ok(role)
}

/// Renames a custom role or replaces its permissions.
///
/// **Permissions**: `org.permissions.manage`.
pub async fn update(
    db: &DatabaseConnection,
    access: &OrgAccess,
    id: i64,
    name: Option<&str>,
    description: Option<&str>,
    permissions: Option<&[Permission]>,
    cx: &Change,
) -> Result<role::Model> {
    let current = custom(db, access.org_id(), id).await?;
    let mut row = role::ActiveModel {
        id: Set(id),
        ..Default::default()
    };
    let mut summary = serde_json::Map::new();
    if let Some(name) = name {
        let name = super::rules::name("name", name)?;
        check_name_free(db, access.org_id(), &name, Some(id)).await?;
        summary.insert("name".into(), json!({ "from": current.name, "to": name }));
        row.name = Set(name);
    }
    if let Some(description) = description {
        row.description = Set(description.trim().to_string());
    }
    let perms = permissions
        .map(|p| check_permissions(current.scope, p))
        .transpose()?;
    let txn = crate::db::begin_write(db).await?;
    let updated = role::Entity::update(row).exec(&txn).await?;
    if let Some(perms) = &perms {
        write_permissions_in_txn(&txn, id, perms).await?;
        summary.insert(
            "permissions".into(),
            json!(perms.iter().map(|p| p.key()).collect::<Vec<_>>()),
        );
    }
    let event = record(
        &txn,
        access,
        "role.update",
        id,
        serde_json::Value::Object(summary),
        cx,
    )
    .await?;
    txn.commit().await?;
    cx.published([event]);
    Ok(updated)
}

/// How many members (organization roles) or workspace memberships (workspace roles) of the
/// organization hold a role. Built-in roles are shared by every organization: only this one's
/// holders count.
pub async fn holders<C: ConnectionTrait>(db: &C, org: i64, role: &role::Model) -> Result<u64> {
    Ok(match role.scope {
        RoleScope::Organization => {
            member::Entity::find()
                .filter(member::Column::OrganizationId.eq(org))
                .filter(member::Column::RoleId.eq(role.id))
                .count(db)
                .await?
        }
        RoleScope::Workspace => {
            workspace_member::Entity::find()
                .filter(workspace_member::Column::OrganizationId.eq(org))
                .filter(workspace_member::Column::RoleId.eq(role.id))
                .count(db)
                .await?
        }
    })
}

/// [`holders`] of each of several roles of either scope (two queries).
pub async fn holder_counts<C: ConnectionTrait>(
    db: &C,
    org: i64,
    roles: &[i64],
) -> Result<HashMap<i64, u64>> {
    let mut out = crate::db::counts_by(
        db,
        member::Entity::find().filter(member::Column::OrganizationId.eq(org)),
        member::Column::RoleId,
        roles,
    )
    .await?;
    let memberships = crate::db::counts_by(
        db,
        workspace_member::Entity::find().filter(workspace_member::Column::OrganizationId.eq(org)),
        workspace_member::Column::RoleId,
        roles,
    )
    .await?;
    for (role, n) in memberships {
        *out.entry(role).or_default() += n;
    }
    Ok(out)
}

/// Deletes a custom role; refused while assigned unless `replacement` (a role of the same scope)
/// is named, which its holders then get.
///
/// **Permissions**: `org.permissions.manage`.
pub async fn delete(
    db: &DatabaseConnection,
    access: &OrgAccess,
    id: i64,
    replacement: Option<i64>,
    cx: &Change,
) -> Result<()> {
    let role = custom(db, access.org_id(), id).await?;
    let count = holders(db, access.org_id(), &role).await?;
    let replacement = match replacement {
        Some(rid) => {
            let r = get(db, access.org_id(), rid).await?;
            if r.scope != role.scope || r.id == role.id {
                return Err(Error::validation(
                    "replacementRoleId",
                    "the replacement must be another role of the same scope",
                ));
            }
            if r.builtin_key.as_deref() == Some(crate::authz::roles::BuiltinRole::OrgAdmin.key()) {
                return Err(Error::validation(
                    "replacementRoleId",
                    "the organization administrator role cannot be handed out in bulk",
                ));
            }
            Some(r)
        }
        None if count > 0 => {
            return Err(Error::Conflict(format!(
                "`{}` is held {count} times; pass `replacementRoleId` to give its holders another role",
                role.name
            )));
        }
        None => None,
    };
    let txn = crate::db::begin_write(db).await?;
    if let Some(r) = &replacement {
        match role.scope {
            RoleScope::Organization => {
                member::Entity::update_many()
                    .col_expr(member::Column::RoleId, Expr::value(r.id))
                    .filter(member::Column::RoleId.eq(role.id))
                    .exec(&txn)
                    .await?;
            }
            RoleScope::Workspace => {
                workspace_member::Entity::update_many()
                    .col_expr(workspace_member::Column::RoleId, Expr::value(r.id))
                    .filter(workspace_member::Column::RoleId.eq(role.id))
                    .exec(&txn)
                    .await?;
            }
        }
    }
    role::Entity::delete_by_id(role.id).exec(&txn).await?;
    let event = record(&txn, access, "role.delete", role.id, json!({ "name": role.name, "replacementRoleId": replacement.map(|r| r.id), "holders": count }), cx).await?;
    txn.commit().await?;
    cx.published([event]);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permissions_must_match_the_scope() {
        assert!(check_permissions(RoleScope::Organization, &[Permission::ViewMembers]).is_ok());
        assert!(check_permissions(RoleScope::Organization, &[Permission::DashboardEdit]).is_err());
        assert!(check_permissions(RoleScope::Workspace, &[Permission::ManageMembers]).is_err());
    }
}
