//! One recorded change or security event in an organization.

use sea_orm::entity::prelude::*;

/// One recorded change or security event in an organization.
#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "audit_event")]
pub struct Model {
    /// Surrogate key.
    #[sea_orm(primary_key)]
    pub id: i64,
    /// Organization it happened in.
    pub organization_id: i64,
    /// Acting member, if any (none for anonymous failures).
    pub actor_member_id: Option<i64>,
    /// Action key such as `auth.login`.
    pub action: String,
    /// Kind of target, such as `member`.
    pub target_type: String,
    /// Target id, if any.
    pub target_id: Option<String>,
    /// Summary of before/after or details, as JSON.
    pub summary: Json,
    /// Client address, if known.
    pub client_ip: Option<String>,
    /// When it happened.
    pub created_at: DateTimeUtc,
}

impl ActiveModelBehavior for ActiveModel {}
