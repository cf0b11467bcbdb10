//! Access tokens: short-lived EdDSA JWTs naming the member, organization, user and user type.
//! Verification accepts only `EdDSA` with a published `kid`, the configured issuer and audience,
//! and an unexpired `exp`; anything else (`alg: none`, HS256 made with the public key, tampering)
//! is refused.

use super::keys::{ALGORITHM, KeyStore};
use crate::error::{Error, Result};
use jsonwebtoken::{Algorithm, Header, Validation, decode, decode_header, encode};
use serde::{Deserialize, Serialize};

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
}

impl TokenIssuer {
    /// An issuer with the given claims and lifetime.
    pub fn new(issuer: String, audience: String, ttl_secs: u64) -> Self {
        Self {
            issuer,
            audience,
            ttl_secs: i64::try_from(ttl_secs).unwrap_or(900),
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
        validation.leeway = 5;
        decode::<Claims>(token, &key, &validation)
            .map(|data| data.claims)
            .map_err(|e| match e.kind() {
                jsonwebtoken::errors::ErrorKind::ExpiredSignature => Error::Unauthenticated(
                    "the access token has expired; refresh it or log in again".into(),
                ),
                jsonwebtoken::errors::ErrorKind::InvalidIssuer => invalid("wrong issuer"),
                jsonwebtoken::errors::ErrorKind::InvalidAudience => invalid("wrong audience"),
                jsonwebtoken::errors::ErrorKind::InvalidSignature => invalid("bad signature"),
                _ => invalid("malformed"),
            })
    }
}
