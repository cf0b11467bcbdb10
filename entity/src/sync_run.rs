//! The record of one sync of one connection.

use sea_orm::entity::prelude::*;

use crate::enums::*;
/// The record of one sync of one connection.
#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "sync_run")]
pub struct Model {
    /// Surrogate key.
    #[sea_orm(primary_key)]
    pub id: i64,
    /// Owning organization.
    pub organization_id: i64,
    /// Connection synced.
    pub connection_id: i64,
    /// What started it.
    pub trigger: SyncTrigger,
    /// Member who started it, for manual runs.
    pub actor_member_id: Option<i64>,
    /// Where it stands.
    pub status: SyncStatus,
    /// When it started.
    pub started_at: DateTimeUtc,
    /// When it ended, if it has.
    pub finished_at: Option<DateTimeUtc>,
    /// Entries added.
    pub added: i32,
    /// Entries updated.
    pub updated: i32,
    /// Entries flagged (renamed or gone).
    pub flagged: i32,
    /// Entries removed.
    pub removed: i32,
    /// JSON array of error descriptions.
    pub errors: Json,
}

impl ActiveModelBehavior for ActiveModel {}
