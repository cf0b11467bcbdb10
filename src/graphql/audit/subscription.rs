//! The `auditEventAdded` subscription.

use super::types::AuditEvent;
use crate::{
    authz::Permission,
    graphql::{guard::access, state},
};
use async_graphql::{Context, Result, Subscription};
use futures_util::Stream;
use tokio::sync::broadcast::error::RecvError;

/// Audit subscriptions.
#[derive(Default)]
pub struct AuditSubscription;

#[Subscription]
impl AuditSubscription {
    /// Audit events of the caller's organization as they are written.
    ///
    /// **Permissions**: `org.audit.view` (organization administrators).
    async fn audit_event_added(
        &self,
        ctx: &Context<'_>,
    ) -> Result<impl Stream<Item = AuditEvent> + use<>> {
        let org = access(ctx, Permission::ViewAudit)?.org_id();
        let receiver = state(ctx)?.audit.subscribe();
        Ok(futures_util::stream::unfold(
            receiver,
            move |mut rx| async move {
                loop {
                    match rx.recv().await {
                        Ok(event) if event.organization_id == org => {
                            return Some((AuditEvent(event), rx));
                        }
                        Ok(_) | Err(RecvError::Lagged(_)) => continue,
                        Err(RecvError::Closed) => return None,
                    }
                }
            },
        ))
    }
}
