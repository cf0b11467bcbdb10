//! The seeded company the sandbox serves: departments and people of one DingTalk enterprise,
//! generated deterministically from a size.

use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// A department (root is `1`, as in DingTalk).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Department {
    /// Department id.
    pub id: i64,
    /// Parent id; none for the root.
    pub parent_id: Option<i64>,
    /// Name.
    pub name: String,
    /// Position among its siblings.
    #[serde(default)]
    pub order: i64,
    /// The directory version of its last change, members included (Graph groups delta).
    #[serde(default)]
    pub version: u64,
}

/// A role group (DingTalk "角色组") and its roles.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RoleGroup {
    /// groupId.
    pub id: i64,
    /// Name.
    pub name: String,
    /// Its roles.
    pub roles: Vec<Role>,
}

/// A role (DingTalk "角色", a position such as "R&D Manager") and who holds it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Role {
    /// Role id.
    pub id: i64,
    /// Name.
    pub name: String,
    /// Main userids of the holders.
    pub holders: Vec<String>,
}

/// A person of the enterprise.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Person {
    /// DingTalk userid (a string; may start with 0).
    pub userid: String,
    /// unionId, shared across the enterprises of one developer organization.
    pub union_id: String,
    /// openId for this app.
    pub open_id: String,
    /// Name.
    pub name: String,
    /// Email.
    pub email: String,
    /// Mobile.
    pub mobile: String,
    /// Title.
    pub title: String,
    /// Entra object id (`oid`).
    pub object_id: String,
    /// Departments.
    pub dept_ids: Vec<i64>,
    /// The directory version of the person's last change (Graph delta queries).
    #[serde(default)]
    pub version: u64,
}

/// A further DingTalk enterprise of the same developer organization (a branch office): the same
/// people, so the same unionIds, but their own userids (`9` + the main userid) and app.
#[derive(Debug, Clone)]
pub struct Enterprise {
    /// corpId.
    pub corp_id: String,
    /// AppKey.
    pub app_key: String,
    /// AppSecret.
    pub app_secret: String,
}

/// The WeCom corporation of the same company, with one self-built app.
#[derive(Debug, Clone)]
pub struct Wecom {
    /// corpid (starts with `ww`).
    pub corp_id: String,
    /// AgentId of the self-built app.
    pub agent_id: String,
    /// The app's secret (corpsecret).
    pub secret: String,
}

/// The Microsoft Entra tenant of the same company, with one registered web application.
#[derive(Debug, Clone)]
pub struct Entra {
    /// Tenant id (GUID).
    pub tenant_id: String,
    /// Application (client) id.
    pub client_id: String,
    /// Client secret.
    pub client_secret: String,
}

/// One company: a DingTalk enterprise with one internal app, and the WeCom corporation of the
/// same people.
#[derive(Debug, Clone)]
pub struct Company {
    /// The WeCom side.
    pub wecom: Wecom,
    /// The branch DingTalk enterprise.
    pub branch: Enterprise,
    /// The Microsoft side.
    pub entra: Entra,
    /// corpId (starts with `ding`).
    pub corp_id: String,
    /// The app's AppKey / ClientId.
    pub app_key: String,
    /// The app's AppSecret.
    pub app_secret: String,
    /// Departments.
    pub departments: Vec<Department>,
    /// People.
    pub people: Vec<Person>,
    /// Role groups and roles.
    pub role_groups: Vec<RoleGroup>,
    /// The departments the apps may see (their sub-trees included): DingTalk's contacts
    /// authorization range, WeCom's visible range. `[1]` is the whole company.
    pub scope: Vec<i64>,
    /// People the apps may see one by one, whatever their departments (DingTalk's `authed_user`:
    /// the contacts range can name single people besides departments). Userids.
    pub scope_users: Vec<String>,
    /// Bumped by every change of the directory.
    pub version: u64,
    /// Object ids of people removed, with the version of the removal (Graph delta queries).
    pub removed: Vec<(String, u64)>,
    /// Members that left a department: (department, person's object id, version) (Graph groups
    /// delta reports them as removed members of the group).
    pub left: Vec<(i64, String, u64)>,
    /// Departments removed, with the version of the removal (Graph groups delta).
    pub removed_departments: Vec<(i64, u64)>,
    index: Index,
}

/// Lookups rebuilt after every change.
#[derive(Debug, Clone, Default)]
struct Index {
    person: HashMap<String, usize>,
    department: HashMap<i64, usize>,
    members: HashMap<i64, Vec<usize>>,
    children: HashMap<i64, Vec<usize>>,
}

const NAMES: [&str; 8] = [
    "张伟", "王芳", "李娜", "刘洋", "陈静", "Anna Li", "Mark Wu", "赵磊",
];

impl Company {
    /// A company of `people` people in `departments` departments under the root.
    pub fn generate(corp_id: &str, people: usize, departments: usize) -> Self {
        let mut deps = vec![Department {
            id: 1,
            parent_id: None,
            name: "Headquarters".into(),
            order: 0,
            version: 0,
        }];
        for i in 0..departments {
            let id = 100 + i as i64;
            let parent = if i < 5 { 1 } else { 100 + (i as i64 % 5) };
            deps.push(Department {
                id,
                parent_id: Some(parent),
                name: format!("Team {i}"),
                order: i as i64,
                version: 0,
            });
        }
        let people = (0..people)
            .map(|i| Person {
                userid: format!("0{i:05}"),
                union_id: format!("union-{i:05}"),
                open_id: format!("open-{corp_id}-{i:05}"),
                name: format!(
                    "{}{}",
                    NAMES[i % NAMES.len()],
                    if i < NAMES.len() {
                        String::new()
                    } else {
                        i.to_string()
                    }
                ),
                email: format!("person{i}@{corp_id}.example.com"),
                mobile: format!("138{i:08}"),
                title: if i == 0 {
                    "CEO".into()
                } else {
                    "Engineer".into()
                },
                object_id: format!("00000000-0000-4000-8000-{i:012}"),
                dept_ids: vec![if departments == 0 {
                    1
                } else {
                    100 + (i % departments) as i64
                }],
                version: 0,
            })
            .collect::<Vec<Person>>();
        let holders = |range: std::ops::Range<usize>| -> Vec<String> {
            people
                .get(range)
                .unwrap_or_default()
                .iter()
                .map(|p| p.userid.clone())
                .collect()
        };
        let role_groups = vec![
            RoleGroup {
                id: 1001,
                name: "Management".into(),
                roles: vec![
                    Role {
                        id: 2001,
                        name: "General Manager".into(),
                        holders: holders(0..1),
                    },
                    Role {
                        id: 2002,
                        name: "R&D Manager".into(),
                        holders: holders(1..3),
                    },
                ],
            },
            RoleGroup {
                id: 1002,
                name: "Functions".into(),
                roles: vec![Role {
                    id: 2003,
                    name: "Finance".into(),
                    holders: holders(3..4),
                }],
            },
        ];
        let mut company = Self {
            branch: Enterprise {
                corp_id: format!("{corp_id}branch"),
                app_key: format!("{corp_id}branch-appkey"),
                app_secret: format!("{corp_id}branch-secret"),
            },
            entra: Entra {
                tenant_id: format!("7e4a{:04x}-0000-4000-8000-000000000001", corp_id.len()),
                client_id: "3f1c0000-0000-4000-8000-00000000c11e".into(),
                client_secret: format!("{corp_id}~entra-secret"),
            },
            wecom: Wecom {
                corp_id: format!("ww{}", corp_id.trim_start_matches("ding")),
                agent_id: "1000002".into(),
                secret: format!("{corp_id}-wecom-secret"),
            },
            corp_id: corp_id.to_string(),
            app_key: format!("{corp_id}-appkey"),
            app_secret: format!("{corp_id}-secret"),
            departments: deps,
            people,
            role_groups,
            scope: vec![1],
            scope_users: Vec::new(),
            version: 1,
            removed: Vec::new(),
            left: Vec::new(),
            removed_departments: Vec::new(),
            index: Index::default(),
        };
        company.reindex();
        company
    }

    /// Rebuilds the lookups; call after changing people or departments.
    pub fn reindex(&mut self) {
        let mut index = Index::default();
        for (i, p) in self.people.iter().enumerate() {
            index.person.insert(p.userid.to_lowercase(), i);
            for d in &p.dept_ids {
                index.members.entry(*d).or_default().push(i);
            }
        }
        for (i, d) in self.departments.iter().enumerate() {
            index.department.insert(d.id, i);
            if let Some(parent) = d.parent_id {
                index.children.entry(parent).or_default().push(i);
            }
        }
        self.index = index;
    }

    /// A department by id.
    pub fn department(&self, id: i64) -> Option<&Department> {
        self.index
            .department
            .get(&id)
            .and_then(|i| self.departments.get(*i))
    }

    /// The direct sub-departments of a department.
    pub fn children(&self, id: i64) -> impl Iterator<Item = &Department> {
        self.index
            .children
            .get(&id)
            .into_iter()
            .flatten()
            .filter_map(|i| self.departments.get(*i))
    }

    /// The people directly in a department.
    pub fn members(&self, id: i64) -> impl Iterator<Item = &Person> {
        self.index
            .members
            .get(&id)
            .into_iter()
            .flatten()
            .filter_map(|i| self.people.get(*i))
    }

    /// Whether a department lies inside the apps' visible range.
    pub fn visible(&self, id: i64) -> bool {
        let mut at = Some(id);
        let mut hops = 0;
        while let Some(current) = at {
            if self.scope.contains(&current) {
                return true;
            }
            hops += 1;
            if hops > self.departments.len() {
                return false;
            }
            at = self.department(current).and_then(|d| d.parent_id);
        }
        false
    }

    /// Whether a person lies inside the apps' visible range (through any department).
    pub fn person_visible(&self, person: &Person) -> bool {
        self.scope_users.contains(&person.userid)
            || person.dept_ids.iter().any(|d| self.visible(*d))
    }

    /// Which DingTalk enterprise an AppKey belongs to (false: the main one, true: the branch), with
    /// its corpId and AppSecret.
    pub fn dingtalk_app(&self, app_key: &str) -> Option<(bool, &str, &str)> {
        if app_key == self.app_key {
            Some((false, &self.corp_id, &self.app_secret))
        } else if app_key == self.branch.app_key {
            Some((true, &self.branch.corp_id, &self.branch.app_secret))
        } else {
            None
        }
    }

    /// A person's DingTalk userid in the main enterprise or the branch.
    pub fn dingtalk_userid(&self, person: &Person, branch: bool) -> String {
        if branch {
            format!("9{}", person.userid)
        } else {
            person.userid.clone()
        }
    }

    /// The Microsoft group of a department (Teams organizations keep departments as groups).
    pub fn group_id(id: i64) -> String {
        format!("6a1d0000-0000-4000-a000-{id:012}")
    }

    /// Records that people joined or left departments at `version`: the departments' versions
    /// move (Graph groups delta), and those left are logged.
    pub fn membership_changed(&mut self, object_id: &str, before: &[i64], after: &[i64]) {
        let version = self.version;
        for d in before.iter().filter(|d| !after.contains(d)) {
            self.left.push((*d, object_id.to_string(), version));
        }
        for d in &mut self.departments {
            if before.contains(&d.id) != after.contains(&d.id) {
                d.version = version;
            }
        }
    }

    /// A department's leader: its first member (DingTalk's department manager, WeCom's
    /// department leader).
    pub fn leader(&self, id: i64) -> Option<&Person> {
        self.members(id).next()
    }

    /// A person's manager (Entra `manager`): the leader of their first department, or for that
    /// leader the nearest leader above.
    pub fn manager(&self, person: &Person) -> Option<&Person> {
        let mut at = person.dept_ids.first().copied();
        let mut hops = 0;
        while let Some(id) = at {
            match self.leader(id) {
                Some(l) if l.userid != person.userid => return Some(l),
                _ => {}
            }
            hops += 1;
            if hops > self.departments.len() {
                return None;
            }
            at = self.department(id).and_then(|d| d.parent_id);
        }
        None
    }

    /// The person with a DingTalk userid of the main enterprise or the branch.
    pub fn dingtalk_person(&self, userid: &str, branch: bool) -> Option<&Person> {
        let base = if branch {
            userid.strip_prefix('9')?
        } else {
            userid
        };
        self.person(base)
    }

    /// The person with this userid (WeCom compares userids case-insensitively; DingTalk's are digits).
    pub fn person(&self, userid: &str) -> Option<&Person> {
        self.index
            .person
            .get(&userid.to_lowercase())
            .and_then(|i| self.people.get(*i))
    }
}
