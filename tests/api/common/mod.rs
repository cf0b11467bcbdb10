//! The test harness shared by every integration test.

pub mod actors;
pub mod app;
pub mod db;
pub mod fixtures;
pub mod jwt;

pub use app::{ADMIN_PASSWORD, TestApp, assert_unauthenticated, error_code};

use std::{future::Future, time::Duration};

/// Reads `read` every 50 ms until `done` holds of the reading, for at most `within`; returns the
/// last reading either way, for the caller's assertion to show what it saw.
pub async fn eventually<T, F, Fut>(within: Duration, read: F, done: impl Fn(&T) -> bool) -> T
where
    F: Fn() -> Fut,
    Fut: Future<Output = T>,
{
    let deadline = tokio::time::Instant::now() + within;
    loop {
        let value = read().await;
        if done(&value) || tokio::time::Instant::now() >= deadline {
            return value;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
