//! Authentication: password hashing, signing keys and JWTs, refresh tokens, login throttling, the
//! request [`Principal`], and the login service that ties them together.

pub mod jwt;
pub mod keys;
pub mod login;
pub mod password;
pub mod principal;
pub mod refresh;
pub mod sso;
pub mod throttle;

pub use principal::{AuthState, Principal};

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use rand::RngCore;
use sha2::{Digest, Sha256};

/// A random URL-safe token of `bytes` random bytes.
pub fn random_token(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::rngs::OsRng.fill_bytes(&mut buf);
    URL_SAFE_NO_PAD.encode(buf)
}

/// SHA-256 of a token, base64url; what the database stores instead of the token.
pub fn token_hash(token: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(token.as_bytes()))
}

/// A short reference to a one-time secret (login state, ticket) for log lines: the start of its
/// hash, so that an operator can follow one login from step to step without the log holding
/// anything that could be replayed.
pub fn log_ref(secret: &str) -> String {
    token_hash(secret).chars().take(10).collect()
}

/// Deletes what can no longer be used: login states and tickets past their expiry, refresh tokens
/// expired for a day. Safe to run on every instance at once.
pub async fn purge_expired(db: &sea_orm::DatabaseConnection) -> crate::error::Result<u64> {
    use entity::{login_state, login_ticket, refresh_token};
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    let now = chrono::Utc::now();
    let mut removed = 0;
    removed += login_state::Entity::delete_many()
        .filter(login_state::Column::ExpiresAt.lt(now))
        .exec(db)
        .await?
        .rows_affected;
    removed += login_ticket::Entity::delete_many()
        .filter(login_ticket::Column::ExpiresAt.lt(now))
        .exec(db)
        .await?
        .rows_affected;
    removed += refresh_token::Entity::delete_many()
        .filter(refresh_token::Column::ExpiresAt.lt(now - chrono::Duration::days(1)))
        .exec(db)
        .await?
        .rows_affected;
    Ok(removed)
}
