//! Named leases in the database that make work run once across instances: a sync of one
//! connection, a scheduled job. A lease lapses unless its holder renews it, so a process that
//! dies does not block the work for longer than the lease time.

use crate::error::Result;
use chrono::{Duration, Utc};
use entity::lease;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, sea_query::OnConflict,
};

/// How long a lease lives unless renewed.
pub const TTL_SECONDS: i64 = 90;

/// Takes the lease `name` for `holder` if it is free or lapsed; true when taken.
pub async fn acquire<C: ConnectionTrait>(db: &C, name: &str, holder: &str) -> Result<bool> {
    acquire_for(db, name, holder, TTL_SECONDS).await
}

/// [`acquire`] with a lifetime of `ttl_seconds` instead of [`TTL_SECONDS`].
pub async fn acquire_for<C: ConnectionTrait>(
    db: &C,
    name: &str,
    holder: &str,
    ttl_seconds: i64,
) -> Result<bool> {
    let now = Utc::now();
    let expires = now + Duration::seconds(ttl_seconds);
    // Insert, or take over a lapsed lease; a live lease stays with its holder (this instance
    // included: a lease is not re-entrant).
    let inserted = lease::Entity::insert(lease::ActiveModel {
        name: Set(name.to_string()),
        holder: Set(holder.to_string()),
        expires_at: Set(expires),
    })
    .on_conflict(
        OnConflict::column(lease::Column::Name)
            .do_nothing()
            .to_owned(),
    )
    .exec_without_returning(db)
    .await?;
    if inserted == 1 {
        return Ok(true);
    }
    let taken = lease::Entity::update_many()
        .col_expr(lease::Column::Holder, holder.into())
        .col_expr(lease::Column::ExpiresAt, expires.into())
        .filter(lease::Column::Name.eq(name))
        .filter(lease::Column::ExpiresAt.lt(now))
        .exec(db)
        .await?;
    Ok(taken.rows_affected == 1)
}

/// Extends a lease its holder still holds; false when it was lost.
pub async fn renew<C: ConnectionTrait>(db: &C, name: &str, holder: &str) -> Result<bool> {
    renew_for(db, name, holder, TTL_SECONDS).await
}

/// [`renew`] for another `ttl_seconds`.
pub async fn renew_for<C: ConnectionTrait>(
    db: &C,
    name: &str,
    holder: &str,
    ttl_seconds: i64,
) -> Result<bool> {
    let done = lease::Entity::update_many()
        .col_expr(
            lease::Column::ExpiresAt,
            (Utc::now() + Duration::seconds(ttl_seconds)).into(),
        )
        .filter(lease::Column::Name.eq(name))
        .filter(lease::Column::Holder.eq(holder))
        .exec(db)
        .await?;
    Ok(done.rows_affected == 1)
}

/// Gives a lease up.
pub async fn release<C: ConnectionTrait>(db: &C, name: &str, holder: &str) -> Result<()> {
    lease::Entity::delete_many()
        .filter(lease::Column::Name.eq(name))
        .filter(lease::Column::Holder.eq(holder))
        .exec(db)
        .await?;
    Ok(())
}

/// Whether anyone holds a live lease `name`.
pub async fn held<C: ConnectionTrait>(db: &C, name: &str) -> Result<bool> {
    Ok(lease::Entity::find_by_id(name.to_string())
        .filter(lease::Column::ExpiresAt.gt(Utc::now()))
        .one(db)
        .await?
        .is_some())
}
