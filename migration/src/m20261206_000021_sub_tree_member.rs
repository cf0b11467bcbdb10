//! `sub_tree_member`: every member of every department's sub-tree, with the member's nickname as
//! the member list orders it (`lower(nickname)`), kept by triggers. A page of a department and
//! its sub-departments by nickname is then one range of the index
//! `(department_id, lower_nickname, member_id)`, read in order until the page is full, instead of
//! listing the sub-tree's departments, then walking the whole organization's nickname index and
//! probing each member against the sub-tree's (2.9–4.6 ms for a sub-tree of 2,000 of 100,000
//! members, BENCHMARKS.md). Other orders use it as the sub-tree's member list.
//!
//! A row `(department_id, member_id)` says the member belongs to that department or to one
//! below it; `links` counts through how many of the member's departments (a member of two
//! departments under one parent is one row there, with two links). The triggers keep it exact in
//! every snapshot, whoever writes (API, sync, import, raw SQL):
//! - a department link added or removed (`department_member`) adds or takes one link at every
//!   department on the linked department's path (`/3/17/`: 3 and 17); a row whose last link
//!   goes is deleted;
//! - a department moved (its `path` rewritten) moves its members' links from the departments on
//!   the old path to those on the new one;
//! - a department deleted first drops its links (`BEFORE DELETE`), while its path is readable;
//! - a member renamed gets the new nickname in every row; a member deleted goes with their rows
//!   (`ON DELETE CASCADE`).
//!
//! On PostgreSQL, writers run side by side: a statement that adds or removes links first takes
//! a share lock on the linked departments (waiting for a move of them to commit, so it reads the
//! path the move wrote) and, when adding, on the members (waiting for a rename, so it copies the
//! new nickname); a move takes a share lock on the moved departments' members for the same
//! reason. Links are counted with `ON CONFLICT … DO UPDATE` (rows taken in one order) and
//! in-place updates, which take row locks, so two writers never lose each other's links. Link
//! changes run once per statement, from its transition table (not at all for a statement that
//! changed no link).

use crate::helpers::execute_for_backend;
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// SQLite: the ids on a department's stored path (`/3/17/` → 3, 17) as rows of `json_each`.
macro_rules! sqlite_path_ids {
    ($path:literal) => {
        concat!(
            "json_each('[' || replace(trim(",
            $path,
            ", '/'), '/', ',') || ']')"
        )
    };
}

/// SQLite: the statement that adds one link's rows (`$row`: the trigger's `new`), a link more
/// at every department on the linked department's path.
macro_rules! sqlite_link {
    ($row:literal) => {
        concat!(
            "INSERT INTO sub_tree_member (department_id, member_id, lower_nickname, links) \
               SELECT above.value, ",
            $row,
            ".member_id, lower(m.nickname), 1 \
               FROM department d, ",
            sqlite_path_ids!("d.path"),
            " above, member m \
               WHERE d.id = ",
            $row,
            ".department_id AND m.id = ",
            $row,
            ".member_id \
               ON CONFLICT (department_id, member_id) DO UPDATE SET links = links + 1; "
        )
    };
}

/// SQLite: the statements that take one link's rows away (`$row`: the trigger's `old`), a link
/// fewer at every department on the linked department's path, rows left with none deleted.
macro_rules! sqlite_unlink {
    ($row:literal) => {
        concat!(
            "UPDATE sub_tree_member SET links = links - 1 WHERE member_id = ",
            $row,
            ".member_id \
               AND department_id IN (SELECT above.value FROM department d, ",
            sqlite_path_ids!("d.path"),
            " above WHERE d.id = ",
            $row,
            ".department_id); \
             DELETE FROM sub_tree_member WHERE member_id = ",
            $row,
            ".member_id AND links <= 0; "
        )
    };
}

/// SQLite writes one transaction at a time: row triggers that count links up and down.
const SQLITE_UP: &str = concat!(
    "CREATE TABLE sub_tree_member ( \
       department_id INTEGER NOT NULL REFERENCES department (id) ON DELETE CASCADE, \
       member_id INTEGER NOT NULL REFERENCES member (id) ON DELETE CASCADE, \
       lower_nickname TEXT NOT NULL, \
       links INTEGER NOT NULL, \
       PRIMARY KEY (department_id, member_id)) WITHOUT ROWID; \
     CREATE INDEX ix_sub_tree_member_department_id_lower_nickname \
       ON sub_tree_member (department_id, lower_nickname, member_id); \
     CREATE INDEX ix_sub_tree_member_member_id ON sub_tree_member (member_id); \
     CREATE TRIGGER sub_tree_member_link AFTER INSERT ON department_member BEGIN ",
    sqlite_link!("new"),
    "END; \
     CREATE TRIGGER sub_tree_member_unlink AFTER DELETE ON department_member BEGIN ",
    sqlite_unlink!("old"),
    "END; \
     CREATE TRIGGER sub_tree_member_relink AFTER UPDATE OF department_id, member_id \
       ON department_member BEGIN ",
    sqlite_unlink!("old"),
    sqlite_link!("new"),
    "END; \
     CREATE TRIGGER sub_tree_member_move AFTER UPDATE OF path ON department \
       WHEN old.path IS NOT new.path BEGIN \
       INSERT INTO sub_tree_member (department_id, member_id, lower_nickname, links) \
         SELECT above.value, dm.member_id, lower(m.nickname), 1 \
         FROM department_member dm, member m, ",
    sqlite_path_ids!("new.path"),
    " above \
         WHERE dm.department_id = new.id AND m.id = dm.member_id \
         ON CONFLICT (department_id, member_id) DO UPDATE SET links = links + 1; \
       UPDATE sub_tree_member SET links = links - 1 \
         WHERE department_id IN (SELECT above.value FROM ",
    sqlite_path_ids!("old.path"),
    " above) \
         AND member_id IN (SELECT member_id FROM department_member WHERE department_id = new.id); \
       DELETE FROM sub_tree_member WHERE links <= 0 \
         AND member_id IN (SELECT member_id FROM department_member WHERE department_id = new.id); \
     END; \
     CREATE TRIGGER sub_tree_member_department_delete BEFORE DELETE ON department BEGIN \
       DELETE FROM department_member WHERE department_id = old.id; \
     END; \
     CREATE TRIGGER sub_tree_member_rename AFTER UPDATE OF nickname ON member \
       WHEN lower(old.nickname) IS NOT lower(new.nickname) BEGIN \
       UPDATE sub_tree_member SET lower_nickname = lower(new.nickname) WHERE member_id = new.id; \
     END; \
     INSERT INTO sub_tree_member (department_id, member_id, lower_nickname, links) \
       SELECT above.value, dm.member_id, lower(m.nickname), count(*) \
       FROM department_member dm JOIN department d ON d.id = dm.department_id \
       JOIN member m ON m.id = dm.member_id, ",
    sqlite_path_ids!("d.path"),
    " above \
       GROUP BY above.value, dm.member_id;"
);

/// PostgreSQL: statement triggers over transition tables for link changes, row triggers for
/// moves and renames, and the locks that keep concurrent writers exact (see the module's doc).
const POSTGRES_UP: &str = "CREATE TABLE sub_tree_member ( \
       department_id BIGINT NOT NULL REFERENCES department (id) ON DELETE CASCADE, \
       member_id BIGINT NOT NULL REFERENCES member (id) ON DELETE CASCADE, \
       lower_nickname TEXT NOT NULL, \
       links INTEGER NOT NULL, \
       PRIMARY KEY (department_id, member_id)); \
     CREATE INDEX ix_sub_tree_member_department_id_lower_nickname \
       ON sub_tree_member (department_id, lower_nickname, member_id); \
     CREATE INDEX ix_sub_tree_member_member_id ON sub_tree_member (member_id); \
     CREATE FUNCTION department_path_ids(path text) RETURNS bigint[] \
       LANGUAGE sql IMMUTABLE STRICT AS \
       $$ SELECT string_to_array(trim(both '/' from path), '/')::bigint[] $$; \
     CREATE FUNCTION sub_tree_member_change( \
       linked_departments bigint[], linked_members bigint[], delta integer) \
       RETURNS void LANGUAGE plpgsql AS $$ BEGIN \
       PERFORM 1 FROM department WHERE id = ANY (linked_departments) ORDER BY id FOR SHARE; \
       IF delta > 0 THEN \
         PERFORM 1 FROM member WHERE id = ANY (linked_members) ORDER BY id FOR SHARE; \
         INSERT INTO sub_tree_member (department_id, member_id, lower_nickname, links) \
           SELECT above.id, l.member_id, lower(m.nickname), count(*) \
           FROM unnest(linked_departments, linked_members) AS l(department_id, member_id) \
           JOIN department d ON d.id = l.department_id \
           CROSS JOIN unnest(department_path_ids(d.path)) AS p(id) \
           JOIN department above ON above.id = p.id \
           JOIN member m ON m.id = l.member_id \
           GROUP BY above.id, l.member_id, m.nickname \
           ORDER BY above.id, l.member_id \
           ON CONFLICT (department_id, member_id) \
           DO UPDATE SET links = sub_tree_member.links + excluded.links; \
       ELSE \
         UPDATE sub_tree_member s SET links = s.links - c.n \
           FROM (SELECT p.id, l.member_id, count(*) AS n \
             FROM unnest(linked_departments, linked_members) AS l(department_id, member_id) \
             JOIN department d ON d.id = l.department_id \
             CROSS JOIN unnest(department_path_ids(d.path)) AS p(id) \
             GROUP BY p.id, l.member_id) c \
           WHERE s.department_id = c.id AND s.member_id = c.member_id; \
         DELETE FROM sub_tree_member \
           WHERE member_id = ANY (linked_members) AND links <= 0; \
       END IF; END $$; \
     CREATE FUNCTION sub_tree_member_linked() RETURNS trigger LANGUAGE plpgsql AS $$ \
       DECLARE d bigint[]; m bigint[]; BEGIN \
       SELECT array_agg(department_id), array_agg(member_id) INTO d, m FROM added; \
       IF d IS NOT NULL THEN PERFORM sub_tree_member_change(d, m, 1); END IF; \
       RETURN NULL; END $$; \
     CREATE FUNCTION sub_tree_member_unlinked() RETURNS trigger LANGUAGE plpgsql AS $$ \
       DECLARE d bigint[]; m bigint[]; BEGIN \
       SELECT array_agg(department_id), array_agg(member_id) INTO d, m FROM removed; \
       IF d IS NOT NULL THEN PERFORM sub_tree_member_change(d, m, -1); END IF; \
       RETURN NULL; END $$; \
     CREATE FUNCTION sub_tree_member_relinked() RETURNS trigger LANGUAGE plpgsql AS $$ \
       DECLARE d bigint[]; m bigint[]; BEGIN \
       SELECT array_agg(department_id), array_agg(member_id) INTO d, m FROM removed; \
       IF d IS NOT NULL THEN PERFORM sub_tree_member_change(d, m, -1); END IF; \
       SELECT array_agg(department_id), array_agg(member_id) INTO d, m FROM added; \
       IF d IS NOT NULL THEN PERFORM sub_tree_member_change(d, m, 1); END IF; \
       RETURN NULL; END $$; \
     CREATE FUNCTION sub_tree_member_moved() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN \
       PERFORM 1 FROM member m WHERE m.id IN \
         (SELECT dm.member_id FROM department_member dm WHERE dm.department_id = NEW.id) \
         ORDER BY m.id FOR SHARE; \
       INSERT INTO sub_tree_member (department_id, member_id, lower_nickname, links) \
         SELECT above.id, dm.member_id, lower(m.nickname), 1 \
         FROM department_member dm JOIN member m ON m.id = dm.member_id \
         CROSS JOIN unnest(department_path_ids(NEW.path)) AS p(id) \
         JOIN department above ON above.id = p.id \
         WHERE dm.department_id = NEW.id \
         ORDER BY above.id, dm.member_id \
         ON CONFLICT (department_id, member_id) \
         DO UPDATE SET links = sub_tree_member.links + 1; \
       UPDATE sub_tree_member s SET links = s.links - 1 FROM department_member dm \
         WHERE dm.department_id = NEW.id AND s.member_id = dm.member_id \
         AND s.department_id = ANY (department_path_ids(OLD.path)); \
       DELETE FROM sub_tree_member s USING department_member dm \
         WHERE dm.department_id = NEW.id AND s.member_id = dm.member_id AND s.links <= 0; \
       RETURN NULL; END $$; \
     CREATE FUNCTION sub_tree_member_department_deleted() RETURNS trigger LANGUAGE plpgsql \
       AS $$ BEGIN \
       DELETE FROM department_member WHERE department_id = OLD.id; \
       RETURN OLD; END $$; \
     CREATE FUNCTION sub_tree_member_renamed() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN \
       UPDATE sub_tree_member SET lower_nickname = lower(NEW.nickname) WHERE member_id = NEW.id; \
       RETURN NULL; END $$; \
     CREATE TRIGGER sub_tree_member_link AFTER INSERT ON department_member \
       REFERENCING NEW TABLE AS added FOR EACH STATEMENT \
       EXECUTE FUNCTION sub_tree_member_linked(); \
     CREATE TRIGGER sub_tree_member_unlink AFTER DELETE ON department_member \
       REFERENCING OLD TABLE AS removed FOR EACH STATEMENT \
       EXECUTE FUNCTION sub_tree_member_unlinked(); \
     CREATE TRIGGER sub_tree_member_relink AFTER UPDATE ON department_member \
       REFERENCING OLD TABLE AS removed NEW TABLE AS added FOR EACH STATEMENT \
       EXECUTE FUNCTION sub_tree_member_relinked(); \
     CREATE TRIGGER sub_tree_member_move AFTER UPDATE OF path ON department FOR EACH ROW \
       WHEN (OLD.path IS DISTINCT FROM NEW.path) EXECUTE FUNCTION sub_tree_member_moved(); \
     CREATE TRIGGER sub_tree_member_department_delete BEFORE DELETE ON department FOR EACH ROW \
       EXECUTE FUNCTION sub_tree_member_department_deleted(); \
     CREATE TRIGGER sub_tree_member_rename AFTER UPDATE OF nickname ON member FOR EACH ROW \
       WHEN (lower(OLD.nickname) IS DISTINCT FROM lower(NEW.nickname)) \
       EXECUTE FUNCTION sub_tree_member_renamed(); \
     INSERT INTO sub_tree_member (department_id, member_id, lower_nickname, links) \
       SELECT above.id, dm.member_id, lower(m.nickname), count(*) \
       FROM department_member dm JOIN department d ON d.id = dm.department_id \
       CROSS JOIN unnest(department_path_ids(d.path)) AS p(id) \
       JOIN department above ON above.id = p.id \
       JOIN member m ON m.id = dm.member_id \
       GROUP BY above.id, dm.member_id, m.nickname;";

const SQLITE_DOWN: &str = "DROP TRIGGER IF EXISTS sub_tree_member_link; \
     DROP TRIGGER IF EXISTS sub_tree_member_unlink; \
     DROP TRIGGER IF EXISTS sub_tree_member_relink; \
     DROP TRIGGER IF EXISTS sub_tree_member_move; \
     DROP TRIGGER IF EXISTS sub_tree_member_department_delete; \
     DROP TRIGGER IF EXISTS sub_tree_member_rename; \
     DROP TABLE IF EXISTS sub_tree_member;";

const POSTGRES_DOWN: &str = "DROP TRIGGER IF EXISTS sub_tree_member_link ON department_member; \
     DROP TRIGGER IF EXISTS sub_tree_member_unlink ON department_member; \
     DROP TRIGGER IF EXISTS sub_tree_member_relink ON department_member; \
     DROP TRIGGER IF EXISTS sub_tree_member_move ON department; \
     DROP TRIGGER IF EXISTS sub_tree_member_department_delete ON department; \
     DROP TRIGGER IF EXISTS sub_tree_member_rename ON member; \
     DROP FUNCTION IF EXISTS sub_tree_member_linked(); \
     DROP FUNCTION IF EXISTS sub_tree_member_unlinked(); \
     DROP FUNCTION IF EXISTS sub_tree_member_relinked(); \
     DROP FUNCTION IF EXISTS sub_tree_member_moved(); \
     DROP FUNCTION IF EXISTS sub_tree_member_department_deleted(); \
     DROP FUNCTION IF EXISTS sub_tree_member_renamed(); \
     DROP FUNCTION IF EXISTS sub_tree_member_change(bigint[], bigint[], integer); \
     DROP FUNCTION IF EXISTS department_path_ids(text); \
     DROP TABLE IF EXISTS sub_tree_member;";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // Migrations run before the server serves: no link changes between the triggers and
        // the backfill at the end of each backend's SQL.
        execute_for_backend(manager, SQLITE_UP, POSTGRES_UP).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        execute_for_backend(manager, SQLITE_DOWN, POSTGRES_DOWN).await
    }
}
