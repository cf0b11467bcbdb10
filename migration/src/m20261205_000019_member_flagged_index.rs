//! Members flagged by a sync (`name_changed`: the provider renamed them; `to_be_deleted`: they
//! are gone from the provider) are found through a partial index that holds only them, for the
//! member filters `nameChanged` and `toBeDeleted`. Everyone else stays out of it, so it costs
//! nothing to keep; on a large organization the few flagged members are read without walking
//! all the others.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// The partial index of flagged members.
const FLAGGED: &str = "ix_member_flagged";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_index(
                Index::create()
                    .name(FLAGGED)
                    .table("member")
                    .col("organization_id")
                    .and_where(Expr::col("name_changed").or(Expr::col("to_be_deleted")))
                    .take(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(Index::drop().name(FLAGGED).table("member").to_owned())
            .await
    }
}
