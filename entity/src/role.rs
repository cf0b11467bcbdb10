//! An access role of organization or workspace scope; built-in roles have no organization.

use sea_orm::entity::prelude::*;

use crate::enums::*;
/// An access role of organization or workspace scope; built-in roles have no organization.
#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "role")]
pub struct Model {
    /// Surrogate key.
    #[sea_orm(primary_key)]
    pub id: i64,
    /// Owning organization; `None` for the built-in roles shared by all.
    pub organization_id: Option<i64>,
    /// Organization or workspace.
    pub scope: RoleScope,
    /// Stable key of a built-in role (`org_admin`…); `None` for custom roles.
    pub builtin_key: Option<String>,
    /// Display name.
    pub name: String,
    /// What the role is for.
    pub description: String,
    /// When it was created.
    pub created_at: DateTimeUtc,
}

impl ActiveModelBehavior for ActiveModel {}
