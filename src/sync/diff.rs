//! What changed between the mirror and a fresh read: pure comparisons by provider id and content
//! hash, so that a read with no changes produces no writes.

use crate::providers::directory::{Contact, Department};
use sha2::{Digest, Sha256};

/// What the mirror holds of one entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mirrored {
    /// Row id.
    pub id: i64,
    /// The provider's id.
    pub external_id: String,
    /// Name as last read.
    pub name: String,
    /// Hash of the fields as last read.
    pub content_hash: String,
    /// Already flagged as gone.
    pub to_be_deleted: bool,
}

/// An entry read from the provider, as the diff sees it.
pub trait Entry {
    /// The provider's id.
    fn external_id(&self) -> &str;
    /// The name (a change flags `name_changed`).
    fn name(&self) -> &str;
    /// A hash of every mirrored field.
    fn content_hash(&self) -> String;
}

fn hash(parts: &[&str]) -> String {
    let mut h = Sha256::new();
    for p in parts {
        h.update((p.len() as u64).to_be_bytes());
        h.update(p.as_bytes());
    }
    h.finalize()[..16]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

impl Entry for Department {
    fn external_id(&self) -> &str {
        &self.external_id
    }
    fn name(&self) -> &str {
        &self.name
    }
    fn content_hash(&self) -> String {
        let order = self.sort_order.to_string();
        let leaders = self.leaders.join(",");
        let mut parts = vec![
            self.name.as_str(),
            self.parent_external_id.as_deref().unwrap_or(""),
            order.as_str(),
        ];
        // Only when there are leaders, so that a department without any keeps the hash it had
        // before leaders were mirrored (an upgrade does not rewrite every mirror row).
        if !leaders.is_empty() {
            parts.push(&leaders);
        }
        hash(&parts)
    }
}

impl Entry for Contact {
    fn external_id(&self) -> &str {
        &self.external_id
    }
    fn name(&self) -> &str {
        &self.name
    }
    fn content_hash(&self) -> String {
        let mut departments = self.department_external_ids.clone();
        departments.sort();
        hash(&[
            &self.name,
            self.union_id.as_deref().unwrap_or(""),
            self.email.as_deref().unwrap_or(""),
            self.phone.as_deref().unwrap_or(""),
            self.title.as_deref().unwrap_or(""),
            &departments.join(","),
            if self.active { "1" } else { "0" },
        ])
    }
}

/// An entry whose content changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Updated<T> {
    /// Mirror row id.
    pub id: i64,
    /// The entry as read now.
    pub entry: T,
    /// Its new hash.
    pub content_hash: String,
    /// Whether the name changed.
    pub renamed: bool,
}

/// The difference for one kind of entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diff<T> {
    /// New entries with their hashes.
    pub added: Vec<(T, String)>,
    /// Changed entries, and entries flagged gone that are back.
    pub updated: Vec<Updated<T>>,
    /// Mirror rows gone from the provider (not flagged yet).
    pub gone: Vec<i64>,
}

impl<T> Diff<T> {
    /// Whether nothing changed.
    pub fn is_empty(&self) -> bool {
        self.added.is_empty() && self.updated.is_empty() && self.gone.is_empty()
    }
}

/// Compares the mirror with what the provider shows now (`read` holds each id once); the diff
/// borrows the entries that changed.
pub fn diff<'a, T: Entry>(mirror: &[Mirrored], read: &'a [T]) -> Diff<&'a T> {
    let mut comparison = Comparison::new(read);
    comparison.page(mirror);
    comparison.finish()
}

/// A comparison fed the mirror a page of rows at a time, so that a whole read is compared with
/// a mirror of any size while holding one page of it: the read is looked up by id (sorted
/// references, a bit per entry for "seen"), never the mirror.
pub struct Comparison<'a, T> {
    /// The read, each id once, by id.
    read: Vec<&'a T>,
    /// Whether a mirror row matched `read[i]`.
    seen: Vec<bool>,
    out: Diff<&'a T>,
}

impl<'a, T: Entry> Comparison<'a, T> {
    /// Starts comparing this read (an id read twice counts once, the first time).
    pub fn new(read: &'a [T]) -> Self {
        let mut by_id: Vec<&T> = read.iter().collect();
        by_id.sort_by(|a, b| a.external_id().cmp(b.external_id()));
        by_id.dedup_by(|later, first| later.external_id() == first.external_id());
        Comparison {
            seen: vec![false; by_id.len()],
            read: by_id,
            out: Diff {
                added: Vec::new(),
                updated: Vec::new(),
                gone: Vec::new(),
            },
        }
    }

    /// Compares some mirror rows (each mirror row is given once, in any order).
    pub fn page(&mut self, rows: &[Mirrored]) {
        for m in rows {
            let found = self
                .read
                .binary_search_by(|e| e.external_id().cmp(m.external_id.as_str()));
            let Ok(i) = found else {
                if !m.to_be_deleted {
                    self.out.gone.push(m.id);
                }
                continue;
            };
            self.seen[i] = true;
            let entry = self.read[i];
            let content_hash = entry.content_hash();
            if m.content_hash != content_hash || m.to_be_deleted {
                self.out.updated.push(Updated {
                    id: m.id,
                    renamed: m.name != entry.name(),
                    entry,
                    content_hash,
                });
            }
        }
    }

    /// The difference: what no mirror row matched is new.
    pub fn finish(mut self) -> Diff<&'a T> {
        for (entry, seen) in self.read.into_iter().zip(self.seen) {
            if !seen {
                self.out.added.push((entry, entry.content_hash()));
            }
        }
        self.out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dep(id: &str, name: &str) -> Department {
        Department {
            external_id: id.into(),
            parent_external_id: Some("1".into()),
            name: name.into(),
            sort_order: 0,
            leaders: Vec::new(),
        }
    }

    fn mirrored(id: i64, d: &Department, flagged: bool) -> Mirrored {
        Mirrored {
            id,
            external_id: d.external_id.clone(),
            name: d.name.clone(),
            content_hash: d.content_hash(),
            to_be_deleted: flagged,
        }
    }

    #[test]
    fn an_unchanged_read_is_an_empty_diff() {
        let read = vec![dep("2", "Sales"), dep("3", "R&D")];
        let mirror: Vec<Mirrored> = read
            .iter()
            .enumerate()
            .map(|(i, d)| mirrored(i as i64, d, false))
            .collect();
        assert!(diff(&mirror, &read).is_empty());
    }

    #[test]
    fn additions_renames_moves_departures_and_returns() {
        let sales = dep("2", "Sales");
        let rnd = dep("3", "R&D");
        let gone = dep("4", "Legal");
        let back = dep("5", "Ops");
        let mirror = vec![
            mirrored(1, &sales, false),
            mirrored(2, &rnd, false),
            mirrored(3, &gone, false),
            mirrored(4, &back, true),
        ];
        let mut moved = rnd.clone();
        moved.parent_external_id = Some("2".into());
        let read = vec![dep("2", "Sales & Marketing"), moved, back, dep("6", "New")];
        let d = diff(&mirror, &read);
        assert_eq!(
            d.added
                .iter()
                .map(|(e, _)| e.external_id.as_str())
                .collect::<Vec<_>>(),
            vec!["6"]
        );
        let updated: Vec<(i64, bool)> = d.updated.iter().map(|u| (u.id, u.renamed)).collect();
        assert_eq!(updated, vec![(1, true), (2, false), (4, false)]);
        assert_eq!(d.gone, vec![3]);
    }

    #[test]
    fn a_mirror_compared_page_by_page_gives_the_same_difference() {
        let read: Vec<Department> = (0..50)
            .map(|i| dep(&i.to_string(), &format!("D{i}")))
            .collect();
        // The mirror holds 10..60; every seventh was mirrored under an older name, 55 is
        // already flagged gone.
        let mirror: Vec<Mirrored> = (10..60)
            .map(|i| {
                let name = if i % 7 == 0 {
                    format!("Old {i}")
                } else {
                    format!("D{i}")
                };
                mirrored(i, &dep(&i.to_string(), &name), i == 55)
            })
            .collect();
        let sorted = |d: Diff<&Department>| {
            let mut added: Vec<String> =
                d.added.iter().map(|(e, _)| e.external_id.clone()).collect();
            let mut updated: Vec<(i64, bool)> =
                d.updated.iter().map(|u| (u.id, u.renamed)).collect();
            let mut gone = d.gone;
            added.sort();
            updated.sort();
            gone.sort();
            (added, updated, gone)
        };
        let whole = sorted(diff(&mirror, &read));
        let mut comparison = Comparison::new(&read);
        for page in mirror.rchunks(7) {
            comparison.page(page);
        }
        let paged = sorted(comparison.finish());
        assert_eq!(whole, paged);
        let (added, updated, gone) = whole;
        assert_eq!(added.len(), 10, "0..10 are new");
        assert_eq!(
            updated,
            vec![
                (14, true),
                (21, true),
                (28, true),
                (35, true),
                (42, true),
                (49, true)
            ]
        );
        assert_eq!(gone, vec![50, 51, 52, 53, 54, 56, 57, 58, 59]);
    }

    #[test]
    fn an_id_read_twice_counts_once() {
        let read = vec![dep("2", "Sales"), dep("3", "R&D"), dep("2", "Sales")];
        let d = diff(&[], &read);
        assert_eq!(d.added.len(), 2);
    }

    #[test]
    fn flagged_entries_still_gone_are_not_flagged_twice() {
        let legal = dep("4", "Legal");
        let d = diff(&[mirrored(3, &legal, true)], &[] as &[Department]);
        assert!(d.is_empty());
    }

    #[test]
    fn a_leader_change_is_an_update_and_no_leaders_keep_the_old_hash() {
        let sales = dep("2", "Sales");
        // The hash of a department without leaders is the one mirrored before leaders were.
        assert_eq!(
            sales.content_hash(),
            hash(&["Sales", "1", "0"]),
            "departments without leaders keep their hash"
        );
        let mut led = sales.clone();
        led.leaders = vec!["u1".into()];
        let d = diff(&[mirrored(1, &sales, false)], std::slice::from_ref(&led));
        let updated: Vec<(i64, bool)> = d.updated.iter().map(|u| (u.id, u.renamed)).collect();
        assert_eq!(updated, vec![(1, false)]);
        let mut other = led.clone();
        other.leaders = vec!["u2".into()];
        assert_ne!(led.content_hash(), other.content_hash());
    }

    #[test]
    fn contact_hash_ignores_department_order() {
        let mut a = Contact {
            external_id: "u".into(),
            union_id: None,
            name: "A".into(),
            email: None,
            phone: None,
            title: None,
            department_external_ids: vec!["1".into(), "2".into()],
            active: true,
        };
        let h = a.content_hash();
        a.department_external_ids.reverse();
        assert_eq!(h, a.content_hash());
        a.active = false;
        assert_ne!(h, a.content_hash());
    }
}
