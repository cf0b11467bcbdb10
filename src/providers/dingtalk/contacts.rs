//! The full read of a DingTalk organization chart (legacy `topapi` contacts API): the app's
//! contacts range from `auth/scopes`, the department tree breadth-first with `department/listsub`,
//! every page of every department's people with `v2/user/list`, and role groups with their
//! holders from `role/list` and `role/simplelist`. There is no "list everyone" call, so people
//! are read per department and de-duplicated by userid.

use super::{DingtalkApp, DingtalkClient};
use crate::{
    error::Result,
    providers::{
        directory::{
            Contact, Department, ReadProgress, ReadScope, Role, RoleGroup, Snapshot, each_once,
            empty_scope, id_text, text,
        },
        error,
    },
};
use futures_util::{StreamExt, TryStreamExt, stream};
use serde_json::{Value, json};
use std::{
    collections::{HashMap, HashSet},
    sync::atomic::Ordering,
};

const PROVIDER: &str = "dingtalk";

/// The people directly in one department, and which of them lead it.
#[derive(Default)]
struct People {
    contacts: Vec<Contact>,
    leaders: Vec<String>,
}
/// Largest page of `v2/user/list` (the documented cap of its predecessor).
const USER_PAGE: i64 = 100;
/// Largest page of `role/list`.
const GROUP_PAGE: i64 = 200;
/// Largest page of `role/simplelist`.
const HOLDER_PAGE: i64 = 100;

/// A list of ids as DingTalk sends it: an array of numbers or strings, an array written as a
/// string (`"[2,3,4]"`, in the documentation's examples), or a single id.
pub(crate) fn ids(value: Option<&Value>) -> Vec<String> {
    match value {
        Some(Value::Array(items)) => items.iter().filter_map(|v| id_text(Some(v))).collect(),
        Some(Value::Number(n)) => vec![n.to_string()],
        // The documentation's examples show arrays as strings: "[2,3,4]".
        Some(Value::String(s)) => s
            .trim_matches(|c| c == '[' || c == ']')
            .split(',')
            .map(|p| p.trim().trim_matches('"').to_string())
            .filter(|p| !p.is_empty())
            .collect(),
        _ => Vec::new(),
    }
}

fn flag(value: Option<&Value>) -> Option<bool> {
    match value? {
        Value::Bool(b) => Some(*b),
        Value::String(s) => Some(s == "true"),
        _ => None,
    }
}

fn has_more(result: &Value, key: &str) -> bool {
    flag(result.get(key)).unwrap_or(false)
}

fn no_department() -> crate::error::Error {
    empty_scope(
        PROVIDER,
        "DingTalk app sees no department and no person: set its contacts range (通讯录权限范围) to the departments or people to sync in the DingTalk developer console",
    )
}

/// The app's contacts range (`auth/scopes`): top departments, and people granted one by one.
#[derive(Debug)]
struct AuthedScope {
    departments: Vec<String>,
    users: Vec<String>,
}

/// A department from a `department/get` result.
fn department_of(id: &str, result: &Value) -> Department {
    let mut leaders = ids(result.get("dept_manager_userid_list"));
    leaders.sort();
    leaders.dedup();
    Department {
        leaders,
        name: text(result, "name").unwrap_or_else(|| id.to_string()),
        parent_external_id: id_text(result.get("parent_id")).filter(|p| p != "0"),
        sort_order: result.get("order").and_then(Value::as_i64).unwrap_or(0),
        external_id: id.to_string(),
    }
}

/// A contact from a `v2/user/list` item.
pub(crate) fn contact(item: &Value) -> Option<Contact> {
    let external_id = text(item, "userid")?;
    Some(Contact {
        union_id: text(item, "unionid"),
        name: text(item, "name").unwrap_or_else(|| external_id.clone()),
        email: text(item, "email").or_else(|| text(item, "org_email")),
        phone: text(item, "mobile"),
        title: text(item, "title"),
        department_external_ids: ids(item.get("dept_id_list")),
        active: flag(item.get("active")).unwrap_or(true),
        external_id,
    })
}

impl DingtalkClient {
    /// Reads the organization chart the app may see (or the chosen departments of it).
    pub async fn read_directory(
        &self,
        app: &DingtalkApp,
        scope: &ReadScope,
        progress: &ReadProgress,
    ) -> Result<Snapshot> {
        let concurrency = scope.concurrency.max(1);
        // People granted one by one are part of the range only when the connection syncs the
        // whole range, not chosen departments.
        let (roots, single) = if scope.departments.is_empty() {
            progress.call();
            let authed = self.authed_scope(app).await?;
            (authed.departments, authed.users)
        } else {
            (scope.departments.clone(), Vec::new())
        };
        if roots.is_empty() && single.is_empty() {
            return Err(no_department());
        }
        // The top departments of the range, with their own names and order.
        let tops: Vec<Department> = stream::iter(roots.iter().cloned())
            .map(|id| async move {
                progress.call();
                let body = self
                    .oapi(
                        app,
                        "/topapi/v2/department/get",
                        json!({ "dept_id": id.parse::<i64>().unwrap_or(-1), "language": "zh_CN" }),
                    )
                    .await?;
                Ok::<_, crate::error::Error>(department_of(
                    &id,
                    body.get("result").unwrap_or(&Value::Null),
                ))
            })
            .buffered(concurrency)
            .try_collect()
            .await?;
        progress
            .departments
            .fetch_add(tops.len() as u64, Ordering::Relaxed);
        let mut seen: HashSet<String> = tops.iter().map(|d| d.external_id.clone()).collect();
        let mut departments = tops;
        let mut frontier: Vec<String> = roots;
        while !frontier.is_empty() {
            let levels: Vec<Vec<Department>> = stream::iter(frontier)
                .map(|parent| async move {
                    progress.call();
                    let body = self
                        .oapi(
                            app,
                            "/topapi/v2/department/listsub",
                            json!({ "dept_id": parent.parse::<i64>().unwrap_or(-1), "language": "zh_CN" }),
                        )
                        .await?;
                    let children = body
                        .get("result")
                        .and_then(Value::as_array)
                        .cloned()
                        .unwrap_or_default();
                    Ok::<_, crate::error::Error>(
                        children
                            .iter()
                            .enumerate()
                            .filter_map(|(i, c)| {
                                Some(Department {
                                    external_id: id_text(c.get("dept_id"))?,
                                    parent_external_id: Some(parent.clone()),
                                    name: text(c, "name").unwrap_or_default(),
                                    sort_order: i as i64,
                                    // Set from the people's `leader` flags below.
                                    leaders: Vec::new(),
                                })
                            })
                            .collect(),
                    )
                })
                .buffered(concurrency)
                .try_collect()
                .await?;
            frontier = Vec::new();
            for d in levels.into_iter().flatten() {
                if seen.insert(d.external_id.clone()) {
                    frontier.push(d.external_id.clone());
                    progress.departments.fetch_add(1, Ordering::Relaxed);
                    departments.push(d);
                }
            }
        }
        // Each department's pages go straight into one list as they arrive.
        let (mut leaders, read) = stream::iter(
            departments
                .iter()
                .map(|d| d.external_id.clone())
                .collect::<Vec<String>>(),
        )
        .map(|dept| async move {
            let people = self.people_of(app, &dept, progress).await?;
            Ok::<_, crate::error::Error>((dept, people))
        })
        .buffer_unordered(concurrency)
        .try_fold(
            (HashMap::new(), Vec::new()),
            |(mut leaders, mut read): (HashMap<String, Vec<String>>, Vec<Contact>),
             (dept, people)| async move {
                leaders.insert(dept, people.leaders);
                read.extend(people.contacts);
                Ok((leaders, read))
            },
        )
        .await?;
        for d in &mut departments {
            d.leaders = leaders.remove(&d.external_id).unwrap_or_default();
            d.leaders.sort();
            d.leaders.dedup();
        }
        let mut contacts = each_once(read);
        let alone: HashSet<String> = single
            .into_iter()
            .filter(|u| {
                contacts
                    .binary_search_by(|c| c.external_id.as_str().cmp(u))
                    .is_err()
            })
            .collect();
        let alone: Vec<Option<Contact>> = stream::iter(alone)
            .map(|userid| async move {
                progress.call();
                let found = self.contact(app, &userid).await?;
                if found.is_some() {
                    progress.contacts.fetch_add(1, Ordering::Relaxed);
                }
                Ok::<_, crate::error::Error>(found)
            })
            .buffer_unordered(concurrency)
            .try_collect()
            .await?;
        if alone.iter().any(Option::is_some) {
            contacts.extend(alone.into_iter().flatten());
            contacts = each_once(contacts);
        }
        let role_groups = self.role_groups(app, concurrency, progress).await?;
        Ok(Snapshot {
            departments,
            contacts,
            role_groups,
        })
    }

    /// Every page of the people directly in a department.
    async fn people_of(
        &self,
        app: &DingtalkApp,
        dept: &str,
        progress: &ReadProgress,
    ) -> Result<People> {
        let dept_id = dept.parse::<i64>().unwrap_or(-1);
        let mut cursor = 0_i64;
        let mut out = People::default();
        loop {
            progress.call();
            let body = self
                .oapi(
                    app,
                    "/topapi/v2/user/list",
                    json!({ "dept_id": dept_id, "cursor": cursor, "size": USER_PAGE, "contain_access_limit": false, "language": "zh_CN" }),
                )
                .await?;
            let result = body.get("result").cloned().unwrap_or(Value::Null);
            let list = result
                .get("list")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            progress
                .contacts
                .fetch_add(list.len() as u64, Ordering::Relaxed);
            for item in &list {
                let Some(mut c) = contact(item) else {
                    continue;
                };
                if !c.department_external_ids.iter().any(|d| d == dept) {
                    c.department_external_ids.push(dept.to_string());
                }
                // `leader`: whether the person leads the department being listed.
                if flag(item.get("leader")).unwrap_or(false) {
                    out.leaders.push(c.external_id.clone());
                }
                out.contacts.push(c);
            }
            if !has_more(&result, "has_more") {
                return Ok(out);
            }
            let next = result
                .get("next_cursor")
                .and_then(|v| v.as_i64().or_else(|| v.as_str()?.parse().ok()));
            match next {
                Some(n) if n > cursor => cursor = n,
                _ => {
                    return Err(error(
                        PROVIDER,
                        None,
                        format!(
                            "DingTalk said department {dept} has more people but gave no usable next cursor; try the sync again"
                        ),
                    ));
                }
            }
        }
    }

    /// Role groups with their roles (holders not read), every page.
    pub(crate) async fn list_role_groups(
        &self,
        app: &DingtalkApp,
        progress: &ReadProgress,
    ) -> Result<Vec<RoleGroup>> {
        let mut groups = Vec::new();
        let mut offset = 0;
        loop {
            progress.call();
            let body = self
                .oapi(
                    app,
                    "/topapi/role/list",
                    json!({ "size": GROUP_PAGE, "offset": offset }),
                )
                .await?;
            let result = body.get("result").cloned().unwrap_or(Value::Null);
            let list = result
                .get("list")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            for g in &list {
                let Some(external_id) = id_text(g.get("groupId")) else {
                    continue;
                };
                let roles = g
                    .get("roles")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(|r| {
                        Some(Role {
                            external_id: id_text(r.get("id"))?,
                            name: text(r, "name").unwrap_or_default(),
                            holders: Vec::new(),
                        })
                    })
                    .collect();
                groups.push(RoleGroup {
                    external_id,
                    name: text(g, "name").unwrap_or_default(),
                    roles,
                });
            }
            if !has_more(&result, "hasMore") || list.is_empty() {
                break;
            }
            offset += GROUP_PAGE;
        }
        Ok(groups)
    }

    /// Role groups with their roles and every role's holders.
    async fn role_groups(
        &self,
        app: &DingtalkApp,
        concurrency: usize,
        progress: &ReadProgress,
    ) -> Result<Vec<RoleGroup>> {
        let mut groups = self.list_role_groups(app, progress).await?;
        let role_ids: Vec<String> = groups
            .iter()
            .flat_map(|g| g.roles.iter().map(|r| r.external_id.clone()))
            .collect();
        let holders: HashMap<String, Vec<String>> = stream::iter(role_ids)
            .map(|role| async move {
                let mut out = Vec::new();
                let mut offset = 0;
                loop {
                    progress.call();
                    let body = self
                        .oapi(
                            app,
                            "/topapi/role/simplelist",
                            json!({ "role_id": role.parse::<i64>().unwrap_or(-1), "size": HOLDER_PAGE, "offset": offset }),
                        )
                        .await?;
                    let result = body.get("result").cloned().unwrap_or(Value::Null);
                    let list = result
                        .get("list")
                        .and_then(Value::as_array)
                        .cloned()
                        .unwrap_or_default();
                    out.extend(list.iter().filter_map(|h| text(h, "userid")));
                    if !has_more(&result, "hasMore") || list.is_empty() {
                        return Ok::<_, crate::error::Error>((role, out));
                    }
                    offset += HOLDER_PAGE;
                }
            })
            .buffer_unordered(concurrency)
            .try_collect()
            .await?;
        for g in &mut groups {
            for r in &mut g.roles {
                r.holders = holders.get(&r.external_id).cloned().unwrap_or_default();
            }
        }
        Ok(groups)
    }
}

impl DingtalkClient {
    /// The app's contacts range (`auth/scopes`).
    async fn authed_scope(&self, app: &DingtalkApp) -> Result<AuthedScope> {
        let scopes = self
            .oapi_request(app, reqwest::Method::GET, "/auth/scopes", Value::Null)
            .await?;
        Ok(AuthedScope {
            departments: ids(scopes.pointer("/auth_org_scopes/authed_dept")),
            users: ids(scopes.pointer("/auth_org_scopes/authed_user")),
        })
    }

    /// Checks that the app may read the contacts it will sync: a non-empty contacts range and
    /// the permission to list a department's people (or, for a range of single people, to read
    /// one of them).
    pub async fn check_contacts(&self, app: &DingtalkApp) -> Result<()> {
        let authed = self.authed_scope(app).await?;
        if let Some(first) = authed.departments.first() {
            return self
                .oapi(
                    app,
                    "/topapi/v2/user/list",
                    json!({ "dept_id": first.parse::<i64>().unwrap_or(1), "cursor": 0, "size": 1 }),
                )
                .await
                .map(|_| ());
        }
        match authed.users.first() {
            Some(userid) => self.user(app, userid).await.map(|_| ()),
            None => Err(no_department()),
        }
    }

    /// One contact read again (after an event); `None` when DingTalk no longer knows them.
    pub async fn contact(&self, app: &DingtalkApp, userid: &str) -> Result<Option<Contact>> {
        match self.user(app, userid).await {
            Ok(result) => Ok(contact(&result)),
            Err(crate::error::Error::Provider {
                errcode: Some(code),
                ..
            }) if matches!(code.as_str(), "60121" | "33012" | "50002") => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// One department read again (after an event); `None` when DingTalk no longer has it.
    pub async fn department(&self, app: &DingtalkApp, id: &str) -> Result<Option<Department>> {
        let body = match self
            .oapi(
                app,
                "/topapi/v2/department/get",
                json!({ "dept_id": id.parse::<i64>().unwrap_or(-1), "language": "zh_CN" }),
            )
            .await
        {
            Ok(body) => body,
            Err(crate::error::Error::Provider {
                errcode: Some(code),
                ..
            }) if matches!(code.as_str(), "60003" | "50004") => return Ok(None),
            Err(e) => return Err(e),
        };
        Ok(Some(department_of(
            id,
            body.get("result").unwrap_or(&Value::Null),
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documented_quirks_are_read() {
        // The documentation's examples show numbers, booleans and arrays as strings.
        let item = json!({ "userid": "0042", "name": "张伟", "dept_id_list": "[2,3]", "active": "true", "mobile": "" });
        let c = contact(&item).expect("contact");
        assert_eq!(c.department_external_ids, vec!["2", "3"]);
        assert!(c.active);
        assert_eq!(c.phone, None);
        let typed = json!({ "userid": "7", "dept_id_list": [4], "active": false });
        let c = contact(&typed).expect("contact");
        assert_eq!((c.name.as_str(), c.active), ("7", false));
        assert_eq!(c.department_external_ids, vec!["4"]);
        assert!(contact(&json!({ "name": "no id" })).is_none());
        assert!(has_more(&json!({ "has_more": "true" }), "has_more"));
    }

    #[test]
    fn department_managers_are_its_leaders() {
        let d = department_of(
            "5",
            &json!({ "name": "Sales", "parent_id": 1, "dept_manager_userid_list": "[\"02\",\"01\"]" }),
        );
        assert_eq!(d.leaders, vec!["01", "02"]);
        assert_eq!(d.parent_external_id.as_deref(), Some("1"));
        assert!(
            department_of("1", &json!({ "parent_id": 0 }))
                .leaders
                .is_empty()
        );
    }
}
