//! Members as GraphQL sees them.

pub mod types;

pub use types::Member;
