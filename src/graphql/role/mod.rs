//! Access roles and the permission catalog.

pub mod mutation;
pub mod query;
pub mod types;

pub use mutation::RoleMutation;
pub use query::RoleQuery;
pub use types::Role;
