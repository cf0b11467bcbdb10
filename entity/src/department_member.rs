//! Membership of a member in a department.

use sea_orm::entity::prelude::*;

/// Membership of a member in a department.
#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "department_member")]
pub struct Model {
    /// Department.
    #[sea_orm(primary_key, auto_increment = false)]
    pub department_id: i64,
    /// Member.
    #[sea_orm(primary_key, auto_increment = false)]
    pub member_id: i64,
    /// Owning organization (denormalized for scoping).
    pub organization_id: i64,
}

impl ActiveModelBehavior for ActiveModel {}
