//! Limits async-graphql lacks:
//!
//! - how deeply a document nests brackets, checked on the text before it is parsed: the parser
//!   recurses once per level, and a few thousand `[` or `{` overflow the stack of the thread
//!   that parses them (the whole process aborts). async-graphql's recursion limit (32) is only
//!   checked after parsing.
//! - how many fields an operation asks for at its root. Each root field runs its own resolver
//!   against the database, and aliases let one document ask for the same field a thousand times
//!   at a complexity of a few points each. Fragments at the root are counted as expanded, with a
//!   bounded amount of work, so that a fragment that doubles at each level is refused rather
//!   than expanded.

use super::documents::DocumentCache;
use crate::error::ErrorCode;
use async_graphql::{
    Request, ServerError, ServerResult,
    parser::types::{ExecutableDocument, Selection, SelectionSet},
};

/// The deepest bracket nesting a document may have: twice the recursion limit leaves room for
/// arguments and list values inside the deepest selection a valid document can have.
pub const MAX_NESTING: usize = 64;

/// Whether the document nests `{`, `[` or `(` deeper than `limit`, outside strings and
/// comments. Reads the text once, without recursion.
pub fn nests_deeper_than(query: &str, limit: usize) -> bool {
    let bytes = query.as_bytes();
    let mut depth = 0usize;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'#' => {
                while i < bytes.len() && bytes[i] != b'\n' && bytes[i] != b'\r' {
                    i += 1;
                }
            }
            b'"' if bytes[i..].starts_with(b"\"\"\"") => {
                i += 3;
                while i < bytes.len() && !bytes[i..].starts_with(b"\"\"\"") {
                    i += if bytes[i..].starts_with(b"\\\"\"\"") {
                        4
                    } else {
                        1
                    };
                }
                i += 2;
            }
            b'"' => {
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' && bytes[i] != b'\n' {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
            }
            b'{' | b'[' | b'(' => {
                depth += 1;
                if depth > limit {
                    return true;
                }
            }
            b'}' | b']' | b')' => depth = depth.saturating_sub(1),
            _ => {}
        }
        i += 1;
    }
    false
}

/// The error for a document nested too deeply.
pub fn too_deep() -> ServerError {
    validation_error(
        format!(
            "the document nests brackets more than {MAX_NESTING} levels deep; no valid Roster query needs that many"
        ),
        None,
    )
}

fn validation_error(message: String, pos: Option<async_graphql::parser::Pos>) -> ServerError {
    let mut error = ServerError::new(message, pos);
    error
        .extensions
        .get_or_insert_with(Default::default)
        .set("code", ErrorCode::Validation.as_str());
    error
}

/// Admits a request to the schema, or says why not: a document nested deeper than
/// [`MAX_NESTING`] is refused before it is parsed, and an operation that selects more than
/// `max_root_fields` fields at its root once it is. The parsed document stays in the request, so
/// the schema does not parse it again; one that does not parse is left for the schema to report.
/// An admitted document is kept in `documents`, and the same text is admitted from there.
pub fn admit(
    request: &mut Request,
    max_root_fields: usize,
    documents: &DocumentCache,
) -> ServerResult<()> {
    if let Some(document) = documents.get(&request.query) {
        request.set_parsed_query(document);
        return Ok(());
    }
    if nests_deeper_than(&request.query, MAX_NESTING) {
        return Err(too_deep());
    }
    // Parsed here, or already by the HTTP layer for its metrics label.
    let document = match request.parsed_query() {
        Ok(document) => document.clone(),
        Err(_) => return Ok(()),
    };
    check(&document, max_root_fields)?;
    documents.keep(&request.query, document);
    Ok(())
}

/// Checks every operation of a document.
pub fn check(document: &ExecutableDocument, max: usize) -> ServerResult<()> {
    for (_, operation) in document.operations.iter() {
        let mut count = Count {
            fields: 0,
            budget: max.saturating_mul(8).saturating_add(64),
            max,
        };
        if !count.visit(document, &operation.node.selection_set.node, 0) {
            return Err(validation_error(
                format!(
                    "the operation selects more than {max} fields at its root (aliases and fragments included); split it into several requests (graphql.max_root_fields, ROSTER_GRAPHQL__MAX_ROOT_FIELDS)"
                ),
                Some(operation.pos),
            ));
        }
    }
    Ok(())
}

struct Count {
    fields: usize,
    budget: usize,
    max: usize,
}

impl Count {
    /// Counts the fields of a selection set; false as soon as the limit or the work budget is
    /// exceeded.
    fn visit(&mut self, document: &ExecutableDocument, set: &SelectionSet, depth: usize) -> bool {
        if depth > 32 {
            return false;
        }
        for item in &set.items {
            if self.budget == 0 {
                return false;
            }
            self.budget -= 1;
            let within = match &item.node {
                Selection::Field(_) => {
                    self.fields += 1;
                    self.fields <= self.max
                }
                Selection::FragmentSpread(spread) => document
                    .fragments
                    .get(&spread.node.fragment_name.node)
                    .is_none_or(|f| self.visit(document, &f.node.selection_set.node, depth + 1)),
                Selection::InlineFragment(inline) => {
                    self.visit(document, &inline.node.selection_set.node, depth + 1)
                }
            };
            if !within {
                return false;
            }
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use async_graphql::parser::parse_query;

    fn refused(query: &str, max: usize) -> bool {
        let document = parse_query(query).expect("parses");
        check(&document, max).is_err()
    }

    #[test]
    fn counts_aliases_and_fragments() {
        assert!(!refused("{ a: me { id } b: me { id } }", 2));
        assert!(refused("{ a: me { id } b: me { id } c: me { id } }", 2));
        assert!(refused(
            "{ ...F ... on Query { c: me { id } } } fragment F on Query { a: me { id } b: me { id } }",
            2
        ));
        assert!(
            !refused("{ me { a: id b: id c: id d: id } }", 2),
            "nested fields are the complexity limit's business"
        );
    }

    #[test]
    fn a_doubling_fragment_is_refused_without_expanding_it() {
        let mut query = String::from("{ ...F40 } fragment F0 on Query { __typename } ");
        for i in 1..=40 {
            query.push_str(&format!(
                "fragment F{i} on Query {{ ...F{p} ...F{p} }} ",
                p = i - 1
            ));
        }
        assert!(refused(&query, 32));
    }

    #[test]
    fn nesting_is_measured_outside_strings_and_comments() {
        assert!(!nests_deeper_than("{ me { member { id } } }", 3));
        assert!(nests_deeper_than("{ me { member { id } } }", 2));
        assert!(nests_deeper_than(
            &format!("{{ a(x: {}1{}) }}", "[".repeat(70), "]".repeat(70)),
            MAX_NESTING
        ));
        let quoted = format!(
            "{{ a(x: \"{0}\\\" {0}\", y: \"\"\"{0} \\\"\"\" {0}\"\"\") }} # {0}\n{{ b }}",
            "{[(".repeat(100)
        );
        assert!(!nests_deeper_than(&quoted, 2), "{quoted}");
        assert!(!nests_deeper_than("\"unterminated {{{", 0));
    }

    #[test]
    fn every_operation_is_checked() {
        assert!(refused(
            "query A { me { id } } query B { a: me { id } b: me { id } c: me { id } }",
            2
        ));
    }

    #[test]
    fn only_admitted_documents_are_kept_and_a_kept_one_is_admitted_again() {
        let documents = DocumentCache::default();
        let wide = "{ a: me { id } b: me { id } c: me { id } }";
        for _ in 0..2 {
            let mut request = Request::new(wide);
            assert!(admit(&mut request, 2, &documents).is_err());
        }
        let deep = format!(
            "{}{}",
            "{".repeat(MAX_NESTING + 1),
            "}".repeat(MAX_NESTING + 1)
        );
        assert!(admit(&mut Request::new(deep), 2, &documents).is_err());
        assert!(admit(&mut Request::new("{ me { "), 2, &documents).is_ok());
        assert!(documents.is_empty());

        let narrow = "{ a: me { id } b: me { id } }";
        for _ in 0..2 {
            let mut request = Request::new(narrow);
            assert!(admit(&mut request, 2, &documents).is_ok());
            let document = request.parsed_query().expect("parsed");
            assert_eq!(
                format!("{document:?}"),
                format!("{:?}", parse_query(narrow).expect("parses"))
            );
        }
        assert_eq!(documents.len(), 1);
    }
}
