//! Department leaders as the provider names them, mirrored with each department so that a
//! department event (which carries no people) can still set the leader in the department tree.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table("directory_department")
                    .add_column(json_null("leaders"))
                    .take(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table("directory_department")
                    .drop_column("leaders")
                    .take(),
            )
            .await
    }
}
