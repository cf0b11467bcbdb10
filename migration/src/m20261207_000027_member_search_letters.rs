//! PostgreSQL: the ASCII letters and digits each member's text holds, each once, kept in a stored
//! column, `search_letters`, with a GIN index on it, so a keyword of one letter or digit that
//! few members hold is found through the index.
//!
//! Such a keyword has no trigram, and the index of characters (migration 000026) leaves letters
//! and digits out, so a page looked for it member by member in sort order: quick when most
//! members hold it, and a walk of the whole organization when few do (`v` among pinyin
//! accounts; 64 ms on 100,000 members on a slow two-core machine, BENCHMARKS.md).
//!
//! The column is an array of `"char"`, PostgreSQL's one-byte type, listing each letter or digit
//! once: about twenty per member, some 40 bytes, where an array of `text` holding the same
//! letters took 200. Each letter is looked for with `strpos`, since dropping the repeats of an
//! array takes an aggregate, which cost more per member. The array is stored rather than
//! indexed as an expression so that a member's letters are not computed again where PostgreSQL
//! reads every member (the reason migration 000026 stores the characters). A generated column
//! cannot read another, so the letters come from the lower-cased text itself, as the search
//! body's do: a member whose body holds a letter holds it here. SQLite finds short keywords
//! through its trigram table (migration 000023) and is left alone.

use crate::{helpers::execute_on, m20261122_000004_create_member_search_index::body};
use sea_orm_migration::{prelude::*, sea_orm::DbBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// The characters `search_letters` lists: the lower-case ASCII letters and the digits.
const LETTERS: &str = "abcdefghijklmnopqrstuvwxyz0123456789";

/// `member_search_letters(body)`: the letters of [`LETTERS`] that `body` holds, in that order.
fn letters_function() -> String {
    let present: Vec<String> = LETTERS
        .chars()
        .map(|c| format!("CASE WHEN strpos(body, '{c}') > 0 THEN '{c}'::\"char\" END"))
        .collect();
    format!(
        "CREATE FUNCTION member_search_letters(body text) RETURNS \"char\"[] \
         LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE \
         AS $$ SELECT array_remove(ARRAY[{}], NULL) $$;",
        present.join(", ")
    )
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let sql = format!(
            "{} \
             ALTER TABLE member ADD COLUMN search_letters \"char\"[] \
             GENERATED ALWAYS AS (member_search_letters(lower({}))) STORED; \
             CREATE INDEX ix_member_search_letters ON member USING gin (search_letters); \
             ANALYZE member (search_letters);",
            letters_function(),
            body("")
        );
        execute_on(manager, DbBackend::Postgres, &sql).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // Dropping the column drops its index.
        let sql = "ALTER TABLE member DROP COLUMN search_letters; \
                   DROP FUNCTION member_search_letters(text);";
        execute_on(manager, DbBackend::Postgres, sql).await
    }
}
