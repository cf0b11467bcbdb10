//! `member_tally`: how many members each organization has, kept by triggers on `member`, so that
//! an unfiltered `totalCount` reads a number instead of counting 100,000 index entries (3.4–5 ms
//! on SQLite, 4–15 ms on PostgreSQL, BENCHMARKS.md). The triggers see every insert, delete and
//! move between organizations, whoever writes them (sync, import, raw SQL), so the number is exact
//! in every snapshot: it changes in the transaction that changes the members.
//!
//! - **SQLite** writes one transaction at a time, so each organization has one row, counted up
//!   and down in place.
//! - **PostgreSQL** runs writers side by side, and one row per organization would make every
//!   transaction that adds or removes a member wait for every other one in the organization (and
//!   deadlock with row locks taken in another order). So writers only append: each statement adds
//!   one row per organization with the change it made (`+n` or `-n`), and nothing is ever
//!   locked. The count is the sum of an organization's rows; a reader folds them into one when
//!   they pile up (`members::count`), and the server's housekeeping folds every organization's
//!   every ten minutes (`members::fold_tallies`).
//!
//! An organization's rows go with it (`ON DELETE CASCADE`). Roster deletes no organization, and
//! the members' own foreign keys (their role, the workspaces they own) refuse to let them go with
//! one: they would be removed first, and counted down then.

use crate::helpers::execute_for_backend;
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// Every organization's members as they are now, for the new table.
const BACKFILL: &str = "INSERT INTO member_tally (organization_id, members) \
     SELECT organization_id, count(*) FROM member GROUP BY organization_id;";

/// SQLite: one row per organization, counted in place.
const SQLITE_UP: &str = "CREATE TABLE member_tally ( \
       organization_id INTEGER PRIMARY KEY REFERENCES organization (id) ON DELETE CASCADE, \
       members INTEGER NOT NULL); \
     CREATE TRIGGER member_tally_insert AFTER INSERT ON member BEGIN \
       INSERT INTO member_tally (organization_id, members) VALUES (new.organization_id, 1) \
         ON CONFLICT (organization_id) DO UPDATE SET members = members + 1; \
     END; \
     CREATE TRIGGER member_tally_delete AFTER DELETE ON member BEGIN \
       UPDATE member_tally SET members = members - 1 WHERE organization_id = old.organization_id; \
     END; \
     CREATE TRIGGER member_tally_update AFTER UPDATE OF organization_id ON member \
       WHEN old.organization_id IS NOT new.organization_id BEGIN \
       UPDATE member_tally SET members = members - 1 WHERE organization_id = old.organization_id; \
       INSERT INTO member_tally (organization_id, members) VALUES (new.organization_id, 1) \
         ON CONFLICT (organization_id) DO UPDATE SET members = members + 1; \
     END;";

/// PostgreSQL: rows appended per statement; an organization's count is their sum.
const POSTGRES_UP: &str = "CREATE TABLE member_tally ( \
       organization_id BIGINT NOT NULL REFERENCES organization (id) ON DELETE CASCADE, \
       members BIGINT NOT NULL); \
     CREATE INDEX ix_member_tally_organization_id ON member_tally (organization_id); \
     CREATE FUNCTION member_tally_added() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN \
       INSERT INTO member_tally (organization_id, members) \
         SELECT organization_id, count(*) FROM added GROUP BY organization_id; \
       RETURN NULL; END $$; \
     CREATE FUNCTION member_tally_removed() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN \
       INSERT INTO member_tally (organization_id, members) \
         SELECT organization_id, -count(*) FROM removed GROUP BY organization_id; \
       RETURN NULL; END $$; \
     CREATE FUNCTION member_tally_moved() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN \
       INSERT INTO member_tally (organization_id, members) \
         VALUES (OLD.organization_id, -1), (NEW.organization_id, 1); \
       RETURN NULL; END $$; \
     CREATE TRIGGER member_tally_insert AFTER INSERT ON member \
       REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION member_tally_added(); \
     CREATE TRIGGER member_tally_delete AFTER DELETE ON member \
       REFERENCING OLD TABLE AS removed FOR EACH STATEMENT EXECUTE FUNCTION member_tally_removed(); \
     CREATE TRIGGER member_tally_update AFTER UPDATE OF organization_id ON member FOR EACH ROW \
       WHEN (OLD.organization_id IS DISTINCT FROM NEW.organization_id) \
       EXECUTE FUNCTION member_tally_moved();";

const SQLITE_DOWN: &str = "DROP TRIGGER IF EXISTS member_tally_insert; \
     DROP TRIGGER IF EXISTS member_tally_delete; \
     DROP TRIGGER IF EXISTS member_tally_update; \
     DROP TABLE IF EXISTS member_tally;";

const POSTGRES_DOWN: &str = "DROP TRIGGER IF EXISTS member_tally_insert ON member; \
     DROP TRIGGER IF EXISTS member_tally_delete ON member; \
     DROP TRIGGER IF EXISTS member_tally_update ON member; \
     DROP FUNCTION IF EXISTS member_tally_added(); \
     DROP FUNCTION IF EXISTS member_tally_removed(); \
     DROP FUNCTION IF EXISTS member_tally_moved(); \
     DROP TABLE IF EXISTS member_tally;";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // Migrations run before the server serves, so no member is added between the triggers
        // and the backfill (it would be counted twice).
        execute_for_backend(
            manager,
            &format!("{SQLITE_UP} {BACKFILL}"),
            &format!("{POSTGRES_UP} {BACKFILL}"),
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        execute_for_backend(manager, SQLITE_DOWN, POSTGRES_DOWN).await
    }
}
