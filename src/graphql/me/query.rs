//! The `me` query.

use super::types::{Me, Role};
use crate::{
    graphql::{guard::principal, member::Member, organization::Organization, state},
    org::{members, organizations},
};
use async_graphql::{Context, Object, Result};

/// `me`.
#[derive(Default)]
pub struct MeQuery;

#[Object]
impl MeQuery {
    /// The caller: member, organization, organization role and effective permissions.
    ///
    /// **Permissions**: any authenticated member.
    async fn me(&self, ctx: &Context<'_>) -> Result<Me> {
        let principal = principal(ctx)?;
        let db = &state(ctx)?.db;
        let member = members::get(db, principal.organization_id, principal.member_id).await?;
        let role = members::role_of(db, &member).await?;
        let organization = organizations::get(db, principal.organization_id).await?;
        Ok(Me {
            member: Member(member),
            organization: Organization(organization),
            role: Role(role),
            permissions: principal.permissions.iter().copied().collect(),
        })
    }
}
