//! The WeCom HTTP client.

use super::super::{directory::RateLimiter, error, token_cache::TokenCache};
use crate::{config::WecomSettings, error::Result};
use serde_json::Value;

const PROVIDER: &str = "wecom";

/// One WeCom self-built app.
#[derive(Debug, Clone)]
pub struct WecomApp {
    /// corpid.
    pub corp_id: String,
    /// AgentId.
    pub agent_id: String,
    /// The app's secret (decrypted only for the call).
    pub secret: String,
}

/// Who scanned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WecomLogin {
    /// A member of the corporation.
    Member {
        /// Their userid.
        userid: String,
    },
    /// Someone who is not a member (WeCom gives an openid).
    Outsider,
}

/// The WeCom client.
#[derive(Clone)]
pub struct WecomClient {
    http: reqwest::Client,
    urls: WecomSettings,
    tokens: TokenCache,
    flights: super::super::SingleFlight,
    limiter: RateLimiter,
}

fn explain(code: i64, message: &str) -> String {
    match code {
        40001 | 40013 | 41004 => format!(
            "WeCom rejected the app credentials (errcode {code}: {message}); check CorpId, AgentId and Secret"
        ),
        60020 => format!(
            "WeCom refused this server's address (errcode {code}); add it to the app's trusted IPs (企业可信IP)"
        ),
        50001 => format!(
            "WeCom refused the login address (errcode {code}); add this server's domain to the app's trusted domains"
        ),
        40029 => {
            format!("the WeCom login code was refused (errcode {code}); start the login again")
        }
        60011 => format!(
            "the WeCom app may not read this part of the contacts (errcode {code}: {message}); widen the app's visible range (可见范围) in the WeCom admin console"
        ),
        48002 => format!(
            "the WeCom app lacks the contacts permission (errcode {code}: {message}); grant it in the WeCom admin console"
        ),
        60111 | 46004 => format!("WeCom does not know this person (errcode {code}: {message})"),
        45009 | 45033 => {
            format!("WeCom is throttling requests (errcode {code}); try again shortly")
        }
        _ => format!("WeCom refused the request (errcode {code}: {message})"),
    }
}

fn check(body: Value) -> Result<Value> {
    match body.get("errcode").and_then(Value::as_i64) {
        None | Some(0) if body.is_object() => Ok(body),
        Some(code) => Err(error(
            PROVIDER,
            Some(code.to_string()),
            explain(
                code,
                body.get("errmsg")
                    .and_then(Value::as_str)
                    .unwrap_or_default(),
            ),
        )),
        None => Err(error(
            PROVIDER,
            None,
            "WeCom answered with something that is not JSON",
        )),
    }
}

impl WecomClient {
    /// A client for the configured hosts.
    pub fn new(http: reqwest::Client, urls: WecomSettings, limiter: RateLimiter) -> Self {
        Self {
            http,
            urls,
            tokens: TokenCache::default(),
            flights: Default::default(),
            limiter,
        }
    }

    fn api(&self, path: &str) -> String {
        format!("{}/cgi-bin/{path}", self.urls.api_url.trim_end_matches('/'))
    }

    fn cache_key(app: &WecomApp) -> String {
        format!("{}:{}", app.corp_id, crate::auth::token_hash(&app.secret))
    }

    /// The QR login page to send the browser to.
    pub fn authorize_url(&self, app: &WecomApp, redirect_uri: &str, state: &str) -> String {
        let query = serde_urlencoded::to_string([
            ("login_type", "CorpApp"),
            ("appid", app.corp_id.as_str()),
            ("agentid", app.agent_id.as_str()),
            ("redirect_uri", redirect_uri),
            ("state", state),
        ])
        .unwrap_or_default();
        format!(
            "{}/wwlogin/sso/login?{query}",
            self.urls.login_url.trim_end_matches('/')
        )
    }

    /// Asks WeCom for the app token, whatever the cache holds (this checks the credentials).
    pub async fn fetch_app_token(&self, app: &WecomApp) -> Result<String> {
        let response = super::super::send(
            PROVIDER,
            "WeCom",
            self.http.get(self.api("gettoken")).query(&[
                ("corpid", app.corp_id.as_str()),
                ("corpsecret", app.secret.as_str()),
            ]),
        )
        .await?;
        let body = check(super::super::read_json(PROVIDER, "WeCom", response).await?)?;
        let token = body
            .get("access_token")
            .and_then(Value::as_str)
            .ok_or_else(|| error(PROVIDER, None, "WeCom's token answer had no access_token"))?
            .to_string();
        self.tokens.put(
            &Self::cache_key(app),
            token.clone(),
            body.get("expires_in")
                .and_then(Value::as_u64)
                .unwrap_or(7200),
        );
        Ok(token)
    }

    async fn app_token(&self, app: &WecomApp) -> Result<String> {
        let key = Self::cache_key(app);
        if let Some(token) = self.tokens.get(&key) {
            return Ok(token);
        }
        let lock = self.flights.lock_for(&key);
        let _fetching = lock.lock().await;
        if let Some(token) = self.tokens.get(&key) {
            return Ok(token);
        }
        self.fetch_app_token(app).await
    }

    /// A GET with the app token, renewing the token once when WeCom says it is invalid or expired.
    pub(super) async fn get(
        &self,
        app: &WecomApp,
        path: &str,
        params: &[(&str, &str)],
    ) -> Result<Value> {
        for attempt in 0..2 {
            self.limiter.wait(&Self::cache_key(app)).await;
            let token = self.app_token(app).await?;
            let mut query: Vec<(&str, &str)> = vec![("access_token", token.as_str())];
            query.extend_from_slice(params);
            let response = super::super::send(
                PROVIDER,
                "WeCom",
                self.http.get(self.api(path)).query(&query),
            )
            .await?;
            let body = super::super::read_json(PROVIDER, "WeCom", response).await?;
            let code = body.get("errcode").and_then(Value::as_i64).unwrap_or(0);
            if matches!(code, 40014 | 42001) && attempt == 0 {
                self.tokens.forget(&Self::cache_key(app));
                continue;
            }
            return check(body);
        }
        Err(error(
            PROVIDER,
            None,
            "WeCom kept refusing a fresh app token; check the app's credentials",
        ))
    }

    /// Who scanned, from the login code (accepts `userid`/`UserId` and `openid`/`OpenId`).
    pub async fn login(&self, app: &WecomApp, code: &str) -> Result<WecomLogin> {
        let body = self.get(app, "auth/getuserinfo", &[("code", code)]).await?;
        let userid = body
            .get("userid")
            .or_else(|| body.get("UserId"))
            .and_then(Value::as_str)
            .filter(|u| !u.is_empty());
        Ok(match userid {
            Some(userid) => WecomLogin::Member {
                userid: userid.to_string(),
            },
            None => WecomLogin::Outsider,
        })
    }

    /// A member's details (`user/get`).
    pub async fn user(&self, app: &WecomApp, userid: &str) -> Result<Value> {
        self.get(app, "user/get", &[("userid", userid)]).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn errors_are_explained() {
        let err = check(json!({ "errcode": 40001, "errmsg": "invalid credential" })).unwrap_err();
        assert!(err.to_string().contains("check CorpId, AgentId and Secret"));
        assert!(check(json!({ "errcode": 0, "userid": "a" })).is_ok());
        assert!(
            check(json!({ "userid": "a" })).is_ok(),
            "some success bodies omit errcode"
        );
    }
}
