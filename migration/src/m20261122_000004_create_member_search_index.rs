//! A substring index over each member's searchable text (nickname, account, name, email, phone)
//! so that keyword search does not scan the organization: an FTS5 trigram table kept in step by
//! triggers on SQLite, a pg_trgm GIN index on the same expression on PostgreSQL. Keywords shorter
//! than three characters (a two-character Chinese name) are matched without it.

use sea_orm_migration::{prelude::*, sea_orm::DbBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// The text searched, as SQL over a `member` row (`new.` / `old.` prefixes are added for triggers).
pub(crate) fn body(prefix: &str) -> String {
    format!(
        "{p}nickname || ' ' || {p}account || ' ' || {p}name || ' ' || coalesce({p}email, '') || ' ' || coalesce({p}phone, '')",
        p = prefix
    )
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        match manager.get_database_backend() {
            DbBackend::Sqlite => {
                db.execute_unprepared(
                    "CREATE VIRTUAL TABLE member_search USING fts5(body, tokenize = 'trigram')",
                )
                .await?;
                db.execute_unprepared(&format!(
                    "CREATE TRIGGER member_search_insert AFTER INSERT ON member BEGIN \
                     INSERT INTO member_search(rowid, body) VALUES (new.id, {}); END",
                    body("new.")
                ))
                .await?;
                db.execute_unprepared(
                    "CREATE TRIGGER member_search_delete AFTER DELETE ON member BEGIN \
                     DELETE FROM member_search WHERE rowid = old.id; END",
                )
                .await?;
                db.execute_unprepared(&format!(
                    "CREATE TRIGGER member_search_update AFTER UPDATE OF nickname, account, name, email, phone ON member BEGIN \
                     DELETE FROM member_search WHERE rowid = old.id; \
                     INSERT INTO member_search(rowid, body) VALUES (new.id, {}); END",
                    body("new.")
                ))
                .await?;
                db.execute_unprepared(&format!(
                    "INSERT INTO member_search(rowid, body) SELECT id, {} FROM member",
                    body("")
                ))
                .await?;
            }
            DbBackend::Postgres => {
                db.execute_unprepared("CREATE EXTENSION IF NOT EXISTS pg_trgm")
                    .await?;
                db.execute_unprepared(&format!(
                    "CREATE INDEX ix_member_search ON member USING gin ((lower({})) gin_trgm_ops)",
                    body("")
                ))
                .await?;
            }
            other => {
                return Err(DbErr::Migration(format!(
                    "unsupported database backend {other:?}"
                )));
            }
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        match manager.get_database_backend() {
            DbBackend::Sqlite => {
                for stmt in [
                    "DROP TRIGGER IF EXISTS member_search_insert",
                    "DROP TRIGGER IF EXISTS member_search_delete",
                    "DROP TRIGGER IF EXISTS member_search_update",
                    "DROP TABLE IF EXISTS member_search",
                ] {
                    db.execute_unprepared(stmt).await?;
                }
            }
            _ => {
                db.execute_unprepared("DROP INDEX IF EXISTS ix_member_search")
                    .await?;
            }
        }
        Ok(())
    }
}
