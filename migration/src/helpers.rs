//! Small builders shared by the migrations: foreign keys and indexes named after their columns,
//! and SQL written for each backend.

use sea_orm_migration::{prelude::*, sea_orm::DbBackend};

/// A foreign key from `table.column` to `parent.id`, deleting children with their parent.
pub fn fk_cascade(
    table: &'static str,
    column: &'static str,
    parent: &'static str,
) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .name(format!("fk_{table}_{column}"))
        .from(table, column)
        .to(parent, "id")
        .on_delete(ForeignKeyAction::Cascade)
        .take()
}

/// A foreign key from `table.column` to `parent.id` that refuses to delete a referenced parent.
pub fn fk_restrict(
    table: &'static str,
    column: &'static str,
    parent: &'static str,
) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .name(format!("fk_{table}_{column}"))
        .from(table, column)
        .to(parent, "id")
        .on_delete(ForeignKeyAction::Restrict)
        .take()
}

/// A foreign key from `table.column` to `parent.id` that clears the column when the parent goes.
pub fn fk_set_null(
    table: &'static str,
    column: &'static str,
    parent: &'static str,
) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .name(format!("fk_{table}_{column}"))
        .from(table, column)
        .to(parent, "id")
        .on_delete(ForeignKeyAction::SetNull)
        .take()
}

/// Creates an index named `ix_<table>_<columns…>` (or `ux_…` when unique).
pub async fn index(
    manager: &SchemaManager<'_>,
    table: &'static str,
    columns: &[&'static str],
    unique: bool,
) -> Result<(), DbErr> {
    let name = format!(
        "{}_{table}_{}",
        if unique { "ux" } else { "ix" },
        columns.join("_")
    );
    let mut stmt = Index::create();
    stmt.name(name).table(table).if_not_exists();
    for column in columns {
        stmt.col(*column);
    }
    if unique {
        stmt.unique();
    }
    manager.create_index(stmt).await
}

/// Runs the SQL written for this database's backend: `sqlite` or `postgres` (Roster runs on no
/// other).
pub async fn execute_for_backend(
    manager: &SchemaManager<'_>,
    sqlite: &str,
    postgres: &str,
) -> Result<(), DbErr> {
    let sql = match manager.get_database_backend() {
        DbBackend::Sqlite => sqlite,
        DbBackend::Postgres => postgres,
        other => {
            return Err(DbErr::Migration(format!(
                "Roster runs on SQLite and PostgreSQL, not {other:?}"
            )));
        }
    };
    manager.get_connection().execute_unprepared(sql).await?;
    Ok(())
}

/// Runs `sql` on `backend` only: a change one database needs and the other does without.
pub async fn execute_on(
    manager: &SchemaManager<'_>,
    backend: DbBackend,
    sql: &str,
) -> Result<(), DbErr> {
    if manager.get_database_backend() == backend {
        manager.get_connection().execute_unprepared(sql).await?;
    }
    Ok(())
}
