//! The sea-orm entities of Roster: one module per table, plain data with no behaviour.
//!
//! Business rules live in the `roster` crate's services; the enums stored in columns live in
//! [`enums`]. Ids are `i64` surrogate keys; every organization-owned row carries `organization_id`
//! so that queries can be scoped to the caller's organization without a join.

pub mod enums;
pub mod prelude;

pub mod agent;
pub mod agent_seat;
pub mod audit_event;
pub mod callback_event;
pub mod connection;
pub mod department;
pub mod department_member;
pub mod directory_contact;
pub mod directory_department;
pub mod directory_role;
pub mod directory_role_member;
pub mod download;
pub mod identity;
pub mod lease;
pub mod login_state;
pub mod login_ticket;
pub mod member;
pub mod member_tag;
pub mod organization;
pub mod outbox_item;
pub mod refresh_token;
pub mod role;
pub mod role_group;
pub mod role_permission;
pub mod signing_key;
pub mod sub_tree_member;
pub mod sync_run;
pub mod user;
pub mod workspace;
pub mod workspace_member;
