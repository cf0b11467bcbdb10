//! A provider account of a user: unique per provider, corp/tenant and provider user id.

use sea_orm::entity::prelude::*;

use crate::enums::*;
/// A provider account of a user: unique per provider, corp/tenant and provider user id.
#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "identity")]
pub struct Model {
    /// Surrogate key.
    #[sea_orm(primary_key)]
    pub id: i64,
    /// The person.
    pub user_id: i64,
    /// Which provider.
    pub provider: Provider,
    /// Corp or tenant id the provider user id belongs to.
    pub tenant: String,
    /// The provider user id (kept as a string: DingTalk ids may start with 0).
    pub provider_user_id: String,
    /// DingTalk unionId, shared across enterprises.
    pub union_id: Option<String>,
    /// When it was first seen.
    pub created_at: DateTimeUtc,
}

impl ActiveModelBehavior for ActiveModel {}
