//! What earlier pages learned about an organization's members that picks a later page's plan on
//! PostgreSQL, each answer kept for a minute: which department sub-trees are large, and how many
//! members a keyword matches when that is fewer than a page. An answer only chooses between
//! plans that read the same rows, so one a minute stale costs time, never a wrong page.

use std::{
    borrow::Borrow,
    collections::HashMap,
    hash::Hash,
    sync::{Mutex, MutexGuard},
    time::{Duration, Instant},
};

/// How long an answer is kept.
const HINT_TTL: Duration = Duration::from_secs(60);

/// How many answers of each kind are kept at most.
const HINTS_KEPT: usize = 4_096;

/// Answers by key, each until [`HINT_TTL`] after it was kept, at most [`HINTS_KEPT`] of them.
#[derive(Debug)]
struct Kept<K, V> {
    seen: Mutex<HashMap<K, (V, Instant)>>,
}

impl<K, V> Default for Kept<K, V> {
    fn default() -> Self {
        Self {
            seen: Mutex::default(),
        }
    }
}

impl<K: Hash + Eq, V: Copy> Kept<K, V> {
    fn lock(&self) -> MutexGuard<'_, HashMap<K, (V, Instant)>> {
        self.seen.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The answer kept for `key` in `seen` (this map, locked), unless it is older than the TTL.
    fn fresh<Q>(seen: &HashMap<K, (V, Instant)>, key: &Q, now: Instant) -> Option<V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        seen.get(key)
            .filter(|(_, at)| now.duration_since(*at) < HINT_TTL)
            .map(|(value, _)| *value)
    }

    fn get<Q>(&self, key: &Q, now: Instant) -> Option<V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        Self::fresh(&self.lock(), key, now)
    }

    /// Keeps `value` for `key`. When [`HINTS_KEPT`] answers are kept already, the stale ones go,
    /// and if none is stale, all of them: the next pages learn them again.
    fn keep(&self, key: K, value: V, now: Instant) {
        let mut seen = self.lock();
        if seen.len() >= HINTS_KEPT && !seen.contains_key(&key) {
            seen.retain(|_, (_, at)| now.duration_since(*at) < HINT_TTL);
            if seen.len() >= HINTS_KEPT {
                seen.clear();
            }
        }
        seen.insert(key, (value, now));
    }
}

/// What pages learned that picks a later page's plan; one per server, shared by its requests.
#[derive(Debug, Default)]
pub struct PlanHints {
    /// Whether the sub-tree of (organization, department) is large (`sub_tree_is_large`).
    sub_trees: Kept<(i64, i64), bool>,
    /// How many members of an organization match a keyword, when fewer than the page that found
    /// it wanted: [`keyword_key`] of the keyword as it is matched.
    keywords: Kept<String, usize>,
}

/// The key of `keyword` (as it is matched: lower-cased and marked) in `organization`. The
/// organization's id ends at the first space, so no two pairs share a key, and every prefix of
/// the key from that space on is the key of a prefix of the keyword.
fn keyword_key(organization: i64, keyword: &str) -> String {
    format!("{organization} {keyword}")
}

impl PlanHints {
    /// Whether the sub-tree of `department` was lately found large.
    pub(super) fn sub_tree_is_large(&self, organization: i64, department: i64) -> Option<bool> {
        self.sub_trees
            .get(&(organization, department), Instant::now())
    }

    /// Keeps whether the sub-tree of `department` is large.
    pub(super) fn keep_sub_tree(&self, organization: i64, department: i64, large: bool) {
        self.sub_trees
            .keep((organization, department), large, Instant::now());
    }

    /// Whether `keyword` (as it is matched) lately matched fewer than `wanted` members of the
    /// organization, or a keyword it begins with did: a member whose text holds the keyword holds
    /// its beginning too, so typing on in a search box keeps what the shorter keyword found.
    pub(super) fn keyword_matches_fewer(
        &self,
        organization: i64,
        keyword: &str,
        wanted: usize,
    ) -> bool {
        self.keyword_matches_fewer_at(organization, keyword, wanted, Instant::now())
    }

    fn keyword_matches_fewer_at(
        &self,
        organization: i64,
        keyword: &str,
        wanted: usize,
        now: Instant,
    ) -> bool {
        let key = keyword_key(organization, keyword);
        let start = key.len() - keyword.len();
        let seen = self.keywords.lock();
        keyword.char_indices().any(|(at, c)| {
            let prefix = &key[..start + at + c.len_utf8()];
            Kept::fresh(&seen, prefix, now).is_some_and(|matches| matches < wanted)
        })
    }

    /// Keeps that `keyword` (as it is matched) matches exactly `matches` members of the
    /// organization, as a page without any other filter or cursor found when it held fewer rows
    /// than it wanted.
    pub(super) fn keep_keyword(&self, organization: i64, keyword: &str, matches: usize) {
        self.keep_keyword_at(organization, keyword, matches, Instant::now());
    }

    fn keep_keyword_at(&self, organization: i64, keyword: &str, matches: usize, now: Instant) {
        self.keywords
            .keep(keyword_key(organization, keyword), matches, now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_kept_for_a_while_and_for_so_many() {
        let kept = Kept::<(i64, i64), bool>::default();
        let start = Instant::now();
        assert_eq!(kept.get(&(1, 2), start), None);
        kept.keep((1, 2), true, start);
        kept.keep((1, 3), false, start);
        assert_eq!(kept.get(&(1, 2), start), Some(true));
        assert_eq!(kept.get(&(1, 3), start), Some(false));
        assert_eq!(kept.get(&(2, 2), start), None, "another organization");
        let later = start + HINT_TTL;
        assert_eq!(
            kept.get(&(1, 2), later),
            None,
            "learned again after the TTL"
        );
        kept.keep((1, 2), false, later);
        assert_eq!(kept.get(&(1, 2), later), Some(false));
        for d in 0..(HINTS_KEPT as i64 * 2) {
            kept.keep((9, d), true, later + Duration::from_millis(1));
            assert!(kept.lock().len() <= HINTS_KEPT);
        }
    }

    #[test]
    fn a_keyword_is_known_to_match_few_by_itself_or_by_its_beginning() {
        let hints = PlanHints::default();
        let start = Instant::now();
        let fewer = |keyword: &str, wanted: usize| {
            hints.keyword_matches_fewer_at(7, keyword, wanted, start)
        };
        assert!(!fewer("user042", 51), "nothing learned yet");
        hints.keep_keyword_at(7, "user042", 3, start);
        assert!(fewer("user042", 51));
        assert!(fewer("user042", 4));
        assert!(!fewer("user042", 3), "a page of three would be full");
        // Typing on: every member holding `user0421` holds `user042`.
        assert!(fewer("user0421", 51));
        assert!(fewer("user042\u{1}明", 51));
        // Not the other way round, nor a keyword that merely holds it further on.
        assert!(!fewer("user04", 51));
        assert!(!fewer("xuser042", 51));
        assert!(
            !hints.keyword_matches_fewer_at(17, "user042", 51, start),
            "another organization"
        );
        assert!(!hints.keyword_matches_fewer_at(7, "user042", 51, start + HINT_TTL));
        // A keyword beyond ASCII is looked up character by character.
        hints.keep_keyword_at(7, "明华", 0, start);
        assert!(fewer("明华", 1));
        assert!(fewer("明华强", 1));
        assert!(!fewer("明", 51));
        // Many matches kept (a page that held fewer than it wanted, with a large limit).
        hints.keep_keyword_at(7, "ann", 90, start);
        assert!(fewer("anna", 101));
        assert!(!fewer("anna", 51));
    }
}
