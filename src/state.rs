//! The shared state of a running server: settings, the database pool and the services built on it.

use crate::{
    auth::{jwt::TokenIssuer, keys::KeyStore, throttle::LoginThrottle},
    config::Settings,
    org::audit::AuditBus,
    secrets::SecretBox,
};
use sea_orm::DatabaseConnection;
use std::sync::Arc;

/// Everything a request handler or background task needs; cheap to clone.
#[derive(Clone)]
pub struct AppState {
    /// The settings the server started with.
    pub settings: Arc<Settings>,
    /// The database pool.
    pub db: DatabaseConnection,
    /// On PostgreSQL, the pools of member pages planned for their values
    /// ([`crate::db::connect_planned`]).
    pub planned: Option<crate::db::PlannedPools>,
    /// Signing keys.
    pub keys: Arc<KeyStore>,
    /// Access token issuer and verifier.
    pub tokens: TokenIssuer,
    /// Master-key encryption of secrets at rest.
    pub secrets: SecretBox,
    /// Failed-login counters.
    pub throttle: Arc<LoginThrottle>,
    /// Live feed of audit events for subscriptions.
    pub audit: AuditBus,
    /// Provider clients.
    pub providers: crate::providers::Providers,
    /// Live progress of sync runs and this instance's lease name.
    pub sync: crate::sync::SyncHub,
    /// SQL statements run so far.
    pub statements: crate::db::StatementCounter,
    /// What member pages lately learned that picks a later page's plan (large sub-trees,
    /// keywords matching fewer members than a page).
    pub plan_hints: Arc<crate::org::members::PlanHints>,
    /// Wakes the planner-statistics task before its minute is up (see [`AppState::tables_grew`]).
    pub statistics_due: Arc<tokio::sync::Notify>,
}

impl AppState {
    /// What a member page reads with.
    pub fn page_reads(&self) -> crate::org::members::PageReads<'_> {
        crate::org::members::PageReads {
            db: &self.db,
            planned: self.planned.as_ref(),
            hints: &self.plan_hints,
        }
    }

    /// Says that many rows were just added (an import, a sync, people added from the directory),
    /// so that SQLite's planner statistics are checked now rather than within the minute: a new
    /// organization's tables were analyzed nearly empty, and until they are analyzed again its
    /// pages are planned as if they still were.
    pub fn tables_grew(&self) {
        self.statistics_due.notify_one();
    }
}
