//! The audit trail: paged history and a live feed.

pub mod query;
pub mod subscription;
pub mod types;

pub use query::AuditQuery;
pub use subscription::AuditSubscription;
