//! A member holding a seat of an agent.

use sea_orm::entity::prelude::*;

/// A member holding a seat of an agent.
#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "agent_seat")]
pub struct Model {
    /// Agent.
    #[sea_orm(primary_key, auto_increment = false)]
    pub agent_id: i64,
    /// Member.
    #[sea_orm(primary_key, auto_increment = false)]
    pub member_id: i64,
    /// Owning organization (denormalized for scoping).
    pub organization_id: i64,
    /// When the seat was assigned.
    pub assigned_at: DateTimeUtc,
}

impl ActiveModelBehavior for ActiveModel {}
