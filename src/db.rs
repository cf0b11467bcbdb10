//! Database connection: SQLite (WAL, foreign keys on, busy timeout) or PostgreSQL, and migrations.

use crate::config::Settings;
use migration::{Migrator, MigratorTrait};
use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DatabaseTransaction, DbBackend,
    DbErr, Statement,
};
use std::{
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

/// Counts the SQL statements a pool has run (tests bound the statements of one request with it).
pub type StatementCounter = Arc<AtomicU64>;

/// Opens the pool described by the settings, counting its statements.
pub async fn connect_counted(
    settings: &Settings,
) -> Result<(DatabaseConnection, StatementCounter), DbErr> {
    let mut db = connect(settings).await?;
    let counter = StatementCounter::default();
    let seen = counter.clone();
    db.set_metric_callback(move |_| {
        seen.fetch_add(1, Ordering::Relaxed);
    });
    Ok((db, counter))
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
                .busy_timeout(Duration::from_secs(10))
                .row_buffer_size(ROW_BUFFER)
        });
    }
    Database::connect(options).await
}

/// Applies every pending migration.
pub async fn migrate(db: &DatabaseConnection) -> Result<(), DbErr> {
    Migrator::up(db, None).await
}

/// Checks that the database answers.
pub async fn ping(db: &DatabaseConnection) -> Result<(), DbErr> {
    db.ping().await
}

/// Starts a transaction that will write. On SQLite it takes the write lock at once (`BEGIN
/// IMMEDIATE`), so that two writers queue on the busy timeout instead of one of them failing
/// with "database is locked" when its read turns into a write; PostgreSQL begins as usual.
pub async fn begin_write(db: &DatabaseConnection) -> Result<sea_orm::DatabaseTransaction, DbErr> {
    use sea_orm::{SqliteTransactionMode, TransactionOptions, TransactionTrait};
    db.begin_with_options(TransactionOptions {
        sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
        ..Default::default()
    })
    .await
}

/// Pages (in KiB, as SQLite's negative `cache_size` counts) a [`BulkWrite`]'s connection may hold.
const BULK_CACHE_KIB: i64 = 64 * 1024;

/// A write transaction that changes thousands of rows at once: a batch update or import of a
/// workbook. SQLite keeps the pages a transaction changes in its connection's page cache, 2 MiB
/// by default; a 5,000-row batch update of a 100,000-member organization changes more than 16
/// MiB of them (every member index and the search index), so with the default cache it writes
/// them to the log mid-transaction and again at commit (0.42–0.46 s with 2 MiB against
/// 0.33–0.35 s with 32 MiB for the whole batch, BENCHMARKS.md). This transaction's connection
/// may hold 64 MiB, and is given its own size back when the transaction ends, so that pooled
/// connections keep their small caches. On PostgreSQL it is a plain write transaction.
pub struct BulkWrite {
    txn: DatabaseTransaction,
    /// The connection's own `cache_size`, given back at the end (SQLite only).
    restore: Option<i64>,
}

impl BulkWrite {
    /// Starts the transaction ([`begin_write`]) and, on SQLite, enlarges its page cache.
    pub async fn begin(db: &DatabaseConnection) -> Result<Self, DbErr> {
        let txn = begin_write(db).await?;
        let restore = if txn.get_database_backend() == DbBackend::Sqlite {
            let own = cache_size(&txn).await?;
            set_cache_size(&txn, -BULK_CACHE_KIB).await?;
            Some(own)
        } else {
            None
        };
        Ok(Self { txn, restore })
    }

    /// The transaction to write in.
    pub fn txn(&self) -> &DatabaseTransaction {
        &self.txn
    }

    /// Ends the transaction with the outcome of its writes: commits after `Ok`, rolls back after
    /// `Err` (and returns that error). Either way the connection's cache gets its size back first;
    /// the pages above it are freed as the commit or rollback releases them.
    pub async fn finish<T, E: From<DbErr>>(self, outcome: Result<T, E>) -> Result<T, E> {
        let restored = match self.restore {
            Some(own) => set_cache_size(&self.txn, own).await,
            None => Ok(()),
        };
        match outcome {
            Ok(value) => {
                restored?;
                self.txn.commit().await?;
                Ok(value)
            }
            Err(e) => {
                // The writes' error is the one to report; a failed rollback drops the connection.
                let _ = self.txn.rollback().await;
                Err(e)
            }
        }
    }
}

async fn cache_size(db: &impl ConnectionTrait) -> Result<i64, DbErr> {
    let row = db
        .query_one_raw(Statement::from_string(
            DbBackend::Sqlite,
            "PRAGMA cache_size",
        ))
        .await?
        .ok_or_else(|| DbErr::Custom("PRAGMA cache_size returned no row".into()))?;
    row.try_get_by_index(0)
        .map_err(|e| DbErr::Custom(format!("PRAGMA cache_size: {e}")))
}

async fn set_cache_size(db: &impl ConnectionTrait, size: i64) -> Result<(), DbErr> {
    db.execute_unprepared(&format!("PRAGMA cache_size = {size}"))
        .await
        .map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;
    use sea_orm::TransactionTrait;

    /// A pool of one file-backed SQLite connection (the pool's only connection is the one every
    /// statement and transaction gets, so its cache size can be read back after the transaction).
    async fn one_connection(name: &str) -> (DatabaseConnection, std::path::PathBuf) {
        let path = std::env::temp_dir().join(format!(
            "roster-db-{name}-{}-{}.db",
            std::process::id(),
            chrono::Utc::now().timestamp_nanos_opt().unwrap_or_default()
        ));
        let settings = Settings {
            database_url: format!("sqlite://{}?mode=rwc", path.display()),
            database_max_connections: 1,
            ..Settings::default()
        };
        let db = connect(&settings).await.expect("opens");
        db.execute_unprepared("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL)")
            .await
            .expect("creates");
        (db, path)
    }

    async fn remove(db: DatabaseConnection, path: std::path::PathBuf) {
        db.close().await.expect("closes");
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
        }
    }

    async fn rows(db: &DatabaseConnection) -> i64 {
        db.query_one_raw(Statement::from_string(
            DbBackend::Sqlite,
            "SELECT count(*) FROM t",
        ))
        .await
        .expect("counts")
        .expect("a row")
        .try_get_by_index(0)
        .expect("a number")
    }

    #[tokio::test]
    async fn a_bulk_write_enlarges_the_cache_for_itself_only_and_commits() {
        let (db, path) = one_connection("bulk-commit").await;
        let own = cache_size(&db).await.expect("reads");
        let bulk = BulkWrite::begin(&db).await.expect("begins");
        assert_eq!(
            cache_size(bulk.txn()).await.expect("reads"),
            -BULK_CACHE_KIB
        );
        let wrote = bulk
            .txn()
            .execute_unprepared("INSERT INTO t (v) VALUES ('a'), ('b')")
            .await
            .map(|r| r.rows_affected());
        assert_eq!(bulk.finish(wrote).await.expect("commits"), 2);
        assert_eq!(
            cache_size(&db).await.expect("reads"),
            own,
            "size given back"
        );
        assert_eq!(rows(&db).await, 2, "committed");
        remove(db, path).await;
    }

    #[tokio::test]
    async fn a_failed_bulk_write_rolls_back_and_gives_the_cache_size_back() {
        let (db, path) = one_connection("bulk-rollback").await;
        let own = cache_size(&db).await.expect("reads");
        let bulk = BulkWrite::begin(&db).await.expect("begins");
        bulk.txn()
            .execute_unprepared("INSERT INTO t (v) VALUES ('a')")
            .await
            .expect("inserts");
        let failed = bulk
            .txn()
            .execute_unprepared("INSERT INTO t (v) VALUES (NULL)")
            .await
            .map(|_| ());
        let err = bulk.finish(failed).await.expect_err("the write's error");
        assert!(err.to_string().contains("NOT NULL"), "{err}");
        assert_eq!(
            cache_size(&db).await.expect("reads"),
            own,
            "size given back"
        );
        assert_eq!(rows(&db).await, 0, "nothing of the transaction stays");
        // The connection is usable for an ordinary transaction afterwards.
        let txn = db.begin().await.expect("begins");
        txn.commit().await.expect("commits");
        remove(db, path).await;
    }
}
