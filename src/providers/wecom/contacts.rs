//! The full read of a WeCom organization chart: the visible department tree with
//! `department/simplelist` (recursive), each department's name with `department/get`, and the
//! people directly in each department with `user/list`, de-duplicated by userid. Userids are
//! compared case-insensitively by WeCom, so they are kept lower-cased.

use super::{WecomApp, WecomClient};
use crate::{
    error::Result,
    providers::directory::{
        Contact, Department, ReadProgress, ReadScope, Role, RoleGroup, Snapshot, each_once,
        empty_scope, id_text, text,
    },
};
use futures_util::{StreamExt, TryStreamExt, stream};
use serde_json::Value;
use std::{
    collections::{HashMap, HashSet},
    sync::atomic::Ordering,
};

const PROVIDER: &str = "wecom";
/// The provider id of the role group that holds a WeCom corporation's tags.
pub const TAGS_GROUP: &str = "tags";

fn no_department() -> crate::error::Error {
    empty_scope(
        PROVIDER,
        "WeCom app sees no department: set its visible range (可见范围) to the departments to sync in the WeCom admin console",
    )
}

/// The leaders a `department/get` result names (`department_leader`), as compared userids.
fn leaders_of(department: &Value) -> Vec<String> {
    let mut leaders: Vec<String> = department
        .get("department_leader")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(|u| u.trim().to_lowercase())
        .filter(|u| !u.is_empty())
        .collect();
    leaders.sort();
    leaders.dedup();
    leaders
}

/// A contact from a `user/list` item; WeCom status 1 is active, 2 disabled, 4 not activated,
/// 5 left.
pub(crate) fn contact(item: &Value) -> Option<Contact> {
    let external_id = text(item, "userid")?.to_lowercase();
    Some(Contact {
        union_id: None,
        name: text(item, "name").unwrap_or_else(|| external_id.clone()),
        email: text(item, "email").or_else(|| text(item, "biz_mail")),
        phone: text(item, "mobile"),
        title: text(item, "position"),
        department_external_ids: item
            .get("department")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|d| id_text(Some(d)))
            .collect(),
        active: matches!(item.get("status").and_then(Value::as_i64), Some(1) | None),
        external_id,
    })
}

impl WecomClient {
    /// Reads the organization chart the app may see (or the chosen departments of it).
    pub async fn read_directory(
        &self,
        app: &WecomApp,
        scope: &ReadScope,
        progress: &ReadProgress,
    ) -> Result<Snapshot> {
        let concurrency = scope.concurrency.max(1);
        let roots: Vec<Option<String>> = if scope.departments.is_empty() {
            vec![None]
        } else {
            scope.departments.iter().cloned().map(Some).collect()
        };
        let mut tree: Vec<(String, Option<String>, i64)> = Vec::new();
        let mut seen = HashSet::new();
        for root in roots {
            progress.call();
            let params: Vec<(&str, &str)> =
                root.as_deref().map(|id| ("id", id)).into_iter().collect();
            let body = self.get(app, "department/simplelist", &params).await?;
            for d in body
                .get("department_id")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let Some(id) = id_text(d.get("id")) else {
                    continue;
                };
                if seen.insert(id.clone()) {
                    let parent = id_text(d.get("parentid")).filter(|p| p != "0");
                    tree.push((
                        id,
                        parent,
                        d.get("order").and_then(Value::as_i64).unwrap_or(0),
                    ));
                }
            }
        }
        if tree.is_empty() {
            return Err(no_department());
        }
        let departments: Vec<Department> = stream::iter(tree)
            .map(|(id, parent, order)| async move {
                progress.call();
                let body = self
                    .get(app, "department/get", &[("id", id.as_str())])
                    .await?;
                progress.departments.fetch_add(1, Ordering::Relaxed);
                let d = body.get("department").cloned().unwrap_or(Value::Null);
                Ok::<_, crate::error::Error>(Department {
                    leaders: leaders_of(&d),
                    name: text(&d, "name").unwrap_or_else(|| id.clone()),
                    parent_external_id: parent,
                    // WeCom sorts larger `order` first.
                    sort_order: -order,
                    external_id: id,
                })
            })
            .buffered(concurrency)
            .try_collect()
            .await?;
        let read: Vec<Contact> = stream::iter(
            departments
                .iter()
                .map(|d| d.external_id.clone())
                .collect::<Vec<String>>(),
        )
        .map(|dept| async move {
            progress.call();
            let body = self
                .get(app, "user/list", &[("department_id", dept.as_str())])
                .await?;
            let list = body
                .get("userlist")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            progress
                .contacts
                .fetch_add(list.len() as u64, Ordering::Relaxed);
            Ok::<_, crate::error::Error>(list.iter().filter_map(contact).collect())
        })
        .buffer_unordered(concurrency)
        .try_fold(Vec::new(), |mut read, list: Vec<Contact>| async move {
            read.extend(list);
            Ok(read)
        })
        .await?;
        let contacts = each_once(read);
        let role_groups = if scope.tags {
            vec![self.tags(app, &contacts, concurrency, progress).await?]
        } else {
            Vec::new()
        };
        Ok(Snapshot {
            departments: crate::providers::directory::parents_first(departments),
            contacts,
            role_groups,
        })
    }

    /// The corporation's tags as one role group, each tag a role held by its users and by the
    /// people directly in its departments (`partylist`), among the contacts read.
    async fn tags(
        &self,
        app: &WecomApp,
        contacts: &[Contact],
        concurrency: usize,
        progress: &ReadProgress,
    ) -> Result<RoleGroup> {
        progress.call();
        let list = self.get(app, "tag/list", &[]).await?;
        let tags: Vec<(String, String)> = list
            .get("taglist")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|t| {
                let id = id_text(t.get("tagid"))?;
                let name = text(t, "tagname").unwrap_or_else(|| id.clone());
                Some((id, name))
            })
            .collect();
        let mut by_department: HashMap<&str, Vec<&str>> = HashMap::new();
        for c in contacts {
            for d in &c.department_external_ids {
                by_department
                    .entry(d.as_str())
                    .or_default()
                    .push(c.external_id.as_str());
            }
        }
        let known: HashSet<&str> = contacts.iter().map(|c| c.external_id.as_str()).collect();
        let mut roles: Vec<Role> = stream::iter(tags)
            .map(|(id, name)| {
                let (by_department, known) = (&by_department, &known);
                async move {
                    progress.call();
                    let body = self.get(app, "tag/get", &[("tagid", id.as_str())]).await?;
                    let users = body
                        .get("userlist")
                        .and_then(Value::as_array)
                        .into_iter()
                        .flatten()
                        .filter_map(|u| text(u, "userid"))
                        .map(|u| u.to_lowercase());
                    let parties = body
                        .get("partylist")
                        .and_then(Value::as_array)
                        .into_iter()
                        .flatten()
                        .filter_map(|p| id_text(Some(p)))
                        .flat_map(|p| by_department.get(p.as_str()).cloned().unwrap_or_default())
                        .map(str::to_string);
                    let mut holders: Vec<String> = users
                        .chain(parties)
                        .filter(|u| known.contains(u.as_str()))
                        .collect();
                    holders.sort();
                    holders.dedup();
                    Ok::<_, crate::error::Error>(Role {
                        external_id: id,
                        name,
                        holders,
                    })
                }
            })
            .buffered(concurrency)
            .try_collect()
            .await?;
        roles.sort_by(|a, b| a.external_id.cmp(&b.external_id));
        Ok(RoleGroup {
            external_id: TAGS_GROUP.into(),
            name: "WeCom tags".into(),
            roles,
        })
    }
}

impl WecomClient {
    /// Checks that the app may read the contacts it will sync: a visible department and the
    /// permission to list its people.
    pub async fn check_contacts(&self, app: &WecomApp) -> Result<()> {
        let body = self.get(app, "department/simplelist", &[]).await?;
        let Some(first) = body
            .get("department_id")
            .and_then(Value::as_array)
            .and_then(|d| d.first())
            .and_then(|d| id_text(d.get("id")))
        else {
            return Err(no_department());
        };
        self.get(app, "user/list", &[("department_id", first.as_str())])
            .await
            .map(|_| ())
    }

    /// One contact read again (after an event); `None` when WeCom no longer knows them.
    pub async fn contact(&self, app: &WecomApp, userid: &str) -> Result<Option<Contact>> {
        match self.get(app, "user/get", &[("userid", userid)]).await {
            Ok(body) => Ok(contact(&body)),
            Err(crate::error::Error::Provider {
                errcode: Some(code),
                ..
            }) if matches!(code.as_str(), "60111" | "46004" | "40003") => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// One department read again (after an event); `None` when WeCom no longer has it.
    pub async fn department(&self, app: &WecomApp, id: &str) -> Result<Option<Department>> {
        let body = match self.get(app, "department/get", &[("id", id)]).await {
            Ok(body) => body,
            Err(crate::error::Error::Provider {
                errcode: Some(code),
                ..
            }) if code == "60003" || code == "60123" => return Ok(None),
            Err(e) => return Err(e),
        };
        let d = body.get("department").cloned().unwrap_or(Value::Null);
        Ok(Some(Department {
            leaders: leaders_of(&d),
            name: text(&d, "name").unwrap_or_else(|| id.to_string()),
            parent_external_id: id_text(d.get("parentid")).filter(|p| p != "0"),
            sort_order: -d.get("order").and_then(Value::as_i64).unwrap_or(0),
            external_id: id.to_string(),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn statuses_and_ids_are_read() {
        let c = contact(
            &json!({ "userid": "ZhangSan", "name": "张三", "department": [1, 2], "status": 5 }),
        )
        .expect("contact");
        assert_eq!(c.external_id, "zhangsan");
        assert_eq!(c.department_external_ids, vec!["1", "2"]);
        assert!(!c.active, "status 5 means the person left");
        assert!(
            contact(&json!({ "userid": "a", "status": 1 }))
                .expect("contact")
                .active
        );
    }

    #[test]
    fn department_leaders_are_compared_userids() {
        let d = json!({ "id": 2, "department_leader": ["LiSi", "zhangsan", "", "lisi"] });
        assert_eq!(leaders_of(&d), vec!["lisi", "zhangsan"]);
        assert!(leaders_of(&json!({ "id": 3 })).is_empty());
    }
}
