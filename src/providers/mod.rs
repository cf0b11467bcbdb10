//! Clients of the identity providers. They know HTTP and the providers' envelopes, nothing of
//! GraphQL; failures come back as [`Error::Provider`](crate::error::Error::Provider) explained in
//! plain words with the provider's own code kept. Base URLs come from configuration so that
//! tests and local development talk to the sandbox.

pub mod dingtalk;
pub mod token_cache;

use crate::{config::ProviderSettings, error::Error};
use std::time::Duration;

/// The provider clients of a server.
#[derive(Clone)]
pub struct Providers {
    /// DingTalk.
    pub dingtalk: dingtalk::DingtalkClient,
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
            dingtalk: dingtalk::DingtalkClient::new(http, settings.dingtalk.clone()),
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
