//! Parsed documents kept by their text. An app sends the same few documents again and again with
//! other variables; parsing one (async-graphql's pest parser) cost about as many instructions as
//! verifying the access token, a tenth of a member page's work in the server (BENCHMARKS.md). A
//! document is kept only once it has been admitted (nesting and root fields within the limits), so
//! a kept one is admitted again without either check. The schema still validates every request
//! against its variables.

use async_graphql::parser::types::ExecutableDocument;
use std::{
    collections::HashMap,
    sync::{Arc, Mutex, MutexGuard, PoisonError},
};

/// How many documents are kept; beyond it, one is dropped for each new one.
pub const KEPT_DOCUMENTS: usize = 256;

/// Longer documents are parsed every time (an introspection query is about 2 KiB).
pub const KEPT_DOCUMENT_BYTES: usize = 16 * 1024;

/// Admitted documents by their text, shared by every request to one schema.
#[derive(Clone, Default)]
pub struct DocumentCache {
    kept: Arc<Mutex<HashMap<String, Arc<ExecutableDocument>>>>,
}

impl DocumentCache {
    /// The document parsed from exactly this text, if it is kept: a copy the request may change
    /// (async-graphql removes `@skip`ped selections from it).
    pub fn get(&self, query: &str) -> Option<ExecutableDocument> {
        self.read(query, ExecutableDocument::clone)
    }

    /// What `read` makes of the document parsed from exactly this text, if it is kept (no copy).
    pub fn read<R>(&self, query: &str, read: impl FnOnce(&ExecutableDocument) -> R) -> Option<R> {
        let kept = self.lock().get(query).cloned();
        kept.map(|document| read(&document))
    }

    /// Keeps an admitted document parsed from `query`, unless the text is too long to keep.
    pub fn keep(&self, query: &str, document: ExecutableDocument) {
        if query.len() > KEPT_DOCUMENT_BYTES {
            return;
        }
        let document = Arc::new(document);
        let mut kept = self.lock();
        if kept.len() >= KEPT_DOCUMENTS && !kept.contains_key(query) {
            // Any one: a client sending ever new documents only ever finds a full cache.
            if let Some(dropped) = kept.keys().next().cloned() {
                kept.remove(&dropped);
            }
        }
        kept.insert(query.to_owned(), document);
    }

    /// How many documents are kept.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether none is kept.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<String, Arc<ExecutableDocument>>> {
        self.kept.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use async_graphql::parser::parse_query;

    fn parsed(query: &str) -> ExecutableDocument {
        parse_query(query).expect("parses")
    }

    #[test]
    fn a_kept_document_is_the_one_parsed_from_the_same_text() {
        let cache = DocumentCache::default();
        let query = "query($id: ID!) { member(id: $id) { nickname departments { path } } }";
        assert!(cache.get(query).is_none());
        cache.keep(query, parsed(query));
        let kept = cache.get(query).expect("kept");
        assert_eq!(format!("{kept:?}"), format!("{:?}", parsed(query)));
        assert_eq!(
            cache.read(query, |d| format!("{d:?}")),
            Some(format!("{kept:?}"))
        );
        // Same text only: other spacing is another document to parse.
        assert!(cache.get(&query.replace("{ n", "{  n")).is_none());
    }

    #[test]
    fn at_most_so_many_documents_are_kept() {
        let cache = DocumentCache::default();
        for i in 0..KEPT_DOCUMENTS + 40 {
            let query = format!("{{ a{i}: me {{ member {{ id }} }} }}");
            cache.keep(&query, parsed(&query));
            assert!(cache.len() <= KEPT_DOCUMENTS);
        }
        assert_eq!(cache.len(), KEPT_DOCUMENTS);
        // The newest is always there.
        let last = format!("{{ a{}: me {{ member {{ id }} }} }}", KEPT_DOCUMENTS + 39);
        assert!(cache.get(&last).is_some());
    }

    #[test]
    fn long_documents_are_not_kept() {
        let cache = DocumentCache::default();
        let fields: String = (0..2_000).map(|i| format!(" a{i}: __typename")).collect();
        let query = format!("{{{fields} }}");
        assert!(query.len() > KEPT_DOCUMENT_BYTES);
        cache.keep(&query, parsed(&query));
        assert!(cache.is_empty());
    }
}
