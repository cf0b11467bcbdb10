//! Workspace queries.

use super::Workspace;
use crate::{
    graphql::{
        guard::{PermissionGuard, principal},
        parse_id, state,
    },
    org::workspaces,
};
use async_graphql::{Context, ID, Object, Result};

/// Workspace queries.
#[derive(Default)]
pub struct WorkspaceQuery;

#[Object]
impl WorkspaceQuery {
    /// Workspaces: every one for holders of `org.workspaces.manage`, else the caller's own.
    ///
    /// **Permissions**: any authenticated member.
    #[graphql(guard = "PermissionGuard::authenticated()")]
    async fn workspaces(&self, ctx: &Context<'_>) -> Result<Vec<Workspace>> {
        Ok(workspaces::list(&state(ctx)?.db, principal(ctx)?)
            .await?
            .into_iter()
            .map(Workspace)
            .collect())
    }

    /// One workspace the caller can view.
    ///
    /// **Permissions**: a role in the workspace, or `org.workspaces.manage`.
    #[graphql(guard = "PermissionGuard::authenticated()")]
    async fn workspace(&self, ctx: &Context<'_>, id: ID) -> Result<Workspace> {
        let db = &state(ctx)?.db;
        let principal = principal(ctx)?;
        let id = parse_id(&id, "workspace")?;
        Ok(Workspace(workspaces::get_visible(db, principal, id).await?))
    }
}
