//! A contact as the provider shows it, mirrored per connection.

use sea_orm::entity::prelude::*;

/// A contact as the provider shows it, mirrored per connection.
#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "directory_contact")]
pub struct Model {
    /// Surrogate key.
    #[sea_orm(primary_key)]
    pub id: i64,
    /// Owning organization.
    pub organization_id: i64,
    /// Connection it was read through.
    pub connection_id: i64,
    /// Provider user id.
    pub external_id: String,
    /// DingTalk unionId, if any.
    pub union_id: Option<String>,
    /// Name.
    pub name: String,
    /// Email, if visible.
    pub email: Option<String>,
    /// Phone, if visible.
    pub phone: Option<String>,
    /// Job title.
    pub title: Option<String>,
    /// JSON array of provider department ids.
    pub department_external_ids: Json,
    /// Whether the provider reports the person as active.
    pub active: bool,
    /// Hash of the fields above, to detect changes cheaply.
    pub content_hash: String,
    /// Set by sync when the provider renamed the person.
    pub name_changed: bool,
    /// Set by sync when the person is gone from the provider.
    pub to_be_deleted: bool,
    /// When it was last read.
    pub synced_at: DateTimeUtc,
}

impl ActiveModelBehavior for ActiveModel {}
