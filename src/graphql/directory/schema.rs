//! Role group and directory role objects, queries and mutations.

use crate::{
    authz::Permission,
    graphql::{
        change,
        guard::{PermissionGuard, access},
        loaders,
        member::Member,
        parse_id, parse_ids, state,
    },
    org::directory,
};
use async_graphql::{Context, ID, Object, Result};
use entity::{directory_role, role_group};

/// A group of positions, such as Management.
pub struct RoleGroup(pub role_group::Model);

#[Object]
impl RoleGroup {
    /// Group id.
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }

    /// Name.
    async fn name(&self) -> &str {
        &self.0.name
    }

    /// Its positions.
    async fn roles(&self, ctx: &Context<'_>) -> Result<Vec<DirectoryRole>> {
        Ok(loaders::loaders(ctx)?
            .load_or_default(loaders::PositionsOf(self.0.id))
            .await?
            .into_iter()
            .map(DirectoryRole)
            .collect())
    }
}

/// A position of the organization chart, such as R&D Manager.
pub struct DirectoryRole(pub directory_role::Model);

#[Object]
impl DirectoryRole {
    /// Position id.
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }

    /// Name.
    async fn name(&self) -> &str {
        &self.0.name
    }

    /// Its group id.
    async fn role_group_id(&self) -> ID {
        ID(self.0.role_group_id.to_string())
    }

    /// The members holding it.
    async fn members(&self, ctx: &Context<'_>) -> Result<Vec<Member>> {
        let loaders = loaders::loaders(ctx)?;
        let ids = loaders
            .load_or_default(loaders::HoldersOf(self.0.id))
            .await?;
        let found = loaders
            .org
            .load_many(ids.iter().map(|&id| loaders::MemberId(id)))
            .await
            .map_err(loaders::loader_error)?;
        Ok(ids
            .iter()
            .filter_map(|id| {
                found
                    .get(&loaders::MemberId(*id))
                    .cloned()
                    .map(Member::from)
            })
            .collect())
    }
}

/// Role group queries.
#[derive(Default)]
pub struct DirectoryQuery;

#[Object]
impl DirectoryQuery {
    /// The organization's role groups with their positions.
    ///
    /// **Permissions**: `org.members.view`.
    #[graphql(guard = "PermissionGuard::org(Permission::ViewMembers)")]
    async fn role_groups(&self, ctx: &Context<'_>) -> Result<Vec<RoleGroup>> {
        let access = access(ctx, Permission::ViewMembers)?;
        Ok(directory::groups(&state(ctx)?.db, access.org_id())
            .await?
            .into_iter()
            .map(RoleGroup)
            .collect())
    }
}

/// Role group mutations.
#[derive(Default)]
pub struct DirectoryMutation;

#[Object]
impl DirectoryMutation {
    /// Creates a role group.
    ///
    /// **Permissions**: `org.members.manage`.
    #[graphql(guard = "PermissionGuard::org(Permission::ManageMembers)")]
    async fn create_role_group(&self, ctx: &Context<'_>, name: String) -> Result<RoleGroup> {
        let access = access(ctx, Permission::ManageMembers)?;
        Ok(RoleGroup(
            directory::create_group(&state(ctx)?.db, &access, &name, &change(ctx)?).await?,
        ))
    }

    /// Renames a role group.
    ///
    /// **Permissions**: `org.members.manage`.
    #[graphql(guard = "PermissionGuard::org(Permission::ManageMembers)")]
    async fn rename_role_group(
        &self,
        ctx: &Context<'_>,
        id: ID,
        name: String,
    ) -> Result<RoleGroup> {
        let access = access(ctx, Permission::ManageMembers)?;
        Ok(RoleGroup(
            directory::rename_group(
                &state(ctx)?.db,
                &access,
                parse_id(&id, "role group")?,
                &name,
                &change(ctx)?,
            )
            .await?,
        ))
    }

    /// Deletes a role group with its positions.
    ///
    /// **Permissions**: `org.members.manage`.
    #[graphql(guard = "PermissionGuard::org(Permission::ManageMembers)")]
    async fn delete_role_group(&self, ctx: &Context<'_>, id: ID) -> Result<bool> {
        let access = access(ctx, Permission::ManageMembers)?;
        directory::delete_group(
            &state(ctx)?.db,
            &access,
            parse_id(&id, "role group")?,
            &change(ctx)?,
        )
        .await?;
        Ok(true)
    }

    /// Creates a position in a role group.
    ///
    /// **Permissions**: `org.members.manage`.
    #[graphql(guard = "PermissionGuard::org(Permission::ManageMembers)")]
    async fn create_directory_role(
        &self,
        ctx: &Context<'_>,
        role_group_id: ID,
        name: String,
    ) -> Result<DirectoryRole> {
        let access = access(ctx, Permission::ManageMembers)?;
        let group = parse_id(&role_group_id, "role group")?;
        Ok(DirectoryRole(
            directory::create_role(&state(ctx)?.db, &access, group, &name, &change(ctx)?).await?,
        ))
    }

    /// Renames a position.
    ///
    /// **Permissions**: `org.members.manage`.
    #[graphql(guard = "PermissionGuard::org(Permission::ManageMembers)")]
    async fn rename_directory_role(
        &self,
        ctx: &Context<'_>,
        id: ID,
        name: String,
    ) -> Result<DirectoryRole> {
        let access = access(ctx, Permission::ManageMembers)?;
        Ok(DirectoryRole(
            directory::rename_role(
                &state(ctx)?.db,
                &access,
                parse_id(&id, "directory role")?,
                &name,
                &change(ctx)?,
            )
            .await?,
        ))
    }

    /// Deletes a position.
    ///
    /// **Permissions**: `org.members.manage`.
    #[graphql(guard = "PermissionGuard::org(Permission::ManageMembers)")]
    async fn delete_directory_role(&self, ctx: &Context<'_>, id: ID) -> Result<bool> {
        let access = access(ctx, Permission::ManageMembers)?;
        directory::delete_role(
            &state(ctx)?.db,
            &access,
            parse_id(&id, "directory role")?,
            &change(ctx)?,
        )
        .await?;
        Ok(true)
    }

    /// Gives members a position.
    ///
    /// **Permissions**: `org.members.manage`.
    #[graphql(guard = "PermissionGuard::org(Permission::ManageMembers)")]
    async fn add_directory_role_members(
        &self,
        ctx: &Context<'_>,
        id: ID,
        member_ids: Vec<ID>,
    ) -> Result<DirectoryRole> {
        let access = access(ctx, Permission::ManageMembers)?;
        let ids = parse_ids(&member_ids, "member")?;
        Ok(DirectoryRole(
            directory::set_holders(
                &state(ctx)?.db,
                &access,
                parse_id(&id, "directory role")?,
                &ids,
                true,
                &change(ctx)?,
            )
            .await?,
        ))
    }

    /// Takes a position from members.
    ///
    /// **Permissions**: `org.members.manage`.
    #[graphql(guard = "PermissionGuard::org(Permission::ManageMembers)")]
    async fn remove_directory_role_members(
        &self,
        ctx: &Context<'_>,
        id: ID,
        member_ids: Vec<ID>,
    ) -> Result<DirectoryRole> {
        let access = access(ctx, Permission::ManageMembers)?;
        let ids = parse_ids(&member_ids, "member")?;
        Ok(DirectoryRole(
            directory::set_holders(
                &state(ctx)?.db,
                &access,
                parse_id(&id, "directory role")?,
                &ids,
                false,
                &change(ctx)?,
            )
            .await?,
        ))
    }
}
