//! The audit trail: every change and security event is written as an `audit_event` row and
//! published to live subscribers of the same organization.

use crate::error::Result;
use entity::audit_event;
use sea_orm::{ActiveValue::Set, ConnectionTrait, EntityTrait};
use serde_json::Value;
use tokio::sync::broadcast;

/// Publishes written audit events to subscribers.
#[derive(Clone, Debug)]
pub struct AuditBus {
    sender: broadcast::Sender<audit_event::Model>,
}

impl Default for AuditBus {
    fn default() -> Self {
        Self {
            sender: broadcast::channel(1024).0,
        }
    }
}

impl AuditBus {
    /// A receiver of every event published from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<audit_event::Model> {
        self.sender.subscribe()
    }

    /// Publishes an event that has been committed.
    pub fn publish(&self, event: audit_event::Model) {
        // No receivers is normal; nothing to do then.
        let _ = self.sender.send(event);
    }
}

/// One event to record.
#[derive(Debug, Clone)]
pub struct AuditEntry {
    /// Organization it happened in.
    pub organization_id: i64,
    /// Acting member, if known.
    pub actor_member_id: Option<i64>,
    /// Action key, such as `auth.login`.
    pub action: &'static str,
    /// Kind of target, such as `member`.
    pub target_type: &'static str,
    /// Target id.
    pub target_id: Option<String>,
    /// Details.
    pub summary: Value,
    /// Client address.
    pub client_ip: Option<String>,
}

/// Writes an audit event and returns the stored row (publish it after the transaction commits).
pub async fn record<C: ConnectionTrait>(db: &C, entry: AuditEntry) -> Result<audit_event::Model> {
    let row = audit_event::ActiveModel {
        organization_id: Set(entry.organization_id),
        actor_member_id: Set(entry.actor_member_id),
        action: Set(entry.action.to_string()),
        target_type: Set(entry.target_type.to_string()),
        target_id: Set(entry.target_id),
        summary: Set(entry.summary),
        client_ip: Set(entry.client_ip),
        created_at: Set(chrono::Utc::now()),
        ..Default::default()
    };
    Ok(audit_event::Entity::insert(row)
        .exec_with_returning(db)
        .await?)
}

/// Filters of the audit trail.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    /// Only events older than this id (keyset cursor).
    pub before_id: Option<i64>,
    /// Only this actor.
    pub actor_member_id: Option<i64>,
    /// Only this action key.
    pub action: Option<String>,
    /// Only events at or after this time.
    pub since: Option<chrono::DateTime<chrono::Utc>>,
    /// Only events before this time.
    pub until: Option<chrono::DateTime<chrono::Utc>>,
}

/// One page of the organization's audit trail, newest first; returns the rows and whether more follow.
///
/// **Permissions**: `org.audit.view`, proven by `access`.
pub async fn list<C: ConnectionTrait>(
    db: &C,
    access: &crate::authz::OrgAccess,
    filter: &AuditFilter,
    limit: usize,
) -> Result<(Vec<audit_event::Model>, bool)> {
    use sea_orm::{ColumnTrait, QueryFilter, QueryOrder, QuerySelect};
    let mut query =
        audit_event::Entity::find().filter(audit_event::Column::OrganizationId.eq(access.org_id()));
    if let Some(id) = filter.before_id {
        query = query.filter(audit_event::Column::Id.lt(id));
    }
    if let Some(actor) = filter.actor_member_id {
        query = query.filter(audit_event::Column::ActorMemberId.eq(actor));
    }
    if let Some(action) = &filter.action {
        query = query.filter(audit_event::Column::Action.eq(action.as_str()));
    }
    if let Some(since) = filter.since {
        query = query.filter(audit_event::Column::CreatedAt.gte(since));
    }
    if let Some(until) = filter.until {
        query = query.filter(audit_event::Column::CreatedAt.lt(until));
    }
    let mut rows = query
        .order_by_desc(audit_event::Column::Id)
        .limit(limit as u64 + 1)
        .all(db)
        .await?;
    let has_more = rows.len() > limit;
    rows.truncate(limit);
    Ok((rows, has_more))
}

/// Who changes something and from where, handed to every service that writes: the client address
/// goes into the audit trail and committed events go to live subscribers.
#[derive(Debug, Clone)]
pub struct Change {
    /// Client address, if known.
    pub client_ip: Option<String>,
    /// The live feed.
    pub audit: AuditBus,
}

impl Change {
    /// Records a change an organization member made to one target (call inside the change's
    /// transaction; publish the returned event once it commits).
    pub async fn record<C: ConnectionTrait>(
        &self,
        db: &C,
        access: &crate::authz::OrgAccess,
        action: &'static str,
        target_type: &'static str,
        target_id: i64,
        summary: Value,
    ) -> Result<audit_event::Model> {
        record(
            db,
            AuditEntry {
                organization_id: access.org_id(),
                actor_member_id: Some(access.actor()),
                action,
                target_type,
                target_id: Some(target_id.to_string()),
                summary,
                client_ip: self.client_ip.clone(),
            },
        )
        .await
    }

    /// Publishes events after their transaction committed.
    pub fn published(&self, events: impl IntoIterator<Item = audit_event::Model>) {
        for event in events {
            self.audit.publish(event);
        }
    }
}
