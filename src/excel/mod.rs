//! Members in spreadsheets (DESIGN §8): export with rust_xlsxwriter in constant-memory mode,
//! templates with drop-downs and an instructions sheet, and batch update and import from uploaded
//! workbooks read with calamine — checked row by row, applied all or nothing.
//!
//! - [`columns`]: the one list of column names and value texts;
//! - [`read`]: uploaded bytes → cells, refusing whatever is not a sane workbook;
//! - [`validate`]: the row rules, pure and unit-tested;
//! - [`import`]: batch update and import services;
//! - [`export`] and [`template`]: writing;
//! - [`download`]: signed, short-lived links that serve the files.

pub mod columns;
pub mod download;
pub mod export;
pub mod import;
pub mod read;
pub mod template;
pub mod validate;
