//! A position in the organization chart (such as R&D Manager), inside a role group.

use sea_orm::entity::prelude::*;

/// A position in the organization chart (such as R&D Manager), inside a role group.
#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "directory_role")]
pub struct Model {
    /// Surrogate key.
    #[sea_orm(primary_key)]
    pub id: i64,
    /// Owning organization.
    pub organization_id: i64,
    /// Its group.
    pub role_group_id: i64,
    /// Name.
    pub name: String,
    /// Provider role id, for synced roles.
    pub external_id: Option<String>,
    /// The connection it was synced from, if any.
    pub source_connection_id: Option<i64>,
    /// When it was created.
    pub created_at: DateTimeUtc,
}

impl ActiveModelBehavior for ActiveModel {}
