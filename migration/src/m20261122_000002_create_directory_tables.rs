//! Provider connections and what sync keeps: connection, directory_department,
//! directory_contact, sync_run, and the audit trail (audit_event).

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
                    .table("connection")
                    .col(big_pk_auto("id"))
                    .col(big_integer("organization_id"))
                    .col(string_len("provider", 16))
                    .col(string_len("name", 100))
                    .col(string_len("corp_id", 128))
                    .col(string_len_null("agent_id", 64))
                    .col(string_len_null("client_id", 128))
                    .col(text_null("client_secret_enc"))
                    .col(text_null("callback_token_enc"))
                    .col(text_null("callback_aes_key_enc"))
                    .col(string_len("auto_add_policy", 16))
                    .col(json("settings"))
                    .col(boolean("enabled").default(true))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone("updated_at"))
                    .foreign_key(&mut fk_cascade(
                        "connection",
                        "organization_id",
                        "organization",
                    ))
                    .take(),
            )
            .await?;
        index(manager, "connection", &["organization_id"], false).await?;
        index(
            manager,
            "connection",
            &["provider", "corp_id", "client_id"],
            true,
        )
        .await?;

        manager
            .create_table(
                Table::create()
                    .table("directory_department")
                    .col(big_pk_auto("id"))
                    .col(big_integer("organization_id"))
                    .col(big_integer("connection_id"))
                    .col(string_len("external_id", 128))
                    .col(string_len_null("parent_external_id", 128))
                    .col(string_len("name", 200))
                    .col(big_integer("sort_order").default(0))
                    .col(string_len("content_hash", 64))
                    .col(boolean("name_changed").default(false))
                    .col(boolean("to_be_deleted").default(false))
                    .col(timestamp_with_time_zone("synced_at"))
                    .foreign_key(&mut fk_cascade(
                        "directory_department",
                        "connection_id",
                        "connection",
                    ))
                    .take(),
            )
            .await?;
        index(
            manager,
            "directory_department",
            &["connection_id", "external_id"],
            true,
        )
        .await?;
        index(
            manager,
            "directory_department",
            &["organization_id", "name"],
            false,
        )
        .await?;

        manager
            .create_table(
                Table::create()
                    .table("directory_contact")
                    .col(big_pk_auto("id"))
                    .col(big_integer("organization_id"))
                    .col(big_integer("connection_id"))
                    .col(string_len("external_id", 128))
                    .col(string_len_null("union_id", 128))
                    .col(string_len("name", 200))
                    .col(string_len_null("email", 254))
                    .col(string_len_null("phone", 32))
                    .col(string_len_null("title", 200))
                    .col(json("department_external_ids"))
                    .col(boolean("active").default(true))
                    .col(string_len("content_hash", 64))
                    .col(boolean("name_changed").default(false))
                    .col(boolean("to_be_deleted").default(false))
                    .col(timestamp_with_time_zone("synced_at"))
                    .foreign_key(&mut fk_cascade(
                        "directory_contact",
                        "connection_id",
                        "connection",
                    ))
                    .take(),
            )
            .await?;
        index(
            manager,
            "directory_contact",
            &["connection_id", "external_id"],
            true,
        )
        .await?;
        index(
            manager,
            "directory_contact",
            &["organization_id", "name"],
            false,
        )
        .await?;
        index(manager, "directory_contact", &["union_id"], false).await?;

        manager
            .create_table(
                Table::create()
                    .table("sync_run")
                    .col(big_pk_auto("id"))
                    .col(big_integer("organization_id"))
                    .col(big_integer("connection_id"))
                    .col(string_len("trigger", 16))
                    .col(big_integer_null("actor_member_id"))
                    .col(string_len("status", 16))
                    .col(timestamp_with_time_zone("started_at"))
                    .col(timestamp_with_time_zone_null("finished_at"))
                    .col(integer("added").default(0))
                    .col(integer("updated").default(0))
                    .col(integer("flagged").default(0))
                    .col(integer("removed").default(0))
                    .col(json("errors"))
                    .foreign_key(&mut fk_cascade("sync_run", "connection_id", "connection"))
                    .take(),
            )
            .await?;
        index(
            manager,
            "sync_run",
            &["organization_id", "started_at"],
            false,
        )
        .await?;
        index(manager, "sync_run", &["connection_id", "started_at"], false).await?;

        manager
            .create_table(
                Table::create()
                    .table("audit_event")
                    .col(big_pk_auto("id"))
                    .col(big_integer("organization_id"))
                    .col(big_integer_null("actor_member_id"))
                    .col(string_len("action", 64))
                    .col(string_len("target_type", 32))
                    .col(string_len_null("target_id", 64))
                    .col(json("summary"))
                    .col(string_len_null("client_ip", 64))
                    .col(timestamp_with_time_zone("created_at"))
                    .foreign_key(&mut fk_cascade(
                        "audit_event",
                        "organization_id",
                        "organization",
                    ))
                    .take(),
            )
            .await?;
        index(
            manager,
            "audit_event",
            &["organization_id", "created_at"],
            false,
        )
        .await?;
        index(
            manager,
            "audit_event",
            &["organization_id", "actor_member_id", "created_at"],
            false,
        )
        .await?;
        index(
            manager,
            "audit_event",
            &["organization_id", "action", "created_at"],
            false,
        )
        .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            "audit_event",
            "sync_run",
            "directory_contact",
            "directory_department",
            "connection",
        ] {
            manager
                .drop_table(Table::drop().table(table).take())
                .await?;
        }
        Ok(())
    }
}
