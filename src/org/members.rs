//! Member reads and the rules that apply to every member lookup: scoped to one organization, a
//! member of another organization is NOT_FOUND.

use crate::error::{Error, Result};
use entity::{member, role};
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
