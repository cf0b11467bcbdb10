//! PostgreSQL: a mark (`\x01`) wherever a member's search text passes between ASCII and the
//! characters beyond it, so that a keyword of two ASCII letters or digits is found through the
//! trigram index.
//!
//! pg_trgm splits a text into words of letters and digits, Chinese characters included, and
//! indexes each word's trigrams, padded with spaces at its ends. It cannot serve `LIKE '%qx%'`,
//! which has no trigram, but it can serve the regular expression `(^|[\x01-\x40\x5b-\x7f])qx`:
//! the trigrams ` qx`, `aqx` … `9qx`, one of which every word holding `qx` after an ASCII
//! character or at its start has. Without the marks, a word such as `王qx明` holds `qx` after
//! `王`, whose trigram `王qx` the expression cannot name, so the expression would miss it. With
//! them, the text reads `王\x01qx\x01明`: every ASCII character follows ASCII or starts the
//! text, and the expression finds exactly the members holding `qx` (a pair nobody holds: a page
//! in 1.5–2.2 ms at p50 instead of a 23–27 ms walk of 100,000 members, BENCHMARKS.md).
//!
//! A mark depends only on the two characters around it, so a text holds a keyword exactly when
//! the marked text holds the marked keyword (`\x01` itself is read as a space on both sides, and
//! nobody types it): every `LIKE` on the column now tests the keyword marked the same way
//! (`marked` in the member filter). The index of characters beyond ASCII (migration 000024)
//! leaves the marks out with the rest of ASCII.
//!
//! `member_search_text` is immutable, as a generated column's expression must be. Replacing the
//! column rewrites the `member` table and rebuilds both of its indexes, with the table locked:
//! about 2 s for 100,000 members on two cores. SQLite keeps its FTS5 table and is left alone.

use crate::{helpers::execute_on, m20261122_000004_create_member_search_index::body};
use sea_orm_migration::{prelude::*, sea_orm::DbBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// Drops `search_body` (and both indexes on it) and adds it again as `expression` of the
/// member's searched text, with the indexes.
fn replace_search_body(expression: &str) -> String {
    format!(
        "ALTER TABLE member DROP COLUMN search_body; \
         ALTER TABLE member ADD COLUMN search_body text GENERATED ALWAYS AS ({expression}) STORED; \
         CREATE INDEX ix_member_search_body ON member USING gin (search_body gin_trgm_ops); \
         CREATE INDEX ix_member_search_characters ON member \
         USING gin (member_search_characters(search_body));"
    )
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let sql = format!(
            "CREATE FUNCTION member_search_text(body text) RETURNS text \
             LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE \
             AS $$ SELECT regexp_replace(translate(body, E'\\x01', ' '), \
             '([\\x01-\\x7f](?=[^\\x01-\\x7f])|[^\\x01-\\x7f](?=[\\x01-\\x7f]))', E'\\\\1\\x01', 'g') $$; \
             {}",
            replace_search_body(&format!("member_search_text(lower({}))", body("")))
        );
        execute_on(manager, DbBackend::Postgres, &sql).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let sql = format!(
            "{} DROP FUNCTION member_search_text(text);",
            replace_search_body(&format!("lower({})", body("")))
        );
        execute_on(manager, DbBackend::Postgres, &sql).await
    }
}
