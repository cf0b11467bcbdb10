//! A member of a workspace with a workspace role.

use sea_orm::entity::prelude::*;

/// A member of a workspace with a workspace role.
#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "workspace_member")]
pub struct Model {
    /// Workspace.
    #[sea_orm(primary_key, auto_increment = false)]
    pub workspace_id: i64,
    /// Member.
    #[sea_orm(primary_key, auto_increment = false)]
    pub member_id: i64,
    /// Owning organization (denormalized for scoping).
    pub organization_id: i64,
    /// Workspace role.
    pub role_id: i64,
    /// When the member was added.
    pub created_at: DateTimeUtc,
}

impl ActiveModelBehavior for ActiveModel {}
