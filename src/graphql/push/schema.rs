//! `outboxItems`, `retryOutboxItem`, `discardOutboxItem` and `setConnectionPush`.

use crate::{
    authz::Permission,
    graphql::{
        change,
        guard::{PermissionGuard, access},
        parse_id,
        provider::schema::Connection,
        state,
    },
    push::outbox,
};
use async_graphql::{Context, Enum, ID, Object, Result};
use chrono::{DateTime, Utc};
use entity::{enums, outbox_item};

/// The kind of object an outbox item pushes.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
pub enum OutboxObject {
    /// A department.
    Department,
    /// A role group.
    RoleGroup,
    /// A directory role.
    Role,
    /// A member.
    Member,
}

/// What happened to the object.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
pub enum OutboxAction {
    /// Created in Roster.
    Create,
    /// Changed in Roster.
    Update,
    /// Deleted, removed or resigned in Roster.
    Delete,
}

/// Where delivery stands.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
pub enum OutboxStatus {
    /// Waiting for its turn or for a retry.
    Pending,
    /// Accepted by DingTalk.
    Delivered,
    /// Refused by DingTalk; retry or discard it.
    Failed,
    /// Given up by an administrator.
    Discarded,
}

impl From<OutboxStatus> for enums::OutboxStatus {
    fn from(s: OutboxStatus) -> Self {
        match s {
            OutboxStatus::Pending => Self::Pending,
            OutboxStatus::Delivered => Self::Delivered,
            OutboxStatus::Failed => Self::Failed,
            OutboxStatus::Discarded => Self::Discarded,
        }
    }
}

/// A local change on its way to DingTalk.
pub struct OutboxItem(pub outbox_item::Model);

#[Object]
impl OutboxItem {
    /// Id; items of a connection are delivered in id order.
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    /// The connection it is pushed through.
    async fn connection_id(&self) -> ID {
        ID(self.0.connection_id.to_string())
    }
    /// The kind of object.
    async fn object_type(&self) -> OutboxObject {
        match self.0.object_type {
            enums::OutboxObject::Department => OutboxObject::Department,
            enums::OutboxObject::RoleGroup => OutboxObject::RoleGroup,
            enums::OutboxObject::Role => OutboxObject::Role,
            enums::OutboxObject::Member => OutboxObject::Member,
        }
    }
    /// The object's id in Roster.
    async fn object_id(&self) -> ID {
        ID(self.0.object_id.to_string())
    }
    /// What happened to it.
    async fn action(&self) -> OutboxAction {
        match self.0.action {
            enums::OutboxAction::Create => OutboxAction::Create,
            enums::OutboxAction::Update => OutboxAction::Update,
            enums::OutboxAction::Delete => OutboxAction::Delete,
        }
    }
    /// The object's name when the change was made.
    async fn name(&self) -> Option<String> {
        self.0
            .payload
            .get("name")
            .and_then(serde_json::Value::as_str)
            .map(str::to_string)
    }
    /// Where delivery stands.
    async fn status(&self) -> OutboxStatus {
        match self.0.status {
            enums::OutboxStatus::Pending => OutboxStatus::Pending,
            enums::OutboxStatus::Delivered => OutboxStatus::Delivered,
            enums::OutboxStatus::Failed => OutboxStatus::Failed,
            enums::OutboxStatus::Discarded => OutboxStatus::Discarded,
        }
    }
    /// Delivery attempts so far.
    async fn attempts(&self) -> i32 {
        self.0.attempts
    }
    /// When the next attempt is due (pending items).
    async fn next_attempt_at(&self) -> DateTime<Utc> {
        self.0.next_attempt_at
    }
    /// DingTalk's error code of the last failed attempt.
    async fn errcode(&self) -> Option<&str> {
        self.0.last_errcode.as_deref()
    }
    /// What went wrong in the last failed attempt, and what to do.
    async fn error(&self) -> Option<&str> {
        self.0.last_error.as_deref()
    }
    /// DingTalk's id of the object, once delivered.
    async fn external_id(&self) -> Option<&str> {
        self.0.external_id.as_deref()
    }
    /// The member who made the change.
    async fn actor_member_id(&self) -> Option<ID> {
        self.0.actor_member_id.map(|id| ID(id.to_string()))
    }
    /// When the change was made.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    /// When DingTalk accepted it.
    async fn delivered_at(&self) -> Option<DateTime<Utc>> {
        self.0.delivered_at
    }
}

/// Outbox queries.
#[derive(Default)]
pub struct PushQuery;

#[Object]
impl PushQuery {
    /// Local changes pushed or waiting to be pushed to DingTalk, newest first (at most `first`,
    /// 50 by default, 500 at most, after skipping `offset`).
    ///
    /// **Permissions**: `org.sync.manage`.
    #[graphql(guard = "PermissionGuard::org(Permission::ManageSync)")]
    async fn outbox_items(
        &self,
        ctx: &Context<'_>,
        connection_id: Option<ID>,
        status: Option<OutboxStatus>,
        first: Option<i32>,
        offset: Option<i32>,
    ) -> Result<Vec<OutboxItem>> {
        let access = access(ctx, Permission::ManageSync)?;
        let conn = connection_id
            .map(|c| parse_id(&c, "connection"))
            .transpose()?;
        let limit = first.unwrap_or(50).clamp(1, 500) as u64;
        let offset = offset.unwrap_or(0).max(0) as u64;
        Ok(outbox::list(
            &state(ctx)?.db,
            &access,
            conn,
            status.map(Into::into),
            limit,
            offset,
        )
        .await?
        .into_iter()
        .map(OutboxItem)
        .collect())
    }
}

/// Outbox mutations.
#[derive(Default)]
pub struct PushMutation;

#[Object]
impl PushMutation {
    /// Puts a failed item back in the queue, due now (after fixing what its error names).
    ///
    /// **Permissions**: `org.sync.manage`.
    #[graphql(guard = "PermissionGuard::org(Permission::ManageSync)")]
    async fn retry_outbox_item(&self, ctx: &Context<'_>, id: ID) -> Result<OutboxItem> {
        let access = access(ctx, Permission::ManageSync)?;
        Ok(OutboxItem(
            outbox::retry(&state(ctx)?.db, &access, parse_id(&id, "outbox item")?).await?,
        ))
    }

    /// Gives up a failed or pending item: it will not be pushed (Roster and DingTalk then differ
    /// until someone changes one of them).
    ///
    /// **Permissions**: `org.sync.manage`.
    #[graphql(guard = "PermissionGuard::org(Permission::ManageSync)")]
    async fn discard_outbox_item(&self, ctx: &Context<'_>, id: ID) -> Result<OutboxItem> {
        let access = access(ctx, Permission::ManageSync)?;
        Ok(OutboxItem(
            outbox::discard(&state(ctx)?.db, &access, parse_id(&id, "outbox item")?).await?,
        ))
    }

    /// Turns pushing local changes to DingTalk on or off for a connection. Turning it on needs
    /// a succeeded full sync first, so that both sides start equal; from then on departments,
    /// role groups, roles and members are editable here and reach DingTalk in order.
    ///
    /// **Permissions**: `org.connections.manage`.
    #[graphql(guard = "PermissionGuard::org(Permission::ManageConnections)")]
    async fn set_connection_push(
        &self,
        ctx: &Context<'_>,
        id: ID,
        enabled: bool,
    ) -> Result<Connection> {
        let access = access(ctx, Permission::ManageConnections)?;
        Ok(Connection(
            outbox::set_push(
                &state(ctx)?.db,
                &access,
                parse_id(&id, "connection")?,
                enabled,
                &change(ctx)?,
            )
            .await?,
        ))
    }
}
