//! One value of a member tag (`tag_<name>`); the value `$ALL_MEMBERS$` grants every row.

use sea_orm::entity::prelude::*;

/// One value of a member tag (`tag_<name>`); the value `$ALL_MEMBERS$` grants every row.
#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "member_tag")]
pub struct Model {
    /// Surrogate key.
    #[sea_orm(primary_key)]
    pub id: i64,
    /// Owning organization.
    pub organization_id: i64,
    /// Tagged member.
    pub member_id: i64,
    /// Tag name without the `tag_` prefix.
    pub name: String,
    /// One value.
    pub value: String,
}

impl ActiveModelBehavior for ActiveModel {}
