//! Contacts sync: runs, their progress, the directory mirror and adding people from it.

pub mod schema;

pub use schema::{SyncMutation, SyncQuery, SyncSubscription};
