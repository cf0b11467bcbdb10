//! The test harness shared by every integration test.

pub mod actors;
pub mod app;
pub mod db;
pub mod fixtures;
pub mod jwt;

pub use app::{ADMIN_PASSWORD, TestApp, error_code};
