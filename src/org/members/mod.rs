//! Members: the list with filters, sorting and keyset pages; creation, editing, disabling,
//! removal and resignation with the rules of DESIGN §4. Every query is scoped to one organization;
//! a member of another organization is NOT_FOUND.
//!
//! `filter` (what a list asks for), `page` and `count` (reading it), `hints` (what pages
//! learned that picks a later page's plan), `edit` (adding and editing), `lifecycle`
//! (disabling, password resets, removal, resignation).

mod count;
mod edit;
mod filter;
mod hints;
mod lifecycle;
mod page;

pub use count::*;
pub use edit::*;
pub use filter::*;
pub use hints::*;
pub use lifecycle::*;
pub use page::*;

use crate::error::{Error, Result};
use entity::{member, role, user};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, sea_query::ExprTrait};

/// The member with this id in this organization.
pub async fn get<C: ConnectionTrait>(
    db: &C,
    organization_id: i64,
    member_id: i64,
) -> Result<member::Model> {
    member::Entity::find_by_id(member_id)
        .filter(member::Column::OrganizationId.eq(organization_id))
        .one(db)
        .await?
        .ok_or(Error::NotFound("member"))
}

/// The join from a member to its person (`user`), whose password and one-time flag it shares.
pub fn person_of_member() -> sea_orm::RelationDef {
    member::Entity::belongs_to(user::Entity)
        .from(member::Column::UserId)
        .to(user::Column::Id)
        .into()
}

/// The organization role a member holds (built-in roles have no organization).
pub async fn role_of<C: ConnectionTrait>(db: &C, member: &member::Model) -> Result<role::Model> {
    role::Entity::find_by_id(member.role_id)
        .filter(
            role::Column::OrganizationId
                .eq(member.organization_id)
                .or(role::Column::OrganizationId.is_null()),
        )
        .one(db)
        .await?
        .ok_or(Error::NotFound("role"))
}
