//! The Microsoft identity client.

use super::super::{error, read_json};
use crate::{config::MicrosoftSettings, error::Result};
use jsonwebtoken::{Algorithm, DecodingKey, Validation, decode, decode_header};
use serde::Deserialize;
use serde_json::Value;
use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

const PROVIDER: &str = "teams";

/// One registered Entra application.
#[derive(Debug, Clone)]
pub struct MicrosoftApp {
    /// Tenant id.
    pub tenant_id: String,
    /// Application (client) id.
    pub client_id: String,
    /// Client secret (decrypted only for the call).
    pub client_secret: String,
}

/// The verified claims Roster uses.
#[derive(Debug, Clone, Deserialize)]
pub struct IdClaims {
    /// Object id: the person in the tenant.
    pub oid: String,
    /// Tenant id.
    pub tid: String,
    /// Display name.
    #[serde(default)]
    pub name: Option<String>,
    /// Sign-in name (mutable, display only).
    #[serde(default)]
    pub preferred_username: Option<String>,
    /// Email (unverified, display only).
    #[serde(default)]
    pub email: Option<String>,
    /// The nonce Roster sent.
    #[serde(default)]
    pub nonce: Option<String>,
}

/// The Microsoft client, with the tenants' signing keys cached.
#[derive(Clone)]
pub struct MicrosoftClient {
    pub(super) http: reqwest::Client,
    pub(super) urls: MicrosoftSettings,
    keys: Arc<Mutex<HashMap<String, HashMap<String, DecodingKey>>>>,
    pub(super) tokens: super::super::token_cache::TokenCache,
    pub(super) limiter: super::super::directory::RateLimiter,
}

fn explain(body: &Value) -> crate::error::Error {
    let code = body
        .get("error")
        .and_then(Value::as_str)
        .unwrap_or("unknown")
        .to_string();
    let aadsts = body.pointer("/error_codes/0").and_then(Value::as_u64);
    let what = match (code.as_str(), aadsts) {
        ("invalid_client", _) => {
            "Microsoft rejected the application credentials; check the client id and client secret"
                .to_string()
        }
        (_, Some(700016)) => {
            "the application is not registered in this tenant; check the tenant id and client id"
                .to_string()
        }
        (_, Some(90002)) => "Microsoft does not know this tenant; check the tenant id".to_string(),
        ("invalid_grant", _) => {
            "the sign-in code was refused (expired, reused, or PKCE mismatch); sign in again"
                .to_string()
        }
        _ => format!("Microsoft refused the request ({code})"),
    };
    let errcode = aadsts.map(|n| format!("AADSTS{n}")).unwrap_or(code);
    error(
        PROVIDER,
        Some(errcode.clone()),
        format!("{what} ({errcode})"),
    )
}

impl MicrosoftClient {
    /// A client for the configured hosts.
    pub fn new(
        http: reqwest::Client,
        urls: MicrosoftSettings,
        limiter: super::super::directory::RateLimiter,
    ) -> Self {
        Self {
            http,
            urls,
            keys: Arc::default(),
            tokens: Default::default(),
            limiter,
        }
    }

    fn tenant_url(&self, tenant: &str) -> String {
        format!("{}/{tenant}", self.urls.login_url.trim_end_matches('/'))
    }

    /// The issuer id_tokens of a tenant carry.
    pub fn issuer(&self, tenant: &str) -> String {
        format!("{}/v2.0", self.tenant_url(tenant))
    }

    /// The sign-in page to send the browser to.
    pub fn authorize_url(
        &self,
        app: &MicrosoftApp,
        redirect_uri: &str,
        state: &str,
        nonce: &str,
        challenge: &str,
    ) -> String {
        let query = serde_urlencoded::to_string([
            ("client_id", app.client_id.as_str()),
            ("response_type", "code"),
            ("redirect_uri", redirect_uri),
            ("response_mode", "query"),
            ("scope", "openid profile email"),
            ("state", state),
            ("nonce", nonce),
            ("code_challenge", challenge),
            ("code_challenge_method", "S256"),
        ])
        .unwrap_or_default();
        format!(
            "{}/oauth2/v2.0/authorize?{query}",
            self.tenant_url(&app.tenant_id)
        )
    }

    /// Redeems a code (with its PKCE verifier) and returns the id_token.
    pub async fn redeem(
        &self,
        app: &MicrosoftApp,
        code: &str,
        verifier: &str,
        redirect_uri: &str,
    ) -> Result<String> {
        let response = super::super::send(
            PROVIDER,
            "Microsoft",
            self.http
                .post(format!(
                    "{}/oauth2/v2.0/token",
                    self.tenant_url(&app.tenant_id)
                ))
                .form(&[
                    ("client_id", app.client_id.as_str()),
                    ("client_secret", app.client_secret.as_str()),
                    ("grant_type", "authorization_code"),
                    ("code", code),
                    ("redirect_uri", redirect_uri),
                    ("code_verifier", verifier),
                    ("scope", "openid profile email"),
                ]),
        )
        .await?;
        let ok = response.status().is_success();
        let body = read_json(PROVIDER, "Microsoft", response).await?;
        if !ok {
            return Err(explain(&body));
        }
        body.get("id_token")
            .and_then(Value::as_str)
            .map(str::to_string)
            .ok_or_else(|| {
                error(
                    PROVIDER,
                    None,
                    "Microsoft's token answer had no id_token; the openid scope was not granted",
                )
            })
    }

    /// Checks the credentials by asking for an app token (client credentials).
    pub async fn check_credentials(&self, app: &MicrosoftApp) -> Result<()> {
        self.fetch_app_token(app).await.map(|_| ())
    }

    /// An app token for Graph (client credentials), cached until shortly before it expires.
    pub async fn app_token(&self, app: &MicrosoftApp) -> Result<String> {
        match self.tokens.get(&app.client_id) {
            Some(token) => Ok(token),
            None => self.fetch_app_token(app).await,
        }
    }

    /// Forgets the cached app token (Graph said it is no longer valid).
    pub fn forget_app_token(&self, app: &MicrosoftApp) {
        self.tokens.forget(&app.client_id);
    }

    async fn fetch_app_token(&self, app: &MicrosoftApp) -> Result<String> {
        let response = super::super::send(
            PROVIDER,
            "Microsoft",
            self.http
                .post(format!(
                    "{}/oauth2/v2.0/token",
                    self.tenant_url(&app.tenant_id)
                ))
                .form(&[
                    ("client_id", app.client_id.as_str()),
                    ("client_secret", app.client_secret.as_str()),
                    ("grant_type", "client_credentials"),
                    ("scope", "https://graph.microsoft.com/.default"),
                ]),
        )
        .await?;
        let ok = response.status().is_success();
        let body = read_json(PROVIDER, "Microsoft", response).await?;
        if !ok {
            return Err(explain(&body));
        }
        let token = body
            .get("access_token")
            .and_then(Value::as_str)
            .ok_or_else(|| {
                error(
                    PROVIDER,
                    None,
                    "Microsoft's token answer had no access_token",
                )
            })?
            .to_string();
        let expires = body
            .get("expires_in")
            .and_then(Value::as_u64)
            .unwrap_or(3599);
        self.tokens.put(&app.client_id, token.clone(), expires);
        Ok(token)
    }

    async fn load_keys(&self, tenant: &str) -> Result<HashMap<String, DecodingKey>> {
        let response = super::super::send(
            PROVIDER,
            "Microsoft",
            self.http
                .get(format!("{}/discovery/v2.0/keys", self.tenant_url(tenant))),
        )
        .await?;
        let body = read_json(PROVIDER, "Microsoft", response).await?;
        let mut keys = HashMap::new();
        for key in body
            .get("keys")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let (Some(kid), Some(n), Some(e)) = (
                key.get("kid").and_then(Value::as_str),
                key.get("n").and_then(Value::as_str),
                key.get("e").and_then(Value::as_str),
            ) else {
                continue;
            };
            if let Ok(decoding) = DecodingKey::from_rsa_components(n, e) {
                keys.insert(kid.to_string(), decoding);
            }
        }
        Ok(keys)
    }

    async fn key(&self, tenant: &str, kid: &str) -> Result<DecodingKey> {
        if let Some(key) = self
            .keys
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(tenant)
            .and_then(|k| k.get(kid))
            .cloned()
        {
            return Ok(key);
        }
        // Unknown kid: keys roll over, so fetch the set again once.
        let fresh = self.load_keys(tenant).await?;
        let found = fresh.get(kid).cloned();
        self.keys
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(tenant.to_string(), fresh);
        found.ok_or_else(|| {
            error(
                PROVIDER,
                None,
                "the id_token is signed with a key Microsoft does not publish; sign in again",
            )
        })
    }

    /// Verifies an id_token: RS256 signature from the tenant's JWKS, issuer, audience, expiry
    /// and nonce.
    pub async fn verify(
        &self,
        app: &MicrosoftApp,
        id_token: &str,
        nonce: &str,
    ) -> Result<IdClaims> {
        let refused = |why: &str| {
            error(
                PROVIDER,
                None,
                format!("the id_token from Microsoft was refused ({why}); sign in again"),
            )
        };
        let header = decode_header(id_token).map_err(|_| refused("malformed"))?;
        if header.alg != Algorithm::RS256 {
            return Err(refused("algorithm must be RS256"));
        }
        let kid = header.kid.ok_or_else(|| refused("no key id"))?;
        let key = self.key(&app.tenant_id, &kid).await?;
        let mut validation = Validation::new(Algorithm::RS256);
        validation.set_audience(&[&app.client_id]);
        validation.set_issuer(&[self.issuer(&app.tenant_id)]);
        validation.set_required_spec_claims(&["exp", "iss", "aud"]);
        validation.leeway = 60;
        let claims = decode::<IdClaims>(id_token, &key, &validation)
            .map_err(|e| refused(&e.to_string()))?
            .claims;
        if claims.nonce.as_deref() != Some(nonce) {
            return Err(refused("nonce mismatch"));
        }
        Ok(claims)
    }
}
