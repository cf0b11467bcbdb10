//! An opaque refresh token, stored only as its SHA-256 hash.

use sea_orm::entity::prelude::*;

/// An opaque refresh token, stored only as its SHA-256 hash.
#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "refresh_token")]
pub struct Model {
    /// Surrogate key.
    #[sea_orm(primary_key)]
    pub id: i64,
    /// Member it belongs to.
    pub member_id: i64,
    /// Organization it is scoped to.
    pub organization_id: i64,
    /// SHA-256 of the token, base64url.
    #[sea_orm(unique)]
    pub token_hash: String,
    /// All rotations of one login share a family; reuse of a rotated token revokes the family.
    pub family: String,
    /// When it was issued.
    pub created_at: DateTimeUtc,
    /// When it expires.
    pub expires_at: DateTimeUtc,
    /// When it was used, revoked or rotated; `None` while valid.
    pub revoked_at: Option<DateTimeUtc>,
}

impl ActiveModelBehavior for ActiveModel {}
