//! Organization queries.

use super::Organization;
use crate::{
    graphql::{guard::principal, state},
    org::organizations,
};
use async_graphql::{Context, Object, Result};

/// Organization queries.
#[derive(Default)]
pub struct OrganizationQuery;

#[Object]
impl OrganizationQuery {
    /// The organization of the caller's token.
    ///
    /// **Permissions**: any authenticated member.
    async fn organization(&self, ctx: &Context<'_>) -> Result<Organization> {
        let principal = principal(ctx)?;
        Ok(Organization(
            organizations::get(&state(ctx)?.db, principal.organization_id).await?,
        ))
    }

    /// Every organization the caller belongs to (for switching).
    ///
    /// **Permissions**: any authenticated member.
    async fn organizations(&self, ctx: &Context<'_>) -> Result<Vec<Organization>> {
        let principal = principal(ctx)?;
        Ok(organizations::of_user(&state(ctx)?.db, principal.user_id)
            .await?
            .into_iter()
            .map(Organization)
            .collect())
    }
}
