//! Department mutations.

use super::types::Department;
use crate::{
    authz::Permission,
    graphql::{
        change,
        guard::{PermissionGuard, access},
        parse_id, parse_ids, state,
    },
    org::departments,
};
use async_graphql::{Context, ID, MaybeUndefined, Object, Result};

/// Department mutations.
#[derive(Default)]
pub struct DepartmentMutation;

#[Object]
impl DepartmentMutation {
    /// Creates a department under `parentId` (or at the top).
    ///
    /// **Permissions**: `org.members.manage`.
    #[graphql(guard = "PermissionGuard::org(Permission::ManageMembers)")]
    async fn create_department(
        &self,
        ctx: &Context<'_>,
        name: String,
        parent_id: Option<ID>,
        sort_order: Option<i32>,
    ) -> Result<Department> {
        let access = access(ctx, Permission::ManageMembers)?;
        let parent = parent_id
            .map(|id| parse_id(&id, "department"))
            .transpose()?;
        Ok(Department::new(
            departments::create(
                &state(ctx)?.db,
                &access,
                &name,
                parent,
                sort_order,
                &change(ctx)?,
            )
            .await?,
        ))
    }

    /// Renames a department, changes its order, or sets (null clears) its leader.
    ///
    /// **Permissions**: `org.members.manage`.
    #[graphql(guard = "PermissionGuard::org(Permission::ManageMembers)")]
    async fn update_department(
        &self,
        ctx: &Context<'_>,
        id: ID,
        name: Option<String>,
        sort_order: Option<i32>,
        leader_id: MaybeUndefined<ID>,
    ) -> Result<Department> {
        let access = access(ctx, Permission::ManageMembers)?;
        let leader = match leader_id {
            MaybeUndefined::Undefined => None,
            MaybeUndefined::Null => Some(None),
            MaybeUndefined::Value(id) => Some(Some(parse_id(&id, "member")?)),
        };
        let id = parse_id(&id, "department")?;
        Ok(Department::new(
            departments::update(
                &state(ctx)?.db,
                &access,
                id,
                name.as_deref(),
                sort_order,
                leader,
                &change(ctx)?,
            )
            .await?,
        ))
    }

    /// Moves a department (and its sub-tree) under another parent, or to the top when `parentId`
    /// is null. Moving it under itself is refused.
    ///
    /// **Permissions**: `org.members.manage`.
    #[graphql(guard = "PermissionGuard::org(Permission::ManageMembers)")]
    async fn move_department(
        &self,
        ctx: &Context<'_>,
        id: ID,
        parent_id: Option<ID>,
    ) -> Result<Department> {
        let access = access(ctx, Permission::ManageMembers)?;
        let parent = parent_id.map(|p| parse_id(&p, "department")).transpose()?;
        Ok(Department::new(
            departments::move_to(
                &state(ctx)?.db,
                &access,
                parse_id(&id, "department")?,
                parent,
                &change(ctx)?,
            )
            .await?,
        ))
    }

    /// Merges a department into another: members and sub-departments move, the source disappears.
    ///
    /// **Permissions**: `org.members.manage`.
    #[graphql(guard = "PermissionGuard::org(Permission::ManageMembers)")]
    async fn merge_departments(
        &self,
        ctx: &Context<'_>,
        source_id: ID,
        target_id: ID,
    ) -> Result<Department> {
        let access = access(ctx, Permission::ManageMembers)?;
        let (source, target) = (
            parse_id(&source_id, "department")?,
            parse_id(&target_id, "department")?,
        );
        Ok(Department::new(
            departments::merge(&state(ctx)?.db, &access, source, target, &change(ctx)?).await?,
        ))
    }

    /// Deletes a department; while it has members or sub-departments, `transferTo` says where they go.
    ///
    /// **Permissions**: `org.members.manage`.
    #[graphql(guard = "PermissionGuard::org(Permission::ManageMembers)")]
    async fn delete_department(
        &self,
        ctx: &Context<'_>,
        id: ID,
        transfer_to: Option<ID>,
    ) -> Result<bool> {
        let access = access(ctx, Permission::ManageMembers)?;
        let to = transfer_to
            .map(|t| parse_id(&t, "department"))
            .transpose()?;
        departments::delete(
            &state(ctx)?.db,
            &access,
            parse_id(&id, "department")?,
            to,
            &change(ctx)?,
        )
        .await?;
        Ok(true)
    }

    /// Adds members to a department.
    ///
    /// **Permissions**: `org.members.manage`.
    #[graphql(guard = "PermissionGuard::org(Permission::ManageMembers)")]
    async fn add_department_members(
        &self,
        ctx: &Context<'_>,
        id: ID,
        member_ids: Vec<ID>,
    ) -> Result<Department> {
        let access = access(ctx, Permission::ManageMembers)?;
        let ids = parse_ids(&member_ids, "member")?;
        Ok(Department::new(
            departments::add_members(
                &state(ctx)?.db,
                &access,
                parse_id(&id, "department")?,
                &ids,
                &change(ctx)?,
            )
            .await?,
        ))
    }

    /// Removes members from a department.
    ///
    /// **Permissions**: `org.members.manage`.
    #[graphql(guard = "PermissionGuard::org(Permission::ManageMembers)")]
    async fn remove_department_members(
        &self,
        ctx: &Context<'_>,
        id: ID,
        member_ids: Vec<ID>,
    ) -> Result<Department> {
        let access = access(ctx, Permission::ManageMembers)?;
        let ids = parse_ids(&member_ids, "member")?;
        Ok(Department::new(
            departments::remove_members(
                &state(ctx)?.db,
                &access,
                parse_id(&id, "department")?,
                &ids,
                &change(ctx)?,
            )
            .await?,
        ))
    }
}
