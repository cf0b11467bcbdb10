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

use crate::m20261122_000004_create_member_search_index::body;
use sea_orm_migration::{prelude::*, sea_orm::DbBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != DbBackend::Postgres {
            return Ok(());
        }
        let db = manager.get_connection();
        db.execute_unprepared(&format!(
            "ALTER TABLE member ADD COLUMN search_body text \
             GENERATED ALWAYS AS (lower({})) STORED",
            body("")
        ))
        .await?;
        db.execute_unprepared(
            "CREATE INDEX ix_member_search_body ON member USING gin (search_body gin_trgm_ops)",
        )
        .await?;
        db.execute_unprepared("DROP INDEX ix_member_search").await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != DbBackend::Postgres {
            return Ok(());
        }
        let db = manager.get_connection();
        db.execute_unprepared(&format!(
            "CREATE INDEX ix_member_search ON member USING gin ((lower({})) gin_trgm_ops)",
            body("")
        ))
        .await?;
        // Drops its index with it.
        db.execute_unprepared("ALTER TABLE member DROP COLUMN search_body")
            .await?;
        Ok(())
    }
}
