//! PostgreSQL: an index on department paths for prefix matches (`path LIKE '/3/%'`, a
//! department's sub-tree). The index on `(organization_id, path)` follows the database's
//! collation, which PostgreSQL does not use for `LIKE` unless it is `C`; with `text_pattern_ops`
//! a sub-tree is one index range instead of a scan of every department of the organization.
//! SQLite needs none: its sub-tree lookups compare the path as a byte range, which the existing
//! index serves.

use crate::helpers::execute_on;
use sea_orm_migration::{prelude::*, sea_orm::DbBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        execute_on(
            manager,
            DbBackend::Postgres,
            "CREATE INDEX ix_department_organization_id_path_pattern \
             ON department (organization_id, path text_pattern_ops)",
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        execute_on(
            manager,
            DbBackend::Postgres,
            "DROP INDEX ix_department_organization_id_path_pattern",
        )
        .await
    }
}
