//! Keyset cursors for Relay connections: a cursor is the base64url of the sort key of the last
//! row seen, so pages stay stable while rows are added.

use crate::error::{Error, Result};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};

/// Most rows one page may ask for.
pub const MAX_PAGE: usize = 200;
/// Rows per page when `first`/`last` is not given.
pub const DEFAULT_PAGE: usize = 50;

/// Encodes an id cursor.
pub fn encode_id(id: i64) -> String {
    URL_SAFE_NO_PAD.encode(format!("id:{id}"))
}

/// Decodes an id cursor, naming the argument at fault.
pub fn decode_id(field: &str, cursor: &str) -> Result<i64> {
    URL_SAFE_NO_PAD
        .decode(cursor)
        .ok()
        .and_then(|raw| String::from_utf8(raw).ok())
        .and_then(|text| text.strip_prefix("id:").and_then(|n| n.parse().ok()))
        .ok_or_else(|| {
            Error::validation(
                field,
                "the cursor is not one this API returned; start again without it",
            )
        })
}

/// Checks a requested page size.
pub fn page_size(field: &str, requested: Option<i32>) -> Result<usize> {
    match requested {
        None => Ok(DEFAULT_PAGE),
        Some(n) if n >= 0 && (n as usize) <= MAX_PAGE => Ok(n as usize),
        Some(_) => Err(Error::validation(
            field,
            format!("must be between 0 and {MAX_PAGE}"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_round_trip_and_garbage() {
        assert_eq!(decode_id("after", &encode_id(42)).expect("valid"), 42);
        assert!(decode_id("after", "garbage!").is_err());
        assert!(decode_id("after", &URL_SAFE_NO_PAD.encode("x:1")).is_err());
        assert!(page_size("first", Some(201)).is_err());
        assert_eq!(page_size("first", None).expect("default"), DEFAULT_PAGE);
    }
}
