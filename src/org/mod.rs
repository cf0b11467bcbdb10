//! Organizations and the people in them: the business rules, as services over the database.

pub mod audit;
pub mod bootstrap;
pub mod members;
pub mod organizations;
