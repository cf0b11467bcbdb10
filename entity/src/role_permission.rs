//! One permission of the catalog granted by a role.

use sea_orm::entity::prelude::*;

/// One permission of the catalog granted by a role.
#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "role_permission")]
pub struct Model {
    /// Role.
    #[sea_orm(primary_key, auto_increment = false)]
    pub role_id: i64,
    /// Permission key from the catalog, such as `org.members.manage`.
    #[sea_orm(primary_key, auto_increment = false)]
    pub permission: String,
}

impl ActiveModelBehavior for ActiveModel {}
