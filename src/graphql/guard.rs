//! Guards: each guarded field names the permission it needs; the guard only asks `authz`.

use crate::{
    auth::{AuthState, Principal},
    authz::{self, OrgAccess, Permission},
    error::Result,
};
use async_graphql::{Context, Guard};

/// The caller's principal, or UNAUTHENTICATED, or PASSWORD_CHANGE_REQUIRED while they hold a
/// one-time password.
pub fn principal<'a>(ctx: &'a Context<'_>) -> Result<&'a Principal> {
    match ctx.data_opt::<AuthState>() {
        Some(state) => state.principal(),
        None => AuthState::Anonymous.principal(),
    }
}

/// The caller's principal even while they must change a one-time password (only for `me`,
/// `changePassword` and `logout`), or UNAUTHENTICATED.
pub fn principal_before_password_change<'a>(ctx: &'a Context<'_>) -> Result<&'a Principal> {
    match ctx.data_opt::<AuthState>() {
        Some(state) => state.principal_before_password_change(),
        None => AuthState::Anonymous.principal_before_password_change(),
    }
}

/// The caller's access proof for a permission, or UNAUTHENTICATED / FORBIDDEN.
pub fn access(ctx: &Context<'_>, permission: Permission) -> Result<OrgAccess> {
    authz::require(principal(ctx)?, permission)
}

/// Requires an authenticated member holding an organization permission.
pub struct PermissionGuard(Option<Permission>);

impl PermissionGuard {
    /// Requires the organization permission.
    pub fn org(permission: Permission) -> Self {
        Self(Some(permission))
    }

    /// Requires only an authenticated, active member.
    pub fn authenticated() -> Self {
        Self(None)
    }
}

impl Guard for PermissionGuard {
    async fn check(&self, ctx: &Context<'_>) -> async_graphql::Result<()> {
        match self.0 {
            Some(permission) => access(ctx, permission).map(|_| ()),
            None => principal(ctx).map(|_| ()),
        }
        .map_err(Into::into)
    }
}
