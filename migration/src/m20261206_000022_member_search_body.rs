//! PostgreSQL: each member's search text, lower-cased, kept in a stored generated column
//! (`search_body`), with the trigram index on that column instead of on the expression.
//!
//! A keyword page first looks for its matches among the next 1,024 members in sort order, and
//! with an index on the expression PostgreSQL computes `lower(nickname || ' ' || account || …)`
//! for each of them: about 1 ms of the page on a 100,000-member organization, most of it
//! lower-casing (the database's `C.UTF-8` character type goes through wide characters). Short
//! keywords, which have no trigrams, are tested against every member they pass the same way.
//! Stored, the text is lower-cased once when a member is written. SQLite keeps its FTS5 table
//! (migration 000004) and is left alone.
//!
//! Adding a stored column rewrites the `member` table, which is locked meanwhile: with the new
//! index and a `VACUUM ANALYZE`, 4.5 s for 100,000 members on two cores (BENCHMARKS.md, "The
//! search text stored on PostgreSQL").

use crate::{helpers::execute_on, m20261122_000004_create_member_search_index::body};
use sea_orm_migration::{prelude::*, sea_orm::DbBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let sql = format!(
            "ALTER TABLE member ADD COLUMN search_body text \
             GENERATED ALWAYS AS (lower({})) STORED; \
             CREATE INDEX ix_member_search_body ON member USING gin (search_body gin_trgm_ops); \
             DROP INDEX ix_member_search;",
            body("")
        );
        execute_on(manager, DbBackend::Postgres, &sql).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // Dropping the column drops its index with it.
        let sql = format!(
            "CREATE INDEX ix_member_search ON member USING gin ((lower({})) gin_trgm_ops); \
             ALTER TABLE member DROP COLUMN search_body;",
            body("")
        );
        execute_on(manager, DbBackend::Postgres, &sql).await
    }
}
