//! Spreadsheet types.

use crate::excel::{
    columns::FieldGroup, download::Link, template::TemplateKind, validate::Problem,
};
use async_graphql::{Enum, InputObject, SimpleObject};
use chrono::{DateTime, Utc};

/// A file to fetch with a plain GET (no Authorization header needed): the link is signed for you,
/// works for 10 minutes and only while you may still view members.
#[derive(SimpleObject)]
pub struct Download {
    /// Absolute address of the file.
    pub url: String,
    /// Suggested file name.
    pub file_name: String,
    /// When the link stops working.
    pub expires_at: DateTime<Utc>,
}

impl From<Link> for Download {
    fn from(link: Link) -> Self {
        Self {
            url: link.url,
            file_name: link.file_name,
            expires_at: link.expires_at,
        }
    }
}

/// Optional column groups of an export.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
pub enum ExportField {
    /// User Group: department paths.
    UserGroups,
    /// Email and Phone Number.
    ContactInformation,
    /// One `tag_<name>` column per tag.
    Tags,
}

impl From<ExportField> for FieldGroup {
    fn from(f: ExportField) -> Self {
        match f {
            ExportField::UserGroups => Self::UserGroups,
            ExportField::ContactInformation => Self::ContactInformation,
            ExportField::Tags => Self::Tags,
        }
    }
}

/// Which members to export: all (nothing set), the current list filter, selected members, or the
/// members of departments.
#[derive(InputObject, Default)]
pub struct ExportMembersInput {
    /// The member-list filter in use.
    pub filter: Option<crate::graphql::member::inputs::MemberFilter>,
    /// Only these members.
    pub member_ids: Option<Vec<async_graphql::ID>>,
    /// Members of any of these departments (department export).
    pub department_ids: Option<Vec<async_graphql::ID>>,
    /// With `departmentIds`: include sub-departments (default true).
    pub include_sub_departments: Option<bool>,
    /// Optional column groups (default: all).
    pub fields: Option<Vec<ExportField>>,
}

/// Which template.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
pub enum MemberTemplateKind {
    /// Change existing members (the export's columns, with drop-downs).
    BatchUpdate,
    /// Add new members (generic organizations).
    Import,
}

impl From<MemberTemplateKind> for TemplateKind {
    fn from(k: MemberTemplateKind) -> Self {
        match k {
            MemberTemplateKind::BatchUpdate => Self::BatchUpdate,
            MemberTemplateKind::Import => Self::Import,
        }
    }
}

/// One problem in an uploaded sheet.
#[derive(SimpleObject)]
pub struct SheetProblem {
    /// Excel row number (the header is row 1).
    pub row: i32,
    /// Header of the column at fault.
    pub column: String,
    /// What is wrong and what to do.
    pub message: String,
}

impl From<Problem> for SheetProblem {
    fn from(p: Problem) -> Self {
        Self {
            row: p.row as i32,
            column: p.column,
            message: p.message,
        }
    }
}

/// What a batch update did, or would do.
#[derive(SimpleObject)]
pub struct BatchUpdateReport {
    /// Whether the changes were made: false on a dry run, when nothing changes, or when there is
    /// any problem (then nothing changed at all).
    pub applied: bool,
    /// Data rows read.
    pub rows: i32,
    /// Members that changed (or would change on a dry run).
    pub changed_member_ids: Vec<async_graphql::ID>,
    /// Every problem, by row and column.
    pub problems: Vec<SheetProblem>,
    /// The uploaded workbook with a Problems column, when there are problems.
    pub problem_report: Option<Download>,
}

/// A member added by an import, with the one-time password to hand over (shown only here).
#[derive(SimpleObject)]
pub struct ImportedMember {
    /// The new member's id (User ID).
    pub member_id: async_graphql::ID,
    /// The generated one-time password.
    pub generated_password: String,
    /// When it stops letting them in (`PASSWORD_EXPIRED`); null when one-time passwords do not
    /// expire.
    pub password_expires_at: Option<chrono::DateTime<chrono::Utc>>,
}

/// What an import did, or would do.
#[derive(SimpleObject)]
pub struct ImportReport {
    /// Whether the members were added: false on a dry run or when there is any problem (then
    /// nobody was added).
    pub applied: bool,
    /// Data rows read.
    pub rows: i32,
    /// The members added.
    pub created: Vec<ImportedMember>,
    /// Every problem, by row and column.
    pub problems: Vec<SheetProblem>,
    /// The uploaded workbook with a Problems column, when there are problems.
    pub problem_report: Option<Download>,
}
