//! A one-time ticket handed to the SPA after provider login, redeemed for tokens.

use sea_orm::entity::prelude::*;

/// A one-time ticket handed to the SPA after provider login, redeemed for tokens.
#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "login_ticket")]
pub struct Model {
    /// SHA-256 of the ticket, base64url.
    #[sea_orm(primary_key, auto_increment = false)]
    pub ticket_hash: String,
    /// Member who logged in.
    pub member_id: i64,
    /// Organization of that member.
    pub organization_id: i64,
    /// When it stops being accepted (60 s after issue).
    pub expires_at: DateTimeUtc,
    /// When it was redeemed; a second use is refused.
    pub consumed_at: Option<DateTimeUtc>,
}

impl ActiveModelBehavior for ActiveModel {}
