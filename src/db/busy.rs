//! How a SQLite connection waits for the write lock while another connection holds it.
//!
//! SQLite lets one connection write at a time; the others wait in a busy handler, which SQLite
//! calls each time the lock is still taken and which decides how long to sleep before the next
//! attempt. The handler `sqlite3_busy_timeout` installs (sqlx sets it from `busy_timeout`)
//! sleeps 1, 2, 5, 10, 15, 20, 25, 25, 25, 50, 50 and then 100 ms between attempts. A writer that
//! lost a few rounds therefore sleeps 25–100 ms at a time while the lock, held for about a
//! millisecond by each login or small edit, passes among the others: with 16 concurrent logins
//! on SQLite, the slowest one in a hundred took 0.4–1 s (BENCHMARKS.md, load harness; under
//! 0.1 s with this handler).
//!
//! Roster's handler tries again after 0.1, 0.2, 0.4 and 0.8 ms and then every millisecond, until
//! about as long as `busy_timeout` allowed has passed; then SQLite answers "database is locked"
//! as before. Each retry is a failed lock attempt, a few microseconds of the connection's own
//! worker thread. PostgreSQL waits in its lock queue and needs none of this.
//!
//! This is the one place in Roster with `unsafe` code: SQLite's C interface for installing a
//! busy handler, which sqlx does not wrap.

#![allow(unsafe_code)]

use sea_orm::sqlx::{self, sqlite::SqliteConnection};
use std::{
    ffi::{c_int, c_void},
    sync::atomic::{AtomicU64, Ordering},
    time::Duration,
};

/// How long a writer waits for the lock in all before SQLite reports it busy.
pub const LIMIT: Duration = Duration::from_secs(10);

/// The longest pause between two attempts.
const LONGEST_PAUSE: Duration = Duration::from_millis(1);

/// The first pause; each following one doubles, up to [`LONGEST_PAUSE`].
const FIRST_PAUSE: Duration = Duration::from_micros(100);

/// Attempts that found the write lock taken, since the process started, on every connection.
static WAITS: AtomicU64 = AtomicU64::new(0);

/// Times a SQLite writer found the write lock taken and waited (the
/// `roster_sqlite_busy_waits_total` counter). Always 0 on PostgreSQL.
pub fn waits() -> u64 {
    WAITS.load(Ordering::Relaxed)
}

/// The pause before attempt `attempt + 1` after `attempt + 1` failed ones, or `None` once the
/// pauses so far add up to [`LIMIT`]: then the writer gives up.
fn pause(attempt: u32) -> Option<Duration> {
    // Doubling pauses up to the longest: 0.1 + 0.2 + 0.4 + 0.8 ms = 1.5 ms over the first four.
    let doubling = LONGEST_PAUSE.as_micros() / FIRST_PAUSE.as_micros();
    let ramp = doubling.ilog2() + 1;
    if attempt < ramp {
        return Some(FIRST_PAUSE * (1 << attempt));
    }
    let ramped = FIRST_PAUSE * ((1 << ramp) - 1);
    let waited = ramped + LONGEST_PAUSE * (attempt - ramp);
    (waited < LIMIT).then_some(LONGEST_PAUSE)
}

/// SQLite's busy callback: `attempts` is how many times it was called for this lock already.
/// Returns non-zero to try again, zero to give up. Runs on the connection's worker thread,
/// which is blocked on this statement anyway.
extern "C" fn on_busy(_: *mut c_void, attempts: c_int) -> c_int {
    WAITS.fetch_add(1, Ordering::Relaxed);
    match pause(u32::try_from(attempts).unwrap_or(0)) {
        Some(pause) => {
            std::thread::sleep(pause);
            1
        }
        None => 0,
    }
}

/// Installs Roster's busy handler on a newly opened connection, in place of the one
/// `busy_timeout` installed.
pub async fn install(conn: &mut SqliteConnection) -> Result<(), sqlx::Error> {
    let mut locked = conn.lock_handle().await?;
    let handle = locked.as_raw_handle();
    // SAFETY: the handle is the open connection's, and the lock held keeps every other use of
    // it away for the duration of the call. `on_busy` neither panics nor touches the
    // connection, and takes no argument (null).
    let code = unsafe {
        libsqlite3_sys::sqlite3_busy_handler(handle.as_ptr(), Some(on_busy), std::ptr::null_mut())
    };
    if code == libsqlite3_sys::SQLITE_OK {
        Ok(())
    } else {
        Err(sqlx::Error::Configuration(
            format!("SQLite refused the busy handler (code {code})").into(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pauses_double_to_a_millisecond_and_stop_at_the_limit() {
        let micros = |attempt| pause(attempt).map(|p| p.as_micros());
        assert_eq!(
            (0..6).map(micros).collect::<Vec<_>>(),
            [
                Some(100),
                Some(200),
                Some(400),
                Some(800),
                Some(1_000),
                Some(1_000)
            ]
        );
        let total: Duration = (0..).map_while(pause).sum();
        assert!(total >= LIMIT, "{total:?}");
        assert!(total < LIMIT + LONGEST_PAUSE * 2, "{total:?}");
        assert_eq!(pause(u32::MAX), None);
    }
}
