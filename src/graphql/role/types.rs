//! The `Role` and `PermissionInfo` objects.

use crate::{
    authz::{Permission, catalog::PermissionScope},
    graphql::{enums::RoleScope, loaders},
};
use async_graphql::{Context, ID, Object, Result, SimpleObject};
use entity::role;

/// An access role: built-in or custom, of organization or workspace scope.
pub struct Role(
    pub role::Model,
    /// The organization it is shown in, when that is not the caller's: a built-in role is one
    /// row for every organization, and its holders are counted within this one.
    Option<i64>,
);

impl From<role::Model> for Role {
    fn from(model: role::Model) -> Self {
        Self(model, None)
    }
}

impl Role {
    /// The role as held in organization `organization_id` (a member's role, shown beside the
    /// member, who may belong to another organization than the caller's old one).
    pub fn held_in(model: role::Model, organization_id: i64) -> Self {
        Self(model, Some(organization_id))
    }
}

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
        let loaders = match self.1.or(self.0.organization_id) {
            Some(organization_id) => loaders::loaders_of(ctx, organization_id)?,
            None => loaders::loaders(ctx)?,
        };
        Ok(loaders
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
