//! A group of positions in the organization chart, such as Management.

use sea_orm::entity::prelude::*;

/// A group of positions in the organization chart, such as Management.
#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "role_group")]
pub struct Model {
    /// Surrogate key.
    #[sea_orm(primary_key)]
    pub id: i64,
    /// Owning organization.
    pub organization_id: i64,
    /// Name.
    pub name: String,
    /// Provider group id, for synced groups.
    pub external_id: Option<String>,
    /// The connection it was synced from, if any.
    pub source_connection_id: Option<i64>,
    /// When it was created.
    pub created_at: DateTimeUtc,
}

impl ActiveModelBehavior for ActiveModel {}
