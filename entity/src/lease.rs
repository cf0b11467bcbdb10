//! A named lease that makes work run once across instances on SQLite.

use sea_orm::entity::prelude::*;

/// A named lease that makes work run once across instances on SQLite.
#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "lease")]
pub struct Model {
    /// Lease name, such as `sync:42`.
    #[sea_orm(primary_key, auto_increment = false)]
    pub name: String,
    /// Instance holding it.
    pub holder: String,
    /// When it lapses unless renewed.
    pub expires_at: DateTimeUtc,
}

impl ActiveModelBehavior for ActiveModel {}
