//! A local change waiting to be pushed to the provider (or already pushed, or refused).

use sea_orm::entity::prelude::*;

use crate::enums::*;

/// A local change waiting to be pushed to the provider (or already pushed, or refused).
#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "outbox_item")]
pub struct Model {
    /// Surrogate key; items of one connection are delivered in this order.
    #[sea_orm(primary_key)]
    pub id: i64,
    /// The organization whose change it is.
    pub organization_id: i64,
    /// The connection it is pushed through.
    pub connection_id: i64,
    /// What kind of object changed.
    pub object_type: OutboxObject,
    /// The local id of the object (a department, role group, directory role or member).
    pub object_id: i64,
    /// What happened to it.
    pub action: OutboxAction,
    /// What is known at the time of the change (names; the provider id of a deleted object).
    pub payload: Json,
    /// Where delivery stands.
    pub status: OutboxStatus,
    /// Delivery attempts so far.
    pub attempts: i32,
    /// When the next attempt is due.
    pub next_attempt_at: DateTimeUtc,
    /// The provider's error code of the last failed attempt.
    pub last_errcode: Option<String>,
    /// What went wrong in the last failed attempt, and what to do.
    pub last_error: Option<String>,
    /// The provider's id of the object once delivered.
    pub external_id: Option<String>,
    /// Who made the change.
    pub actor_member_id: Option<i64>,
    /// When the change was made.
    pub created_at: DateTimeUtc,
    /// When the provider accepted it.
    pub delivered_at: Option<DateTimeUtc>,
}

impl ActiveModelBehavior for ActiveModel {}
