//! Organizations, people and access control: organization, user, identity, role,
//! role_permission, member, department, department_member, role_group, directory_role,
//! directory_role_member, workspace, workspace_member, member_tag, agent, agent_seat.

use crate::helpers::{fk_cascade, fk_restrict, fk_set_null, index};
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("organization")
                    .col(big_pk_auto("id"))
                    .col(string_len("name", 100))
                    .col(string_len("kind", 16))
                    .col(big_integer_null("leader_member_id"))
                    .col(boolean("allow_self_registration").default(false))
                    .col(integer_null("seat_limit"))
                    .col(json("redirect_allow_list"))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone("updated_at"))
                    .take(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("user")
                    .col(big_pk_auto("id"))
                    .col(string_len("name", 100))
                    .col(text_null("avatar_url"))
                    .col(text_null("password_hash"))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone("updated_at"))
                    .take(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("identity")
                    .col(big_pk_auto("id"))
                    .col(big_integer("user_id"))
                    .col(string_len("provider", 16))
                    .col(string_len("tenant", 128))
                    .col(string_len("provider_user_id", 128))
                    .col(string_len_null("union_id", 128))
                    .col(timestamp_with_time_zone("created_at"))
                    .foreign_key(&mut fk_cascade("identity", "user_id", "user"))
                    .take(),
            )
            .await?;
        index(
            manager,
            "identity",
            &["provider", "tenant", "provider_user_id"],
            true,
        )
        .await?;
        index(manager, "identity", &["provider", "union_id"], false).await?;
        index(manager, "identity", &["user_id"], false).await?;

        manager
            .create_table(
                Table::create()
                    .table("role")
                    .col(big_pk_auto("id"))
                    .col(big_integer_null("organization_id"))
                    .col(string_len("scope", 16))
                    .col(string_len_null("builtin_key", 32))
                    .col(string_len("name", 100))
                    .col(text("description"))
                    .col(timestamp_with_time_zone("created_at"))
                    .foreign_key(&mut fk_cascade("role", "organization_id", "organization"))
                    .take(),
            )
            .await?;
        index(manager, "role", &["builtin_key"], true).await?;
        index(manager, "role", &["organization_id", "scope"], false).await?;

        manager
            .create_table(
                Table::create()
                    .table("role_permission")
                    .col(big_integer("role_id"))
                    .col(string_len("permission", 64))
                    .primary_key(Index::create().col("role_id").col("permission"))
                    .foreign_key(&mut fk_cascade("role_permission", "role_id", "role"))
                    .take(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("member")
                    .col(big_pk_auto("id"))
                    .col(big_integer("organization_id"))
                    .col(big_integer("user_id"))
                    .col(string_len("account", 100))
                    .col(string_len("nickname", 50))
                    .col(string_len("name", 100))
                    .col(string_len("user_type", 16))
                    .col(big_integer("role_id"))
                    .col(string_len("status", 16))
                    .col(string_len_null("email", 254))
                    .col(string_len_null("phone", 32))
                    .col(string_len_null("employee_no", 64))
                    .col(string_len_null("position", 100))
                    .col(string_len("account_type", 16))
                    .col(big_integer_null("source_connection_id"))
                    .col(timestamp_with_time_zone("joined_at"))
                    .col(timestamp_with_time_zone_null("last_login_at"))
                    .col(boolean("name_changed").default(false))
                    .col(boolean("to_be_deleted").default(false))
                    .col(timestamp_with_time_zone("updated_at"))
                    .foreign_key(&mut fk_cascade("member", "organization_id", "organization"))
                    .foreign_key(&mut fk_restrict("member", "user_id", "user"))
                    .foreign_key(&mut fk_restrict("member", "role_id", "role"))
                    .take(),
            )
            .await?;
        index(manager, "member", &["organization_id", "account"], true).await?;
        index(manager, "member", &["organization_id", "nickname"], true).await?;
        index(manager, "member", &["organization_id", "user_id"], true).await?;
        index(
            manager,
            "member",
            &["organization_id", "status", "id"],
            false,
        )
        .await?;
        index(
            manager,
            "member",
            &["organization_id", "user_type", "id"],
            false,
        )
        .await?;
        index(
            manager,
            "member",
            &["organization_id", "role_id", "id"],
            false,
        )
        .await?;
        index(
            manager,
            "member",
            &["organization_id", "joined_at", "id"],
            false,
        )
        .await?;
        index(
            manager,
            "member",
            &["organization_id", "last_login_at", "id"],
            false,
        )
        .await?;
        index(manager, "member", &["user_id"], false).await?;

        manager
            .create_table(
                Table::create()
                    .table("department")
                    .col(big_pk_auto("id"))
                    .col(big_integer("organization_id"))
                    .col(big_integer_null("parent_id"))
                    .col(string_len("name", 100))
                    .col(text("path"))
                    .col(integer("sort_order").default(0))
                    .col(string_len_null("external_id", 128))
                    .col(big_integer_null("source_connection_id"))
                    .col(big_integer_null("leader_member_id"))
                    .col(boolean("name_changed").default(false))
                    .col(boolean("to_be_deleted").default(false))
                    .col(timestamp_with_time_zone("created_at"))
                    .foreign_key(&mut fk_cascade(
                        "department",
                        "organization_id",
                        "organization",
                    ))
                    .foreign_key(&mut fk_restrict("department", "parent_id", "department"))
                    .foreign_key(&mut fk_set_null("department", "leader_member_id", "member"))
                    .take(),
            )
            .await?;
        index(
            manager,
            "department",
            &["organization_id", "parent_id", "sort_order"],
            false,
        )
        .await?;
        index(manager, "department", &["organization_id", "path"], false).await?;
        index(
            manager,
            "department",
            &["source_connection_id", "external_id"],
            false,
        )
        .await?;

        manager
            .create_table(
                Table::create()
                    .table("department_member")
                    .col(big_integer("department_id"))
                    .col(big_integer("member_id"))
                    .col(big_integer("organization_id"))
                    .primary_key(Index::create().col("department_id").col("member_id"))
                    .foreign_key(&mut fk_cascade(
                        "department_member",
                        "department_id",
                        "department",
                    ))
                    .foreign_key(&mut fk_cascade("department_member", "member_id", "member"))
                    .take(),
            )
            .await?;
        index(manager, "department_member", &["member_id"], false).await?;

        manager
            .create_table(
                Table::create()
                    .table("role_group")
                    .col(big_pk_auto("id"))
                    .col(big_integer("organization_id"))
                    .col(string_len("name", 100))
                    .col(string_len_null("external_id", 128))
                    .col(big_integer_null("source_connection_id"))
                    .col(timestamp_with_time_zone("created_at"))
                    .foreign_key(&mut fk_cascade(
                        "role_group",
                        "organization_id",
                        "organization",
                    ))
                    .take(),
            )
            .await?;
        index(manager, "role_group", &["organization_id", "name"], false).await?;

        manager
            .create_table(
                Table::create()
                    .table("directory_role")
                    .col(big_pk_auto("id"))
                    .col(big_integer("organization_id"))
                    .col(big_integer("role_group_id"))
                    .col(string_len("name", 100))
                    .col(string_len_null("external_id", 128))
                    .col(big_integer_null("source_connection_id"))
                    .col(timestamp_with_time_zone("created_at"))
                    .foreign_key(&mut fk_cascade(
                        "directory_role",
                        "role_group_id",
                        "role_group",
                    ))
                    .take(),
            )
            .await?;
        index(
            manager,
            "directory_role",
            &["organization_id", "role_group_id"],
            false,
        )
        .await?;

        manager
            .create_table(
                Table::create()
                    .table("directory_role_member")
                    .col(big_integer("directory_role_id"))
                    .col(big_integer("member_id"))
                    .col(big_integer("organization_id"))
                    .primary_key(Index::create().col("directory_role_id").col("member_id"))
                    .foreign_key(&mut fk_cascade(
                        "directory_role_member",
                        "directory_role_id",
                        "directory_role",
                    ))
                    .foreign_key(&mut fk_cascade(
                        "directory_role_member",
                        "member_id",
                        "member",
                    ))
                    .take(),
            )
            .await?;
        index(manager, "directory_role_member", &["member_id"], false).await?;

        manager
            .create_table(
                Table::create()
                    .table("workspace")
                    .col(big_pk_auto("id"))
                    .col(big_integer("organization_id"))
                    .col(string_len("name", 100))
                    .col(string_len("kind", 16))
                    .col(big_integer("owner_member_id"))
                    .col(timestamp_with_time_zone("created_at"))
                    .foreign_key(&mut fk_cascade(
                        "workspace",
                        "organization_id",
                        "organization",
                    ))
                    .foreign_key(&mut fk_restrict("workspace", "owner_member_id", "member"))
                    .take(),
            )
            .await?;
        index(manager, "workspace", &["organization_id", "name"], false).await?;
        index(manager, "workspace", &["owner_member_id"], false).await?;

        manager
            .create_table(
                Table::create()
                    .table("workspace_member")
                    .col(big_integer("workspace_id"))
                    .col(big_integer("member_id"))
                    .col(big_integer("organization_id"))
                    .col(big_integer("role_id"))
                    .col(timestamp_with_time_zone("created_at"))
                    .primary_key(Index::create().col("workspace_id").col("member_id"))
                    .foreign_key(&mut fk_cascade(
                        "workspace_member",
                        "workspace_id",
                        "workspace",
                    ))
                    .foreign_key(&mut fk_cascade("workspace_member", "member_id", "member"))
                    .foreign_key(&mut fk_restrict("workspace_member", "role_id", "role"))
                    .take(),
            )
            .await?;
        index(manager, "workspace_member", &["member_id"], false).await?;
        index(manager, "workspace_member", &["role_id"], false).await?;

        manager
            .create_table(
                Table::create()
                    .table("member_tag")
                    .col(big_pk_auto("id"))
                    .col(big_integer("organization_id"))
                    .col(big_integer("member_id"))
                    .col(string_len("name", 64))
                    .col(string_len("value", 200))
                    .foreign_key(&mut fk_cascade("member_tag", "member_id", "member"))
                    .take(),
            )
            .await?;
        index(manager, "member_tag", &["member_id", "name", "value"], true).await?;
        index(
            manager,
            "member_tag",
            &["organization_id", "name", "value"],
            false,
        )
        .await?;

        manager
            .create_table(
                Table::create()
                    .table("agent")
                    .col(big_pk_auto("id"))
                    .col(big_integer("organization_id"))
                    .col(string_len("name", 100))
                    .col(integer("seat_quota"))
                    .col(timestamp_with_time_zone("created_at"))
                    .foreign_key(&mut fk_cascade("agent", "organization_id", "organization"))
                    .take(),
            )
            .await?;
        index(manager, "agent", &["organization_id", "name"], true).await?;

        manager
            .create_table(
                Table::create()
                    .table("agent_seat")
                    .col(big_integer("agent_id"))
                    .col(big_integer("member_id"))
                    .col(big_integer("organization_id"))
                    .col(timestamp_with_time_zone("assigned_at"))
                    .primary_key(Index::create().col("agent_id").col("member_id"))
                    .foreign_key(&mut fk_cascade("agent_seat", "agent_id", "agent"))
                    .foreign_key(&mut fk_cascade("agent_seat", "member_id", "member"))
                    .take(),
            )
            .await?;
        index(manager, "agent_seat", &["member_id"], false).await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            "agent_seat",
            "agent",
            "member_tag",
            "workspace_member",
            "workspace",
            "directory_role_member",
            "directory_role",
            "role_group",
            "department_member",
            "department",
            "member",
            "role_permission",
            "role",
            "identity",
            "user",
            "organization",
        ] {
            manager
                .drop_table(Table::drop().table(table).take())
                .await?;
        }
        Ok(())
    }
}
