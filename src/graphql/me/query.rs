//! The `me` query.

use super::types::{Me, MyWorkspace};
use crate::{
    graphql::{
        guard::principal_before_password_change, member::Member, organization::Organization,
        role::Role, state, workspace::Workspace,
    },
    org::{members, organizations, workspaces},
};
use async_graphql::{Context, Object, Result};

/// `me`.
#[derive(Default)]
pub struct MeQuery;

#[Object]
impl MeQuery {
    /// The caller: member, organization, organization role and effective permissions.
    ///
    /// **Permissions**: any authenticated member, also while a password change is required.
    async fn me(&self, ctx: &Context<'_>) -> Result<Me> {
        let principal = principal_before_password_change(ctx)?;
        let db = &state(ctx)?.db;
        let member = members::get(db, principal.organization_id, principal.member_id).await?;
        let role = members::role_of(db, &member).await?;
        let organization = organizations::get(db, principal.organization_id).await?;
        Ok(Me {
            member: Member::from(member),
            organization: Organization(organization),
            role: Role::from(role),
            permissions: principal.permissions.iter().copied().collect(),
            workspaces: workspaces::permissions_of(db, principal.member_id)
                .await?
                .into_iter()
                .map(|(workspace, role, permissions)| MyWorkspace {
                    workspace: Workspace(workspace),
                    role: Role::from(role),
                    permissions,
                })
                .collect(),
            password_change_required: principal.password_change_required,
        })
    }
}
