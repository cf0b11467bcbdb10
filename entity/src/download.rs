//! A short-lived download: a member export, a spreadsheet template or a problem report.

use sea_orm::entity::prelude::*;

/// A short-lived download: a member export, a spreadsheet template or a problem report.
#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "download")]
pub struct Model {
    /// Random identifier, part of the signed link.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    /// Organization whose data it holds.
    pub organization_id: i64,
    /// Member who asked for it; only their link opens it.
    pub member_id: i64,
    /// What it is (`member_export`, `update_template`, `import_template`, `problem_report`).
    pub kind: String,
    /// File name offered to the browser.
    pub file_name: String,
    /// What to generate, as JSON (exports and templates).
    pub params: Option<String>,
    /// The finished file (problem reports).
    pub content: Option<Vec<u8>>,
    /// When it was created.
    pub created_at: DateTimeUtc,
    /// When the link stops working.
    pub expires_at: DateTimeUtc,
}

impl ActiveModelBehavior for ActiveModel {}
