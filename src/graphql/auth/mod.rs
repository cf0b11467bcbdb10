//! Login, token refresh, logout and password change.

pub mod mutation;
pub mod types;

pub use mutation::AuthMutation;
