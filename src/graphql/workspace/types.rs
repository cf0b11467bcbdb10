//! The `Workspace` object.

use crate::graphql::{loaders, member::Member, role::Role};
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
        Ok(loaders::loaders(ctx)?
            .load_or_default(loaders::WorkspaceMemberCountOf(self.0.id))
            .await?)
    }

    /// The members with their workspace roles.
    async fn members(&self, ctx: &Context<'_>) -> Result<Vec<WorkspaceMembership>> {
        let loaders = loaders::loaders(ctx)?;
        let rows = loaders
            .load_or_default(loaders::MembershipsOf(self.0.id))
            .await?;
        // Every member and role of the workspace in one batch each, not one per membership.
        let (mut members, roles) = tokio::try_join!(
            loaders
                .org
                .load_many(rows.iter().map(|r| loaders::MemberId(r.member_id))),
            loaders
                .org
                .load_many(rows.iter().map(|r| loaders::RoleId(r.role_id))),
        )
        .map_err(loaders::loader_error)?;
        Ok(rows
            .iter()
            .filter_map(|row| {
                let member = members.remove(&loaders::MemberId(row.member_id))?;
                let role = roles.get(&loaders::RoleId(row.role_id))?.clone();
                Some(WorkspaceMembership {
                    member: Member::from(member),
                    role: Role::from(role),
                })
            })
            .collect())
    }
}
