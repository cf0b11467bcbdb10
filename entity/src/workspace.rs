//! A workspace: a group workspace with an owner, or a member'\''s personal one.

use sea_orm::entity::prelude::*;

use crate::enums::*;
/// A workspace: a group workspace with an owner, or a member'\''s personal one.
#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "workspace")]
pub struct Model {
    /// Surrogate key.
    #[sea_orm(primary_key)]
    pub id: i64,
    /// Owning organization.
    pub organization_id: i64,
    /// Name.
    pub name: String,
    /// Group or personal.
    pub kind: WorkspaceKind,
    /// Owning member.
    pub owner_member_id: i64,
    /// When it was created.
    pub created_at: DateTimeUtc,
}

impl ActiveModelBehavior for ActiveModel {}
