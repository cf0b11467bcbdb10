//! Organizations and the people in them: the business rules, as services over the database.

pub mod agents;
pub mod audit;
pub mod bootstrap;
pub mod connections;
pub mod departments;
pub mod directory;
pub mod flags;
pub mod members;
pub mod organizations;
pub mod roles;
pub mod rules;
pub mod workspaces;
