//! Members: the list, one member, and every change an administrator makes.

pub mod inputs;
pub mod mutation;
pub mod query;
pub mod types;

pub use mutation::MemberMutation;
pub use query::MemberQuery;
pub use types::Member;
