//! Role queries.

use super::types::{PermissionInfo, Role};
use crate::{
    authz::Permission,
    graphql::{
        enums::RoleScope,
        guard::{PermissionGuard, principal},
        parse_id, state,
    },
    org::roles,
};
use async_graphql::{Context, ID, Object, Result};

/// Role queries.
#[derive(Default)]
pub struct RoleQuery;

#[Object]
impl RoleQuery {
    /// The built-in and custom roles of the organization, optionally of one scope.
    ///
    /// **Permissions**: any authenticated member.
    #[graphql(guard = "PermissionGuard::authenticated()")]
    async fn roles(&self, ctx: &Context<'_>, scope: Option<RoleScope>) -> Result<Vec<Role>> {
        let org = principal(ctx)?.organization_id;
        Ok(roles::list(&state(ctx)?.db, org, scope.map(Into::into))
            .await?
            .into_iter()
            .map(Role::from)
            .collect())
    }

    /// One role.
    ///
    /// **Permissions**: any authenticated member.
    #[graphql(guard = "PermissionGuard::authenticated()")]
    async fn role(&self, ctx: &Context<'_>, id: ID) -> Result<Role> {
        let org = principal(ctx)?.organization_id;
        Ok(Role::from(
            roles::get(&state(ctx)?.db, org, parse_id(&id, "role")?).await?,
        ))
    }

    /// Every permission roles can grant.
    ///
    /// **Permissions**: public.
    async fn permission_catalog(&self) -> Vec<PermissionInfo> {
        Permission::ALL
            .iter()
            .map(|&p| PermissionInfo {
                permission: p,
                key: p.key(),
                scope: p.scope(),
                description: p.description(),
            })
            .collect()
    }
}
