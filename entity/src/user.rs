//! A person, who may be a member of several organizations and hold several provider identities.

use sea_orm::entity::prelude::*;

/// A person, who may be a member of several organizations and hold several provider identities.
#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "user")]
pub struct Model {
    /// Surrogate key.
    #[sea_orm(primary_key)]
    pub id: i64,
    /// Real name as last seen.
    pub name: String,
    /// Avatar address, if any.
    pub avatar_url: Option<String>,
    /// Argon2id PHC string for password login; `None` for provider-only people.
    pub password_hash: Option<String>,
    /// When it was created.
    pub created_at: DateTimeUtc,
    /// When it last changed.
    pub updated_at: DateTimeUtc,
}

impl ActiveModelBehavior for ActiveModel {}
