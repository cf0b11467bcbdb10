//! The `Agent` object, queries and mutations.

use crate::{
    authz::Permission,
    graphql::{
        change,
        guard::{PermissionGuard, access, principal},
        loaders, parse_id, parse_ids, state,
    },
    org::agents,
};
use async_graphql::{Context, ID, Object, Result};
use entity::agent;

/// A seat-limited add-on.
pub struct Agent(pub agent::Model);

#[Object]
impl Agent {
    /// Agent id.
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }

    /// Name.
    async fn name(&self) -> &str {
        &self.0.name
    }

    /// Seats licensed.
    async fn seat_quota(&self) -> i32 {
        self.0.seat_quota
    }

    /// Seats assigned.
    async fn seats_used(&self, ctx: &Context<'_>) -> Result<u64> {
        Ok(loaders::loaders(ctx)?
            .load_or_default(loaders::SeatsUsedOf(self.0.id))
            .await?)
    }
}

/// Agent queries.
#[derive(Default)]
pub struct AgentQuery;

#[Object]
impl AgentQuery {
    /// The organization's agents.
    ///
    /// **Permissions**: any authenticated member.
    #[graphql(guard = "PermissionGuard::authenticated()")]
    async fn agents(&self, ctx: &Context<'_>) -> Result<Vec<Agent>> {
        let org = principal(ctx)?.organization_id;
        Ok(agents::list(&state(ctx)?.db, org)
            .await?
            .into_iter()
            .map(Agent)
            .collect())
    }
}

/// Agent mutations.
#[derive(Default)]
pub struct AgentMutation;

#[Object]
impl AgentMutation {
    /// Creates an agent with a seat quota.
    ///
    /// **Permissions**: `org.agents.manage`.
    #[graphql(guard = "PermissionGuard::org(Permission::ManageAgents)")]
    async fn create_agent(
        &self,
        ctx: &Context<'_>,
        name: String,
        seat_quota: i32,
    ) -> Result<Agent> {
        let access = access(ctx, Permission::ManageAgents)?;
        Ok(Agent(
            agents::create(&state(ctx)?.db, &access, &name, seat_quota, &change(ctx)?).await?,
        ))
    }

    /// Changes an agent's seat quota (never below the seats assigned).
    ///
    /// **Permissions**: `org.agents.manage`.
    #[graphql(guard = "PermissionGuard::org(Permission::ManageAgents)")]
    async fn set_agent_quota(&self, ctx: &Context<'_>, id: ID, seat_quota: i32) -> Result<Agent> {
        let access = access(ctx, Permission::ManageAgents)?;
        Ok(Agent(
            agents::set_quota(
                &state(ctx)?.db,
                &access,
                parse_id(&id, "agent")?,
                seat_quota,
                &change(ctx)?,
            )
            .await?,
        ))
    }

    /// Assigns seats to members (not viewers); refused when the quota would be exceeded.
    ///
    /// **Permissions**: `org.agents.manage`.
    #[graphql(guard = "PermissionGuard::org(Permission::ManageAgents)")]
    async fn assign_agent_seats(
        &self,
        ctx: &Context<'_>,
        id: ID,
        member_ids: Vec<ID>,
    ) -> Result<Agent> {
        let access = access(ctx, Permission::ManageAgents)?;
        let ids = parse_ids(&member_ids, "member")?;
        Ok(Agent(
            agents::assign(
                &state(ctx)?.db,
                &access,
                parse_id(&id, "agent")?,
                &ids,
                &change(ctx)?,
            )
            .await?,
        ))
    }

    /// Frees seats.
    ///
    /// **Permissions**: `org.agents.manage`.
    #[graphql(guard = "PermissionGuard::org(Permission::ManageAgents)")]
    async fn unassign_agent_seats(
        &self,
        ctx: &Context<'_>,
        id: ID,
        member_ids: Vec<ID>,
    ) -> Result<Agent> {
        let access = access(ctx, Permission::ManageAgents)?;
        let ids = parse_ids(&member_ids, "member")?;
        Ok(Agent(
            agents::unassign(
                &state(ctx)?.db,
                &access,
                parse_id(&id, "agent")?,
                &ids,
                &change(ctx)?,
            )
            .await?,
        ))
    }
}
