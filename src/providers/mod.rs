//! Clients of the identity providers. They know HTTP and the providers' envelopes, nothing of
//! GraphQL; failures come back as [`Error::Provider`](crate::error::Error::Provider) explained in
//! plain words with the provider's own code kept. Base URLs come from configuration so that
//! tests and local development talk to the sandbox.

pub mod dingtalk;
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
        Ok(Self {
            dingtalk: dingtalk::DingtalkClient::new(http.clone(), settings.dingtalk.clone()),
            wecom: wecom::WecomClient::new(http.clone(), settings.wecom.clone()),
            microsoft: microsoft::MicrosoftClient::new(http, settings.microsoft.clone()),
        })
    }
}

/// A provider error with a plain explanation.
pub fn error(provider: &'static str, errcode: Option<String>, message: impl Into<String>) -> Error {
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
