//! Graph change-notification subscriptions: created for `/users` (and `/groups` when groups are
//! departments) with Roster's callback address and the connection's client state, renewed before
//! they lapse. Graph validates the address first (the `validationToken` handshake Roster's
//! callback answers), so a subscription only exists once Graph has reached Roster.

use super::{
    MicrosoftApp, MicrosoftClient,
    graph::{Needs, USERS},
};
use crate::{
    error::Result,
    providers::{directory::text, error},
};
use chrono::{DateTime, Utc};
use serde_json::{Value, json};

const PROVIDER: &str = "teams";

/// The longest a users or groups subscription may live (Graph: 41,760 minutes, under 29 days).
pub const MAX_LIFETIME_MINUTES: i64 = 41_760;

const GROUPS: Needs = Needs {
    what: "group change notifications",
    permission: "GroupMember.Read.All",
};

/// A subscription as Graph confirmed it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Subscription {
    /// Graph's id.
    pub id: String,
    /// `/users` or `/groups`.
    pub resource: String,
    /// When it lapses unless renewed.
    pub expires_at: DateTime<Utc>,
}

fn needs(resource: &str) -> Needs {
    if resource.starts_with("/groups") {
        GROUPS
    } else {
        USERS
    }
}

fn expiry(body: &Value) -> Option<DateTime<Utc>> {
    text(body, "expirationDateTime")
        .and_then(|t| DateTime::parse_from_rfc3339(&t).ok())
        .map(|t| t.with_timezone(&Utc))
}

impl MicrosoftClient {
    fn subscriptions_url(&self) -> String {
        format!(
            "{}/v1.0/subscriptions",
            self.urls.graph_url.trim_end_matches('/')
        )
    }

    /// Subscribes `notification_url` (also the lifecycle address) to changes of `resource`.
    pub async fn subscribe(
        &self,
        app: &MicrosoftApp,
        resource: &str,
        notification_url: &str,
        client_state: &str,
        expires_at: DateTime<Utc>,
    ) -> Result<Subscription> {
        let body = json!({
            "changeType": "created,updated,deleted",
            "notificationUrl": notification_url,
            "lifecycleNotificationUrl": notification_url,
            "resource": resource,
            "expirationDateTime": expires_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            "clientState": client_state,
        });
        let (status, created) = self
            .graph_call(
                app,
                reqwest::Method::POST,
                &self.subscriptions_url(),
                Some(&body),
                needs(resource),
            )
            .await?;
        match (status, text(&created, "id"), expiry(&created)) {
            (200..=299, Some(id), Some(expires_at)) => Ok(Subscription {
                id,
                resource: resource.to_string(),
                expires_at,
            }),
            _ => Err(error(
                PROVIDER,
                None,
                format!(
                    "Microsoft Graph did not confirm the subscription to {resource} (HTTP {status}); it is tried again later"
                ),
            )),
        }
    }

    /// Extends a subscription; `None` when Graph no longer has it (it must be created again).
    pub async fn renew(
        &self,
        app: &MicrosoftApp,
        subscription: &Subscription,
        expires_at: DateTime<Utc>,
    ) -> Result<Option<Subscription>> {
        let body = json!({
            "expirationDateTime": expires_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        });
        let url = format!("{}/{}", self.subscriptions_url(), subscription.id);
        let (status, renewed) = self
            .graph_call(
                app,
                reqwest::Method::PATCH,
                &url,
                Some(&body),
                needs(&subscription.resource),
            )
            .await?;
        if status == 404 {
            return Ok(None);
        }
        Ok(Some(Subscription {
            expires_at: expiry(&renewed).unwrap_or(expires_at),
            ..subscription.clone()
        }))
    }

    /// Ends a subscription (one Graph no longer has counts as ended).
    pub async fn unsubscribe(&self, app: &MicrosoftApp, subscription: &Subscription) -> Result<()> {
        let url = format!("{}/{}", self.subscriptions_url(), subscription.id);
        self.graph_call(
            app,
            reqwest::Method::DELETE,
            &url,
            None,
            needs(&subscription.resource),
        )
        .await
        .map(|_| ())
    }
}
