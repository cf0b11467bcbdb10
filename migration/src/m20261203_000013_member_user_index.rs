//! One index on a member's user instead of two: `(user_id)` (a user's organizations) and the
//! unique `(organization_id, user_id)` (one membership per user and organization) become the unique
//! `(user_id, organization_id)`, which answers both. Every member insert and every update that is
//! not HOT on PostgreSQL writes one index entry fewer.

use crate::helpers::index;
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        index(manager, "member", &["user_id", "organization_id"], true).await?;
        let db = manager.get_connection();
        db.execute_unprepared("DROP INDEX ux_member_organization_id_user_id")
            .await?;
        db.execute_unprepared("DROP INDEX ix_member_user_id")
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        index(manager, "member", &["organization_id", "user_id"], true).await?;
        index(manager, "member", &["user_id"], false).await?;
        manager
            .get_connection()
            .execute_unprepared("DROP INDEX ux_member_user_id_organization_id")
            .await
            .map(|_| ())
    }
}
