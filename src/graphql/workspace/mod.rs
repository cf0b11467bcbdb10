//! Workspaces.

pub mod mutation;
pub mod query;
pub mod types;

pub use mutation::WorkspaceMutation;
pub use query::WorkspaceQuery;
pub use types::Workspace;
