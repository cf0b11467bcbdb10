//! Password hashing with Argon2id (the crate's defaults: m=19 MiB, t=2, p=1), run on the blocking
//! pool so that a login never stalls other requests.
//!
//! Passwords Roster generates ([`generated`]) are hashed with light parameters (m=64 KiB, t=1):
//! the slow defaults make guessing a person's password from a stolen hash expensive, and a
//! generated password has no guessable structure (20 characters from 56, about 116 bits). A
//! 5,000-row import hashed each of its passwords with the defaults: 42 ms each, over a minute
//! for the file (BENCHMARKS.md). Logging in with a lightly hashed password still costs the full
//! verification time, so that timing tells nothing about the account.

use crate::error::{Error, Result};
use argon2::{
    Algorithm, Argon2, Params, PasswordHash, PasswordHasher, PasswordVerifier, Version,
    password_hash::SaltString,
};
use chrono::{DateTime, TimeDelta, Utc};
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

/// How long a one-time password lets its holder in (`login.one_time_password_ttl_secs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OneTimeLifetime(Option<TimeDelta>);

impl OneTimeLifetime {
    /// A lifetime of `secs` seconds; `0`, or more than chrono can count, never expires.
    pub fn from_secs(secs: u64) -> Self {
        let lifetime = i64::try_from(secs)
            .ok()
            .filter(|&s| s > 0)
            .and_then(TimeDelta::try_seconds);
        Self(lifetime)
    }

    /// When a one-time password issued at `issued` stops letting its holder in, if ever.
    pub fn expires_at(self, issued: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.0
            .and_then(|lifetime| issued.checked_add_signed(lifetime))
    }
}

/// Refuses a correct password that was one-time and has expired: it proves nothing any more, and
/// only a new one from an administrator helps. Passwords without an expiry always pass.
pub fn check_not_expired(expires_at: Option<DateTime<Utc>>, now: DateTime<Utc>) -> Result<()> {
    match expires_at {
        Some(at) if at <= now => Err(Error::PasswordExpired(format!(
            "this one-time password expired on {}; ask an organization administrator for a new one",
            at.format("%Y-%m-%d %H:%M UTC")
        ))),
        _ => Ok(()),
    }
}

/// Memory (KiB) and passes of the hashes of generated passwords.
const GENERATED_COST: (u32, u32) = (64, 1);

fn hash_blocking(password: &str) -> Result<String> {
    hash_with(&Argon2::default(), password)
}

fn hash_with(argon: &Argon2<'_>, password: &str) -> Result<String> {
    let salt = SaltString::generate(&mut rand::thread_rng());
    argon
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| Error::internal(format!("argon2 hashing failed: {e}")))
}

/// Checks a password against a hash with the parameters the hash names. A hash lighter than the
/// defaults (a generated password's) is followed by a verification at the default cost, so that
/// every login against an account takes the same time.
fn verify_blocking(hash: &str, password: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(hash) else {
        return false;
    };
    let matches = Argon2::default()
        .verify_password(password.as_bytes(), &parsed)
        .is_ok();
    let light = Params::try_from(&parsed)
        .is_ok_and(|p| p.m_cost() < Params::DEFAULT_M_COST || p.t_cost() < Params::DEFAULT_T_COST);
    if light && let Ok(dummy) = PasswordHash::new(&DUMMY_HASH) {
        let _ = Argon2::default().verify_password(password.as_bytes(), &dummy);
    }
    matches
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

/// `count` new generated passwords, each with its hash (light parameters, see the module
/// documentation), made on the blocking pool, split over the machine's cores.
pub async fn generated(count: usize) -> Result<Vec<(String, String)>> {
    let workers = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .clamp(1, count.max(1));
    let tasks: Vec<_> = (0..workers)
        .map(|w| {
            // Worker `w` makes its share; the first `count % workers` make one more.
            let share = count / workers + usize::from(w < count % workers);
            tokio::task::spawn_blocking(move || generated_blocking(share))
        })
        .collect();
    let mut made = Vec::with_capacity(count);
    for task in tasks {
        made.extend(
            task.await
                .map_err(|e| Error::internal(format!("password hashing task failed: {e}")))??,
        );
    }
    Ok(made)
}

fn generated_blocking(count: usize) -> Result<Vec<(String, String)>> {
    let (memory, passes) = GENERATED_COST;
    let params = Params::new(memory, passes, 1, None)
        .map_err(|e| Error::internal(format!("argon2 parameters refused: {e}")))?;
    let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
    (0..count)
        .map(|_| {
            let plain = generate();
            hash_with(&argon, &plain).map(|hash| (plain, hash))
        })
        .collect()
}

/// One new generated password with its hash, as [`generated`] makes them.
pub async fn generated_one() -> Result<(String, String)> {
    generated(1)
        .await?
        .pop()
        .ok_or_else(|| Error::internal("no password was generated"))
}

/// The hash of a chosen password, or, with none, of a new generated one (as [`generated`] makes
/// them), which is returned too so that it can be shown once.
pub async fn hash_or_generate(chosen: Option<String>) -> Result<(String, Option<String>)> {
    match chosen {
        Some(p) => Ok((hash(p).await?, None)),
        None => {
            let (plain, hash) = generated_one().await?;
            Ok((hash, Some(plain)))
        }
    }
}

/// A random 20-character password from an alphabet without look-alike characters, drawn from
/// the thread's CSPRNG (ChaCha, seeded and reseeded from the operating system) rather than from
/// one system call per character.
fn generate() -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnpqrstuvwxyz23456789";
    let mut rng = rand::thread_rng();
    (0..20)
        .map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())] as char)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_time_passwords_expire_after_their_lifetime_unless_it_is_zero() {
        let issued = DateTime::parse_from_rfc3339("2026-12-05T18:00:00Z")
            .expect("date")
            .with_timezone(&Utc);
        let week = OneTimeLifetime::from_secs(7 * 24 * 3600);
        let expires = week.expires_at(issued).expect("a week expires");
        assert_eq!(expires.to_rfc3339(), "2026-12-12T18:00:00+00:00");
        assert_eq!(OneTimeLifetime::from_secs(0).expires_at(issued), None);
        assert_eq!(
            OneTimeLifetime::from_secs(u64::MAX).expires_at(issued),
            None,
            "beyond what chrono counts is never"
        );

        let second = TimeDelta::seconds(1);
        assert!(check_not_expired(Some(expires), expires - second).is_ok());
        let refused =
            check_not_expired(Some(expires), expires).expect_err("expired at the instant");
        assert_eq!(refused.code(), crate::error::ErrorCode::PasswordExpired);
        let message = refused.to_string();
        assert!(message.contains("2026-12-12 18:00 UTC"), "{message}");
        assert!(message.contains("administrator"), "{message}");
        assert!(check_not_expired(None, expires + second).is_ok());
    }

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

    #[tokio::test]
    async fn generated_passwords_are_hashed_light_and_verify_like_any_other() {
        for count in [0, 1, 2, 5] {
            assert_eq!(generated(count).await.expect("generated").len(), count);
        }
        let made = generated(3).await.expect("generated");
        assert_eq!(made.len(), 3);
        assert_ne!(made[0].0, made[1].0, "each password is new");
        for (plain, hash) in &made {
            assert_eq!(plain.len(), 20);
            assert!(hash.starts_with("$argon2id$v=19$m=64,t=1,p=1$"), "{hash}");
            assert!(
                verify(Some(hash.clone()), plain.clone())
                    .await
                    .expect("verify")
            );
            assert!(
                !verify(Some(hash.clone()), "wrong".into())
                    .await
                    .expect("verify")
            );
        }
        let chosen = hash("correct horse".into()).await.expect("hash");
        assert!(
            chosen.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{chosen}"
        );
        let (chosen, shown) = hash_or_generate(Some("correct horse".into()))
            .await
            .expect("hash");
        assert!(
            chosen.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{chosen}"
        );
        assert_eq!(shown, None, "a chosen password is not shown back");
        let (light, shown) = hash_or_generate(None).await.expect("generated");
        let shown = shown.expect("a generated password is shown once");
        assert!(light.starts_with("$argon2id$v=19$m=64,t=1,p=1$"), "{light}");
        assert!(verify(Some(light), shown).await.expect("verify"));
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
