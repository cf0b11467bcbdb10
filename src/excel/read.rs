//! Reading an uploaded workbook defensively: whatever the bytes are, the result is either the
//! first sheet's cells or a VALIDATION error on `file` that says what is wrong and what to do.
//! Nothing is trusted: the zip is measured by actually inflating it (a zip bomb's declared sizes
//! lie), encrypted and legacy workbooks are recognised by their signature, formulas and Excel
//! error values are reported per cell.

use super::columns::{MAX_ROWS, MEMBERS_SHEET};
use crate::error::{Error, Result};
use calamine::{Data, Reader, Xlsx};
use chrono::NaiveDateTime;
use std::collections::BTreeMap;
use std::io::{Cursor, Read};

/// Most bytes all parts of an uploaded workbook may inflate to.
pub const MAX_UNZIPPED_BYTES: u64 = 100 << 20;
/// Most parts (files inside the zip) an uploaded workbook may hold.
const MAX_PARTS: usize = 1_000;
/// Columns beyond this are refused (the widest template has a few dozen).
const MAX_COLUMNS: u32 = 1_000;

/// One cell as read, before any column's rules apply.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    /// Nothing in the cell.
    Empty,
    /// Text, trimmed.
    Text(String),
    /// A number.
    Number(f64),
    /// TRUE or FALSE.
    Bool(bool),
    /// A date or time cell.
    Date(NaiveDateTime),
    /// A formula (its text); refused wherever it appears.
    Formula(String),
    /// An Excel error value such as `#N/A`.
    Error(String),
}

impl Cell {
    /// The cell as text: numbers without a trailing `.0`, dates in ISO form.
    pub fn text(&self) -> String {
        match self {
            Self::Empty => String::new(),
            Self::Text(s) => s.clone(),
            Self::Number(n) if n.fract() == 0.0 && n.abs() < 1e15 => format!("{}", *n as i64),
            Self::Number(n) => n.to_string(),
            Self::Bool(b) => if *b { "TRUE" } else { "FALSE" }.into(),
            Self::Date(d) => d.format("%Y-%m-%d %H:%M:%S").to_string(),
            Self::Formula(f) => format!("={f}"),
            Self::Error(e) => e.clone(),
        }
    }

    /// Whether the cell holds nothing (whitespace counts as nothing).
    pub fn is_empty(&self) -> bool {
        match self {
            Self::Empty => true,
            Self::Text(s) => s.is_empty(),
            _ => false,
        }
    }
}

/// A data row with its number as Excel shows it (the header is row 1).
#[derive(Debug, Clone)]
pub struct Row {
    /// Excel row number.
    pub number: u32,
    /// Cells, one per header column.
    pub cells: Vec<Cell>,
}

/// The first sheet of a workbook: header texts and non-empty data rows.
#[derive(Debug, Clone)]
pub struct Sheet {
    /// Header texts, trimmed, up to the last non-empty header.
    pub headers: Vec<String>,
    /// Data rows that hold anything.
    pub rows: Vec<Row>,
}

fn refuse(message: impl Into<String>) -> Error {
    Error::validation("file", message)
}

/// Reads the member sheet (`Members`, or the first sheet) of an uploaded `.xlsx` file. Never
/// panics: the zip and spreadsheet parsers are not ours and have panicked on hostile input
/// (fuzz/: a cell reference of many letters overflowed the column arithmetic); a panic is a bad
/// file.
pub fn read(bytes: &[u8], max_bytes: usize) -> Result<Sheet> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| read_checked(bytes, max_bytes)))
        .unwrap_or_else(|_| {
            Err(refuse(
                "the workbook is malformed and could not be read; open it in Excel and save it again as .xlsx",
            ))
        })
}

fn read_checked(bytes: &[u8], max_bytes: usize) -> Result<Sheet> {
    if bytes.is_empty() {
        return Err(refuse(
            "the uploaded file is empty; choose the filled-in workbook",
        ));
    }
    if bytes.len() > max_bytes {
        return Err(refuse(format!(
            "the file has {} bytes; at most {max_bytes} are accepted (ROSTER_GRAPHQL__MAX_UPLOAD_BYTES)",
            bytes.len()
        )));
    }
    if bytes.starts_with(&[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1]) {
        return Err(refuse(
            "the workbook is password-protected or in the old .xls format; remove the password (File → Info → Protect Workbook) and save it as .xlsx",
        ));
    }
    if !bytes.starts_with(b"PK\x03\x04") {
        return Err(refuse(
            "the file is not an Excel workbook (.xlsx); download the template and fill it in",
        ));
    }
    check_inflated_size(bytes)?;
    let mut workbook: Xlsx<_> = Xlsx::new(Cursor::new(bytes)).map_err(|e| {
        refuse(format!(
            "the file is not a readable .xlsx workbook ({e}); open it in Excel and save it again as .xlsx"
        ))
    })?;
    let names = workbook.sheet_names();
    let Some(name) = names
        .iter()
        .find(|n| n.as_str() == MEMBERS_SHEET)
        .or_else(|| names.first())
        .cloned()
    else {
        return Err(refuse("the workbook has no sheets"));
    };
    let mut reader = workbook.worksheet_cells_reader(&name).map_err(|e| {
        refuse(format!(
            "the sheet `{name}` could not be read ({e}); save the workbook again as .xlsx"
        ))
    })?;
    // Cells are streamed and kept sparse: a sheet with one cell in A1 and one in Z1048576 must
    // not allocate the rectangle between them.
    let mut grid: BTreeMap<u32, BTreeMap<u32, Cell>> = BTreeMap::new();
    while let Some(found) = reader.next_cell_with_formula().map_err(|e| {
        refuse(format!(
            "the sheet `{name}` is damaged ({e}); open it in Excel and save it again as .xlsx"
        ))
    })? {
        let (r, c) = found.pos;
        let cell = match found.formula.filter(|f| !f.is_empty()) {
            Some(f) => Cell::Formula(f),
            None => convert(Data::from(found.value)),
        };
        if cell.is_empty() {
            continue;
        }
        if c >= MAX_COLUMNS {
            return Err(refuse(format!(
                "row {} has a value in column {}; a member sheet has far fewer columns — remove what is beyond the template's columns",
                r + 1,
                c + 1
            )));
        }
        grid.entry(r).or_default().insert(c, cell);
        if grid.len() > MAX_ROWS + 1 {
            return Err(refuse(format!(
                "the sheet holds more than {MAX_ROWS} rows; split it into several files"
            )));
        }
    }
    drop(reader);
    let Some(header_cells) = grid.remove(&0) else {
        return Err(refuse(if grid.is_empty() {
            format!("the sheet `{name}` is empty; the first row must hold the template's headers")
        } else {
            format!(
                "the first row of sheet `{name}` holds no headers; keep the template's header row"
            )
        }));
    };
    let last = header_cells.keys().next_back().copied().unwrap_or(0);
    let headers: Vec<String> = (0..=last)
        .map(|c| header_cells.get(&c).map(Cell::text).unwrap_or_default())
        .collect();
    let width = headers.len() as u32;
    let mut rows = Vec::with_capacity(grid.len());
    for (r, mut cells) in grid {
        if let Some((&c, _)) = cells.range(width..).next() {
            return Err(refuse(format!(
                "row {} has a value in column {} which has no header; remove it or add the column to the header",
                r + 1,
                c + 1
            )));
        }
        rows.push(Row {
            number: r + 1,
            cells: (0..width)
                .map(|c| cells.remove(&c).unwrap_or(Cell::Empty))
                .collect(),
        });
    }
    if rows.is_empty() {
        return Err(refuse(format!(
            "the sheet `{name}` has headers but no rows; fill in at least one row"
        )));
    }
    Ok(Sheet { headers, rows })
}

fn convert(value: Data) -> Cell {
    match value {
        Data::Empty => Cell::Empty,
        Data::String(s) => Cell::Text(s.trim().to_string()),
        Data::Int(i) => Cell::Number(i as f64),
        Data::Float(f) => Cell::Number(f),
        Data::Bool(b) => Cell::Bool(b),
        Data::DateTime(d) => d
            .as_datetime()
            .map(Cell::Date)
            .unwrap_or(Cell::Number(d.as_f64())),
        Data::DateTimeIso(s) => NaiveDateTime::parse_from_str(&s, "%Y-%m-%dT%H:%M:%S")
            .map(Cell::Date)
            .unwrap_or(Cell::Text(s)),
        Data::DurationIso(s) => Cell::Text(s),
        Data::Error(e) => Cell::Error(format!("{e}")),
    }
}

/// Inflates every part of the zip, counting the bytes it really produces, and refuses the file
/// before calamine sees it if they pass [`MAX_UNZIPPED_BYTES`].
fn check_inflated_size(bytes: &[u8]) -> Result<()> {
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes)).map_err(|e| {
        refuse(format!(
            "the file is not a readable .xlsx workbook ({e}); open it in Excel and save it again as .xlsx"
        ))
    })?;
    if archive.len() > MAX_PARTS {
        return Err(refuse(format!(
            "the workbook holds {} parts; a member sheet needs far fewer — save only the member sheet",
            archive.len()
        )));
    }
    let mut total: u64 = 0;
    let mut sink = vec![0u8; 64 << 10];
    for i in 0..archive.len() {
        let mut part = archive.by_index(i).map_err(|e| {
            if matches!(e, zip::result::ZipError::UnsupportedArchive(_)) {
                refuse("the workbook is encrypted; remove the password and save it again as .xlsx")
            } else {
                refuse(format!(
                    "the file is damaged ({e}); open it in Excel and save it again as .xlsx"
                ))
            }
        })?;
        loop {
            let n = part.read(&mut sink).map_err(|e| {
                refuse(format!(
                    "the file is damaged ({e}); open it in Excel and save it again as .xlsx"
                ))
            })?;
            if n == 0 {
                break;
            }
            total += n as u64;
            if total > MAX_UNZIPPED_BYTES {
                return Err(refuse(format!(
                    "the workbook inflates to more than {} MB; this is not a member sheet (or it holds far more than {MAX_ROWS} rows)",
                    MAX_UNZIPPED_BYTES >> 20
                )));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_xlsxwriter::{Formula, Workbook};
    use std::io::Write;

    fn workbook(build: impl FnOnce(&mut rust_xlsxwriter::Worksheet)) -> Vec<u8> {
        let mut wb = Workbook::new();
        let ws = wb.add_worksheet();
        build(ws);
        wb.save_to_buffer().expect("workbook")
    }

    fn message(result: Result<Sheet>) -> String {
        match result {
            Err(Error::Validation { field, message }) => {
                assert_eq!(field.as_deref(), Some("file"));
                message
            }
            other => panic!("expected a validation error, got {other:?}"),
        }
    }

    #[test]
    fn reads_headers_rows_and_typed_cells() {
        let bytes = workbook(|ws| {
            ws.write_string(0, 0, " User ID ").expect("w");
            ws.write_string(0, 1, "Nickname").expect("w");
            ws.write_number(1, 0, 42).expect("w");
            ws.write_string(1, 1, "  alice ").expect("w");
            ws.write_string(3, 1, "bob").expect("w");
            ws.write_formula(4, 1, Formula::new("=A2&\"x\""))
                .expect("w");
        });
        let sheet = read(&bytes, 1 << 20).expect("read");
        assert_eq!(sheet.headers, ["User ID", "Nickname"]);
        assert_eq!(sheet.rows.len(), 3, "the empty row 3 is skipped");
        assert_eq!(sheet.rows[0].number, 2);
        assert_eq!(sheet.rows[0].cells[0].text(), "42");
        assert_eq!(sheet.rows[0].cells[1], Cell::Text("alice".into()));
        assert_eq!(sheet.rows[1].number, 4);
        assert!(matches!(sheet.rows[2].cells[1], Cell::Formula(_)));
    }

    #[test]
    fn refuses_what_is_not_an_xlsx() {
        assert!(message(read(b"", 100)).contains("empty"));
        assert!(message(read(b"name,account\n", 100)).contains("not an Excel workbook"));
        let mut cfb = vec![0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1];
        cfb.extend([0; 100]);
        assert!(message(read(&cfb, 1000)).contains("password-protected"));
        assert!(message(read(b"PK\x03\x04garbage", 100)).contains("not a readable"));
        assert!(message(read(&[0u8; 200], 100)).contains("at most 100"));
    }

    #[test]
    fn refuses_empty_sheets_and_header_only_sheets() {
        let empty = workbook(|_| {});
        assert!(message(read(&empty, 1 << 20)).contains("is empty"));
        let header_only = workbook(|ws| {
            ws.write_string(0, 0, "User ID").expect("w");
        });
        assert!(message(read(&header_only, 1 << 20)).contains("no rows"));
    }

    #[test]
    fn refuses_a_zip_bomb_by_what_it_inflates_to() {
        let mut out = Cursor::new(Vec::new());
        {
            let mut zip = zip::ZipWriter::new(&mut out);
            let options = zip::write::SimpleFileOptions::default()
                .compression_method(zip::CompressionMethod::Deflated);
            zip.start_file("xl/worksheets/sheet1.xml", options)
                .expect("part");
            let zeros = vec![0u8; 1 << 20];
            for _ in 0..=(MAX_UNZIPPED_BYTES >> 20) {
                zip.write_all(&zeros).expect("write");
            }
            zip.finish().expect("finish");
        }
        let bytes = out.into_inner();
        assert!(bytes.len() < 1 << 20, "the bomb is small: {}", bytes.len());
        assert!(message(read(&bytes, 10 << 20)).contains("inflates to more than"));
    }

    #[test]
    fn refuses_values_outside_the_header() {
        let bytes = workbook(|ws| {
            ws.write_string(0, 0, "User ID").expect("w");
            ws.write_number(1, 0, 1).expect("w");
            ws.write_string(1, 3, "stray").expect("w");
        });
        assert!(message(read(&bytes, 1 << 20)).contains("column 4 which has no header"));
    }

    /// An `.xlsx` whose only sheet is this XML, as a hand-edited or hostile file would be.
    fn with_sheet_xml(sheet: &str) -> Vec<u8> {
        let mut out = Cursor::new(Vec::new());
        {
            let mut zip = zip::ZipWriter::new(&mut out);
            let options = zip::write::SimpleFileOptions::default();
            for (name, content) in [
                (
                    "_rels/.rels",
                    r#"<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>"#,
                ),
                (
                    "xl/workbook.xml",
                    r#"<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="Members" sheetId="1" r:id="rId1"/></sheets></workbook>"#,
                ),
                (
                    "xl/_rels/workbook.xml.rels",
                    r#"<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>"#,
                ),
                ("xl/worksheets/sheet1.xml", sheet),
            ] {
                zip.start_file(name, options).expect("part");
                zip.write_all(content.as_bytes()).expect("write");
            }
            zip.finish().expect("finish");
        }
        out.into_inner()
    }

    /// Found by `fuzz/run` (target `workbook`): a cell reference with a long run of letters
    /// overflowed the parser's column arithmetic and panicked.
    #[test]
    fn a_cell_reference_the_parser_chokes_on_is_a_bad_file() {
        let ok = with_sheet_xml(
            r#"<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>User ID</t></is></c></row><row r="2"><c r="A2"><v>7</v></c></row></sheetData></worksheet>"#,
        );
        assert_eq!(read(&ok, 1 << 20).expect("reads").rows.len(), 1);
        let hostile = with_sheet_xml(&format!(
            r#"<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>User ID</t></is></c></row><row r="2"><c r="{}2"><v>7</v></c></row></sheetData></worksheet>"#,
            "Z".repeat(40)
        ));
        let error = message(read(&hostile, 1 << 20));
        assert!(
            error.contains("malformed") || error.contains("column"),
            "{error}"
        );
    }
}
