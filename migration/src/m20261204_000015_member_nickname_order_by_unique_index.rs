//! The member list orders nicknames regardless of letter case, by `lower(nickname)`: the
//! expression of the unique index on `(organization_id, lower(nickname))` (migration 000006),
//! which then serves that order and its cursors. The index on `(organization_id, nickname, id)`
//! that served the case-sensitive order (migration 000010) goes, so every member insert, and
//! every update that is not HOT on PostgreSQL, writes one index entry fewer.

use crate::helpers::index;
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared("DROP INDEX ix_member_organization_id_nickname_id")
            .await
            .map(|_| ())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        index(
            manager,
            "member",
            &["organization_id", "nickname", "id"],
            false,
        )
        .await
    }
}
