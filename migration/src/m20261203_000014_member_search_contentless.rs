//! SQLite: the member search index keeps no copy of the text it indexes (a contentless FTS5
//! table, `content = ''`). Only row ids are ever read from it (`rowid IN (… MATCH …)`), so the
//! copy was written, and on every change read back to be tokenized for removal, for nothing. The
//! triggers now remove a member's old text with FTS5's `delete` command, giving the old values
//! themselves: they are exactly the text last indexed, since every change of those columns
//! re-indexes. 5,000 renamed members in 500-row upserts: 356–384 ms instead of 410–462 ms (SQLite
//! 3.51, 100,000 members, BENCHMARKS.md). `contentless_delete = 1` (no old values needed) was
//! tried and took 2.3 s instead of 0.44–0.61 s (in 49-row upserts). PostgreSQL is untouched.

use crate::{
    helpers::execute_on,
    m20261122_000004_create_member_search_index::body,
    m20261123_000012_member_search_update_when_changed::{COLUMNS, changed},
};
use sea_orm_migration::{prelude::*, sea_orm::DbBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// Rebuilds `member_search` (contentless or not) with its three triggers, in one call: as
/// separate calls the statements could reach different connections of the pool. `body` gives the
/// text indexed, as SQL over a `member` row (migration 000004's, or 000023's padded one).
pub(crate) fn rebuild(contentless: bool, body: impl Fn(&str) -> String) -> String {
    let changed = changed();
    let (options, remove) = if contentless {
        (
            ", content = ''",
            format!(
                "INSERT INTO member_search(member_search, rowid, body) VALUES ('delete', old.id, {});",
                body("old.")
            ),
        )
    } else {
        (
            "",
            "DELETE FROM member_search WHERE rowid = old.id;".to_string(),
        )
    };
    let columns = COLUMNS.join(", ");
    let (all, new) = (body(""), body("new."));
    format!(
        "DROP TRIGGER IF EXISTS member_search_insert; \
         DROP TRIGGER IF EXISTS member_search_delete; \
         DROP TRIGGER IF EXISTS member_search_update; \
         DROP TABLE IF EXISTS member_search; \
         CREATE VIRTUAL TABLE member_search USING fts5(body, tokenize = 'trigram'{options}); \
         INSERT INTO member_search(rowid, body) SELECT id, {all} FROM member; \
         CREATE TRIGGER member_search_insert AFTER INSERT ON member BEGIN \
         INSERT INTO member_search(rowid, body) VALUES (new.id, {new}); END; \
         CREATE TRIGGER member_search_delete AFTER DELETE ON member BEGIN {remove} END; \
         CREATE TRIGGER member_search_update AFTER UPDATE OF {columns} ON member WHEN {changed} BEGIN \
         {remove} INSERT INTO member_search(rowid, body) VALUES (new.id, {new}); END;"
    )
}

async fn apply(manager: &SchemaManager<'_>, contentless: bool) -> Result<(), DbErr> {
    execute_on(manager, DbBackend::Sqlite, &rebuild(contentless, body)).await
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        apply(manager, true).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        apply(manager, false).await
    }
}
