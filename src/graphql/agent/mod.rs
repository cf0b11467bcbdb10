//! Agents and their seats.

pub mod schema;

pub use schema::{AgentMutation, AgentQuery};
