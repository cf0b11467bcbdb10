//! DingTalk: the new OAuth2 QR login, app tokens (cached, renewed on DingTalk's several
//! "token expired" signals), unionId → userid and user details.

pub mod client;

pub use client::{DingtalkApp, DingtalkClient, DingtalkUser};
