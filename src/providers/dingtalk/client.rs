//! The DingTalk HTTP client.

use super::super::{directory::RateLimiter, error, token_cache::TokenCache};
use crate::{config::DingtalkSettings, error::Result};
use serde::Deserialize;
use serde_json::{Value, json};

const PROVIDER: &str = "dingtalk";

/// One DingTalk application (an internal app of one enterprise).
#[derive(Debug, Clone)]
pub struct DingtalkApp {
    /// corpId.
    pub corp_id: String,
    /// AppKey / ClientId.
    pub app_key: String,
    /// AppSecret (decrypted only for the call).
    pub app_secret: String,
}

/// Who logged in, as `/v1.0/contact/users/me` says.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DingtalkUser {
    /// unionId.
    #[serde(alias = "unionid")]
    pub union_id: String,
    /// Display name.
    #[serde(default)]
    pub nick: String,
    /// Email, if shared.
    #[serde(default)]
    pub email: Option<String>,
    /// Mobile, if shared.
    #[serde(default)]
    pub mobile: Option<String>,
    /// Avatar address.
    #[serde(default)]
    pub avatar_url: Option<String>,
}

/// The DingTalk client.
#[derive(Clone)]
pub struct DingtalkClient {
    http: reqwest::Client,
    urls: DingtalkSettings,
    tokens: TokenCache,
    flights: super::super::SingleFlight,
    limiter: RateLimiter,
}

/// Plain words for a DingTalk error code.
fn explain(code: &str, message: &str) -> String {
    match code {
        "invalidClientIdOrSecret"
        | "40096"
        | "40089"
        | "invalid.client"
        | "unauthorized.client" => {
            format!(
                "DingTalk rejected the app credentials (errcode {code}: {message}); check AppKey and AppSecret"
            )
        }
        "60121" => format!(
            "DingTalk does not know this person in the enterprise (errcode {code}); check the app's visible range"
        ),
        "60011" | "43007" | "Forbidden.AccessDenied.AccessTokenPermissionDenied" => format!(
            "the DingTalk app lacks a permission (errcode {code}: {message}); grant the contacts read permissions (通讯录个人信息读权限, 成员信息读权限) in the DingTalk developer console, and for pushing changes the contacts management permission (通讯录管理权限, qyapi_manage_addresslist)"
        ),
        "60004" => format!(
            "DingTalk does not know the parent department (errcode {code}); deliver or fix the parent department first"
        ),
        "60005" => format!(
            "the department still has people in DingTalk (errcode {code}); move or remove them in Roster (or DingTalk), then retry"
        ),
        "60006" => format!(
            "the department still has sub-departments in DingTalk (errcode {code}); delete or move them first, then retry"
        ),
        "60008" => format!(
            "DingTalk already has a department of this name under the same parent (errcode {code}); rename one of them, then retry"
        ),
        "60001" => format!(
            "DingTalk refused the department name (errcode {code}: {message}); names are 1–64 characters without `-`, `,` or `，`"
        ),
        "60010" => format!(
            "DingTalk refused the move because it would put a department under itself (errcode {code})"
        ),
        "60018" => format!(
            "the root department of a DingTalk enterprise cannot be changed through the API (errcode {code})"
        ),
        "60102" => format!(
            "DingTalk already has a person with this userid (errcode {code}); change the member's account, then retry"
        ),
        "60103" => format!(
            "DingTalk refused the mobile number (errcode {code}: {message}); DingTalk needs a valid mobile number for every person (`+86-…` style for numbers outside mainland China); fix the member's phone, then retry"
        ),
        "60104" => format!(
            "another DingTalk person already has this mobile number (errcode {code}); fix the member's phone, then retry"
        ),
        "34021" => format!(
            "DingTalk already has a role of this name in the group (errcode {code}); rename the role, then retry"
        ),
        "34020" | "34018" => format!(
            "DingTalk refused the role (errcode {code}: {message}); check the role's name and group"
        ),
        "33011" | "33012" => {
            format!("DingTalk does not know this role or person (errcode {code}: {message})")
        }
        "60020" | "Forbidden.AccessDenied.IpNotInWhiteList" => format!(
            "DingTalk refused this server's address (errcode {code}: {message}); add the server's public IP to the app's IP whitelist in the DingTalk developer console"
        ),
        "50004" | "50002" => format!(
            "the department or person is outside the DingTalk app's contacts range (errcode {code}); widen the range (通讯录权限范围) in the DingTalk developer console or remove it from the sync"
        ),
        "60003" => format!(
            "DingTalk does not know this department (errcode {code}); it may have been deleted"
        ),
        "90018" | "90002" | "Throttling" => {
            format!("DingTalk is throttling requests (errcode {code}); try again shortly")
        }
        "invalidAuthCode" => format!(
            "the DingTalk login code was refused (errcode {code}: {message}); start the login again"
        ),
        _ => format!("DingTalk refused the request (errcode {code}: {message})"),
    }
}

/// The signature of a legacy sns call: base64 of HMAC-SHA256 over the millisecond timestamp,
/// keyed with the AppSecret (the query encoding is left to the HTTP client).
pub fn sns_signature(app_secret: &str, timestamp: &str) -> String {
    use base64::{Engine, engine::general_purpose::STANDARD};
    use hmac::{Hmac, Mac};
    let mut mac = <Hmac<sha2::Sha256> as Mac>::new_from_slice(app_secret.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC accepts keys of any length"));
    mac.update(timestamp.as_bytes());
    STANDARD.encode(mac.finalize().into_bytes())
}

/// Whether a legacy envelope says the app token is no longer valid.
fn token_expired(body: &Value) -> bool {
    let code = body.get("errcode").and_then(Value::as_i64).unwrap_or(0);
    let sub = body.get("sub_code").and_then(|v| {
        v.as_str()
            .map(str::to_string)
            .or_else(|| v.as_i64().map(|n| n.to_string()))
    });
    matches!(code, 40014 | 42001 | 40001)
        || (code == 88 && matches!(sub.as_deref(), Some("40014" | "42001" | "40001" | "40000")))
}

/// Whether a legacy envelope says to slow down and try again.
fn throttled(body: &Value) -> bool {
    matches!(
        body.get("errcode").and_then(Value::as_i64),
        Some(90018 | 90002 | -1)
    )
}

/// Reads a legacy (`oapi`) answer: HTTP 200 with `errcode` 0 on success.
fn legacy(body: Value) -> Result<Value> {
    match body.get("errcode").and_then(Value::as_i64) {
        Some(0) | None if body.is_object() => Ok(body),
        Some(code) => {
            let msg = body
                .get("errmsg")
                .and_then(Value::as_str)
                .unwrap_or_default();
            Err(error(
                PROVIDER,
                Some(code.to_string()),
                explain(&code.to_string(), msg),
            ))
        }
        None => Err(error(
            PROVIDER,
            None,
            "DingTalk answered with something that is not JSON",
        )),
    }
}

/// Reads a `v1.0` answer: 2xx with fields, or an HTTP error with `{code, message}`.
async fn v1(response: reqwest::Response) -> Result<Value> {
    let status = response.status();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    if status.is_success() {
        return Ok(body);
    }
    let code = body
        .get("code")
        .and_then(Value::as_str)
        .unwrap_or("unknown")
        .to_string();
    let message = body
        .get("message")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    Err(error(
        PROVIDER,
        Some(code.clone()),
        format!("{} (HTTP {status})", explain(&code, &message)),
    ))
}

impl DingtalkClient {
    /// A client for the configured hosts.
    pub fn new(http: reqwest::Client, urls: DingtalkSettings, limiter: RateLimiter) -> Self {
        Self {
            http,
            urls,
            tokens: TokenCache::default(),
            flights: Default::default(),
            limiter,
        }
    }

    /// The QR login page to send the browser to.
    pub fn authorize_url(&self, app: &DingtalkApp, redirect_uri: &str, state: &str) -> String {
        let query = serde_urlencoded::to_string([
            ("redirect_uri", redirect_uri),
            ("response_type", "code"),
            ("client_id", app.app_key.as_str()),
            ("scope", "openid"),
            ("state", state),
            ("prompt", "consent"),
        ])
        .unwrap_or_default();
        format!(
            "{}/oauth2/auth?{query}",
            self.urls.login_url.trim_end_matches('/')
        )
    }

    /// The legacy "sns" QR page (older integrations), which answers with `code`.
    pub fn sns_authorize_url(&self, app: &DingtalkApp, redirect_uri: &str, state: &str) -> String {
        let query = serde_urlencoded::to_string([
            ("appid", app.app_key.as_str()),
            ("response_type", "code"),
            ("scope", "snsapi_login"),
            ("state", state),
            ("redirect_uri", redirect_uri),
        ])
        .unwrap_or_default();
        format!(
            "{}/connect/qrconnect?{query}",
            self.urls.oapi_url.trim_end_matches('/')
        )
    }

    /// The legacy exchange: a signed `sns/getuserinfo_bycode` call returning the person's unionId
    /// and nick.
    pub async fn sns_user(&self, app: &DingtalkApp, code: &str) -> Result<DingtalkUser> {
        let timestamp = chrono::Utc::now().timestamp_millis().to_string();
        let signature = sns_signature(&app.app_secret, &timestamp);
        let request = self
            .http
            .post(format!(
                "{}/sns/getuserinfo_bycode",
                self.urls.oapi_url.trim_end_matches('/')
            ))
            .query(&[
                ("accessKey", app.app_key.as_str()),
                ("timestamp", timestamp.as_str()),
                ("signature", signature.as_str()),
            ])
            .json(&json!({ "tmp_auth_code": code }));
        let response = super::super::send(PROVIDER, "DingTalk", request).await?;
        let body = legacy(super::super::read_json(PROVIDER, "DingTalk", response).await?)?;
        let info = body.get("user_info").cloned().unwrap_or(Value::Null);
        serde_json::from_value(info).map_err(|e| {
            error(
                PROVIDER,
                None,
                format!("DingTalk's sns user answer is not understood: {e}"),
            )
        })
    }

    /// Exchanges a login code for a user access token.
    pub async fn user_token(&self, app: &DingtalkApp, code: &str) -> Result<String> {
        let response = super::super::send(PROVIDER, "DingTalk", self
            .http
            .post(format!("{}/v1.0/oauth2/userAccessToken", self.urls.api_url.trim_end_matches('/')))
            .json(&json!({ "clientId": app.app_key, "clientSecret": app.app_secret, "code": code, "grantType": "authorization_code" }))).await?;
        let body = v1(response).await?;
        body.get("accessToken")
            .and_then(Value::as_str)
            .map(str::to_string)
            .ok_or_else(|| {
                error(
                    PROVIDER,
                    None,
                    "DingTalk's user token answer had no accessToken",
                )
            })
    }

    /// The person a user token belongs to.
    pub async fn me(&self, user_token: &str) -> Result<DingtalkUser> {
        let response = super::super::send(
            PROVIDER,
            "DingTalk",
            self.http
                .get(format!(
                    "{}/v1.0/contact/users/me",
                    self.urls.api_url.trim_end_matches('/')
                ))
                .header("x-acs-dingtalk-access-token", user_token),
        )
        .await?;
        serde_json::from_value(v1(response).await?).map_err(|e| {
            error(
                PROVIDER,
                None,
                format!("DingTalk's answer about the current user is not understood: {e}"),
            )
        })
    }

    /// The app access token, from the cache or from DingTalk.
    pub async fn app_token(&self, app: &DingtalkApp) -> Result<String> {
        if let Some(token) = self.tokens.get(&app.app_key) {
            return Ok(token);
        }
        let lock = self.flights.lock_for(&app.app_key);
        let _fetching = lock.lock().await;
        if let Some(token) = self.tokens.get(&app.app_key) {
            return Ok(token);
        }
        self.fetch_app_token(app).await
    }

    /// Asks DingTalk for the app token, whatever the cache holds: this is how credentials are
    /// checked (`testConnection`).
    pub async fn fetch_app_token(&self, app: &DingtalkApp) -> Result<String> {
        let response = super::super::send(
            PROVIDER,
            "DingTalk",
            self.http
                .post(format!(
                    "{}/v1.0/oauth2/accessToken",
                    self.urls.api_url.trim_end_matches('/')
                ))
                .json(&json!({ "appKey": app.app_key, "appSecret": app.app_secret })),
        )
        .await?;
        let body = v1(response).await?;
        let token = body
            .get("accessToken")
            .or_else(|| body.get("access_token"))
            .and_then(Value::as_str)
            .ok_or_else(|| {
                error(
                    PROVIDER,
                    None,
                    "DingTalk's app token answer had no accessToken",
                )
            })?
            .to_string();
        let expires = body
            .get("expireIn")
            .or_else(|| body.get("expires_in"))
            .and_then(Value::as_u64)
            .unwrap_or(7200);
        self.tokens.put(&app.app_key, token.clone(), expires);
        Ok(token)
    }

    /// Calls a legacy endpoint with the app token, renewing the token once when DingTalk says it
    /// expired, and waiting out DingTalk's per-app throttling (`90018`, `90002`, `-1`) twice with
    /// backoff. Calls of one app are paced by the rate limiter.
    pub(super) async fn oapi(&self, app: &DingtalkApp, path: &str, body: Value) -> Result<Value> {
        self.oapi_request(app, reqwest::Method::POST, path, body)
            .await
    }

    /// [`oapi`](Self::oapi) for a write: an answer lost after DingTalk acted (HTTP 502–504, a
    /// timeout) is not retried here, because repeating a create could make two; the caller
    /// finds out what happened before trying again.
    pub(super) async fn oapi_write(
        &self,
        app: &DingtalkApp,
        path: &str,
        body: Value,
    ) -> Result<Value> {
        self.oapi_call(app, reqwest::Method::POST, path, body, false)
            .await
    }

    /// [`oapi`](Self::oapi) with a chosen method (a few legacy reads are GETs).
    pub(super) async fn oapi_request(
        &self,
        app: &DingtalkApp,
        method: reqwest::Method,
        path: &str,
        body: Value,
    ) -> Result<Value> {
        self.oapi_call(app, method, path, body, true).await
    }

    async fn oapi_call(
        &self,
        app: &DingtalkApp,
        method: reqwest::Method,
        path: &str,
        body: Value,
        idempotent: bool,
    ) -> Result<Value> {
        let mut renewed = false;
        let mut backoff = std::time::Duration::from_millis(500);
        for _ in 0..4 {
            self.limiter.wait(&app.app_key).await;
            let token = self.app_token(app).await?;
            let response = super::super::send_with(PROVIDER, "DingTalk", idempotent, {
                let request = self
                    .http
                    .request(
                        method.clone(),
                        format!("{}{path}", self.urls.oapi_url.trim_end_matches('/')),
                    )
                    .query(&[("access_token", token.as_str())]);
                if method == reqwest::Method::GET {
                    request
                } else {
                    request.json(&body)
                }
            })
            .await?;
            let value = super::super::read_json(PROVIDER, "DingTalk", response).await?;
            if token_expired(&value) {
                if renewed {
                    return Err(error(
                        PROVIDER,
                        None,
                        "DingTalk kept refusing a fresh app token; check the app's credentials",
                    ));
                }
                renewed = true;
                self.tokens.forget(&app.app_key);
                continue;
            }
            if throttled(&value) && backoff <= std::time::Duration::from_secs(1) {
                tracing::info!(path, "DingTalk throttled a call; waiting before the retry");
                tokio::time::sleep(backoff).await;
                backoff *= 2;
                continue;
            }
            return legacy(value);
        }
        Err(error(
            PROVIDER,
            Some("90018".into()),
            "DingTalk kept throttling requests; try again later",
        ))
    }

    /// The enterprise userid of a unionId; `None` when the person is not in the enterprise.
    pub async fn userid_by_unionid(
        &self,
        app: &DingtalkApp,
        union_id: &str,
    ) -> Result<Option<String>> {
        match self
            .oapi(
                app,
                "/topapi/user/getbyunionid",
                json!({ "unionid": union_id }),
            )
            .await
        {
            Ok(body) => Ok(body
                .pointer("/result/userid")
                .and_then(Value::as_str)
                .map(str::to_string)),
            Err(crate::error::Error::Provider {
                errcode: Some(code),
                ..
            }) if code == "60121" => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// A user's details (`topapi/v2/user/get`).
    pub async fn user(&self, app: &DingtalkApp, userid: &str) -> Result<Value> {
        let body = self
            .oapi(
                app,
                "/topapi/v2/user/get",
                json!({ "userid": userid, "language": "zh_CN" }),
            )
            .await?;
        Ok(body.get("result").cloned().unwrap_or(Value::Null))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sns_signature_matches_the_documented_vector() {
        assert_eq!(
            sns_signature("testappSecret", "1546084445901"),
            "HCbG3xNE3vzhO+u7qCUL1jS5hsu2n5r2cFhnTrtyDAE="
        );
    }

    #[test]
    fn expired_token_signals() {
        assert!(token_expired(
            &json!({ "errcode": 88, "sub_code": "40014" })
        ));
        assert!(token_expired(
            &json!({ "errcode": 88, "sub_code": "42001" })
        ));
        assert!(token_expired(&json!({ "errcode": 42001 })));
        assert!(token_expired(&json!({ "errcode": 40014 })));
        assert!(!token_expired(&json!({ "errcode": 60121 })));
        assert!(!token_expired(&json!({ "errcode": 0 })));
    }

    #[test]
    fn credentials_errors_are_explained() {
        let msg = explain("40096", "不合法的appKey或appSecret");
        assert!(msg.contains("check AppKey and AppSecret") && msg.contains("40096"));
        let err = legacy(json!({ "errcode": 60121, "errmsg": "找不到该用户" })).unwrap_err();
        assert_eq!(err.code(), crate::error::ErrorCode::Provider);
    }
}
