//! Authorization: the permission catalog, the built-in roles expressed in it, and the checks that
//! turn an authenticated [`Principal`](crate::auth::Principal) into an [`OrgAccess`] proof.

pub mod catalog;
pub mod check;
pub mod roles;

pub use catalog::Permission;
pub use check::{Grants, OrgAccess, WorkspaceAccess, require, require_workspace};
