//! Single-use state of a provider login in progress (state, PKCE verifier, nonce).

use sea_orm::entity::prelude::*;

/// Single-use state of a provider login in progress (state, PKCE verifier, nonce).
#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "login_state")]
pub struct Model {
    /// The `state` value sent to the provider.
    #[sea_orm(primary_key, auto_increment = false)]
    pub state: String,
    /// Connection the login goes through.
    pub connection_id: i64,
    /// SPA address to return to.
    pub redirect_uri: String,
    /// PKCE verifier, encrypted (Microsoft).
    pub pkce_verifier_enc: Option<String>,
    /// OIDC nonce (Microsoft).
    pub nonce: Option<String>,
    /// When it was created.
    pub created_at: DateTimeUtc,
    /// When it stops being accepted.
    pub expires_at: DateTimeUtc,
    /// When it was used; a second use is refused.
    pub consumed_at: Option<DateTimeUtc>,
}

impl ActiveModelBehavior for ActiveModel {}
