//! Spreadsheets: export, templates, batch update and import (uploads use the GraphQL multipart
//! request spec; files come back as signed download links).

pub mod mutation;
pub mod types;

pub use mutation::ExcelMutation;
