//! A member of a department's sub-tree (the department or one below it), kept by triggers from
//! `department_member` and the departments' paths (migration `m20261206_000021_sub_tree_member`).
//! Read only: Roster never writes it.

use sea_orm::entity::prelude::*;

/// A member of a department's sub-tree, with the nickname the member list orders by.
#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "sub_tree_member")]
pub struct Model {
    /// The department at the top of the sub-tree.
    #[sea_orm(primary_key, auto_increment = false)]
    pub department_id: i64,
    /// A member of the department or of one below it.
    #[sea_orm(primary_key, auto_increment = false)]
    pub member_id: i64,
    /// `lower(nickname)` of the member, the member list's nickname order.
    pub lower_nickname: String,
    /// Through how many of the member's departments they belong to the sub-tree.
    pub links: i32,
}

impl ActiveModelBehavior for ActiveModel {}
