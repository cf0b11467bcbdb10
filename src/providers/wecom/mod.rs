//! WeCom: the web QR login, app tokens (cached per corp and secret, renewed on `40014`/`42001`),
//! code → userid and member details. Userids are compared case-insensitively.

pub mod client;

pub use client::{WecomApp, WecomClient, WecomLogin};
