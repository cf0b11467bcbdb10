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
