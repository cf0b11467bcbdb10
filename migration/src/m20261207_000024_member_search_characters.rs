//! PostgreSQL: keywords of one or two characters beyond ASCII (a Chinese surname or given name)
//! found through an index of each member's characters beyond ASCII.
//!
//! pg_trgm's index cannot serve a keyword shorter than a trigram, so such a keyword was tested
//! against every member: a one-character keyword that nobody holds walked all 100,000 members
//! of the bench organization (69 ms at p99, BENCHMARKS.md). A member whose text holds `鑫` holds
//! the character `鑫`, and a text holds few characters beyond ASCII (a Chinese name holds two or
//! three), so a GIN index of them is small and cheap to keep: an update that renames a member
//! adds two or three entries to it, where the trigram index takes sixty. Keywords of ASCII
//! characters alone are left to the scan: every member holds most ASCII letters and digits, and an
//! index of their pairs was measured to double the cost of renaming members (BENCHMARKS.md).
//!
//! `member_search_characters` is immutable (the same text always gives the same characters), as
//! an index expression must be. SQLite finds short keywords through its trigram table (migration
//! 000023) and is left alone.

use crate::helpers::execute_on;
use sea_orm_migration::{prelude::*, sea_orm::DbBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        execute_on(
            manager,
            DbBackend::Postgres,
            "CREATE FUNCTION member_search_characters(body text) RETURNS text[] \
             LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE \
             AS $$ SELECT string_to_array(regexp_replace(body, '[\\u0001-\\u007f]+', '', 'g'), NULL) $$; \
             CREATE INDEX ix_member_search_characters ON member \
             USING gin (member_search_characters(search_body));",
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // Drops the index with it.
        execute_on(
            manager,
            DbBackend::Postgres,
            "DROP FUNCTION member_search_characters(text) CASCADE",
        )
        .await
    }
}
