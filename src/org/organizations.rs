//! Organization reads scoped to the caller.

use crate::error::{Error, Result};
use entity::{member, organization};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

/// The organization with this id.
pub async fn get<C: ConnectionTrait>(db: &C, organization_id: i64) -> Result<organization::Model> {
    organization::Entity::find_by_id(organization_id)
        .one(db)
        .await?
        .ok_or(Error::NotFound("organization"))
}

/// The organizations a user is an active or disabled member of, by name.
pub async fn of_user<C: ConnectionTrait>(db: &C, user_id: i64) -> Result<Vec<organization::Model>> {
    let ids: Vec<i64> = member::Entity::find()
        .select_only()
        .column(member::Column::OrganizationId)
        .filter(member::Column::UserId.eq(user_id))
        .filter(member::Column::Status.ne(entity::enums::MemberStatus::Resigned))
        .into_tuple()
        .all(db)
        .await?;
    Ok(organization::Entity::find()
        .filter(organization::Column::Id.is_in(ids))
        .order_by_asc(organization::Column::Name)
        .order_by_asc(organization::Column::Id)
        .all(db)
        .await?)
}
