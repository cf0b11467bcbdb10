//! Workspace mutations.

use super::Workspace;
use crate::{
    authz::{Permission, require_workspace},
    graphql::{
        change,
        guard::{PermissionGuard, access, principal},
        parse_id, parse_ids, state,
    },
    org::workspaces,
};
use async_graphql::{Context, ID, Object, Result};

/// Workspace mutations.
#[derive(Default)]
pub struct WorkspaceMutation;

#[Object]
impl WorkspaceMutation {
    /// Creates a group workspace; the caller owns and administers it.
    ///
    /// **Permissions**: `org.workspaces.manage`.
    #[graphql(guard = "PermissionGuard::org(Permission::ManageWorkspaces)")]
    async fn create_workspace(&self, ctx: &Context<'_>, name: String) -> Result<Workspace> {
        let access = access(ctx, Permission::ManageWorkspaces)?;
        Ok(Workspace(
            workspaces::create(&state(ctx)?.db, &access, &name, &change(ctx)?).await?,
        ))
    }

    /// Renames a workspace.
    ///
    /// **Permissions**: `ws.manage` in the workspace, or `org.workspaces.manage`.
    #[graphql(guard = "PermissionGuard::authenticated()")]
    async fn rename_workspace(&self, ctx: &Context<'_>, id: ID, name: String) -> Result<Workspace> {
        let db = &state(ctx)?.db;
        let access = require_workspace(
            db,
            principal(ctx)?,
            parse_id(&id, "workspace")?,
            Permission::WorkspaceManage,
        )
        .await?;
        Ok(Workspace(
            workspaces::rename(db, &access, &name, &change(ctx)?).await?,
        ))
    }

    /// Deletes a group workspace.
    ///
    /// **Permissions**: `org.workspaces.manage`.
    #[graphql(guard = "PermissionGuard::org(Permission::ManageWorkspaces)")]
    async fn delete_workspace(&self, ctx: &Context<'_>, id: ID) -> Result<bool> {
        let access = access(ctx, Permission::ManageWorkspaces)?;
        workspaces::delete(
            &state(ctx)?.db,
            &access,
            parse_id(&id, "workspace")?,
            &change(ctx)?,
        )
        .await?;
        Ok(true)
    }

    /// Adds members with a workspace role, or changes the role of members already there.
    ///
    /// **Permissions**: `ws.manage` in the workspace, or `org.workspaces.manage`.
    #[graphql(guard = "PermissionGuard::authenticated()")]
    async fn add_workspace_members(
        &self,
        ctx: &Context<'_>,
        id: ID,
        member_ids: Vec<ID>,
        role_id: ID,
    ) -> Result<Workspace> {
        let db = &state(ctx)?.db;
        let access = require_workspace(
            db,
            principal(ctx)?,
            parse_id(&id, "workspace")?,
            Permission::WorkspaceManage,
        )
        .await?;
        let ids = parse_ids(&member_ids, "member")?;
        Ok(Workspace(
            workspaces::add_members(
                db,
                &access,
                &ids,
                parse_id(&role_id, "role")?,
                &change(ctx)?,
            )
            .await?,
        ))
    }

    /// Removes members from a workspace.
    ///
    /// **Permissions**: `ws.manage` in the workspace, or `org.workspaces.manage`.
    #[graphql(guard = "PermissionGuard::authenticated()")]
    async fn remove_workspace_members(
        &self,
        ctx: &Context<'_>,
        id: ID,
        member_ids: Vec<ID>,
    ) -> Result<Workspace> {
        let db = &state(ctx)?.db;
        let access = require_workspace(
            db,
            principal(ctx)?,
            parse_id(&id, "workspace")?,
            Permission::WorkspaceManage,
        )
        .await?;
        Ok(Workspace(
            workspaces::remove_members(
                db,
                &access,
                &parse_ids(&member_ids, "member")?,
                &change(ctx)?,
            )
            .await?,
        ))
    }

    /// Hands a workspace to another member.
    ///
    /// **Permissions**: `ws.manage` in the workspace, or `org.workspaces.manage`.
    #[graphql(guard = "PermissionGuard::authenticated()")]
    async fn transfer_workspace(
        &self,
        ctx: &Context<'_>,
        id: ID,
        member_id: ID,
    ) -> Result<Workspace> {
        let db = &state(ctx)?.db;
        let access = require_workspace(
            db,
            principal(ctx)?,
            parse_id(&id, "workspace")?,
            Permission::WorkspaceManage,
        )
        .await?;
        Ok(Workspace(
            workspaces::transfer(db, &access, parse_id(&member_id, "member")?, &change(ctx)?)
                .await?,
        ))
    }
}
