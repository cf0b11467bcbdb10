//! An organization: the tenant every member, department, role and workspace belongs to.

use sea_orm::entity::prelude::*;

use crate::enums::*;
/// An organization: the tenant every member, department, role and workspace belongs to.
#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "organization")]
pub struct Model {
    /// Surrogate key.
    #[sea_orm(primary_key)]
    pub id: i64,
    /// Display name.
    pub name: String,
    /// Where its people come from.
    pub kind: OrgKind,
    /// The member who leads the organization, if set.
    pub leader_member_id: Option<i64>,
    /// Whether people may register themselves (they join as viewers).
    pub allow_self_registration: bool,
    /// Licensed number of members; `None` means unlimited.
    pub seat_limit: Option<i32>,
    /// JSON array of SPA redirect URIs allowed after provider login.
    pub redirect_allow_list: Json,
    /// When it was created.
    pub created_at: DateTimeUtc,
    /// When it last changed.
    pub updated_at: DateTimeUtc,
}

impl ActiveModelBehavior for ActiveModel {}
