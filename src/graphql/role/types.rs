//! The `Role` and `PermissionInfo` objects.

use crate::{
    authz::{Permission, catalog::PermissionScope},
    graphql::{enums::RoleScope, loaders},
};
use async_graphql::{Context, ID, Object, Result, SimpleObject};
use entity::role;

/// An access role: built-in or custom, of organization or workspace scope.
pub struct Role(pub role::Model);

#[Object]
impl Role {
    /// Role id.
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }

    /// Display name.
    async fn name(&self) -> &str {
        &self.0.name
    }

    /// Stable key of a built-in role (`org_admin`, `permission_admin`, `standard_user`,
    /// `workspace_admin`, `workspace_developer`, `workspace_analyst`, `workspace_viewer`); null for
    /// custom roles.
    async fn builtin_key(&self) -> Option<&str> {
        self.0.builtin_key.as_deref()
    }

    /// Whether the role is built in (and cannot be changed).
    async fn builtin(&self) -> bool {
        self.0.organization_id.is_none()
    }

    /// Organization or workspace.
    async fn scope(&self) -> RoleScope {
        self.0.scope.into()
    }

    /// What the role is for.
    async fn description(&self) -> &str {
        &self.0.description
    }

    /// The permissions granted.
    async fn permissions(&self, ctx: &Context<'_>) -> Result<Vec<Permission>> {
        Ok(loaders::loaders(ctx)?
            .load_or_default(loaders::PermissionsOf(self.0.id))
            .await?
            .into_iter()
            .collect())
    }

    /// How many members (organization roles) or workspace memberships (workspace roles) of this
    /// organization hold it.
    async fn holder_count(&self, ctx: &Context<'_>) -> Result<u64> {
        Ok(loaders::loaders(ctx)?
            .load_or_default(loaders::HolderCountOf(self.0.id))
            .await?)
    }
}

/// One permission of the catalog.
#[derive(SimpleObject)]
pub struct PermissionInfo {
    /// The permission.
    pub permission: Permission,
    /// Its stable key, as stored.
    pub key: &'static str,
    /// Organization or workspace.
    pub scope: PermissionScope,
    /// What it allows.
    pub description: &'static str,
}
