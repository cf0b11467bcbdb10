//! Refresh tokens: opaque random strings, stored as SHA-256 hashes, valid once. Using one revokes it
//! and issues the next of the same family; presenting an already-used token revokes the whole family
//! (it was stolen or replayed).

use crate::error::{Error, Result};
use chrono::{Duration, Utc};
use entity::refresh_token;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, sea_query::Expr,
};

/// A freshly issued refresh token.
#[derive(Debug, Clone)]
pub struct Issued {
    /// The token to hand to the client (never stored).
    pub token: String,
    /// Its family.
    pub family: String,
}

/// Issues a refresh token for a member, in a new family unless one is given.
pub async fn issue<C: ConnectionTrait>(
    db: &C,
    member_id: i64,
    organization_id: i64,
    family: Option<String>,
    ttl_secs: u64,
) -> Result<Issued> {
    let token = format!("rt_{}", super::random_token(32));
    let family = family.unwrap_or_else(|| super::random_token(16));
    let now = Utc::now();
    refresh_token::Entity::insert(refresh_token::ActiveModel {
        member_id: Set(member_id),
        organization_id: Set(organization_id),
        token_hash: Set(super::token_hash(&token)),
        family: Set(family.clone()),
        created_at: Set(now),
        expires_at: Set(now + Duration::seconds(i64::try_from(ttl_secs).unwrap_or(i64::MAX / 1000))),
        revoked_at: Set(None),
        ..Default::default()
    })
    .exec_without_returning(db)
    .await?;
    Ok(Issued { token, family })
}

fn refused() -> Error {
    Error::Unauthenticated("the refresh token is not valid or has expired; log in again".into())
}

/// Consumes a refresh token: returns its row if it was valid, and marks it used.
pub async fn consume<C: ConnectionTrait>(db: &C, token: &str) -> Result<refresh_token::Model> {
    let hash = super::token_hash(token);
    let Some(row) = refresh_token::Entity::find()
        .filter(refresh_token::Column::TokenHash.eq(&hash))
        .one(db)
        .await?
    else {
        return Err(refused());
    };
    let now = Utc::now();
    if row.revoked_at.is_some() {
        revoke_family(db, &row.family).await?;
        tracing::warn!(
            member_id = row.member_id,
            "a used refresh token was presented again; its family is revoked"
        );
        return Err(refused());
    }
    if row.expires_at <= now {
        return Err(refused());
    }
    // Only one of two concurrent uses can flip `revoked_at` from null.
    let updated = refresh_token::Entity::update_many()
        .col_expr(refresh_token::Column::RevokedAt, Expr::value(now))
        .filter(refresh_token::Column::Id.eq(row.id))
        .filter(refresh_token::Column::RevokedAt.is_null())
        .exec(db)
        .await?;
    if updated.rows_affected != 1 {
        revoke_family(db, &row.family).await?;
        return Err(refused());
    }
    Ok(row)
}

/// Revokes every token of a family.
pub async fn revoke_family<C: ConnectionTrait>(db: &C, family: &str) -> Result<()> {
    refresh_token::Entity::update_many()
        .col_expr(refresh_token::Column::RevokedAt, Expr::value(Utc::now()))
        .filter(refresh_token::Column::Family.eq(family))
        .filter(refresh_token::Column::RevokedAt.is_null())
        .exec(db)
        .await?;
    Ok(())
}

/// Revokes every refresh token of a member (disable, resignation, removal, logout everywhere).
pub async fn revoke_member<C: ConnectionTrait>(db: &C, member_id: i64) -> Result<u64> {
    let result = refresh_token::Entity::update_many()
        .col_expr(refresh_token::Column::RevokedAt, Expr::value(Utc::now()))
        .filter(refresh_token::Column::MemberId.eq(member_id))
        .filter(refresh_token::Column::RevokedAt.is_null())
        .exec(db)
        .await?;
    Ok(result.rows_affected)
}

/// Revokes every refresh token of many members at once (a spreadsheet that disables them): one
/// statement for up to 5,000 members instead of one each.
pub async fn revoke_members<C: ConnectionTrait>(db: &C, member_ids: &[i64]) -> Result<u64> {
    let mut revoked = 0;
    for chunk in member_ids.chunks(5_000) {
        revoked += refresh_token::Entity::update_many()
            .col_expr(refresh_token::Column::RevokedAt, Expr::value(Utc::now()))
            .filter(refresh_token::Column::MemberId.is_in(chunk.iter().copied()))
            .filter(refresh_token::Column::RevokedAt.is_null())
            .exec(db)
            .await?
            .rows_affected;
    }
    Ok(revoked)
}

/// Finds the family of a token the member holds, for logout.
pub async fn family_of<C: ConnectionTrait>(
    db: &C,
    token: &str,
    member_id: Option<i64>,
) -> Result<Option<String>> {
    let mut query = refresh_token::Entity::find()
        .filter(refresh_token::Column::TokenHash.eq(super::token_hash(token)));
    if let Some(member_id) = member_id {
        query = query.filter(refresh_token::Column::MemberId.eq(member_id));
    }
    Ok(query.one(db).await?.map(|row| row.family))
}
