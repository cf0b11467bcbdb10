//! Short-lived downloads: member exports, spreadsheet templates and problem reports. A row holds
//! either what to generate (`params`, for exports and templates, built when the link is opened) or
//! the finished file (`content`, for problem reports). Rows are purged after `expires_at`.

use crate::helpers::{fk_cascade, index};
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("download")
                    .col(string_len("id", 32).primary_key())
                    .col(big_integer("organization_id"))
                    .col(big_integer("member_id"))
                    .col(string_len("kind", 32))
                    .col(string_len("file_name", 255))
                    .col(text_null("params"))
                    .col(binary_null("content"))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone("expires_at"))
                    .foreign_key(&mut fk_cascade(
                        "download",
                        "organization_id",
                        "organization",
                    ))
                    .foreign_key(&mut fk_cascade("download", "member_id", "member"))
                    .take(),
            )
            .await?;
        index(manager, "download", &["expires_at"], false).await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table("download").take())
            .await
    }
}
