//! WeCom: the web QR login, app tokens (cached per corp and secret, renewed on `40014`/`42001`),
//! code → userid and member details. Userids are compared case-insensitively.
//! The full read of the organization chart for sync lives in `contacts`.

pub mod client;
pub mod contacts;

pub use client::{WecomApp, WecomClient, WecomLogin};
