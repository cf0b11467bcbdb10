//! Pushing local changes to DingTalk: the `push_enabled` switch on a connection, and the outbox
//! of changes waiting for delivery, written in the same transaction as the change itself.

use crate::helpers::{fk_cascade, index};
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table("connection")
                    .add_column(boolean("push_enabled").default(false))
                    .take(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("outbox_item")
                    .col(big_pk_auto("id"))
                    .col(big_integer("organization_id"))
                    .col(big_integer("connection_id"))
                    .col(string_len("object_type", 16))
                    .col(big_integer("object_id"))
                    .col(string_len("action", 16))
                    .col(json("payload"))
                    .col(string_len("status", 16))
                    .col(integer("attempts"))
                    .col(timestamp_with_time_zone("next_attempt_at"))
                    .col(string_len_null("last_errcode", 64))
                    .col(text_null("last_error"))
                    .col(string_len_null("external_id", 64))
                    .col(big_integer_null("actor_member_id"))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone_null("delivered_at"))
                    .foreign_key(&mut fk_cascade(
                        "outbox_item",
                        "connection_id",
                        "connection",
                    ))
                    .foreign_key(&mut fk_cascade(
                        "outbox_item",
                        "organization_id",
                        "organization",
                    ))
                    .take(),
            )
            .await?;
        index(
            manager,
            "outbox_item",
            &["connection_id", "status", "id"],
            false,
        )
        .await?;
        index(
            manager,
            "outbox_item",
            &["status", "next_attempt_at"],
            false,
        )
        .await?;
        index(manager, "outbox_item", &["organization_id", "id"], false).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table("outbox_item").take())
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table("connection")
                    .drop_column("push_enabled")
                    .take(),
            )
            .await
    }
}
