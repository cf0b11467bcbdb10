//! Departments and the directory search.

pub mod mutation;
pub mod query;
pub mod types;

pub use mutation::DepartmentMutation;
pub use query::DepartmentQuery;
pub use types::Department;
