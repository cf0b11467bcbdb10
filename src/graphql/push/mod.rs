//! Pushing local changes to DingTalk: the outbox, its retries and discards, and the switch.

pub mod schema;

pub use schema::{PushMutation, PushQuery};
