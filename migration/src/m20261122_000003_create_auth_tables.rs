//! Tokens and login state: refresh_token, signing_key, login_state, login_ticket, and the
//! lease table that makes work run once across instances.

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
                    .table("refresh_token")
                    .col(big_pk_auto("id"))
                    .col(big_integer("member_id"))
                    .col(big_integer("organization_id"))
                    .col(string_len_uniq("token_hash", 64))
                    .col(string_len("family", 64))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone("expires_at"))
                    .col(timestamp_with_time_zone_null("revoked_at"))
                    .foreign_key(&mut fk_cascade("refresh_token", "member_id", "member"))
                    .take(),
            )
            .await?;
        index(manager, "refresh_token", &["member_id"], false).await?;
        index(manager, "refresh_token", &["family"], false).await?;

        manager
            .create_table(
                Table::create()
                    .table("signing_key")
                    .col(big_pk_auto("id"))
                    .col(string_len_uniq("kid", 64))
                    .col(string_len("algorithm", 16))
                    .col(text("private_key_enc"))
                    .col(string_len("public_key", 128))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone_null("retired_at"))
                    .take(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("login_state")
                    .col(string_len("state", 64).primary_key())
                    .col(big_integer("connection_id"))
                    .col(text("redirect_uri"))
                    .col(text_null("pkce_verifier_enc"))
                    .col(string_len_null("nonce", 64))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone("expires_at"))
                    .col(timestamp_with_time_zone_null("consumed_at"))
                    .foreign_key(&mut fk_cascade(
                        "login_state",
                        "connection_id",
                        "connection",
                    ))
                    .take(),
            )
            .await?;
        index(manager, "login_state", &["expires_at"], false).await?;

        manager
            .create_table(
                Table::create()
                    .table("login_ticket")
                    .col(string_len("ticket_hash", 64).primary_key())
                    .col(big_integer("member_id"))
                    .col(big_integer("organization_id"))
                    .col(timestamp_with_time_zone("expires_at"))
                    .col(timestamp_with_time_zone_null("consumed_at"))
                    .foreign_key(&mut fk_cascade("login_ticket", "member_id", "member"))
                    .take(),
            )
            .await?;
        index(manager, "login_ticket", &["expires_at"], false).await?;

        manager
            .create_table(
                Table::create()
                    .table("lease")
                    .col(string_len("name", 128).primary_key())
                    .col(string_len("holder", 64))
                    .col(timestamp_with_time_zone("expires_at"))
                    .take(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            "lease",
            "login_ticket",
            "login_state",
            "signing_key",
            "refresh_token",
        ] {
            manager
                .drop_table(Table::drop().table(table).take())
                .await?;
        }
        Ok(())
    }
}
