//! Built-in access roles, written in the catalog's terms and kept in the database as rows shared by
//! every organization (`organization_id` is null). [`seed_builtin_roles`] brings the rows in line with
//! this table at start-up, so a new version can extend a built-in role.

use super::Permission;
use crate::error::Result;
use entity::{enums::RoleScope, role, role_permission};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    sea_query::OnConflict,
};
use std::collections::HashMap;

/// A role that every organization has.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BuiltinRole {
    /// Organization administrator: every organization permission.
    OrgAdmin,
    /// Permission administrator: roles, workspaces and the member list.
    PermissionAdmin,
    /// Standard user: sees the member directory.
    StandardUser,
    /// Workspace administrator.
    WorkspaceAdmin,
    /// Workspace developer.
    WorkspaceDeveloper,
    /// Workspace analyst.
    WorkspaceAnalyst,
    /// Workspace viewer.
    WorkspaceViewer,
}

impl BuiltinRole {
    /// Every built-in role.
    pub const ALL: [BuiltinRole; 7] = [
        Self::OrgAdmin,
        Self::PermissionAdmin,
        Self::StandardUser,
        Self::WorkspaceAdmin,
        Self::WorkspaceDeveloper,
        Self::WorkspaceAnalyst,
        Self::WorkspaceViewer,
    ];

    /// The built-in role a stored role is, if it is one.
    pub fn of(role: &role::Model) -> Option<Self> {
        role.builtin_key.as_deref().and_then(Self::from_key)
    }

    /// Stable key stored in `role.builtin_key`.
    pub fn key(self) -> &'static str {
        match self {
            Self::OrgAdmin => "org_admin",
            Self::PermissionAdmin => "permission_admin",
            Self::StandardUser => "standard_user",
            Self::WorkspaceAdmin => "workspace_admin",
            Self::WorkspaceDeveloper => "workspace_developer",
            Self::WorkspaceAnalyst => "workspace_analyst",
            Self::WorkspaceViewer => "workspace_viewer",
        }
    }

    /// Display name.
    pub fn name(self) -> &'static str {
        match self {
            Self::OrgAdmin => "Organization administrator",
            Self::PermissionAdmin => "Permission administrator",
            Self::StandardUser => "Standard user",
            Self::WorkspaceAdmin => "Administrator",
            Self::WorkspaceDeveloper => "Developer",
            Self::WorkspaceAnalyst => "Analyst",
            Self::WorkspaceViewer => "Viewer",
        }
    }

    /// What the role is for.
    pub fn description(self) -> &'static str {
        match self {
            Self::OrgAdmin => {
                "Manages the whole organization: members, connections, sync, roles and workspaces."
            }
            Self::PermissionAdmin => "Manages roles, permissions and workspaces.",
            Self::StandardUser => {
                "Uses the workspaces they belong to and sees the member directory."
            }
            Self::WorkspaceAdmin => {
                "Creates, edits, uses and views everything in the workspace and manages it."
            }
            Self::WorkspaceDeveloper => {
                "Creates, edits, uses and views everything in the workspace."
            }
            Self::WorkspaceAnalyst => {
                "Creates and edits analyses, uses datasets and views the rest."
            }
            Self::WorkspaceViewer => "Views the workspace's content.",
        }
    }

    /// Organization or workspace.
    pub fn scope(self) -> RoleScope {
        match self {
            Self::OrgAdmin | Self::PermissionAdmin | Self::StandardUser => RoleScope::Organization,
            _ => RoleScope::Workspace,
        }
    }

    /// Whether only developers and analysts may hold this role.
    pub fn is_administrator(self) -> bool {
        matches!(self, Self::OrgAdmin | Self::PermissionAdmin)
    }

    /// The permissions granted, following the BI-platform matrix for workspace roles.
    pub fn permissions(self) -> Vec<Permission> {
        use super::catalog::{MODULES, PermissionScope};
        let modules = |actions: &dyn Fn(&str) -> &'static [&'static str]| -> Vec<Permission> {
            MODULES
                .iter()
                .flat_map(|(module, _)| {
                    actions(module)
                        .iter()
                        .filter_map(move |a| Permission::module(module, a))
                })
                .collect()
        };
        match self {
            Self::OrgAdmin => Permission::ALL
                .iter()
                .copied()
                .filter(|p| p.scope() == PermissionScope::Organization)
                .collect(),
            Self::PermissionAdmin => vec![
                Permission::ManagePermissions,
                Permission::ManageWorkspaces,
                Permission::ViewMembers,
            ],
            Self::StandardUser => vec![Permission::ViewMembers],
            Self::WorkspaceAdmin => {
                let mut all = modules(&|_| &["edit", "use", "view"]);
                all.push(Permission::WorkspaceManage);
                all
            }
            Self::WorkspaceDeveloper => modules(&|_| &["edit", "use", "view"]),
            Self::WorkspaceAnalyst => modules(&|module| match module {
                "data_entry" | "data_source" => &["view"],
                "dataset" => &["use", "view"],
                _ => &["edit", "view"],
            }),
            Self::WorkspaceViewer => modules(&|_| &["view"]),
        }
    }

    /// The built-in role with this key.
    pub fn from_key(key: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.key() == key)
    }
}

/// Inserts or updates the built-in role rows and their permissions; returns role ids by role.
pub async fn seed_builtin_roles(db: &DatabaseConnection) -> Result<HashMap<BuiltinRole, i64>> {
    let txn = crate::db::begin_write(db).await?;
    let now = chrono::Utc::now();
    for builtin in BuiltinRole::ALL {
        let row = role::ActiveModel {
            organization_id: Set(None),
            scope: Set(builtin.scope()),
            builtin_key: Set(Some(builtin.key().to_string())),
            name: Set(builtin.name().to_string()),
            description: Set(builtin.description().to_string()),
            created_at: Set(now),
            ..Default::default()
        };
        role::Entity::insert(row)
            .on_conflict(
                OnConflict::column(role::Column::BuiltinKey)
                    .update_columns([
                        role::Column::Name,
                        role::Column::Description,
                        role::Column::Scope,
                    ])
                    .to_owned(),
            )
            .exec_without_returning(&txn)
            .await?;
    }
    let ids = builtin_role_ids(&txn).await?;
    for (builtin, id) in &ids {
        let keys: Vec<&str> = builtin
            .permissions()
            .into_iter()
            .map(Permission::key)
            .collect();
        role_permission::Entity::delete_many()
            .filter(role_permission::Column::RoleId.eq(*id))
            .filter(role_permission::Column::Permission.is_not_in(keys.clone()))
            .exec(&txn)
            .await?;
        let rows = keys.into_iter().map(|key| role_permission::ActiveModel {
            role_id: Set(*id),
            permission: Set(key.to_string()),
        });
        role_permission::Entity::insert_many(rows)
            .on_conflict(
                OnConflict::columns([
                    role_permission::Column::RoleId,
                    role_permission::Column::Permission,
                ])
                .do_nothing()
                .to_owned(),
            )
            .exec_without_returning(&txn)
            .await?;
    }
    txn.commit().await?;
    Ok(ids)
}

/// The ids of the built-in role rows.
pub async fn builtin_role_ids<C: ConnectionTrait>(db: &C) -> Result<HashMap<BuiltinRole, i64>> {
    let rows = role::Entity::find()
        .filter(role::Column::BuiltinKey.is_not_null())
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .filter_map(|r| BuiltinRole::of(&r).map(|b| (b, r.id)))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn org_admin_holds_every_organization_permission_and_nothing_else() {
        let perms = BuiltinRole::OrgAdmin.permissions();
        assert!(perms.contains(&Permission::ManageMembers));
        assert!(perms.contains(&Permission::ViewAudit));
        assert!(!perms.contains(&Permission::DashboardEdit));
    }

    #[test]
    fn standard_user_cannot_manage() {
        let perms = BuiltinRole::StandardUser.permissions();
        assert!(!perms.contains(&Permission::ManageMembers));
        assert!(!perms.contains(&Permission::ViewAudit));
    }

    #[test]
    fn workspace_matrix() {
        let analyst = BuiltinRole::WorkspaceAnalyst.permissions();
        assert!(analyst.contains(&Permission::DashboardEdit));
        assert!(!analyst.contains(&Permission::DashboardUse));
        assert!(analyst.contains(&Permission::DataSourceView));
        assert!(!analyst.contains(&Permission::DataSourceEdit));
        assert!(analyst.contains(&Permission::DatasetUse));
        assert!(!analyst.contains(&Permission::DatasetEdit));
        let viewer = BuiltinRole::WorkspaceViewer.permissions();
        assert_eq!(viewer.len(), 10);
        assert!(viewer.iter().all(|p| p.key().ends_with(".view")));
        let developer = BuiltinRole::WorkspaceDeveloper.permissions();
        assert_eq!(developer.len(), 30);
        assert!(!developer.contains(&Permission::WorkspaceManage));
        assert!(
            BuiltinRole::WorkspaceAdmin
                .permissions()
                .contains(&Permission::WorkspaceManage)
        );
    }

    #[test]
    fn only_admin_roles_require_developer_or_analyst() {
        let admins: Vec<_> = BuiltinRole::ALL
            .into_iter()
            .filter(|r| r.is_administrator())
            .collect();
        assert_eq!(
            admins,
            vec![BuiltinRole::OrgAdmin, BuiltinRole::PermissionAdmin]
        );
    }
}
