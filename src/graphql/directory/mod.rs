//! Role groups and directory roles (the positions of the organization chart).

pub mod schema;

pub use schema::{DirectoryMutation, DirectoryQuery};
