//! `me`: who the caller is and what they may do.

pub mod query;
pub mod types;

pub use query::MeQuery;
