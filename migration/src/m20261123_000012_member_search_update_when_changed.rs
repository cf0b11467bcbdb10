//! SQLite: the search-index trigger re-indexes a member only when its searchable text changed.
//! `AFTER UPDATE OF nickname, …` fires whenever a statement sets one of those columns, even to the
//! value it had, and the spreadsheet batch update and the sync write every column they may change
//! in one multi-row statement: 5,000 members given a new user type re-tokenized 5,000 unchanged
//! texts into trigrams (~50 µs each). PostgreSQL has no trigger to narrow: an update that changes
//! no indexed column is HOT and leaves every index alone, and one that changes any (a user type)
//! adds an entry to every index of the table, the GIN one included.

use crate::{helpers::execute_on, m20261122_000004_create_member_search_index::body};
use sea_orm_migration::{prelude::*, sea_orm::DbBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// The columns of a member's searchable text.
pub(crate) const COLUMNS: [&str; 5] = ["nickname", "account", "name", "email", "phone"];

/// The trigger condition: some column of the searchable text changed.
pub(crate) fn changed() -> String {
    COLUMNS
        .iter()
        .map(|c| format!("old.{c} IS NOT new.{c}"))
        .collect::<Vec<_>>()
        .join(" OR ")
}

fn update_trigger(when: Option<&str>) -> String {
    format!(
        "CREATE TRIGGER member_search_update AFTER UPDATE OF {} ON member {}BEGIN \
         DELETE FROM member_search WHERE rowid = old.id; \
         INSERT INTO member_search(rowid, body) VALUES (new.id, {}); END",
        COLUMNS.join(", "),
        when.map(|w| format!("WHEN {w} ")).unwrap_or_default(),
        body("new.")
    )
}

async fn replace_trigger(manager: &SchemaManager<'_>, when: Option<&str>) -> Result<(), DbErr> {
    // One call: as two, the CREATE failed with "trigger … already exists" (the two statements
    // can reach different connections of the pool).
    let sql = format!(
        "DROP TRIGGER IF EXISTS member_search_update; {}",
        update_trigger(when)
    );
    execute_on(manager, DbBackend::Sqlite, &sql).await
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        replace_trigger(manager, Some(&changed())).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        replace_trigger(manager, None).await
    }
}
