//! The `AuditEvent` object.

use async_graphql::{ID, Json, Object};
use chrono::{DateTime, Utc};
use entity::audit_event;

/// One recorded change or security event.
pub struct AuditEvent(pub audit_event::Model);

#[Object]
impl AuditEvent {
    /// Event id.
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }

    /// Acting member id; null for anonymous events.
    async fn actor_member_id(&self) -> Option<ID> {
        self.0.actor_member_id.map(|id| ID(id.to_string()))
    }

    /// Action key, such as `auth.login`.
    async fn action(&self) -> &str {
        &self.0.action
    }

    /// Kind of target, such as `member`.
    async fn target_type(&self) -> &str {
        &self.0.target_type
    }

    /// Target id.
    async fn target_id(&self) -> Option<&str> {
        self.0.target_id.as_deref()
    }

    /// Details (before/after summary).
    async fn summary(&self) -> Json<serde_json::Value> {
        Json(self.0.summary.clone())
    }

    /// Client address, if known.
    async fn client_ip(&self) -> Option<&str> {
        self.0.client_ip.as_deref()
    }

    /// When it happened.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}
