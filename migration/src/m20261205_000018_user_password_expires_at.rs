//! One-time passwords expire: a password an administrator handed out (or Roster generated for an
//! import, a new member or a reset) stops letting its holder in after a configurable time
//! (`ROSTER_LOGIN__ONE_TIME_PASSWORD_TTL_SECS`). `NULL` means it does not expire: passwords people
//! chose themselves, the first administrator's, and one-time passwords issued before this
//! migration.
//!
//! A partial index holds the few people with a one-time password, by expiry, for the member
//! filter `oneTimePasswords`; everyone else stays out of it, so it costs nothing to keep.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// The partial index of the people holding a one-time password.
const ONE_TIME: &str = "ix_user_one_time_password";

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
            .await?;
        manager
            .create_index(
                Index::create()
                    .name(ONE_TIME)
                    .table("user")
                    .col("password_expires_at")
                    .and_where(Expr::col("password_change_required"))
                    .take(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(Index::drop().name(ONE_TIME).table("user").to_owned())
            .await?;
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
