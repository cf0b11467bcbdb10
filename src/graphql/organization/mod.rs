//! Organizations: the caller's own and the list they can switch between.

pub mod mutation;
pub mod query;
pub mod types;

pub use mutation::OrganizationMutation;
pub use query::OrganizationQuery;
pub use types::Organization;
