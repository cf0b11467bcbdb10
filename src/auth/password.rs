//! Password hashing with Argon2id (the crate's defaults: m=19 MiB, t=2, p=1), run on the blocking
//! pool so that a login never stalls other requests.

use crate::error::{Error, Result};
use argon2::{Argon2, PasswordHash, PasswordHasher, PasswordVerifier, password_hash::SaltString};
use rand::Rng;
use std::sync::LazyLock;

/// Shortest password accepted.
pub const MIN_LENGTH: usize = 8;
/// Longest password accepted (bounds hashing work).
pub const MAX_LENGTH: usize = 128;

/// A hash of a random password, verified against when an account does not exist so that unknown
/// accounts and wrong passwords take the same time.
static DUMMY_HASH: LazyLock<String> = LazyLock::new(|| {
    hash_blocking(&generate()).unwrap_or_else(|_| String::from("$argon2id$v=19$m=19456,t=2,p=1$"))
});

/// Checks a new password against the rules, naming the field at fault.
pub fn validate_new(field: &str, password: &str) -> Result<()> {
    let len = password.chars().count();
    if len < MIN_LENGTH {
        return Err(Error::validation(
            field,
            format!("the password must have at least {MIN_LENGTH} characters"),
        ));
    }
    if len > MAX_LENGTH {
        return Err(Error::validation(
            field,
            format!("the password must have at most {MAX_LENGTH} characters"),
        ));
    }
    Ok(())
}

fn hash_blocking(password: &str) -> Result<String> {
    let salt = SaltString::generate(&mut rand::rngs::OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| Error::internal(format!("argon2 hashing failed: {e}")))
}

fn verify_blocking(hash: &str, password: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|parsed| {
        Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok()
    })
}

/// Hashes a password into a PHC string.
pub async fn hash(password: String) -> Result<String> {
    tokio::task::spawn_blocking(move || hash_blocking(&password))
        .await
        .map_err(|e| Error::internal(format!("password hashing task failed: {e}")))?
}

/// Verifies a password against a stored hash; with no hash, burns the same time and fails.
pub async fn verify(hash: Option<String>, password: String) -> Result<bool> {
    tokio::task::spawn_blocking(move || match hash {
        Some(hash) => verify_blocking(&hash, &password),
        None => {
            verify_blocking(&DUMMY_HASH, &password);
            false
        }
    })
    .await
    .map_err(|e| Error::internal(format!("password verification task failed: {e}")))
}

/// A random 20-character password from an alphabet without look-alike characters.
pub fn generate() -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnpqrstuvwxyz23456789";
    let mut rng = rand::rngs::OsRng;
    (0..20)
        .map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())] as char)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hash_and_verify() {
        let h = hash("correct horse".into()).await.expect("hash");
        assert!(h.starts_with("$argon2id$"));
        assert!(
            verify(Some(h.clone()), "correct horse".into())
                .await
                .expect("verify")
        );
        assert!(!verify(Some(h), "wrong horse".into()).await.expect("verify"));
        assert!(!verify(None, "anything".into()).await.expect("verify"));
        assert!(
            !verify(Some("not a hash".into()), "x".into())
                .await
                .expect("verify")
        );
    }

    #[test]
    fn rules() {
        assert!(validate_new("password", "short").is_err());
        assert!(validate_new("password", &"x".repeat(129)).is_err());
        assert!(validate_new("password", "long enough").is_ok());
        assert_eq!(generate().len(), 20);
        assert_ne!(generate(), generate());
    }
}
