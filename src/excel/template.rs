//! Templates (batch update, import) and problem reports: the extra sheets that explain every
//! column and rule, the drop-down lists, and the uploaded workbook returned with its problems.

use super::columns::{self, Column, MAX_ROWS};
use super::export::{MemberSheet, header_format, xlsx_error};
use super::read::{Cell, Sheet};
use super::validate::Problem;
use crate::error::Result;
use rust_xlsxwriter::{
    Color, DataValidation, DataValidationErrorStyle, Format, FormatAlign, Formula, Workbook,
};
use std::collections::BTreeMap;

/// Which template.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum TemplateKind {
    /// Change existing members (columns of the full export).
    BatchUpdate,
    /// Add new members.
    Import,
}

const LISTS_SHEET: &str = "Lists";

/// Adds the `Instructions` and `Lists` sheets and the drop-downs on user type, organization role
/// and status to a template whose first sheet is being written.
pub fn decorate(sheet: &mut MemberSheet, kind: TemplateKind, roles: &[String]) -> Result<()> {
    let columns: Vec<Column> = sheet.columns().to_vec();
    let workbook = sheet.workbook();
    add_instructions(workbook, kind, &columns)?;
    let user_types = ["Developer", "Analyst", "Viewer"];
    let statuses = ["Active", "Disabled"];
    let lists = workbook.add_worksheet();
    lists.set_name(LISTS_SHEET).map_err(xlsx_error)?;
    let header = header_format();
    for (col, (title, values)) in [
        (
            "User Type",
            user_types.iter().map(|s| s.to_string()).collect(),
        ),
        ("Organization Role", roles.to_vec()),
        (
            "User Status",
            statuses.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
        ),
    ]
    .into_iter()
    .enumerate()
    {
        let col = col as u16;
        lists.set_column_width(col, 28).map_err(xlsx_error)?;
        lists
            .write_string_with_format(0, col, title, &header)
            .map_err(xlsx_error)?;
        for (i, v) in values.iter().enumerate() {
            lists
                .write_string(i as u32 + 1, col, v)
                .map_err(xlsx_error)?;
        }
    }
    let members = workbook.worksheet_from_index(0).map_err(xlsx_error)?;
    for (column, letter, count, what) in [
        (Column::UserType, 'A', user_types.len(), "a user type"),
        (
            Column::OrganizationRole,
            'B',
            roles.len().max(1),
            "an organization role",
        ),
        (Column::UserStatus, 'C', statuses.len(), "a status"),
    ] {
        let Some(i) = columns.iter().position(|c| *c == column) else {
            continue;
        };
        let validation = DataValidation::new()
            .allow_list_formula(Formula::new(format!(
                "={LISTS_SHEET}!${letter}$2:${letter}${}",
                count + 1
            )))
            .set_error_style(DataValidationErrorStyle::Stop)
            .set_error_title("Not in the list")
            .map_err(xlsx_error)?
            .set_error_message(format!(
                "Choose {what} from the list (see the Lists sheet)."
            ))
            .map_err(xlsx_error)?;
        members
            .add_data_validation(1, i as u16, MAX_ROWS as u32, i as u16, &validation)
            .map_err(xlsx_error)?;
    }
    Ok(())
}

fn add_instructions(workbook: &mut Workbook, kind: TemplateKind, columns: &[Column]) -> Result<()> {
    let sheet = workbook.add_worksheet();
    sheet.set_name("Instructions").map_err(xlsx_error)?;
    let wrap = Format::new().set_text_wrap().set_align(FormatAlign::Top);
    let bold = Format::new().set_bold().set_align(FormatAlign::Top);
    sheet.set_column_width(0, 22).map_err(xlsx_error)?;
    sheet.set_column_width(1, 100).map_err(xlsx_error)?;
    let general: &[&str] = match kind {
        TemplateKind::BatchUpdate => &[
            "Batch update changes existing members, found by User ID. It never adds members: use the import template for that.",
            "Keep the columns of the Members sheet in their order. tag_ columns may be added, removed or moved.",
            "At most 5,000 rows per file. Type values, not formulas. Dates are read-only.",
            "All or nothing: if any row has a problem, nothing changes and every problem is reported with its row and column (also as a copy of your file with a Problems column).",
            "Upload with dryRun: true to see the report without changing anything.",
        ],
        TemplateKind::Import => &[
            "Import adds new members to the organization; each gets a one-time password shown once in the result.",
            "Keep the columns of the Members sheet in their order. tag_ columns may be added.",
            "At most 5,000 rows per file, within the organization's seat limit. Type values, not formulas.",
            "All or nothing: if any row has a problem, nobody is added and every problem is reported with its row and column.",
            "Upload with dryRun: true to see the report without changing anything.",
        ],
    };
    let header = header_format();
    sheet
        .write_string_with_format(0, 0, "Column", &header)
        .map_err(xlsx_error)?;
    sheet
        .write_string_with_format(0, 1, "What it holds and its rules", &header)
        .map_err(xlsx_error)?;
    let mut row = 1;
    let mut explained_tags = false;
    for column in columns {
        if matches!(column, Column::Tag(_)) {
            if explained_tags {
                continue;
            }
            explained_tags = true;
        }
        let name = match column {
            Column::Tag(_) => format!("{}<name>", columns::TAG_PREFIX),
            other => other.header().into_owned(),
        };
        sheet
            .write_string_with_format(row, 0, name, &bold)
            .map_err(xlsx_error)?;
        sheet
            .write_string_with_format(row, 1, column.explanation(), &wrap)
            .map_err(xlsx_error)?;
        row += 1;
    }
    if !explained_tags {
        sheet
            .write_string_with_format(row, 0, "tag_<name>", &bold)
            .map_err(xlsx_error)?;
        sheet
            .write_string_with_format(row, 1, Column::Tag(String::new()).explanation(), &wrap)
            .map_err(xlsx_error)?;
        row += 1;
    }
    row += 1;
    sheet
        .write_string_with_format(row, 0, "Rules", &bold)
        .map_err(xlsx_error)?;
    for rule in general {
        sheet
            .write_string_with_format(row, 1, *rule, &wrap)
            .map_err(xlsx_error)?;
        row += 1;
    }
    Ok(())
}

/// The uploaded sheet with a `Problems` column listing each row's problems, rows at fault in red.
pub fn problem_report(sheet: &Sheet, problems: &[Problem]) -> Result<Vec<u8>> {
    let mut by_row: BTreeMap<u32, Vec<String>> = BTreeMap::new();
    for p in problems {
        by_row
            .entry(p.row)
            .or_default()
            .push(format!("{}: {}", p.column, p.message));
    }
    let mut workbook = Workbook::new();
    let ws = workbook.add_worksheet();
    ws.set_name(columns::MEMBERS_SHEET).map_err(xlsx_error)?;
    let header = header_format();
    let date = Format::new().set_num_format("yyyy-mm-dd hh:mm:ss");
    let problem = Format::new()
        .set_text_wrap()
        .set_font_color(Color::RGB(0x9C_00_06))
        .set_background_color(Color::RGB(0xFF_C7_CE));
    let width = sheet.headers.len() as u16;
    for (i, h) in sheet.headers.iter().enumerate() {
        ws.set_column_width(i as u16, 18).map_err(xlsx_error)?;
        ws.write_string_with_format(0, i as u16, h, &header)
            .map_err(xlsx_error)?;
    }
    ws.set_column_width(width, 80).map_err(xlsx_error)?;
    ws.write_string_with_format(0, width, "Problems", &header)
        .map_err(xlsx_error)?;
    ws.set_freeze_panes(1, 0).map_err(xlsx_error)?;
    for (i, r) in sheet.rows.iter().enumerate() {
        let out = i as u32 + 1;
        for (c, cell) in r.cells.iter().enumerate() {
            let c = c as u16;
            match cell {
                Cell::Empty => {}
                Cell::Number(n) => {
                    ws.write_number(out, c, *n).map_err(xlsx_error)?;
                }
                Cell::Date(d) => {
                    ws.write_datetime_with_format(out, c, d, &date)
                        .map_err(xlsx_error)?;
                }
                other => {
                    ws.write_string(out, c, other.text()).map_err(xlsx_error)?;
                }
            }
        }
        if let Some(list) = by_row.get(&r.number) {
            let text = format!("Row {}: {}", r.number, list.join("\n"));
            ws.write_string_with_format(out, width, text, &problem)
                .map_err(xlsx_error)?;
        }
    }
    ws.autofilter(0, 0, sheet.rows.len().max(1) as u32, width)
        .map_err(xlsx_error)?;
    workbook.save_to_buffer().map_err(xlsx_error)
}
