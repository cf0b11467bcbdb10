//! Nicknames are unique per organization regardless of case. This unique index on
//! `(organization_id, lower(nickname))` (SQLite and PostgreSQL both index expressions) makes the
//! database enforce exactly that rule — also between concurrent edits — and serves every
//! uniqueness check, one name on an edit or thousands in a batch update, without a scan. It
//! replaces the case-sensitive unique index of the first migration.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        db.execute_unprepared(
            "CREATE UNIQUE INDEX ux_member_organization_id_lower_nickname ON member (organization_id, lower(nickname))",
        )
        .await?;
        db.execute_unprepared("DROP INDEX ux_member_organization_id_nickname")
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        db.execute_unprepared(
            "CREATE UNIQUE INDEX ux_member_organization_id_nickname ON member (organization_id, nickname)",
        )
        .await?;
        db.execute_unprepared("DROP INDEX ux_member_organization_id_lower_nickname")
            .await?;
        Ok(())
    }
}
