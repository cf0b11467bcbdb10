//! The `Me` and `Role` objects.

use crate::{
    authz::Permission,
    graphql::{enums::RoleScope, member::Member, organization::Organization},
};
use async_graphql::{ID, Object, SimpleObject};
use entity::role;

/// An access role.
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

    /// Stable key of a built-in role (`org_admin`, `permission_admin`, `standard_user`, `workspace_admin`…);
    /// null for custom roles.
    async fn builtin_key(&self) -> Option<&str> {
        self.0.builtin_key.as_deref()
    }

    /// Organization or workspace.
    async fn scope(&self) -> RoleScope {
        self.0.scope.into()
    }

    /// What the role is for.
    async fn description(&self) -> &str {
        &self.0.description
    }
}

/// The caller: their membership, organization, role and effective permissions.
#[derive(SimpleObject)]
pub struct Me {
    /// The caller as a member of the token's organization.
    pub member: Member,
    /// The token's organization.
    pub organization: Organization,
    /// The caller's organization role.
    pub role: Role,
    /// Organization permissions the role grants, for gating a UI.
    pub permissions: Vec<Permission>,
}
