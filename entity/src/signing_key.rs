//! An Ed25519 key that signs access tokens; the private half is encrypted.

use sea_orm::entity::prelude::*;

/// An Ed25519 key that signs access tokens; the private half is encrypted.
#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "signing_key")]
pub struct Model {
    /// Surrogate key.
    #[sea_orm(primary_key)]
    pub id: i64,
    /// Key id published in the JWKS and token headers.
    #[sea_orm(unique)]
    pub kid: String,
    /// JWS algorithm, `EdDSA`.
    pub algorithm: String,
    /// Private key seed, AES-GCM encrypted under the master key.
    pub private_key_enc: String,
    /// Public key, base64url (the JWK `x`).
    pub public_key: String,
    /// When it was created.
    pub created_at: DateTimeUtc,
    /// When it stopped signing (it stays published until tokens it signed expire).
    pub retired_at: Option<DateTimeUtc>,
}

impl ActiveModelBehavior for ActiveModel {}
