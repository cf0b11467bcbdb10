//! The `auditEvents` query.

use super::types::AuditEvent;
use crate::{
    authz::Permission,
    graphql::{
        connection::{decode_id, encode_id, page_size},
        guard::{PermissionGuard, access},
        parse_id, state,
    },
    org::audit::{self, AuditFilter},
};
use async_graphql::{
    Context, ID, Object, Result,
    connection::{Connection, Edge, EmptyFields},
};
use chrono::{DateTime, Utc};

/// Audit queries.
#[derive(Default)]
pub struct AuditQuery;

#[Object]
impl AuditQuery {
    /// The organization's audit trail, newest first, filterable by actor, action and time.
    ///
    /// **Permissions**: `org.audit.view` (organization administrators).
    #[graphql(guard = "PermissionGuard::org(Permission::ViewAudit)")]
    #[allow(clippy::too_many_arguments)]
    async fn audit_events(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        actor: Option<ID>,
        action: Option<String>,
        since: Option<DateTime<Utc>>,
        until: Option<DateTime<Utc>>,
    ) -> Result<Connection<String, AuditEvent, EmptyFields, EmptyFields>> {
        let access = access(ctx, Permission::ViewAudit)?;
        let limit = page_size("first", first)?;
        let filter = AuditFilter {
            before_id: after
                .as_deref()
                .map(|c| decode_id("after", c))
                .transpose()?,
            actor_member_id: actor.map(|id| parse_id(&id, "member")).transpose()?,
            action,
            since,
            until,
        };
        let (rows, has_more) = audit::list(&state(ctx)?.db, &access, &filter, limit).await?;
        let mut connection = Connection::new(filter.before_id.is_some(), has_more);
        connection.edges.extend(
            rows.into_iter()
                .map(|row| Edge::new(encode_id(row.id), AuditEvent(row))),
        );
        Ok(connection)
    }
}
