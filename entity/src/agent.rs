//! A seat-limited add-on that can be assigned to members.

use sea_orm::entity::prelude::*;

/// A seat-limited add-on that can be assigned to members.
#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "agent")]
pub struct Model {
    /// Surrogate key.
    #[sea_orm(primary_key)]
    pub id: i64,
    /// Owning organization.
    pub organization_id: i64,
    /// Name.
    pub name: String,
    /// Number of seats licensed.
    pub seat_quota: i32,
    /// When it was created.
    pub created_at: DateTimeUtc,
}

impl ActiveModelBehavior for ActiveModel {}
