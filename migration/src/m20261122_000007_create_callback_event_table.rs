//! Provider callbacks already applied, so that a redelivered event (DingTalk and WeCom retry
//! until they get the reply they expect) is applied once: the key is unique per connection.

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
                    .table("callback_event")
                    .col(big_pk_auto("id"))
                    .col(big_integer("connection_id"))
                    .col(string_len("event_key", 200))
                    .col(string_len("event_type", 64))
                    .col(timestamp_with_time_zone("received_at"))
                    .foreign_key(&mut fk_cascade(
                        "callback_event",
                        "connection_id",
                        "connection",
                    ))
                    .take(),
            )
            .await?;
        index(
            manager,
            "callback_event",
            &["connection_id", "event_key"],
            true,
        )
        .await?;
        index(manager, "callback_event", &["received_at"], false).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table("callback_event").take())
            .await
    }
}
