//! A department in an organization tree; `path` holds the ancestor ids for subtree queries.

use sea_orm::entity::prelude::*;

/// A department in an organization tree; `path` holds the ancestor ids for subtree queries.
#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "department")]
pub struct Model {
    /// Surrogate key.
    #[sea_orm(primary_key)]
    pub id: i64,
    /// Owning organization.
    pub organization_id: i64,
    /// Parent department; `None` for a top-level department.
    pub parent_id: Option<i64>,
    /// Name, unique among siblings.
    pub name: String,
    /// Materialized ancestry such as `/3/17/` (own id last), for subtree filters.
    pub path: String,
    /// Position among siblings.
    pub sort_order: i32,
    /// Provider department id, for synced departments.
    pub external_id: Option<String>,
    /// The connection it was synced from, if any.
    pub source_connection_id: Option<i64>,
    /// Department leader, if set.
    pub leader_member_id: Option<i64>,
    /// Set by sync when the provider renamed it.
    pub name_changed: bool,
    /// Set by sync when it is gone from the provider.
    pub to_be_deleted: bool,
    /// When it was created.
    pub created_at: DateTimeUtc,
}

impl ActiveModelBehavior for ActiveModel {}
