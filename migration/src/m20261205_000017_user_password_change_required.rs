//! One-time passwords: a person whose password Roster generated (the first administrator, a member
//! created or imported without a password, a password reset by an administrator) must choose their
//! own before doing anything else. The flag is cleared by `changePassword`.

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
                    .add_column(boolean("password_change_required").default(false))
                    .take(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table("user")
                    .drop_column("password_change_required")
                    .take(),
            )
            .await
    }
}
