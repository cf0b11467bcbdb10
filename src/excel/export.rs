//! Writing member sheets with rust_xlsxwriter in constant-memory mode: rows are streamed to a
//! temporary file as they come, so a 100,000-member export holds one page in memory, not the sheet.
//! The export, the batch-update template and the department exports share this writer.

use super::columns::{self, Column, FieldGroup};
use crate::error::{Error, Result};
use chrono::{DateTime, Utc};
use entity::enums::{AccountType, MemberStatus, UserType};
use rust_xlsxwriter::{Color, Format, FormatAlign, FormatBorder, Workbook, XlsxError};
use std::collections::BTreeMap;

/// One member as the sheet shows it.
#[derive(Debug, Clone)]
pub struct MemberLine {
    /// User ID.
    pub id: i64,
    /// Account.
    pub account: String,
    /// Account type.
    pub account_type: AccountType,
    /// Nickname.
    pub nickname: String,
    /// Join date.
    pub joined_at: DateTime<Utc>,
    /// Last login.
    pub last_login_at: Option<DateTime<Utc>>,
    /// User type.
    pub user_type: UserType,
    /// Organization role name.
    pub role: String,
    /// Status.
    pub status: MemberStatus,
    /// Tag values by tag name, comma-joined.
    pub tags: BTreeMap<String, String>,
    /// Email.
    pub email: Option<String>,
    /// Phone.
    pub phone: Option<String>,
    /// Department paths.
    pub groups: Vec<String>,
}

pub(crate) fn xlsx_error(e: XlsxError) -> Error {
    Error::internal(format!("writing the workbook failed: {e}"))
}

/// The header format shared by every sheet Roster writes.
pub(crate) fn header_format() -> Format {
    Format::new()
        .set_bold()
        .set_font_color(Color::White)
        .set_background_color(Color::RGB(0x1F_4E_79))
        .set_border_bottom(FormatBorder::Thin)
        .set_align(FormatAlign::VerticalCenter)
}

/// A member sheet being written, row by row.
pub struct MemberSheet {
    workbook: Workbook,
    columns: Vec<Column>,
    date: Format,
    next_row: u32,
}

impl MemberSheet {
    /// Starts a workbook whose first sheet, `Members`, has these columns.
    pub fn new(columns: Vec<Column>) -> Result<Self> {
        let mut workbook = Workbook::new();
        // The sheet XML of 100,000 members is ~50 MB; the fastest deflate level halves the time
        // to pack it for a file a few percent larger.
        workbook.set_zip_compression_level(1);
        let header = header_format();
        let sheet = workbook
            .add_worksheet_with_constant_memory()
            .map_err(xlsx_error)?;
        sheet.set_name(columns::MEMBERS_SHEET).map_err(xlsx_error)?;
        for (i, column) in columns.iter().enumerate() {
            sheet
                .set_column_width(i as u16, column.width())
                .map_err(xlsx_error)?;
            sheet
                .write_string_with_format(0, i as u16, column.header(), &header)
                .map_err(xlsx_error)?;
        }
        sheet.set_freeze_panes(1, 0).map_err(xlsx_error)?;
        Ok(Self {
            workbook,
            columns,
            date: Format::new().set_num_format("yyyy-mm-dd hh:mm:ss"),
            next_row: 1,
        })
    }

    /// The workbook, to add more sheets before finishing.
    pub fn workbook(&mut self) -> &mut Workbook {
        &mut self.workbook
    }

    /// The sheet's columns.
    pub fn columns(&self) -> &[Column] {
        &self.columns
    }

    /// Appends one member.
    pub fn push(&mut self, m: &MemberLine) -> Result<()> {
        let row = self.next_row;
        let sheet = self.workbook.worksheet_from_index(0).map_err(xlsx_error)?;
        for (i, column) in self.columns.iter().enumerate() {
            let col = i as u16;
            let text = |s: &str| s.to_string();
            let written = match column {
                Column::UserId => sheet.write_number(row, col, m.id as f64).map(|_| ()),
                Column::Account => sheet.write_string(row, col, text(&m.account)).map(|_| ()),
                Column::AccountType => sheet
                    .write_string(row, col, columns::account_type_label(m.account_type))
                    .map(|_| ()),
                Column::Nickname => sheet.write_string(row, col, text(&m.nickname)).map(|_| ()),
                Column::JoinDate => sheet
                    .write_datetime_with_format(row, col, m.joined_at.naive_utc(), &self.date)
                    .map(|_| ()),
                Column::LastLogonTime => match m.last_login_at {
                    Some(t) => sheet
                        .write_datetime_with_format(row, col, t.naive_utc(), &self.date)
                        .map(|_| ()),
                    None => Ok(()),
                },
                Column::UserType => sheet
                    .write_string(row, col, columns::user_type_label(m.user_type))
                    .map(|_| ()),
                Column::OrganizationRole => sheet.write_string(row, col, text(&m.role)).map(|_| ()),
                Column::UserStatus => sheet
                    .write_string(row, col, columns::status_label(m.status))
                    .map(|_| ()),
                Column::Tag(name) => match m.tags.get(name) {
                    Some(values) => sheet.write_string(row, col, text(values)).map(|_| ()),
                    None => Ok(()),
                },
                Column::Email => match &m.email {
                    Some(v) => sheet.write_string(row, col, text(v)).map(|_| ()),
                    None => Ok(()),
                },
                Column::PhoneNumber => match &m.phone {
                    Some(v) => sheet.write_string(row, col, text(v)).map(|_| ()),
                    None => Ok(()),
                },
                Column::UserGroup if !m.groups.is_empty() => sheet
                    .write_string(
                        row,
                        col,
                        columns::join_paths(m.groups.iter().map(String::as_str)),
                    )
                    .map(|_| ()),
                Column::UserGroup | Column::Name | Column::EmployeeNumber | Column::Position => {
                    Ok(())
                }
            };
            written.map_err(xlsx_error)?;
        }
        self.next_row += 1;
        Ok(())
    }

    /// Rows written so far (without the header).
    pub fn rows(&self) -> u32 {
        self.next_row - 1
    }

    /// Adds the autofilter over what was written and packs the workbook into a temporary file:
    /// the 11 MB file of a 100,000-member export is sent from disk, not held in memory.
    pub fn finish(mut self) -> Result<WorkbookFile> {
        use std::io::{Seek, Write};
        let last_col = self.columns.len().saturating_sub(1) as u16;
        let last_row = self.next_row.saturating_sub(1).max(1);
        self.workbook
            .worksheet_from_index(0)
            .map_err(xlsx_error)?
            .autofilter(0, 0, last_row, last_col)
            .map_err(xlsx_error)?;
        let file = tempfile::tempfile().map_err(file_error)?;
        let mut out = std::io::BufWriter::with_capacity(256 * 1024, file);
        self.workbook.save_to_writer(&mut out).map_err(xlsx_error)?;
        out.flush().map_err(file_error)?;
        let mut file = out.into_inner().map_err(|e| file_error(e.into_error()))?;
        let len = file.stream_position().map_err(file_error)?;
        file.rewind().map_err(file_error)?;
        Ok(WorkbookFile { file, len })
    }
}

/// A finished workbook in an anonymous temporary file (gone when dropped), read from the start.
#[derive(Debug)]
pub struct WorkbookFile {
    /// The file.
    pub file: std::fs::File,
    /// Its size in bytes.
    pub len: u64,
}

fn file_error(e: std::io::Error) -> Error {
    Error::internal(format!(
        "writing the workbook to a temporary file failed: {e}"
    ))
}

/// Which members an export holds: a member-list filter (all members when empty, selected members
/// through its `ids`) and, for department exports, the members of any of these departments.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct Selection {
    /// The member-list filter.
    pub filter: crate::org::members::MemberFilter,
    /// Members of any of these departments (department exports).
    pub department_ids: Vec<i64>,
    /// …or of their sub-departments.
    pub include_sub_departments: bool,
}

/// Checks that the departments a selection names exist in the organization (NOT_FOUND otherwise),
/// so that a bad export fails when asked for rather than when the link is opened.
pub async fn check_selection(
    db: &sea_orm::DatabaseConnection,
    org: i64,
    selection: &Selection,
) -> Result<()> {
    use entity::department;
    use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
    let wanted: std::collections::HashSet<i64> = selection
        .department_ids
        .iter()
        .copied()
        .chain(selection.filter.department_id)
        .collect();
    if wanted.is_empty() {
        return Ok(());
    }
    let found = department::Entity::find()
        .filter(department::Column::OrganizationId.eq(org))
        .filter(department::Column::Id.is_in(wanted.iter().copied()))
        .count(db)
        .await?;
    if found as usize != wanted.len() {
        return Err(Error::NotFound("department"));
    }
    Ok(())
}

/// The member columns an export shows (a page reads only these).
#[derive(Debug, sea_orm::FromQueryResult)]
struct ExportedMember {
    id: i64,
    account: String,
    account_type: AccountType,
    nickname: String,
    joined_at: DateTime<Utc>,
    last_login_at: Option<DateTime<Utc>>,
    user_type: UserType,
    role_id: i64,
    status: MemberStatus,
    email: Option<String>,
    phone: Option<String>,
}

/// Members read per query while exporting.
const PAGE: usize = 2_000;

/// What every export needs from the organization: tag names, role names, department paths.
struct OrgContext {
    tags: Vec<String>,
    roles: std::collections::HashMap<i64, String>,
    departments: std::collections::HashMap<i64, (String, String)>,
}

async fn org_context(db: &sea_orm::DatabaseConnection, org: i64) -> Result<OrgContext> {
    use entity::member_tag;
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
    let tags: Vec<String> = member_tag::Entity::find()
        .select_only()
        .column(member_tag::Column::Name)
        .distinct()
        .filter(member_tag::Column::OrganizationId.eq(org))
        .order_by_asc(member_tag::Column::Name)
        .into_tuple()
        .all(db)
        .await?;
    let roles = crate::org::roles::list(db, org, Some(entity::enums::RoleScope::Organization))
        .await?
        .into_iter()
        .map(|r| (r.id, r.name))
        .collect();
    let departments = crate::org::departments::all_with_display_paths(db, org)
        .await?
        .into_iter()
        .map(|(d, display)| (d.id, (display, d.path)))
        .collect();
    Ok(OrgContext {
        tags,
        roles,
        departments,
    })
}

/// The organization's roles, for the drop-down of templates, in a stable order.
fn role_names(cx: &OrgContext) -> Vec<String> {
    let mut names: Vec<String> = cx.roles.values().cloned().collect();
    names.sort();
    names.dedup();
    names
}

/// Writes the selected members into a workbook, reading the database page by page while a
/// blocking thread writes the previous page.
pub async fn members_workbook(
    db: &sea_orm::DatabaseConnection,
    org: i64,
    selection: &Selection,
    groups: &[FieldGroup],
    template: Option<super::template::TemplateKind>,
) -> Result<WorkbookFile> {
    let cx = org_context(db, org).await?;
    let columns = columns::export_columns(groups, &cx.tags);
    let ids = selected_ids(db, org, selection, &cx).await?;
    let roles_for_lists = role_names(&cx);
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Vec<MemberLine>>(2);
    let writer = tokio::task::spawn_blocking(move || -> Result<WorkbookFile> {
        let mut sheet = MemberSheet::new(columns)?;
        if let Some(kind) = template {
            super::template::decorate(&mut sheet, kind, &roles_for_lists)?;
        }
        while let Some(page) = rx.blocking_recv() {
            for line in &page {
                sheet.push(line)?;
            }
        }
        sheet.finish()
    });
    let read = read_pages(db, org, ids.as_deref(), groups, &cx, tx).await;
    let written = writer
        .await
        .map_err(|e| Error::internal(format!("the export writer stopped: {e}")))?;
    read?;
    written
}

/// The ids of the members `selection` selects, ascending, read in one statement; `None` when it
/// selects every member of the organization, whose pages are read by keyset. Paging through a
/// filtered selection itself evaluated its subqueries (departments, keyword, tags,
/// workspaces…) again for every page of 2,000: an export of 100,000 members through their
/// departments spent 8.3 s on SQLite in those statements, one through a keyword they all match
/// 1.4 s (BENCHMARKS.md). The ids are streamed into the list (0.8 MB for 100,000).
async fn selected_ids(
    db: &sea_orm::DatabaseConnection,
    org: i64,
    selection: &Selection,
    cx: &OrgContext,
) -> Result<Option<Vec<i64>>> {
    use crate::org::members::{DepartmentScope, filter_condition, members_of_any};
    use entity::member;
    use futures_util::TryStreamExt;
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
    let filter = &selection.filter;
    if filter.is_empty() && selection.department_ids.is_empty() {
        return Ok(None);
    }
    let department = match filter.department_id {
        Some(id) if cx.departments.contains_key(&id) => {
            // A department without any below covers itself either way.
            Some(DepartmentScope::of(filter, id, true))
        }
        Some(_) => return Err(Error::NotFound("department")),
        None => None,
    };
    let mut condition =
        filter_condition(db.get_database_backend(), org, filter, department.as_ref());
    if !selection.department_ids.is_empty() {
        if !selection
            .department_ids
            .iter()
            .all(|id| cx.departments.contains_key(id))
        {
            return Err(Error::NotFound("department"));
        }
        // Members of any of them: the departments are the organization's (checked above), and
        // so are their members.
        condition = condition.add(member::Column::Id.in_subquery(members_of_any(
            &selection.department_ids,
            selection.include_sub_departments,
        )));
    }
    let mut ids = Vec::new();
    let mut rows = member::Entity::find()
        .select_only()
        .column(member::Column::Id)
        .filter(condition)
        .order_by_asc(member::Column::Id)
        .into_tuple::<i64>()
        .stream(db)
        .await?;
    while let Some(id) = rows.try_next().await? {
        ids.push(id);
    }
    Ok(Some(ids))
}

async fn read_pages(
    db: &sea_orm::DatabaseConnection,
    org: i64,
    selected: Option<&[i64]>,
    groups: &[FieldGroup],
    cx: &OrgContext,
    tx: tokio::sync::mpsc::Sender<Vec<MemberLine>>,
) -> Result<()> {
    use entity::{department_member, member, member_tag};
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
    use std::collections::HashMap;
    let with_tags = groups.contains(&FieldGroup::Tags);
    let with_groups = groups.contains(&FieldGroup::UserGroups);
    // Every member: the next page after the last id read. A selection: the next run of its ids,
    // whose conditions were applied when they were read (a member removed since is missing).
    let mut after = 0i64;
    let mut runs = selected.map(|ids| ids.chunks(PAGE));
    loop {
        let mut query = member::Entity::find()
            .select_only()
            .columns([
                member::Column::Id,
                member::Column::Account,
                member::Column::AccountType,
                member::Column::Nickname,
                member::Column::JoinedAt,
                member::Column::LastLoginAt,
                member::Column::UserType,
                member::Column::RoleId,
                member::Column::Status,
                member::Column::Email,
                member::Column::Phone,
            ])
            .filter(member::Column::OrganizationId.eq(org));
        query = match runs.as_mut() {
            None => query
                .filter(member::Column::Id.gt(after))
                .limit(PAGE as u64),
            Some(runs) => match runs.next() {
                Some(run) => query.filter(member::Column::Id.is_in(run.iter().copied())),
                None => break,
            },
        };
        let page = query
            .order_by_asc(member::Column::Id)
            .into_model::<ExportedMember>()
            .all(db)
            .await?;
        let Some(last) = page.last() else {
            if runs.is_some() {
                // Every member of this run was removed since.
                continue;
            }
            break;
        };
        after = last.id;
        let full = page.len() == PAGE;
        let ids: Vec<i64> = page.iter().map(|m| m.id).collect();
        let mut tags: HashMap<i64, BTreeMap<String, String>> = HashMap::new();
        if with_tags {
            let rows: Vec<(i64, String, String)> = member_tag::Entity::find()
                .select_only()
                .columns([
                    member_tag::Column::MemberId,
                    member_tag::Column::Name,
                    member_tag::Column::Value,
                ])
                .filter(member_tag::Column::OrganizationId.eq(org))
                .filter(member_tag::Column::MemberId.is_in(ids.clone()))
                .order_by_asc(member_tag::Column::Id)
                .into_tuple()
                .all(db)
                .await?;
            for (member_id, name, value) in rows {
                let entry = tags.entry(member_id).or_default().entry(name).or_default();
                if !entry.is_empty() {
                    entry.push(',');
                }
                entry.push_str(&value);
            }
        }
        let mut paths: HashMap<i64, Vec<String>> = HashMap::new();
        if with_groups {
            let rows: Vec<(i64, i64)> = department_member::Entity::find()
                .select_only()
                .columns([
                    department_member::Column::MemberId,
                    department_member::Column::DepartmentId,
                ])
                .filter(department_member::Column::MemberId.is_in(ids.clone()))
                .into_tuple()
                .all(db)
                .await?;
            for (member_id, department_id) in rows {
                if let Some((display, _)) = cx.departments.get(&department_id) {
                    paths.entry(member_id).or_default().push(display.clone());
                }
            }
            for list in paths.values_mut() {
                list.sort();
            }
        }
        let lines = page
            .into_iter()
            .map(|m| MemberLine {
                id: m.id,
                role: cx.roles.get(&m.role_id).cloned().unwrap_or_default(),
                tags: tags.remove(&m.id).unwrap_or_default(),
                groups: paths.remove(&m.id).unwrap_or_default(),
                account: m.account,
                account_type: m.account_type,
                nickname: m.nickname,
                joined_at: m.joined_at,
                last_login_at: m.last_login_at,
                user_type: m.user_type,
                status: m.status,
                email: m.email,
                phone: m.phone,
            })
            .collect();
        if tx.send(lines).await.is_err() {
            // The writer failed; its error is reported by the caller.
            break;
        }
        if runs.is_none() && !full {
            break;
        }
    }
    Ok(())
}

/// A template workbook: batch update (optionally pre-filled with every member) or import.
pub async fn template_workbook(
    db: &sea_orm::DatabaseConnection,
    org: i64,
    kind: super::template::TemplateKind,
    prefilled: bool,
) -> Result<WorkbookFile> {
    use super::template::TemplateKind;
    match kind {
        TemplateKind::BatchUpdate if prefilled => {
            members_workbook(
                db,
                org,
                &Selection::default(),
                &columns::ALL_GROUPS,
                Some(kind),
            )
            .await
        }
        TemplateKind::BatchUpdate | TemplateKind::Import => {
            let cx = org_context(db, org).await?;
            let columns = match kind {
                TemplateKind::BatchUpdate => columns::update_columns(&cx.tags),
                TemplateKind::Import => columns::import_columns(),
            };
            let roles = role_names(&cx);
            tokio::task::spawn_blocking(move || {
                let mut sheet = MemberSheet::new(columns)?;
                super::template::decorate(&mut sheet, kind, &roles)?;
                sheet.finish()
            })
            .await
            .map_err(|e| Error::internal(format!("the template writer stopped: {e}")))?
        }
    }
}
