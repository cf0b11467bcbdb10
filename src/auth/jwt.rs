//! Access tokens: short-lived EdDSA JWTs naming the member, organization, user and user type.
//! Verification accepts only `EdDSA` with a published `kid`, the configured issuer and audience,
//! and an unexpired `exp`; anything else (`alg: none`, HS256 made with the public key, tampering)
//! is refused.

use super::keys::{ALGORITHM, KeyStore};
use crate::error::{Error, Result};
use jsonwebtoken::{Algorithm, Header, Validation, decode, decode_header, encode};
use serde::{Deserialize, Serialize};
use std::{
    collections::HashMap,
    sync::{Arc, Mutex, PoisonError},
};

/// Seconds of clock difference tolerated at expiry.
const LEEWAY_SECS: i64 = 5;

/// The claims of a Roster access token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// Issuer: this server's public URL unless configured.
    pub iss: String,
    /// Audience.
    pub aud: String,
    /// Member id.
    pub sub: String,
    /// Organization id.
    pub org: i64,
    /// User (person) id.
    pub uid: i64,
    /// User type: developer, analyst or viewer.
    pub utype: String,
    /// Expiry, seconds since the epoch.
    pub exp: i64,
    /// Issued at, seconds since the epoch.
    pub iat: i64,
    /// Token id.
    pub jti: String,
}

/// Who a token is for.
#[derive(Debug, Clone)]
pub struct Subject {
    /// Member id.
    pub member_id: i64,
    /// Organization id.
    pub organization_id: i64,
    /// User id.
    pub user_id: i64,
    /// User type, lowercase.
    pub user_type: String,
}

/// Issues and verifies access tokens.
#[derive(Debug, Clone)]
pub struct TokenIssuer {
    issuer: String,
    audience: String,
    ttl_secs: i64,
    verified: VerifiedTokens,
}

impl TokenIssuer {
    /// An issuer with the given claims and lifetime.
    pub fn new(issuer: String, audience: String, ttl_secs: u64) -> Self {
        Self {
            issuer,
            audience,
            ttl_secs: i64::try_from(ttl_secs).unwrap_or(900),
            verified: VerifiedTokens::default(),
        }
    }

    /// The access token lifetime in seconds.
    pub fn ttl_secs(&self) -> i64 {
        self.ttl_secs
    }

    /// Signs a token for the subject; returns it with its claims.
    pub fn issue(&self, keys: &KeyStore, subject: &Subject) -> Result<(String, Claims)> {
        let now = chrono::Utc::now().timestamp();
        let claims = Claims {
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
            sub: subject.member_id.to_string(),
            org: subject.organization_id,
            uid: subject.user_id,
            utype: subject.user_type.clone(),
            exp: now + self.ttl_secs,
            iat: now,
            jti: uuid::Uuid::new_v4().to_string(),
        };
        let (kid, key) = keys.signing_key()?;
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(kid);
        header.typ = Some("JWT".into());
        let token = encode(&header, &claims, &key)
            .map_err(|e| Error::internal(format!("signing a token failed: {e}")))?;
        Ok((token, claims))
    }

    /// Verifies a token's signature and claims.
    pub async fn verify(&self, keys: &KeyStore, token: &str) -> Result<Claims> {
        let invalid = |why: &str| {
            Error::Unauthenticated(format!(
                "the access token is not valid ({why}); log in again"
            ))
        };
        if let Some((kid, claims)) = self.verified.recall(token) {
            if !keys.publishes(&kid) {
                // Verified in full below, which refuses it unless the key is published again.
                self.verified.forget(token);
            } else if claims.exp < chrono::Utc::now().timestamp() - LEEWAY_SECS {
                self.verified.forget(token);
                return Err(expired());
            } else {
                return Ok(claims);
            }
        }
        let header = decode_header(token).map_err(|_| invalid("malformed"))?;
        if header.alg != Algorithm::EdDSA {
            return Err(invalid(&format!("algorithm must be {ALGORITHM}")));
        }
        let kid = header.kid.ok_or_else(|| invalid("no key id"))?;
        let key = keys
            .decoding_key(&kid)
            .await?
            .ok_or_else(|| invalid("unknown key id"))?;
        let mut validation = Validation::new(Algorithm::EdDSA);
        validation.set_issuer(&[&self.issuer]);
        validation.set_audience(&[&self.audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.leeway = LEEWAY_SECS.unsigned_abs();
        let claims = decode::<Claims>(token, &key, &validation)
            .map(|data| data.claims)
            .map_err(|e| match e.kind() {
                jsonwebtoken::errors::ErrorKind::ExpiredSignature => expired(),
                jsonwebtoken::errors::ErrorKind::InvalidIssuer => invalid("wrong issuer"),
                jsonwebtoken::errors::ErrorKind::InvalidAudience => invalid("wrong audience"),
                jsonwebtoken::errors::ErrorKind::InvalidSignature => invalid("bad signature"),
                _ => invalid("malformed"),
            })?;
        self.verified.remember(token, kid, claims.clone());
        Ok(claims)
    }
}

/// The error for an expired access token.
fn expired() -> Error {
    Error::Unauthenticated("the access token has expired; refresh it or log in again".into())
}

/// How many verified tokens are remembered.
const REMEMBERED_TOKENS: usize = 4_096;

/// Access tokens verified before, by their exact text, with the `kid` of the key that signed them
/// and their claims. A client sends the same token with every request until it expires, and
/// checking its Ed25519 signature cost about as many instructions as parsing the GraphQL document
/// (BENCHMARKS.md). A remembered token is accepted only while its key is still published and
/// until its `exp` (with the same leeway); other text, a tampered token included, is verified in
/// full. Whether the member may still act is read from the database on every request, as before.
#[derive(Debug, Clone, Default)]
struct VerifiedTokens {
    tokens: Arc<Mutex<HashMap<String, (String, Claims)>>>,
}

impl VerifiedTokens {
    fn recall(&self, token: &str) -> Option<(String, Claims)> {
        self.lock().get(token).cloned()
    }

    fn forget(&self, token: &str) {
        self.lock().remove(token);
    }

    /// Remembers a verified token. When full, the expired ones go first, then any one.
    fn remember(&self, token: &str, kid: String, claims: Claims) {
        let mut tokens = self.lock();
        if tokens.len() >= REMEMBERED_TOKENS && !tokens.contains_key(token) {
            let now = chrono::Utc::now().timestamp();
            tokens.retain(|_, (_, c)| c.exp >= now - LEEWAY_SECS);
            if tokens.len() >= REMEMBERED_TOKENS
                && let Some(dropped) = tokens.keys().next().cloned()
            {
                tokens.remove(&dropped);
            }
        }
        tokens.insert(token.to_owned(), (kid, claims));
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, (String, Claims)>> {
        self.tokens.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(exp: i64) -> Claims {
        Claims {
            iss: "i".into(),
            aud: "a".into(),
            sub: "1".into(),
            org: 1,
            uid: 1,
            utype: "developer".into(),
            exp,
            iat: 0,
            jti: "j".into(),
        }
    }

    #[test]
    fn tokens_are_recalled_by_their_exact_text() {
        let verified = VerifiedTokens::default();
        verified.remember("a.b.c", "k1".into(), claims(10));
        assert_eq!(verified.recall("a.b.c"), Some(("k1".into(), claims(10))));
        assert_eq!(verified.recall("a.b.d"), None);
        verified.forget("a.b.c");
        assert_eq!(verified.recall("a.b.c"), None);
    }

    #[test]
    fn a_full_memory_drops_expired_tokens_first() {
        let verified = VerifiedTokens::default();
        let later = chrono::Utc::now().timestamp() + 600;
        verified.remember("live", "k".into(), claims(later));
        for i in 1..REMEMBERED_TOKENS {
            verified.remember(&format!("old{i}"), "k".into(), claims(0));
        }
        assert_eq!(verified.lock().len(), REMEMBERED_TOKENS);
        verified.remember("new", "k".into(), claims(later));
        assert_eq!(verified.lock().len(), 2);
        assert!(verified.recall("live").is_some() && verified.recall("new").is_some());
        for i in 0..REMEMBERED_TOKENS + 10 {
            verified.remember(&format!("more{i}"), "k".into(), claims(later));
            assert!(verified.lock().len() <= REMEMBERED_TOKENS);
        }
    }
}
