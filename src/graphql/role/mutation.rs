//! Role mutations.

use super::types::Role;
use crate::{
    authz::Permission,
    graphql::{
        change,
        enums::RoleScope,
        guard::{PermissionGuard, access},
        parse_id, state,
    },
    org::roles,
};
use async_graphql::{Context, ID, Object, Result};

/// Role mutations.
#[derive(Default)]
pub struct RoleMutation;

#[Object]
impl RoleMutation {
    /// Creates a custom role of organization or workspace scope.
    ///
    /// **Permissions**: `org.permissions.manage`.
    #[graphql(guard = "PermissionGuard::org(Permission::ManagePermissions)")]
    async fn create_role(
        &self,
        ctx: &Context<'_>,
        scope: RoleScope,
        name: String,
        description: Option<String>,
        permissions: Vec<Permission>,
    ) -> Result<Role> {
        let access = access(ctx, Permission::ManagePermissions)?;
        let app = state(ctx)?;
        Ok(Role::from(
            roles::create(
                &app.db,
                &access,
                scope.into(),
                &name,
                description.as_deref(),
                &permissions,
                &change(ctx)?,
            )
            .await?,
        ))
    }

    /// Renames a custom role or replaces its permissions.
    ///
    /// **Permissions**: `org.permissions.manage`.
    #[graphql(guard = "PermissionGuard::org(Permission::ManagePermissions)")]
    async fn update_role(
        &self,
        ctx: &Context<'_>,
        id: ID,
        name: Option<String>,
        description: Option<String>,
        permissions: Option<Vec<Permission>>,
    ) -> Result<Role> {
        let access = access(ctx, Permission::ManagePermissions)?;
        let app = state(ctx)?;
        let id = parse_id(&id, "role")?;
        Ok(Role::from(
            roles::update(
                &app.db,
                &access,
                id,
                name.as_deref(),
                description.as_deref(),
                permissions.as_deref(),
                &change(ctx)?,
            )
            .await?,
        ))
    }

    /// Deletes a custom role; while it is held, name a replacement role of the same scope.
    ///
    /// **Permissions**: `org.permissions.manage`.
    #[graphql(guard = "PermissionGuard::org(Permission::ManagePermissions)")]
    async fn delete_role(
        &self,
        ctx: &Context<'_>,
        id: ID,
        replacement_role_id: Option<ID>,
    ) -> Result<bool> {
        let access = access(ctx, Permission::ManagePermissions)?;
        let app = state(ctx)?;
        let replacement = replacement_role_id
            .map(|r| parse_id(&r, "role"))
            .transpose()?;
        roles::delete(
            &app.db,
            &access,
            parse_id(&id, "role")?,
            replacement,
            &change(ctx)?,
        )
        .await?;
        Ok(true)
    }
}
