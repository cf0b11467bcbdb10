//! DingTalk: the new OAuth2 QR login, app tokens (cached, renewed on DingTalk's several
//! "token expired" signals), unionId → userid and user details, and the full read of the
//! organization chart for sync.

pub mod client;
pub mod contacts;
pub mod push;

pub use client::{DingtalkApp, DingtalkClient, DingtalkUser};
