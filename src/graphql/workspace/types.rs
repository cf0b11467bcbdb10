//! The `Workspace` object.

use crate::graphql::{loaders, member::Member, role::Role, state};
use async_graphql::{Context, Enum, ID, Object, Result, SimpleObject};
use chrono::{DateTime, Utc};
use entity::workspace;

/// Shared or personal.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
pub enum WorkspaceKind {
    /// A team workspace with an owner and members.
    Group,
    /// One member's own workspace.
    Personal,
}

/// A workspace.
pub struct Workspace(pub workspace::Model);

/// A member of a workspace with their workspace role.
#[derive(SimpleObject)]
pub struct WorkspaceMembership {
    /// The member.
    pub member: Member,
    /// The workspace role.
    pub role: Role,
}

#[Object]
impl Workspace {
    /// Workspace id.
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }

    /// Name.
    async fn name(&self) -> &str {
        &self.0.name
    }

    /// Group or personal.
    async fn kind(&self) -> WorkspaceKind {
        match self.0.kind {
            entity::enums::WorkspaceKind::Group => WorkspaceKind::Group,
            entity::enums::WorkspaceKind::Personal => WorkspaceKind::Personal,
        }
    }

    /// The owning member.
    async fn owner(&self, ctx: &Context<'_>) -> Result<Option<Member>> {
        let loaders = loaders::loaders(ctx)?;
        Ok(loaders
            .org
            .load_one(loaders::MemberId(self.0.owner_member_id))
            .await
            .map_err(loaders::loader_error)?
            .map(Member::from))
    }

    /// When it was created.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }

    /// Number of members.
    async fn member_count(&self, ctx: &Context<'_>) -> Result<u64> {
        Ok(crate::org::workspaces::member_count(&state(ctx)?.db, self.0.id).await?)
    }

    /// The members with their workspace roles.
    async fn members(&self, ctx: &Context<'_>) -> Result<Vec<WorkspaceMembership>> {
        let loaders = loaders::loaders(ctx)?;
        let rows =
            crate::org::workspaces::memberships(&state(ctx)?.db, self.0.organization_id, self.0.id)
                .await?;
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            let member = loaders
                .org
                .load_one(loaders::MemberId(row.member_id))
                .await
                .map_err(loaders::loader_error)?;
            let role = loaders
                .org
                .load_one(loaders::RoleId(row.role_id))
                .await
                .map_err(loaders::loader_error)?;
            if let (Some(member), Some(role)) = (member, role) {
                out.push(WorkspaceMembership {
                    member: Member::from(member),
                    role: Role(role),
                });
            }
        }
        Ok(out)
    }
}
