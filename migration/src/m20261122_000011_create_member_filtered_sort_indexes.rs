//! Member lists filtered by user type or status and sorted by a date read the matching rows in
//! order from an index instead of sorting them: `(organization_id, user_type, joined_at, id)`
//! ("analysts, newest first") and `(organization_id, status, last_login_at, id)` ("active, by
//! last login"). They replace `(organization_id, user_type, id)` and
//! `(organization_id, status, id)`, which served the same filters and nothing else, so a member
//! write maintains as many indexes as before.

use crate::helpers::index;
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        index(
            manager,
            "member",
            &["organization_id", "user_type", "joined_at", "id"],
            false,
        )
        .await?;
        index(
            manager,
            "member",
            &["organization_id", "status", "last_login_at", "id"],
            false,
        )
        .await?;
        let db = manager.get_connection();
        db.execute_unprepared("DROP INDEX ix_member_organization_id_user_type_id")
            .await?;
        db.execute_unprepared("DROP INDEX ix_member_organization_id_status_id")
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        index(
            manager,
            "member",
            &["organization_id", "user_type", "id"],
            false,
        )
        .await?;
        index(
            manager,
            "member",
            &["organization_id", "status", "id"],
            false,
        )
        .await?;
        let db = manager.get_connection();
        db.execute_unprepared("DROP INDEX ix_member_organization_id_user_type_joined_at_id")
            .await?;
        db.execute_unprepared("DROP INDEX ix_member_organization_id_status_last_login_at_id")
            .await?;
        Ok(())
    }
}
