//! Reading and signing JWTs the way an attacker or another service would.

use super::TestApp;
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::Value;

/// One base64url JSON part of a JWT (0: header, 1: claims).
pub fn part_of(token: &str, index: usize) -> Value {
    let part = token.split('.').nth(index).expect("a JWT part");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).expect("b64")).expect("json")
}

/// The claims of a JWT.
pub fn claims_of(token: &str) -> Value {
    part_of(token, 1)
}

/// The `kid` a token names in its header.
pub fn kid(token: &str) -> String {
    part_of(token, 0)["kid"].as_str().expect("kid").to_string()
}

/// Claims signed with EdDSA under `key`, naming `kid`.
pub fn sign(kid: &str, key: &EncodingKey, claims: &Value) -> String {
    let mut header = Header::new(Algorithm::EdDSA);
    header.kid = Some(kid.to_string());
    jsonwebtoken::encode(&header, claims, key).expect("sign")
}

/// Claims signed with the server's own current key.
pub fn sign_with_server_key(app: &TestApp, claims: &Value) -> String {
    let (kid, key) = app.state.keys.signing_key().expect("key");
    sign(&kid, &key, claims)
}
