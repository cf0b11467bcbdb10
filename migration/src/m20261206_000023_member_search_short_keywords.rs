//! SQLite: keywords of one or two characters found through the FTS5 trigram index as well.
//!
//! A keyword shorter than a trigram cannot be looked up in `member_search` by `MATCH`, so it was
//! tested against every member in sort order until a page was found: a two-character keyword
//! that nobody holds walked all 100,000 members of the bench organization (52 ms at p99,
//! BENCHMARKS.md). But every one- or two-character piece of a text begins one of its trigrams
//! once the text ends with two more characters, so each member's text is now indexed with two
//! trailing spaces, and an `fts5vocab` table, `member_search_instance`, lists the members
//! holding each trigram. The members holding `qx` are those holding the trigrams from `qx` up to
//! (not including) `qy`: one range of the index, read in the order it is stored.
//!
//! The index is rebuilt: about 1 s for 100,000 members on two cores (BENCHMARKS.md). PostgreSQL is
//! untouched.

use crate::{
    helpers::execute_on, m20261122_000004_create_member_search_index::body,
    m20261203_000014_member_search_contentless::rebuild,
};
use sea_orm_migration::{prelude::*, sea_orm::DbBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// The text indexed from now on: migration 000004's, followed by two spaces.
fn padded(prefix: &str) -> String {
    format!("{} || '  '", body(prefix))
}

const VOCABULARY: &str =
    "CREATE VIRTUAL TABLE member_search_instance USING fts5vocab(member_search, instance);";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let sql = format!("{} {VOCABULARY}", rebuild(true, padded));
        execute_on(manager, DbBackend::Sqlite, &sql).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let sql = format!(
            "DROP TABLE IF EXISTS member_search_instance; {}",
            rebuild(true, body)
        );
        execute_on(manager, DbBackend::Sqlite, &sql).await
    }
}
