//! The `Me` and `Role` objects.

use crate::{
    authz::Permission,
    graphql::{member::Member, organization::Organization, role::Role, workspace::Workspace},
};
use async_graphql::SimpleObject;

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
    /// The workspaces the caller belongs to, with the role and permissions held in each.
    pub workspaces: Vec<MyWorkspace>,
    /// The caller still holds a one-time password: until they choose their own with
    /// `changePassword`, every other operation answers `PASSWORD_CHANGE_REQUIRED`.
    pub password_change_required: bool,
}

/// A workspace of the caller with their role and effective permissions there.
#[derive(SimpleObject)]
pub struct MyWorkspace {
    /// The workspace.
    pub workspace: Workspace,
    /// The caller's workspace role.
    pub role: Role,
    /// The permissions the role grants in this workspace.
    pub permissions: Vec<Permission>,
}
