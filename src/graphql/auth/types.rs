//! The `AuthPayload` object.

use crate::{auth::login::Tokens, graphql::member::Member};
use async_graphql::SimpleObject;

/// Tokens for a logged-in member.
#[derive(SimpleObject)]
pub struct AuthPayload {
    /// Send as `Authorization: Bearer <accessToken>`.
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: String,
    /// Seconds until the access token expires.
    pub expires_in: i64,
    /// Opaque token for `refreshToken`; valid once, replaced on every use.
    pub refresh_token: String,
    /// The member logged in.
    pub member: Member,
    /// The password used is a one-time password (generated, or given by an administrator):
    /// every operation but `me`, `changePassword` and `logout` answers
    /// `PASSWORD_CHANGE_REQUIRED` until the member chooses their own with `changePassword`,
    /// which they must do before it expires (`me { member { passwordExpiresAt } }`).
    pub password_change_required: bool,
}

impl From<Tokens> for AuthPayload {
    fn from(tokens: Tokens) -> Self {
        Self {
            access_token: tokens.access_token,
            token_type: "Bearer".into(),
            expires_in: tokens.expires_in,
            refresh_token: tokens.refresh_token,
            member: Member::from(tokens.member),
            password_change_required: tokens.password_change_required,
        }
    }
}
