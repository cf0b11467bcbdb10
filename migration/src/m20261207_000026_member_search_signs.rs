//! PostgreSQL: the index of each member's characters (migration 000024) holds the ASCII signs
//! of the member's text too (`#`, `(`, `@`, `.` …), so a keyword of one sign or two is found
//! through it.
//!
//! pg_trgm indexes words of letters and digits and drops the signs between them, so a keyword
//! made only of signs has no trigram and was tested against every member: `#`, which nobody in
//! the bench organization holds, walked all 100,000 members (BENCHMARKS.md). A member's text
//! holds few distinct signs (an e-mail address gives `@` and `.`), so the index grows by a few
//! entries per member. ASCII letters and digits stay out: every member holds most of them, so
//! the index would not narrow a keyword of one, and it would take some thirty entries per member.
//!
//! The function keeps its name and its argument, so the queries that name it are unchanged; the
//! index on it is dropped before the function changes and built again after, since an index
//! expression's function must give what it gave when the entries were made. Building it again
//! takes well under a second for 100,000 members. SQLite finds short keywords through its
//! trigram table (migration 000023) and is left alone.

use crate::helpers::execute_on;
use sea_orm_migration::{prelude::*, sea_orm::DbBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// Redefines `member_search_characters` to keep the characters of a member's search text that
/// `dropped` (a class of a regular expression) does not name, and builds its index again.
fn redefine_characters(dropped: &str) -> String {
    format!(
        "DROP INDEX ix_member_search_characters; \
         CREATE OR REPLACE FUNCTION member_search_characters(body text) RETURNS text[] \
         LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE \
         AS $$ SELECT string_to_array(regexp_replace(body, '{dropped}+', '', 'g'), NULL) $$; \
         CREATE INDEX ix_member_search_characters ON member \
         USING gin (member_search_characters(search_body));"
    )
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // Controls, the space, letters and digits: every other ASCII character is a sign.
        let sql = redefine_characters("[\\u0001-\\u0020A-Za-z0-9\\u007f]");
        execute_on(manager, DbBackend::Postgres, &sql).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let sql = redefine_characters("[\\u0001-\\u007f]");
        execute_on(manager, DbBackend::Postgres, &sql).await
    }
}
