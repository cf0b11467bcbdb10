//! The organization chart as a provider shows it, in one shape for every provider: what a full
//! read returns and what the sync compares with its mirror. Also the pacing of provider calls.

use std::{
    collections::HashMap,
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

/// A provider id the provider may send as a number or as a string.
pub(crate) fn id_text(value: Option<&serde_json::Value>) -> Option<String> {
    match value? {
        serde_json::Value::Number(n) => Some(n.to_string()),
        serde_json::Value::String(s) if !s.is_empty() => Some(s.clone()),
        _ => None,
    }
}

/// A non-blank text field, trimmed.
pub(crate) fn text(value: &serde_json::Value, key: &str) -> Option<String> {
    value
        .get(key)
        .and_then(serde_json::Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

/// The refusal when a provider app sees no department at all.
pub(crate) fn empty_scope(provider: &'static str, what_to_do: &str) -> crate::error::Error {
    super::error(
        provider,
        Some("empty-scope".into()),
        format!("the {what_to_do}"),
    )
}

/// Everything a connection sees of the provider's organization chart.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    /// Departments, parents before children.
    pub departments: Vec<Department>,
    /// Contacts, each once.
    pub contacts: Vec<Contact>,
    /// Role groups and their roles (DingTalk; WeCom's tags when the connection mirrors them).
    pub role_groups: Vec<RoleGroup>,
}

/// A department.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Department {
    /// The provider's id.
    pub external_id: String,
    /// The provider's id of the parent; `None` for a top department of the visible range.
    pub parent_external_id: Option<String>,
    /// Name.
    pub name: String,
    /// Position among siblings.
    pub sort_order: i64,
    /// The provider's user ids of its leaders (DingTalk department managers, WeCom department
    /// leaders, for Teams the manager its people report to), first the one Roster shows.
    pub leaders: Vec<String>,
}

/// A contact (a person of the provider's directory).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Contact {
    /// The provider's user id (DingTalk userid, WeCom userid, Entra object id).
    pub external_id: String,
    /// DingTalk unionId.
    pub union_id: Option<String>,
    /// Name.
    pub name: String,
    /// Email, if visible.
    pub email: Option<String>,
    /// Phone, if visible.
    pub phone: Option<String>,
    /// Job title.
    pub title: Option<String>,
    /// The provider's ids of the departments the contact is directly in.
    pub department_external_ids: Vec<String>,
    /// Whether the provider reports the person as active.
    pub active: bool,
}

/// Contacts read through several departments, each once and by id: a person listed in several
/// departments keeps every one of them. Sorting in place and merging neighbours needs no map of
/// the whole read beside it (100,000 contacts are ~20 MB of entries before their text).
pub fn each_once(mut contacts: Vec<Contact>) -> Vec<Contact> {
    contacts.sort_unstable_by(|a, b| a.external_id.cmp(&b.external_id));
    contacts.dedup_by(|later, kept| {
        if later.external_id != kept.external_id {
            return false;
        }
        for d in later.department_external_ids.drain(..) {
            if !kept.department_external_ids.contains(&d) {
                kept.department_external_ids.push(d);
            }
        }
        true
    });
    contacts
}

/// A role group and its roles.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleGroup {
    /// The provider's id.
    pub external_id: String,
    /// Name.
    pub name: String,
    /// Roles.
    pub roles: Vec<Role>,
}

/// A role (a position such as "R&D Manager") and the contacts holding it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Role {
    /// The provider's id.
    pub external_id: String,
    /// Name.
    pub name: String,
    /// The provider's user ids of its holders.
    pub holders: Vec<String>,
}

/// What a read has seen so far, for progress reports.
#[derive(Debug, Default)]
pub struct ReadProgress {
    /// Departments read.
    pub departments: AtomicU64,
    /// Contacts read (a contact in two departments counts twice).
    pub contacts: AtomicU64,
    /// Provider calls made.
    pub calls: AtomicU64,
}

impl ReadProgress {
    /// Counts one provider call.
    pub fn call(&self) {
        self.calls.fetch_add(1, Ordering::Relaxed);
    }
}

/// Which part of the chart to read.
#[derive(Debug, Clone, Default)]
pub struct ReadScope {
    /// Read only these departments and their sub-trees (provider ids); all visible when empty.
    pub departments: Vec<String>,
    /// Provider calls kept in flight at once.
    pub concurrency: usize,
    /// WeCom: read the corporation's tags as a role group.
    pub tags: bool,
}

/// Paces calls per provider app so that Roster stays under the provider's rate limit instead of
/// discovering it through throttling errors: calls of one app are spaced `1 / per_second` apart.
#[derive(Clone)]
pub struct RateLimiter {
    spacing: Duration,
    next: Arc<Mutex<HashMap<String, Instant>>>,
}

impl RateLimiter {
    /// A limiter allowing `per_second` calls per second per app.
    pub fn new(per_second: u32) -> Self {
        Self {
            spacing: Duration::from_secs(1) / per_second.max(1),
            next: Arc::default(),
        }
    }

    /// Waits for the app's next free slot.
    pub async fn wait(&self, app: &str) {
        let delay = self.reserve(app, Instant::now());
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
    }

    /// Takes the app's next free slot at `now`; returns how long to wait for it.
    fn reserve(&self, app: &str, now: Instant) -> Duration {
        let mut next = self.next.lock().unwrap_or_else(|e| e.into_inner());
        let slot = next.entry(app.to_string()).or_insert(now);
        let at = (*slot).max(now);
        *slot = at + self.spacing;
        at - now
    }
}

/// The departments of a snapshot ordered parents first, starting from those whose parent is not
/// in the snapshot; departments in a cycle (a provider bug) are left out.
pub fn parents_first(departments: Vec<Department>) -> Vec<Department> {
    let ids: std::collections::HashSet<String> =
        departments.iter().map(|d| d.external_id.clone()).collect();
    let mut children: HashMap<Option<String>, Vec<Department>> = HashMap::new();
    for d in departments {
        let parent = d.parent_external_id.clone().filter(|p| ids.contains(p));
        children.entry(parent).or_default().push(d);
    }
    let mut out = Vec::new();
    let mut queue: std::collections::VecDeque<Department> =
        children.remove(&None).unwrap_or_default().into();
    while let Some(d) = queue.pop_front() {
        if let Some(kids) = children.remove(&Some(d.external_id.clone())) {
            queue.extend(kids);
        }
        out.push(d);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn person(id: &str, departments: &[&str]) -> Contact {
        Contact {
            external_id: id.into(),
            union_id: None,
            name: id.into(),
            email: None,
            phone: None,
            title: None,
            department_external_ids: departments.iter().map(|d| d.to_string()).collect(),
            active: true,
        }
    }

    #[test]
    fn people_listed_in_several_departments_are_kept_once_with_all_of_them() {
        let read = vec![
            person("u3", &["1"]),
            person("u1", &["1"]),
            person("u3", &["2"]),
            person("u2", &["2"]),
            person("u3", &["1", "3"]),
        ];
        let once = each_once(read);
        let ids: Vec<&str> = once.iter().map(|c| c.external_id.as_str()).collect();
        assert_eq!(ids, ["u1", "u2", "u3"]);
        let mut u3 = once[2].department_external_ids.clone();
        u3.sort();
        assert_eq!(u3, ["1", "2", "3"]);
    }

    fn dep(id: &str, parent: Option<&str>) -> Department {
        Department {
            external_id: id.into(),
            parent_external_id: parent.map(str::to_string),
            name: id.into(),
            sort_order: 0,
            leaders: Vec::new(),
        }
    }

    #[test]
    fn parents_come_first_and_cycles_are_dropped() {
        let ordered = parents_first(vec![
            dep("3", Some("2")),
            dep("2", Some("1")),
            dep("1", None),
            dep("x", Some("y")),
            dep("y", Some("x")),
            dep("9", Some("outside")),
        ]);
        let ids: Vec<&str> = ordered.iter().map(|d| d.external_id.as_str()).collect();
        assert_eq!(ids, vec!["1", "9", "2", "3"]);
    }

    #[test]
    fn the_limiter_spaces_calls_of_one_app() {
        let limiter = RateLimiter::new(20);
        let now = Instant::now();
        let waits: Vec<Duration> = (0..4).map(|_| limiter.reserve("app", now)).collect();
        let ms: Vec<u128> = waits.iter().map(Duration::as_millis).collect();
        assert_eq!(ms, vec![0, 50, 100, 150]);
        assert_eq!(limiter.reserve("other app", now), Duration::ZERO);
        // A slot in the past is not saved up: after a quiet second the next call goes at once
        // and the one after waits its spacing again.
        let later = now + Duration::from_secs(1);
        assert_eq!(limiter.reserve("app", later), Duration::ZERO);
        assert_eq!(limiter.reserve("app", later).as_millis(), 50);
    }
}
