//! The seeded company the sandbox serves: departments and people of one DingTalk enterprise,
//! generated deterministically from a size.

use serde::Serialize;

/// A department (root is `1`, as in DingTalk).
#[derive(Debug, Clone, Serialize)]
pub struct Department {
    /// Department id.
    pub id: i64,
    /// Parent id; none for the root.
    pub parent_id: Option<i64>,
    /// Name.
    pub name: String,
}

/// A person of the enterprise.
#[derive(Debug, Clone, Serialize)]
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
        }];
        for i in 0..departments {
            let id = 100 + i as i64;
            let parent = if i < 5 { 1 } else { 100 + (i as i64 % 5) };
            deps.push(Department {
                id,
                parent_id: Some(parent),
                name: format!("Team {i}"),
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
            })
            .collect();
        Self {
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
        }
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
        self.people
            .iter()
            .find(|p| p.userid.eq_ignore_ascii_case(userid))
    }
}
