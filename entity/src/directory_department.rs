//! A department as the provider shows it, mirrored per connection.

use sea_orm::entity::prelude::*;

/// A department as the provider shows it, mirrored per connection.
#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "directory_department")]
pub struct Model {
    /// Surrogate key.
    #[sea_orm(primary_key)]
    pub id: i64,
    /// Owning organization.
    pub organization_id: i64,
    /// Connection it was read through.
    pub connection_id: i64,
    /// Provider department id.
    pub external_id: String,
    /// Provider parent department id.
    pub parent_external_id: Option<String>,
    /// Name.
    pub name: String,
    /// Provider ordering.
    pub sort_order: i64,
    /// Provider user ids of its leaders (a JSON array); `None` when it has none.
    pub leaders: Option<Json>,
    /// Hash of the fields above, to detect changes cheaply.
    pub content_hash: String,
    /// Set by sync when the provider renamed it.
    pub name_changed: bool,
    /// Set by sync when it is gone from the provider.
    pub to_be_deleted: bool,
    /// When it was last read.
    pub synced_at: DateTimeUtc,
}

impl ActiveModelBehavior for ActiveModel {}
