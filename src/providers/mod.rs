//! Clients of the identity providers. They know HTTP and the providers' envelopes, nothing of
//! GraphQL; failures come back as [`Error::Provider`] explained in
//! plain words with the provider's own code kept. Base URLs come from configuration so that
//! tests and local development talk to the sandbox.

pub mod callback_crypto;
pub mod dingtalk;
pub mod directory;
pub mod microsoft;
pub mod token_cache;
pub mod wecom;

use crate::{config::ProviderSettings, error::Error};
use std::time::Duration;

/// The provider clients of a server.
#[derive(Clone)]
pub struct Providers {
    /// DingTalk.
    pub dingtalk: dingtalk::DingtalkClient,
    /// WeCom.
    pub wecom: wecom::WecomClient,
    /// Microsoft.
    pub microsoft: microsoft::MicrosoftClient,
}

impl Providers {
    /// Clients for the configured base URLs.
    pub fn new(settings: &ProviderSettings) -> Result<Self, Error> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(settings.timeout_secs))
            .user_agent(concat!("roster/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| Error::internal(format!("building the HTTP client failed: {e}")))?;
        let limiter = directory::RateLimiter::new(settings.calls_per_second);
        Ok(Self {
            dingtalk: dingtalk::DingtalkClient::new(
                http.clone(),
                settings.dingtalk.clone(),
                limiter.clone(),
            ),
            wecom: wecom::WecomClient::new(http.clone(), settings.wecom.clone(), limiter.clone()),
            microsoft: microsoft::MicrosoftClient::new(http, settings.microsoft.clone(), limiter),
        })
    }
}

/// A provider error with a plain explanation.
pub fn error(provider: &'static str, errcode: Option<String>, message: impl Into<String>) -> Error {
    crate::metrics::metrics().provider_error(provider, errcode.as_deref());
    Error::Provider {
        provider,
        errcode,
        message: message.into(),
    }
}

/// Reads a provider's JSON answer; an answer that is not JSON (an unknown path, a proxy error
/// page) is explained by its HTTP status instead of a decoding error.
pub async fn read_json(
    provider: &'static str,
    name: &str,
    response: reqwest::Response,
) -> Result<serde_json::Value, Error> {
    let status = response.status();
    let bytes = response.bytes().await.map_err(|e| {
        error(
            provider,
            None,
            format!("{name} could not be reached ({e}); check the network and try again"),
        )
    })?;
    serde_json::from_slice(&bytes).map_err(|_| {
        error(
            provider,
            Some(format!("HTTP {}", status.as_u16())),
            format!("{name} answered HTTP {status} without JSON; check the {name} address configured for this server"),
        )
    })
}

/// Attempts per provider call (the first try and two retries).
const ATTEMPTS: u32 = 3;
/// Longest wait a provider's `Retry-After` may impose before we give up waiting.
const MAX_RETRY_AFTER: std::time::Duration = std::time::Duration::from_secs(5);

/// Sends a request, retrying with backoff when the provider cannot be reached, throttles
/// (HTTP 429, honouring `Retry-After`) or is briefly unavailable (HTTP 502/503/504).
pub async fn send(
    provider: &'static str,
    name: &str,
    request: reqwest::RequestBuilder,
) -> Result<reqwest::Response, Error> {
    send_with(provider, name, true, request).await
}

/// [`send`], choosing whether an unavailable provider (HTTP 502–504, a timeout) is retried:
/// not for writes, whose answer may be lost after the provider acted. A connection that could
/// not be made is always retried (the provider never saw the request).
pub(crate) async fn send_with(
    provider: &'static str,
    name: &str,
    retry_unavailable: bool,
    request: reqwest::RequestBuilder,
) -> Result<reqwest::Response, Error> {
    let mut backoff = std::time::Duration::from_millis(200);
    for attempt in 1..=ATTEMPTS {
        let Some(this) = request.try_clone() else {
            return request
                .send()
                .await
                .map_err(|e| unreachable(provider, name, &e));
        };
        let started = std::time::Instant::now();
        let sent = this.send().await;
        crate::metrics::metrics().provider_call(
            provider,
            sent.as_ref().ok().map(|r| r.status().as_u16()),
            started.elapsed(),
        );
        match sent {
            Ok(response) => {
                let status = response.status().as_u16();
                let transient =
                    status == 429 || (retry_unavailable && (502..=504).contains(&status));
                if !transient || attempt == ATTEMPTS {
                    return Ok(response);
                }
                let wait = response
                    .headers()
                    .get(reqwest::header::RETRY_AFTER)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.trim().parse::<u64>().ok())
                    .map(std::time::Duration::from_secs)
                    .unwrap_or(backoff);
                if wait > MAX_RETRY_AFTER {
                    return Ok(response);
                }
                tracing::info!(
                    provider,
                    status,
                    wait_ms = wait.as_millis() as u64,
                    "provider throttled or unavailable; retrying"
                );
                tokio::time::sleep(wait).await;
            }
            Err(e)
                if attempt < ATTEMPTS
                    && (e.is_connect() || (retry_unavailable && e.is_timeout())) =>
            {
                tracing::info!(provider, error = %e, "provider unreachable; retrying");
                tokio::time::sleep(backoff).await;
            }
            Err(e) => return Err(unreachable(provider, name, &e)),
        }
        backoff *= 2;
    }
    Err(error(
        provider,
        None,
        format!("{name} kept failing; try again later"),
    ))
}

fn unreachable(provider: &'static str, name: &str, e: &reqwest::Error) -> Error {
    error(
        provider,
        None,
        format!(
            "{name} could not be reached ({e}); check the network and the {name} address, then try again"
        ),
    )
}

/// Requests that fetch a value (an app token) once at a time per key, so that concurrent callers
/// wait for one fetch instead of each asking the provider.
#[derive(Clone, Default)]
pub struct SingleFlight {
    locks: std::sync::Arc<
        std::sync::Mutex<std::collections::HashMap<String, std::sync::Arc<tokio::sync::Mutex<()>>>>,
    >,
}

impl SingleFlight {
    /// The lock of a key; hold it while fetching.
    pub fn lock_for(&self, key: &str) -> std::sync::Arc<tokio::sync::Mutex<()>> {
        self.locks
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(key.to_string())
            .or_default()
            .clone()
    }
}
