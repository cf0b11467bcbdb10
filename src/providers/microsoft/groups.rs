//! Microsoft groups as departments (a Teams connection with `teamsDepartments: GROUPS`): each
//! group a department, the groups nested in it its sub-departments, its user members the
//! department's people. Read with a groups delta query (`members@delta`), whose first round is the
//! full state and whose delta link later yields the groups that changed: renamed, members added,
//! members `@removed`, groups deleted. The pure functions here turn a round into a snapshot (a
//! full read) or into the departments and contacts that changed (an incremental one).

use super::{
    MicrosoftApp, MicrosoftClient,
    graph::{Needs, UserChanges, with_leaders},
};
use crate::{
    error::Result,
    providers::{
        directory::{Contact, Department, ReadProgress, Snapshot, empty_scope, text},
        error,
    },
};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, VecDeque};

const PROVIDER: &str = "teams";

const GROUPS: Needs = Needs {
    what: "groups and their members",
    permission: "GroupMember.Read.All",
};

/// A group as one delta round reports it, merged over its appearances (a group with many members
/// may be reported on several pages).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GroupDelta {
    /// Its name, when reported.
    pub name: Option<String>,
    /// User members reported (the first round: all of them).
    pub users: BTreeSet<String>,
    /// User members reported `@removed`.
    pub users_removed: BTreeSet<String>,
    /// Member groups reported.
    pub groups: BTreeSet<String>,
    /// Member groups reported `@removed`.
    pub groups_removed: BTreeSet<String>,
}

/// What a groups delta round returned.
#[derive(Debug, Default)]
pub struct GroupChanges {
    /// Groups created or changed, by id.
    pub changed: BTreeMap<String, GroupDelta>,
    /// Ids of groups deleted.
    pub removed: BTreeSet<String>,
    /// The link for the next round.
    pub delta_link: String,
}

impl GroupChanges {
    /// Adds one object of a delta page.
    fn take(&mut self, group: &Value) {
        let Some(id) = text(group, "id") else {
            return;
        };
        if group.get("@removed").is_some() {
            self.changed.remove(&id);
            self.removed.insert(id);
            return;
        }
        self.removed.remove(&id);
        let entry = self.changed.entry(id).or_default();
        if let Some(name) = text(group, "displayName") {
            entry.name = Some(name);
        }
        for member in group
            .get("members@delta")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let Some(member_id) = text(member, "id") else {
                continue;
            };
            let is_group = member
                .get("@odata.type")
                .and_then(Value::as_str)
                .is_some_and(|t| t.eq_ignore_ascii_case("#microsoft.graph.group"));
            let is_user = member
                .get("@odata.type")
                .and_then(Value::as_str)
                .is_none_or(|t| t.eq_ignore_ascii_case("#microsoft.graph.user"));
            let removed = member.get("@removed").is_some();
            let (present, gone) = match (is_group, is_user) {
                (true, _) => (&mut entry.groups, &mut entry.groups_removed),
                (false, true) => (&mut entry.users, &mut entry.users_removed),
                // Devices, service principals and contacts are not people of the chart.
                _ => continue,
            };
            if removed {
                present.remove(&member_id);
                gone.insert(member_id);
            } else {
                gone.remove(&member_id);
                present.insert(member_id);
            }
        }
    }

    /// Every user named as a member or a removed member of a changed group.
    pub fn people(&self) -> HashSet<String> {
        self.changed
            .values()
            .flat_map(|g| g.users.iter().chain(&g.users_removed))
            .cloned()
            .collect()
    }
}

impl MicrosoftClient {
    /// Follows a groups delta query from `start` (the first round when `None`) to its delta link.
    pub async fn group_changes(
        &self,
        app: &MicrosoftApp,
        start: Option<&str>,
        progress: &ReadProgress,
    ) -> Result<GroupChanges> {
        let start = start.map(str::to_string).unwrap_or_else(|| {
            format!(
                "{}/v1.0/groups/delta?$select=id,displayName,members",
                self.urls.graph_url.trim_end_matches('/')
            )
        });
        let mut out = GroupChanges::default();
        let delta_link = self
            .delta_round(app, &start, GROUPS, progress, |group| out.take(group))
            .await?;
        out.delta_link = delta_link;
        Ok(out)
    }

    /// Reads the tenant's users and groups with groups as departments (`chosen` groups and those
    /// nested in them; every group when empty). Returns the snapshot and the users and groups
    /// delta links.
    pub async fn read_directory_by_groups(
        &self,
        app: &MicrosoftApp,
        chosen: &[String],
        progress: &ReadProgress,
    ) -> Result<(Snapshot, String, String)> {
        let (contacts, managers, users_link) = self.all_users(app, progress).await?;
        let groups = self.group_changes(app, None, progress).await?;
        let snapshot = snapshot(contacts, &managers, &groups, chosen)?;
        Ok((snapshot, users_link, groups.delta_link))
    }
}

/// The chart of a first groups round: departments from `chosen` groups (every group that is not
/// nested in another when empty) down through nested groups, siblings ordered by name; each
/// contact in the departments whose group has them as a direct member. With chosen groups,
/// people in none of them are not part of the chart.
pub fn snapshot(
    contacts: Vec<Contact>,
    managers: &HashMap<String, String>,
    groups: &GroupChanges,
    chosen: &[String],
) -> Result<Snapshot> {
    let all = &groups.changed;
    if let Some(missing) = chosen.iter().find(|g| !all.contains_key(*g)) {
        return Err(error(
            PROVIDER,
            Some("group-not-found".into()),
            format!(
                "the group {missing} chosen in syncDepartments is not a group of the tenant; correct the connection's syncDepartments (group object ids)"
            ),
        ));
    }
    let name_of = |id: &str| -> String {
        all.get(id)
            .and_then(|g| g.name.clone())
            .unwrap_or_else(|| id.to_string())
    };
    let by_name = |ids: &mut Vec<String>| ids.sort_by_key(|id| (name_of(id), id.clone()));
    let mut roots: Vec<String> = if chosen.is_empty() {
        let nested: HashSet<&String> = all.values().flat_map(|g| &g.groups).collect();
        all.keys()
            .filter(|id| !nested.contains(id))
            .cloned()
            .collect()
    } else {
        chosen.to_vec()
    };
    by_name(&mut roots);
    let mut departments = Vec::new();
    let mut seen: HashSet<String> = HashSet::new();
    let mut queue: VecDeque<(String, Option<String>, i64)> = roots
        .into_iter()
        .enumerate()
        .map(|(i, id)| (id, None, i as i64))
        .collect();
    while let Some((id, parent, order)) = queue.pop_front() {
        // A group nested in two places (or in a cycle) is placed once, where it is met first.
        if !seen.insert(id.clone()) {
            continue;
        }
        let mut children: Vec<String> = all
            .get(&id)
            .map(|g| {
                g.groups
                    .iter()
                    .filter(|c| all.contains_key(*c))
                    .cloned()
                    .collect()
            })
            .unwrap_or_default();
        by_name(&mut children);
        queue.extend(
            children
                .into_iter()
                .enumerate()
                .map(|(i, c)| (c, Some(id.clone()), i as i64)),
        );
        departments.push(Department {
            name: name_of(&id),
            external_id: id,
            parent_external_id: parent,
            sort_order: order,
            leaders: Vec::new(),
        });
    }
    if departments.is_empty() {
        return Err(empty_scope(
            PROVIDER,
            "Microsoft tenant has no group to take departments from: create groups for the departments, or set the connection's teamsDepartments to ATTRIBUTE",
        ));
    }
    let mut of_user: HashMap<&str, Vec<String>> = HashMap::new();
    for d in &departments {
        for user in all.get(&d.external_id).into_iter().flat_map(|g| &g.users) {
            of_user
                .entry(user.as_str())
                .or_default()
                .push(d.external_id.clone());
        }
    }
    let contacts: Vec<Contact> = contacts
        .into_iter()
        .filter_map(|mut c| {
            c.department_external_ids = of_user.remove(c.external_id.as_str()).unwrap_or_default();
            (chosen.is_empty() || !c.department_external_ids.is_empty()).then_some(c)
        })
        .collect();
    Ok(Snapshot {
        departments: with_leaders(departments, &contacts, managers),
        contacts,
        role_groups: Vec::new(),
    })
}

/// What a later groups round changes in the chart.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct ChartChanges {
    /// Departments added or renamed.
    pub departments: Vec<Department>,
    /// Departments whose group was deleted or taken out of the chart.
    pub gone_departments: Vec<String>,
    /// Contacts added or changed, each with all of their departments.
    pub contacts: Vec<Contact>,
    /// Contacts deleted, or (with chosen groups) no longer in any department of the chart.
    pub gone_contacts: Vec<String>,
}

/// Works out what a users round and a groups round change, given the departments the mirror
/// holds (with their leaders) and the mirror's contacts named by either round. Changed users keep
/// their group departments (their `department` attribute is not the chart here).
pub fn changes(
    mirrored_departments: &[Department],
    mirrored_contacts: &[Contact],
    users: &UserChanges,
    groups: &GroupChanges,
    chosen: &[String],
) -> ChartChanges {
    let mut out = ChartChanges::default();
    let mut known: HashMap<String, Department> = mirrored_departments
        .iter()
        .map(|d| (d.external_id.clone(), d.clone()))
        .collect();
    let mut gone: BTreeSet<String> = groups
        .removed
        .iter()
        .filter(|id| known.contains_key(*id))
        .cloned()
        .collect();
    // Renamed groups of the chart.
    for (id, g) in &groups.changed {
        if let (Some(d), Some(name)) = (known.get_mut(id), &g.name)
            && d.name != *name
        {
            d.name = name.clone();
            out.departments.push(d.clone());
        }
    }
    // Groups newly nested in the chart's groups join it (repeated for groups nested in those).
    loop {
        let mut joined = Vec::new();
        for (id, g) in &groups.changed {
            if !known.contains_key(id) {
                continue;
            }
            for child in &g.groups {
                if !known.contains_key(child)
                    && !joined.iter().any(|d: &Department| d.external_id == *child)
                {
                    joined.push(Department {
                        external_id: child.clone(),
                        parent_external_id: Some(id.clone()),
                        name: groups
                            .changed
                            .get(child)
                            .and_then(|c| c.name.clone())
                            .unwrap_or_else(|| child.clone()),
                        sort_order: 0,
                        leaders: Vec::new(),
                    });
                }
            }
        }
        if joined.is_empty() {
            break;
        }
        for d in joined {
            known.insert(d.external_id.clone(), d.clone());
            out.departments.push(d);
        }
    }
    // With every group in the chart, a new group nested nowhere is a new top department.
    if chosen.is_empty() {
        let nested: HashSet<&String> = groups.changed.values().flat_map(|g| &g.groups).collect();
        for (id, g) in &groups.changed {
            if !known.contains_key(id) && !nested.contains(id) {
                let d = Department {
                    external_id: id.clone(),
                    parent_external_id: None,
                    name: g.name.clone().unwrap_or_else(|| id.clone()),
                    sort_order: 0,
                    leaders: Vec::new(),
                };
                known.insert(id.clone(), d.clone());
                out.departments.push(d);
            }
        }
    }
    // Groups taken out of a chart group leave the chart (unless chosen themselves).
    for g in groups.changed.values() {
        gone.extend(
            g.groups_removed
                .iter()
                .filter(|c| known.contains_key(*c) && !chosen.contains(*c))
                .cloned(),
        );
    }
    // People: details from the users round, departments from the mirror and the groups round.
    let fresh: HashMap<&str, &Contact> = users
        .changed
        .iter()
        .map(|c| (c.external_id.as_str(), c))
        .collect();
    let mirrored: HashMap<&str, &Contact> = mirrored_contacts
        .iter()
        .map(|c| (c.external_id.as_str(), c))
        .collect();
    let removed: HashSet<&str> = users.removed.iter().map(String::as_str).collect();
    let mut people: BTreeSet<String> = groups.people().into_iter().collect();
    people.extend(fresh.keys().map(|id| id.to_string()));
    for person in people {
        if removed.contains(person.as_str()) {
            continue;
        }
        let before = mirrored.get(person.as_str());
        let Some(base) = fresh.get(person.as_str()).or(before) else {
            // A member the users round did not report and the mirror does not hold.
            continue;
        };
        let mut departments: BTreeSet<String> = before
            .map(|c| c.department_external_ids.iter().cloned().collect())
            .unwrap_or_default();
        for (id, g) in &groups.changed {
            if !known.contains_key(id) {
                continue;
            }
            if g.users.contains(&person) {
                departments.insert(id.clone());
            }
            if g.users_removed.contains(&person) {
                departments.remove(id);
            }
        }
        departments.retain(|d| !gone.contains(d) && known.contains_key(d));
        if !chosen.is_empty() && departments.is_empty() {
            if before.is_some() {
                out.gone_contacts.push(person);
            }
            continue;
        }
        let mut contact = (*base).clone();
        contact.department_external_ids = departments.into_iter().collect();
        out.contacts.push(contact);
    }
    out.gone_contacts.extend(users.removed.iter().cloned());
    out.gone_departments = gone.into_iter().collect();
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn user(id: &str) -> Value {
        json!({ "@odata.type": "#microsoft.graph.user", "id": id })
    }

    fn group(id: &str) -> Value {
        json!({ "@odata.type": "#microsoft.graph.group", "id": id })
    }

    fn contact(id: &str) -> Contact {
        Contact {
            external_id: id.into(),
            union_id: None,
            name: id.to_uppercase(),
            email: None,
            phone: None,
            title: None,
            department_external_ids: vec!["Attribute Dept".into()],
            active: true,
        }
    }

    /// Sales (u1, u2, nested North) and North (u3); Board (u4) nested nowhere; a device in Sales.
    fn first_round() -> GroupChanges {
        let mut round = GroupChanges::default();
        for page in [
            json!({ "id": "g-sales", "displayName": "Sales", "members@delta": [user("u1"), group("g-north"), { "@odata.type": "#microsoft.graph.device", "id": "d1" }] }),
            json!({ "id": "g-north", "displayName": "North", "members@delta": [user("u3")] }),
            json!({ "id": "g-board", "displayName": "Board", "members@delta": [user("u4")] }),
            // The same group again on a later page with more members.
            json!({ "id": "g-sales", "members@delta": [user("u2")] }),
        ] {
            round.take(&page);
        }
        round
    }

    #[test]
    fn a_first_round_becomes_the_chart() {
        let round = first_round();
        assert_eq!(
            round.changed["g-sales"].users,
            ["u1", "u2"].map(String::from).into()
        );
        let managers: HashMap<String, String> = [("u2", "u1"), ("u3", "u1")]
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .into();
        let people = ["u1", "u2", "u3", "u4", "u5"].map(contact).to_vec();
        let all = snapshot(people.clone(), &managers, &round, &[]).expect("snapshot");
        let tree: Vec<(&str, Option<&str>, i64)> = all
            .departments
            .iter()
            .map(|d| {
                (
                    d.name.as_str(),
                    d.parent_external_id.as_deref(),
                    d.sort_order,
                )
            })
            .collect();
        assert_eq!(
            tree,
            vec![
                ("Board", None, 0),
                ("Sales", None, 1),
                ("North", Some("g-sales"), 0)
            ]
        );
        let of = |s: &Snapshot, id: &str| {
            s.contacts
                .iter()
                .find(|c| c.external_id == id)
                .map(|c| c.department_external_ids.clone())
        };
        assert_eq!(of(&all, "u3"), Some(vec!["g-north".to_string()]));
        // Without chosen groups, people in no group are still contacts (with no department).
        assert_eq!(of(&all, "u5"), Some(vec![]));
        let sales = all
            .departments
            .iter()
            .find(|d| d.name == "Sales")
            .expect("Sales");
        assert_eq!(sales.leaders, vec!["u1"]);

        // Chosen groups: Sales and what is nested in it; people elsewhere are not in the chart.
        let chosen =
            snapshot(people.clone(), &managers, &round, &["g-sales".into()]).expect("snapshot");
        assert_eq!(chosen.departments.len(), 2);
        assert_eq!(chosen.contacts.len(), 3);
        let missing = snapshot(people, &managers, &round, &["g-nope".into()])
            .expect_err("an unknown group is refused");
        assert!(missing.to_string().contains("syncDepartments"), "{missing}");
        assert!(snapshot(vec![], &managers, &GroupChanges::default(), &[]).is_err());
    }

    #[test]
    fn a_later_round_changes_only_what_it_names() {
        let first = first_round();
        let managers = HashMap::new();
        let people = ["u1", "u2", "u3", "u4"].map(contact).to_vec();
        let chart = snapshot(people, &managers, &first, &[]).expect("snapshot");
        let mut later = GroupChanges::default();
        for page in [
            // Sales renamed; u2 leaves it; u4 joins; a new group West is nested in it.
            json!({ "id": "g-sales", "displayName": "Sales & Marketing", "members@delta": [
                { "@odata.type": "#microsoft.graph.user", "id": "u2", "@removed": { "reason": "deleted" } },
                user("u4"), group("g-west")
            ] }),
            json!({ "id": "g-west", "displayName": "West", "members@delta": [user("u9")] }),
            json!({ "id": "g-board", "@removed": { "reason": "deleted" } }),
        ] {
            later.take(&page);
        }
        let mut renamed = contact("u3");
        renamed.name = "Renamed".into();
        let mut new_person = contact("u9");
        new_person.name = "Nine".into();
        let users = UserChanges {
            changed: vec![renamed, new_person],
            removed: vec!["u1".into()],
            ..Default::default()
        };
        let got = changes(&chart.departments, &chart.contacts, &users, &later, &[]);
        let departments: Vec<(&str, Option<&str>)> = got
            .departments
            .iter()
            .map(|d| (d.name.as_str(), d.parent_external_id.as_deref()))
            .collect();
        assert_eq!(
            departments,
            vec![("Sales & Marketing", None), ("West", Some("g-sales"))]
        );
        assert_eq!(got.gone_departments, vec!["g-board"]);
        let of = |id: &str| {
            got.contacts
                .iter()
                .find(|c| c.external_id == id)
                .map(|c| (c.name.clone(), c.department_external_ids.clone()))
        };
        assert_eq!(of("u2"), Some(("U2".into(), vec![])));
        // u4 left Board (deleted) and joined Sales.
        assert_eq!(of("u4"), Some(("U4".into(), vec!["g-sales".into()])));
        // A changed user keeps their groups, not their department attribute.
        assert_eq!(of("u3"), Some(("Renamed".into(), vec!["g-north".into()])));
        assert_eq!(of("u9"), Some(("Nine".into(), vec!["g-west".into()])));
        assert_eq!(got.gone_contacts, vec!["u1"]);

        // With Sales chosen, u2 (now in no chosen group) leaves the chart.
        let chosen = changes(
            &chart.departments,
            &chart.contacts,
            &UserChanges::default(),
            &later,
            &["g-sales".into()],
        );
        assert!(
            chosen.gone_contacts.contains(&"u2".to_string()),
            "{chosen:?}"
        );
    }
}
