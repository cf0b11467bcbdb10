//! Provider connections, login options and login tickets (named `provider` because `connection` holds the Relay cursor helpers).

pub mod schema;

pub use schema::{ConnectionMutation, ConnectionQuery};
