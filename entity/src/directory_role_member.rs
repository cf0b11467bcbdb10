//! A member holding a directory role.

use sea_orm::entity::prelude::*;

/// A member holding a directory role.
#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "directory_role_member")]
pub struct Model {
    /// Directory role.
    #[sea_orm(primary_key, auto_increment = false)]
    pub directory_role_id: i64,
    /// Member.
    #[sea_orm(primary_key, auto_increment = false)]
    pub member_id: i64,
    /// Owning organization (denormalized for scoping).
    pub organization_id: i64,
}

impl ActiveModelBehavior for ActiveModel {}
