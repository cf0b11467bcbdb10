//! One-time passwords expire: a password an administrator handed out (or Roster generated for an
//! import, a new member or a reset) stops letting its holder in after a configurable time
//! (`ROSTER_LOGIN__ONE_TIME_PASSWORD_TTL_SECS`). `NULL` means it does not expire: passwords people
//! chose themselves, the first administrator's, and one-time passwords issued before this
//! migration.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table("user")
                    .add_column(timestamp_with_time_zone_null("password_expires_at"))
                    .take(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table("user")
                    .drop_column("password_expires_at")
                    .take(),
            )
            .await
    }
}
