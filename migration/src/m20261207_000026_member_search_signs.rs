//! PostgreSQL: each member's characters beyond ASCII and ASCII signs (`#`, `(`, `@`, `.` …) kept
//! in a stored column, `search_characters`, with the GIN index of them on it, so a keyword of
//! one sign or two is found through the index too.
//!
//! pg_trgm indexes words of letters and digits and drops the signs between them, so a keyword
//! made only of signs has no trigram and was tested against every member: `#`, which nobody in
//! the bench organization holds, walked all 100,000 members (71–73 ms at p50 on a slow machine,
//! BENCHMARKS.md). A member's text holds few distinct signs (an e-mail address gives `@` and
//! `.`), so the index grows by a few entries per member. ASCII letters and digits stay out: every
//! member holds most of them, so the index would not narrow a keyword of one, and it would take
//! some thirty entries per member.
//!
//! The characters are stored rather than indexed as an expression (migration 000024) because a
//! keyword most members hold, such as `@`, is counted by reading every member: testing the
//! stored array costs little, while computing the characters again for each member took 0.5 s
//! for 100,000 members, against 0.08 s for the pattern alone. Adding the column rewrites the
//! table (5 s for 100,000 members on a slow two-core machine); the column is analyzed at once, so the planner
//! knows from the start which characters most members hold. SQLite finds short keywords through
//! its trigram table (migration 000023) and is left alone.

use crate::{helpers::execute_on, m20261122_000004_create_member_search_index::body};
use sea_orm_migration::{prelude::*, sea_orm::DbBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// Redefines `member_search_characters` to keep the characters of a text that `dropped` (a class
/// of a regular expression) does not name.
fn redefine_characters(dropped: &str) -> String {
    format!(
        "CREATE OR REPLACE FUNCTION member_search_characters(body text) RETURNS text[] \
         LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE \
         AS $$ SELECT string_to_array(regexp_replace(body, '{dropped}+', '', 'g'), NULL) $$;"
    )
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // Controls, the space, letters and digits: every other ASCII character is a sign. A
        // generated column cannot read another, so the characters come from the lower-cased
        // text itself: the marks of `search_body` are controls, which the function drops.
        let sql = format!(
            "DROP INDEX ix_member_search_characters; \
             {} \
             ALTER TABLE member ADD COLUMN search_characters text[] \
             GENERATED ALWAYS AS (member_search_characters(lower({}))) STORED; \
             CREATE INDEX ix_member_search_characters ON member USING gin (search_characters); \
             ANALYZE member (search_characters);",
            redefine_characters("[\\u0001-\\u0020A-Za-z0-9\\u007f]"),
            body("")
        );
        execute_on(manager, DbBackend::Postgres, &sql).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // Dropping the column drops its index.
        let sql = format!(
            "ALTER TABLE member DROP COLUMN search_characters; \
             {} \
             CREATE INDEX ix_member_search_characters ON member \
             USING gin (member_search_characters(search_body));",
            redefine_characters("[\\u0001-\\u007f]")
        );
        execute_on(manager, DbBackend::Postgres, &sql).await
    }
}
