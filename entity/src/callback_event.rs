//! A provider callback already applied (for de-duplicating redeliveries).

use sea_orm::entity::prelude::*;

/// A provider callback already applied (for de-duplicating redeliveries).
#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "callback_event")]
pub struct Model {
    /// Surrogate key.
    #[sea_orm(primary_key)]
    pub id: i64,
    /// Connection it arrived for.
    pub connection_id: i64,
    /// The provider's event id (DingTalk `eventId`; WeCom sender, time, change type and ids).
    pub event_key: String,
    /// The event type, for operators.
    pub event_type: String,
    /// When it was applied.
    pub received_at: DateTimeUtc,
}

impl ActiveModelBehavior for ActiveModel {}
