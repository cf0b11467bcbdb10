//! Database connection: SQLite (WAL, foreign keys on, Roster's busy handler) or PostgreSQL, and
//! migrations.

pub mod busy;

use crate::config::Settings;
use migration::{Migrator, MigratorTrait};
use sea_orm::{ConnectOptions, Database, DatabaseConnection, DbErr};
use std::{
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

/// How many rows of `query` hold each of `ids` in the column `group`, in one grouped statement;
/// an id no row holds counts 0.
pub async fn counts_by<E, C>(
    db: &C,
    query: sea_orm::Select<E>,
    group: E::Column,
    ids: &[i64],
) -> Result<std::collections::HashMap<i64, u64>, DbErr>
where
    E: sea_orm::EntityTrait,
    C: sea_orm::ConnectionTrait,
{
    use sea_orm::{ColumnTrait, QueryFilter, QuerySelect};
    let mut out: std::collections::HashMap<i64, u64> = ids.iter().map(|&id| (id, 0)).collect();
    let counted: Vec<(i64, i64)> = query
        .select_only()
        .column(group)
        .column_as(group.count(), "rows")
        .filter(group.is_in(ids.iter().copied()))
        .group_by(group)
        .into_tuple()
        .all(db)
        .await?;
    for (id, n) in counted {
        out.insert(id, u64::try_from(n).unwrap_or_default());
    }
    Ok(out)
}

/// The rows of `query` whose column `group` holds one of `ids`, by that id (`key` reads it from
/// a row), in the query's order; an id no row holds maps to an empty list. One statement.
pub async fn rows_by<E, C>(
    db: &C,
    query: sea_orm::Select<E>,
    group: E::Column,
    ids: &[i64],
    key: impl Fn(&E::Model) -> Option<i64>,
) -> Result<std::collections::HashMap<i64, Vec<E::Model>>, DbErr>
where
    E: sea_orm::EntityTrait,
    C: sea_orm::ConnectionTrait,
{
    use sea_orm::{ColumnTrait, QueryFilter};
    let rows = query
        .filter(group.is_in(ids.iter().copied()))
        .all(db)
        .await?;
    Ok(grouped(
        ids,
        rows.into_iter()
            .filter_map(|row| key(&row).map(|id| (id, row))),
    ))
}

/// `pairs` grouped by their first value, in their order; an id of `ids` no pair names maps to an
/// empty list.
pub fn grouped<V>(
    ids: &[i64],
    pairs: impl IntoIterator<Item = (i64, V)>,
) -> std::collections::HashMap<i64, Vec<V>> {
    let mut out: std::collections::HashMap<i64, Vec<V>> =
        ids.iter().map(|&id| (id, Vec::new())).collect();
    for (id, value) in pairs {
        out.entry(id).or_default().push(value);
    }
    out
}

/// Counts the SQL statements a pool has run (tests bound the statements of one request with it).
pub type StatementCounter = Arc<AtomicU64>;

/// The server's pools: [`connect`]'s and, on PostgreSQL, [`connect_planned`]'s.
pub struct Pools {
    /// The pool every read and write uses.
    pub db: DatabaseConnection,
    /// On PostgreSQL, the pools of reads planned for their values.
    pub planned: Option<PlannedPools>,
    /// The SQL statements all of them have run.
    pub statements: StatementCounter,
}

/// On PostgreSQL, the pools of member pages whose best plan depends on the values bound to them
/// ([`connect_planned`]).
#[derive(Clone)]
pub struct PlannedPools {
    /// Sessions that plan every statement for its values and start no parallel workers.
    pub values: DatabaseConnection,
    /// The same, walking no index in order (`enable_indexscan = off`): a page of a keyword that
    /// matches fewer members than it wants reads every match through the keyword's index (a
    /// bitmap scan) and sorts them, instead of walking an index in sort order for a page that is
    /// not there.
    pub few: DatabaseConnection,
}

/// Opens the pools described by the settings, counting their statements.
pub async fn connect_counted(settings: &Settings) -> Result<Pools, DbErr> {
    let counter = StatementCounter::default();
    let counted = |mut db: DatabaseConnection| {
        let seen = counter.clone();
        db.set_metric_callback(move |_| {
            seen.fetch_add(1, Ordering::Relaxed);
        });
        db
    };
    let db = counted(connect(settings).await?);
    let planned = connect_planned(settings).await?.map(|pools| PlannedPools {
        values: counted(pools.values),
        few: counted(pools.few),
    });
    Ok(Pools {
        db,
        planned,
        statements: counter,
    })
}

/// Rows a SQLite connection's worker thread may read ahead of the task that consumes them. sqlx
/// reads SQLite on a thread per connection and hands rows over a bounded channel (50 by
/// default); once it is full, the worker sleeps and is woken again for every row taken, two
/// context switches a row. This holds the largest result read in one statement (a batch update's
/// 5,000-member lookups, the export's 2,000-row pages) and costs memory only while a result
/// waits to be consumed.
const ROW_BUFFER: usize = 8_192;

/// Opens the pool described by the settings.
pub async fn connect(settings: &Settings) -> Result<DatabaseConnection, DbErr> {
    Database::connect(pool_options(settings)).await
}

/// On PostgreSQL, opens two more pools for reads whose best plan depends on the values bound to
/// them: member pages of a keyword or a sub-tree (`members::list`). Each of their sessions plans
/// every statement for its values (`plan_cache_mode = force_custom_plan`) instead of possibly
/// settling on one generic plan after five executions, and starts no parallel workers: they take
/// longer to start than such a page takes without them (a sub-tree page on two cores: 9–12 ms
/// with two workers, 2.5 ms without, BENCHMARKS.md), and the planner does not count that start-up
/// high enough to see it. The sessions of [`PlannedPools::few`] also walk no index in order. Set
/// once per session, these cost a page nothing; set in a transaction of its own, they cost it
/// three round trips (`BEGIN`, `SET LOCAL`, `COMMIT`). `None` on SQLite, which keeps no generic
/// plans to fall back on and has no parallel workers.
pub async fn connect_planned(settings: &Settings) -> Result<Option<PlannedPools>, DbErr> {
    if settings.is_sqlite() {
        return Ok(None);
    }
    let open = |max_connections: u32, index_walks: &'static str| {
        let mut options = pool_options(settings);
        // A page holds one of these for its page statements alone, not for its related reads.
        options.max_connections(max_connections);
        options.map_sqlx_postgres_opts(move |opts| {
            opts.options([
                ("plan_cache_mode", "force_custom_plan"),
                ("max_parallel_workers_per_gather", "0"),
                ("enable_indexscan", index_walks),
            ])
        });
        Database::connect(options)
    };
    let (values, few) = planned_connections(settings.database_max_connections);
    Ok(Some(PlannedPools {
        values: open(values, "on").await?,
        few: open(few, "off").await?,
    }))
}

/// The sizes of [`connect_planned`]'s pools: half the server's, and a quarter for pages of few
/// (a keyword matching fewer members than a page is read once in its window, then for a minute
/// in that pool alone), each at least one.
fn planned_connections(max_connections: u32) -> (u32, u32) {
    ((max_connections / 2).max(1), (max_connections / 4).max(1))
}

/// The options of a pool described by the settings.
fn pool_options(settings: &Settings) -> ConnectOptions {
    let mut options = ConnectOptions::new(settings.database_url.clone());
    options
        .max_connections(settings.database_max_connections)
        .min_connections(1)
        .connect_timeout(Duration::from_secs(10))
        .acquire_timeout(Duration::from_secs(10))
        .sqlx_logging(false);
    if settings.is_sqlite() {
        // Every pooled connection needs the pragmas; sea-orm applies `map_sqlx_sqlite_opts` to each.
        options.map_sqlx_sqlite_opts(|opts| {
            opts.journal_mode(sea_orm::sqlx::sqlite::SqliteJournalMode::Wal)
                .synchronous(sea_orm::sqlx::sqlite::SqliteSynchronous::Normal)
                .foreign_keys(true)
                .busy_timeout(busy::LIMIT)
                .row_buffer_size(ROW_BUFFER)
        });
        // Replaces the busy handler `busy_timeout` installed, on each connection as it opens.
        options.map_sqlx_sqlite_pool_opts(|pool| {
            pool.after_connect(|conn, _| Box::pin(async move { busy::install(conn).await }))
        });
    }
    options
}

/// Applies every pending migration.
pub async fn migrate(db: &DatabaseConnection) -> Result<(), DbErr> {
    Migrator::up(db, None).await
}

/// Keeps SQLite's planner statistics (`sqlite_stat1`) current; PostgreSQL's autovacuum does this
/// on its own. `PRAGMA optimize=0x10002` analyzes each table that has an index without
/// statistics, or that has grown or shrunk tenfold since it was last analyzed, with SQLite's
/// bounded analysis (a fraction of a second even on a large database); asked first in its
/// debugging form (bit `0x1`), it only lists those tables, so that nothing is written when there
/// are none. Without statistics SQLite guesses, and guesses wrong where an index holds the few
/// rows a filter wants (`ix_member_flagged`, a department's links): it walks the sort index
/// over the whole organization instead. Returns whether anything was analyzed.
pub async fn refresh_statistics(db: &DatabaseConnection) -> Result<bool, DbErr> {
    use sea_orm::{ConnectionTrait, DbBackend, Statement};
    if db.get_database_backend() != DbBackend::Sqlite {
        return Ok(false);
    }
    let due = db
        .query_all_raw(Statement::from_string(
            DbBackend::Sqlite,
            "PRAGMA optimize=0x10003",
        ))
        .await?;
    if due.is_empty() {
        return Ok(false);
    }
    db.execute_unprepared("PRAGMA optimize=0x10002").await?;
    reload_statistics(db).await?;
    Ok(true)
}

/// Makes every pooled SQLite connection plan with the statistics in `sqlite_stat1` now. A
/// connection reads them only with the schema, when it opens or after the schema changes;
/// `ANALYZE` loads them into the connection that ran it alone, and the pool's other connections
/// would go on planning with what they read when they opened (none at all on a new database).
/// A view created and dropped again changes the schema, so that each connection reads it,
/// statistics included, before its next statement; nothing of it stays. The connection that makes
/// that change does not read its own schema again, so it reloads the statistics explicitly
/// (`ANALYZE sqlite_schema` analyzes nothing and reloads them; without it, that one pooled
/// connection walked whole organizations for a small department's page: BENCHMARKS.md, "The
/// SQLite tail of the leaf-department page"). PostgreSQL shares its statistics among
/// connections: nothing to do there.
pub async fn reload_statistics(db: &DatabaseConnection) -> Result<(), DbErr> {
    use sea_orm::{ConnectionTrait, DbBackend};
    if db.get_database_backend() != DbBackend::Sqlite {
        return Ok(());
    }
    let txn = begin_write(db).await?;
    txn.execute_unprepared("CREATE VIEW roster_statistics_reload AS SELECT 1")
        .await?;
    txn.execute_unprepared("DROP VIEW roster_statistics_reload")
        .await?;
    txn.execute_unprepared("ANALYZE sqlite_schema").await?;
    txn.commit().await
}

/// Checks that the database answers.
pub async fn ping(db: &DatabaseConnection) -> Result<(), DbErr> {
    db.ping().await
}

/// Starts a transaction that will write. On SQLite it takes the write lock at once (`BEGIN
/// IMMEDIATE`), so that two writers queue in the busy handler instead of one of them failing
/// with "database is locked" when its read turns into a write; PostgreSQL begins as usual.
pub async fn begin_write(db: &DatabaseConnection) -> Result<sea_orm::DatabaseTransaction, DbErr> {
    use sea_orm::{SqliteTransactionMode, TransactionOptions, TransactionTrait};
    db.begin_with_options(TransactionOptions {
        sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
        ..Default::default()
    })
    .await
}

/// One JSON document as a text parameter, for a PostgreSQL statement that reads it as `$n::json`
/// (`json_to_recordset`, `json_array_elements_text`): one parameter for a whole file's rows.
///
/// A `serde_json::Value` parameter goes as `jsonb`, which PostgreSQL builds into its binary form
/// while binding the statement, and `::json` then prints it for the reading function to parse
/// again: 40–48 ms for the 5,000 rows of a batch update, against 15–23 ms for the same text
/// parsed once (BENCHMARKS.md).
pub fn json_text<T: serde::Serialize + ?Sized>(value: &T) -> Result<sea_orm::Value, DbErr> {
    serde_json::to_string(value)
        .map(sea_orm::Value::from)
        .map_err(|e| DbErr::Custom(format!("a JSON parameter could not be written: {e}")))
}

/// On PostgreSQL, starts a transaction in which every statement is planned for the values bound
/// to it (`plan_cache_mode = force_custom_plan`, until the transaction ends) instead of possibly
/// reusing a generic plan: a count of every match, whose best plan depends on how many a keyword
/// or a sub-tree holds, and which parallel workers may share (pages read with the pool of
/// [`connect_planned`] instead). Three round trips more than counting without it (`BEGIN`, the
/// setting, `COMMIT`). `None` on SQLite, which keeps no generic plans to fall back on.
pub async fn begin_planned_per_value(
    db: &DatabaseConnection,
) -> Result<Option<sea_orm::DatabaseTransaction>, DbErr> {
    use sea_orm::{ConnectionTrait, DbBackend, TransactionTrait};
    if db.get_database_backend() != DbBackend::Postgres {
        return Ok(None);
    }
    let txn = db.begin().await?;
    txn.execute_unprepared("SET LOCAL plan_cache_mode = force_custom_plan")
        .await?;
    Ok(Some(txn))
}

#[cfg(test)]
mod tests {
    use super::*;
    use sea_orm::{ConnectionTrait, DbBackend, Statement};
    use std::sync::atomic::AtomicUsize;

    #[test]
    fn the_pools_of_planned_reads_are_a_half_and_a_quarter_of_the_servers() {
        assert_eq!(planned_connections(16), (8, 4));
        assert_eq!(planned_connections(3), (1, 1));
        assert_eq!(planned_connections(1), (1, 1), "never empty");
    }

    #[test]
    fn grouped_keeps_the_order_and_every_id() {
        let by = grouped(&[1, 2, 3], [(2, "b"), (1, "a"), (2, "c"), (9, "z")]);
        assert_eq!(by[&1], ["a"]);
        assert_eq!(by[&2], ["b", "c"], "in the order of the pairs");
        assert!(by[&3].is_empty(), "an id no pair names has an empty list");
        assert_eq!(by[&9], ["z"]);
    }

    /// The plan SQLite chooses for `sql` on this connection, after a statement that notices a
    /// changed schema (`EXPLAIN` does not look), prepared afresh (sqlx keeps each connection's
    /// statements by their text, and a kept `EXPLAIN` would show the old plan).
    async fn plan(db: &DatabaseConnection, sql: &str) -> String {
        static FRESH: AtomicUsize = AtomicUsize::new(0);
        db.execute_unprepared("SELECT count(*) FROM sqlite_schema")
            .await
            .expect("a read");
        let n = FRESH.fetch_add(1, Ordering::Relaxed);
        db.query_all_raw(Statement::from_string(
            DbBackend::Sqlite,
            format!("EXPLAIN QUERY PLAN {sql} -- {n}"),
        ))
        .await
        .expect("a plan")
        .iter()
        .map(|row| row.try_get::<String>("", "detail").expect("detail"))
        .collect::<Vec<_>>()
        .join("; ")
    }

    #[tokio::test]
    async fn a_writer_waits_for_the_lock_in_roster_s_busy_handler() {
        let dir = tempfile::tempdir().expect("a temporary folder");
        let settings = Settings {
            database_url: format!("sqlite://{}?mode=rwc", dir.path().join("busy.db").display()),
            ..Settings::default()
        };
        let db = connect(&settings).await.expect("open");
        db.execute_unprepared("CREATE TABLE t (n INTEGER NOT NULL)")
            .await
            .expect("table");
        let holder = begin_write(&db).await.expect("the write lock");
        holder
            .execute_unprepared("INSERT INTO t (n) VALUES (1)")
            .await
            .expect("first write");
        let before = busy::waits();
        // A second pooled connection asks for the lock while the first holds it.
        let waiter = tokio::spawn({
            let db = db.clone();
            async move {
                let txn = begin_write(&db).await?;
                txn.execute_unprepared("INSERT INTO t (n) VALUES (2)")
                    .await?;
                txn.commit().await
            }
        });
        // Without Roster's handler on the pool, SQLite's own would wait and nothing would count.
        tokio::time::timeout(busy::LIMIT, async {
            while busy::waits() == before {
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
        })
        .await
        .expect("the second writer waited in Roster's busy handler");
        holder.commit().await.expect("first commit");
        waiter.await.expect("joined").expect("second write");
        let rows = db
            .query_all_raw(Statement::from_string(
                DbBackend::Sqlite,
                "SELECT n FROM t ORDER BY n",
            ))
            .await
            .expect("rows");
        assert_eq!(rows.len(), 2);
    }

    #[tokio::test]
    async fn statistics_reach_every_connection_once_refreshed() {
        let dir = tempfile::tempdir().expect("a temporary folder");
        let url = format!(
            "sqlite://{}?mode=rwc",
            dir.path().join("statistics.db").display()
        );
        // Two pools of one connection each: two pooled connections, told apart.
        let open = || async {
            let mut options = ConnectOptions::new(url.clone());
            options.max_connections(1).sqlx_logging(false);
            Database::connect(options).await.expect("open")
        };
        let maintainer = open().await;
        let rows = |n: u32| {
            format!(
                "WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < {n}) \
                 INSERT INTO m (org, nick, flagged) SELECT 1, printf('n%07d', n + (SELECT count(*) FROM m)), n % 1000 = 0 FROM g"
            )
        };
        for sql in [
            "CREATE TABLE m (id INTEGER PRIMARY KEY, org INTEGER NOT NULL, nick TEXT NOT NULL, flagged INTEGER NOT NULL)",
            "CREATE UNIQUE INDEX ux_m_nick ON m (org, nick)",
            "CREATE INDEX ix_m_flagged ON m (org) WHERE flagged",
            // Statistics exist already, of another table: analyzing `m` changes no schema.
            "CREATE TABLE k (x INTEGER NOT NULL)",
            "CREATE INDEX ix_k ON k (x)",
            "INSERT INTO k (x) VALUES (1)",
            "ANALYZE k",
            &rows(5_000),
        ] {
            maintainer.execute_unprepared(sql).await.expect("setup");
        }
        let other = open().await;
        let reloader = open().await;
        const PAGE: &str = "SELECT * FROM m WHERE org = 1 AND flagged ORDER BY nick LIMIT 51";
        // Without statistics the sort index is walked over every row.
        for connection in [&other, &reloader] {
            let planned = plan(connection, PAGE).await;
            assert!(planned.contains("ux_m_nick"), "{planned}");
        }

        // ANALYZE informs the connection that ran it, and no other.
        maintainer
            .execute_unprepared("PRAGMA optimize=0x10002")
            .await
            .expect("analyzed");
        assert!(plan(&maintainer, PAGE).await.contains("ix_m_flagged"));
        assert!(plan(&other, PAGE).await.contains("ux_m_nick"));
        // Reloaded through a third connection, the others plan with them too (the five flagged
        // rows, a sort), and so does the one that reloaded, whose own schema change does not
        // make it read the schema again.
        reload_statistics(&reloader).await.expect("reloaded");
        for connection in [&other, &reloader] {
            let planned = plan(connection, PAGE).await;
            assert!(planned.contains("ix_m_flagged"), "{planned}");
        }

        // A refresh analyzes only what is due: nothing now, the table once it grew tenfold.
        assert!(!refresh_statistics(&maintainer).await.expect("checked"));
        maintainer
            .execute_unprepared(&rows(50_000))
            .await
            .expect("grown");
        assert!(refresh_statistics(&maintainer).await.expect("refreshed"));
        assert!(!refresh_statistics(&maintainer).await.expect("checked"));
        // The schema is as it was.
        let views = other
            .query_all_raw(Statement::from_string(
                DbBackend::Sqlite,
                "SELECT name FROM sqlite_schema WHERE type = 'view'",
            ))
            .await
            .expect("views");
        assert!(views.is_empty());
    }
}
