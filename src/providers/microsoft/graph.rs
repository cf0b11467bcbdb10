//! Microsoft Graph reads for sync: the tenant's users through a delta query (the first round is
//! the full state and ends in a delta link; the link later yields only what changed, removals
//! marked `@removed`). Departments come from the users' `department` attribute, as Teams
//! organizations usually keep them; a department's leader is the manager most of its people
//! report to.

use super::{MicrosoftApp, MicrosoftClient};
use crate::{
    error::{Error, Result},
    providers::{
        directory::{Contact, Department, ReadProgress, Snapshot, text},
        error, read_json, send_with,
    },
};
use serde_json::Value;
use std::{
    collections::{BTreeSet, HashMap},
    sync::atomic::Ordering,
};

const PROVIDER: &str = "teams";
const SELECT: &str = "id,displayName,userPrincipalName,mail,mobilePhone,businessPhones,jobTitle,department,employeeId,accountEnabled,manager";

/// What a delta link returned.
#[derive(Debug, Default)]
pub struct UserChanges {
    /// Users created or changed (only the properties Graph sent are meaningful; Roster asks for
    /// all selected ones, which the first round always carries).
    pub changed: Vec<Contact>,
    /// Object ids of users removed.
    pub removed: Vec<String>,
    /// Each user's manager, for the users whose manager the round reported.
    pub managers: HashMap<String, String>,
    /// The link for the next round.
    pub delta_link: String,
}

/// The error code a stale delta link gets; the caller restarts with a full read.
pub const RESYNC: &str = "syncStateNotFound";

/// What a Graph read needs: the resource it lists and the application permission it takes.
#[derive(Clone, Copy)]
pub(crate) struct Needs {
    pub what: &'static str,
    pub permission: &'static str,
}

pub(crate) const USERS: Needs = Needs {
    what: "users",
    permission: "User.Read.All",
};

fn explain(status: u16, body: &Value, needs: Needs) -> Error {
    let code = body
        .pointer("/error/code")
        .and_then(Value::as_str)
        .unwrap_or("unknown")
        .to_string();
    let message = body
        .pointer("/error/message")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let what = match (status, code.as_str()) {
        (403, _) | (_, "Authorization_RequestDenied") => format!(
            "Microsoft Graph refused to list {} ({code}: {message}); grant the application permission {} (application, not delegated) and an administrator's consent in the Entra admin center",
            needs.what, needs.permission
        ),
        (410, _) | (_, RESYNC) | (_, "resyncRequired") => {
            "the saved Microsoft Graph delta link expired; a full sync starts over".to_string()
        }
        (429, _) => format!("Microsoft Graph is throttling requests ({code}); try again later"),
        _ => format!("Microsoft Graph refused the request (HTTP {status}, {code}: {message})"),
    };
    let code = if status == 410 {
        RESYNC.to_string()
    } else {
        code
    };
    error(PROVIDER, Some(code), what)
}

/// The manager a delta round reports for a user (`manager@delta`, one directory object, as an
/// array or alone); `None` when none is reported or it was removed.
fn manager_of(user: &Value) -> Option<String> {
    let reported = user.get("manager@delta")?;
    let manager = match reported {
        Value::Array(items) => items.iter().find(|m| m.get("@removed").is_none())?,
        other if other.get("@removed").is_none() => other,
        _ => return None,
    };
    text(manager, "id")
}

/// A contact from a Graph user; its department (if any) is named by the `department` attribute.
fn contact(user: &Value) -> Option<Contact> {
    let external_id = text(user, "id")?;
    Some(Contact {
        union_id: None,
        name: text(user, "displayName").unwrap_or_else(|| external_id.clone()),
        email: text(user, "mail").or_else(|| text(user, "userPrincipalName")),
        phone: text(user, "mobilePhone").or_else(|| {
            user.get("businessPhones")
                .and_then(Value::as_array)
                .and_then(|p| p.first())
                .and_then(Value::as_str)
                .map(str::to_string)
        }),
        title: text(user, "jobTitle"),
        department_external_ids: text(user, "department").into_iter().collect(),
        active: user
            .get("accountEnabled")
            .and_then(Value::as_bool)
            .unwrap_or(true),
        external_id,
    })
}

impl MicrosoftClient {
    /// GETs a Graph address with the app token, renewing the token once on 401.
    pub(crate) async fn graph_get(
        &self,
        app: &MicrosoftApp,
        url: &str,
        needs: Needs,
    ) -> Result<Value> {
        self.graph_call(app, reqwest::Method::GET, url, None, needs)
            .await
            .map(|(_, body)| body)
    }

    /// Calls Graph with the app token, renewing the token once on 401; returns the status and
    /// the body (JSON, or null for an empty answer) of a 2xx answer, or the 404 status alone
    /// with a null body so that callers may treat the object as gone.
    pub(crate) async fn graph_call(
        &self,
        app: &MicrosoftApp,
        method: reqwest::Method,
        url: &str,
        body: Option<&Value>,
        needs: Needs,
    ) -> Result<(u16, Value)> {
        for attempt in 0..2 {
            self.limiter.wait(&app.client_id).await;
            let token = self.app_token(app).await?;
            let mut request = self.http.request(method.clone(), url).bearer_auth(&token);
            if let Some(body) = body {
                request = request.json(body);
            }
            // A create is not repeated when its answer may have been lost.
            let retry = method != reqwest::Method::POST;
            let response = send_with(PROVIDER, "Microsoft Graph", retry, request).await?;
            let status = response.status().as_u16();
            if status == 204 {
                return Ok((status, Value::Null));
            }
            let body = read_json(PROVIDER, "Microsoft Graph", response).await?;
            if status == 401 && attempt == 0 {
                self.forget_app_token(app);
                continue;
            }
            if status == 404 && method != reqwest::Method::GET {
                return Ok((status, Value::Null));
            }
            if !(200..300).contains(&status) {
                return Err(explain(status, &body, needs));
            }
            return Ok((status, body));
        }
        Err(error(
            PROVIDER,
            Some("InvalidAuthenticationToken".into()),
            "Microsoft Graph kept refusing a fresh app token; check the application's credentials",
        ))
    }

    /// Follows a delta query from `start` through every `@odata.nextLink`, handing each object
    /// to `each`; returns the delta link that ends the round.
    pub(crate) async fn delta_round(
        &self,
        app: &MicrosoftApp,
        start: &str,
        needs: Needs,
        progress: &ReadProgress,
        mut each: impl FnMut(&Value),
    ) -> Result<String> {
        let mut url = start.to_string();
        loop {
            progress.call();
            let page = self.graph_get(app, &url, needs).await?;
            page.get("value")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .for_each(&mut each);
            if let Some(next) = text(&page, "@odata.nextLink") {
                url = next;
            } else if let Some(delta) = text(&page, "@odata.deltaLink") {
                return Ok(delta);
            } else {
                return Err(error(
                    PROVIDER,
                    None,
                    "Microsoft Graph ended a delta page without a next or delta link; try the sync again",
                ));
            }
        }
    }

    /// Follows a users delta query from `start` to its delta link.
    pub async fn user_changes(
        &self,
        app: &MicrosoftApp,
        start: &str,
        progress: &ReadProgress,
    ) -> Result<UserChanges> {
        let mut out = UserChanges::default();
        let delta_link = self
            .delta_round(app, start, USERS, progress, |user| {
                if user.get("@removed").is_some() {
                    out.removed.extend(text(user, "id"));
                } else if let Some(c) = contact(user) {
                    progress.contacts.fetch_add(1, Ordering::Relaxed);
                    if let Some(manager) = manager_of(user) {
                        out.managers.insert(c.external_id.clone(), manager);
                    }
                    out.changed.push(c);
                }
            })
            .await?;
        out.delta_link = delta_link;
        Ok(out)
    }

    /// Checks that the application may list the tenant's users (User.Read.All, consented).
    pub async fn check_contacts(&self, app: &MicrosoftApp) -> Result<()> {
        let url = format!(
            "{}/v1.0/users?$select=id&$top=1",
            self.urls.graph_url.trim_end_matches('/')
        );
        self.graph_get(app, &url, USERS).await.map(|_| ())
    }

    /// Every user of the tenant (a fresh delta round, each user once, the last report winning),
    /// their managers, and the delta link that follows.
    pub async fn all_users(
        &self,
        app: &MicrosoftApp,
        progress: &ReadProgress,
    ) -> Result<(Vec<Contact>, HashMap<String, String>, String)> {
        let start = format!(
            "{}/v1.0/users/delta?$select={SELECT}",
            self.urls.graph_url.trim_end_matches('/')
        );
        let changes = self.user_changes(app, &start, progress).await?;
        let mut contacts = changes.changed;
        contacts.reverse();
        let mut seen = std::collections::HashSet::new();
        contacts.retain(|c| seen.insert(c.external_id.clone()));
        contacts.sort_by(|a, b| a.external_id.cmp(&b.external_id));
        Ok((contacts, changes.managers, changes.delta_link))
    }

    /// Reads every user of the tenant, departments from their `department` attribute, and the
    /// users delta link that follows.
    pub async fn read_directory(
        &self,
        app: &MicrosoftApp,
        progress: &ReadProgress,
    ) -> Result<(Snapshot, String)> {
        let (contacts, managers, delta_link) = self.all_users(app, progress).await?;
        Ok((
            Snapshot {
                departments: with_leaders(departments_of(&contacts), &contacts, &managers),
                contacts,
                role_groups: Vec::new(),
            },
            delta_link,
        ))
    }
}

/// The departments named by contacts' `department` attribute, one per distinct name.
pub fn departments_of(contacts: &[Contact]) -> Vec<Department> {
    let names: BTreeSet<&str> = contacts
        .iter()
        .flat_map(|c| c.department_external_ids.iter().map(String::as_str))
        .collect();
    names
        .into_iter()
        .enumerate()
        .map(|(i, name)| Department {
            external_id: name.to_string(),
            parent_external_id: None,
            name: name.to_string(),
            sort_order: i as i64,
            leaders: Vec::new(),
        })
        .collect()
}

/// Gives each department the manager most of its people report to (the smaller id on a tie);
/// a department whose people have no manager has no leader.
pub fn with_leaders(
    mut departments: Vec<Department>,
    contacts: &[Contact],
    managers: &HashMap<String, String>,
) -> Vec<Department> {
    let mut reports: HashMap<&str, HashMap<&str, usize>> = HashMap::new();
    for c in contacts {
        let Some(manager) = managers.get(&c.external_id) else {
            continue;
        };
        for d in &c.department_external_ids {
            *reports
                .entry(d.as_str())
                .or_default()
                .entry(manager.as_str())
                .or_default() += 1;
        }
    }
    for d in &mut departments {
        d.leaders = reports
            .get(d.external_id.as_str())
            .and_then(|counts| {
                counts
                    .iter()
                    .max_by(|a, b| a.1.cmp(b.1).then_with(|| b.0.cmp(a.0)))
                    .map(|(m, _)| vec![m.to_string()])
            })
            .unwrap_or_default();
    }
    departments
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn users_become_contacts_and_departments() {
        let a = contact(&json!({ "id": "o1", "displayName": "Anna", "userPrincipalName": "anna@x", "department": "Sales", "accountEnabled": false })).expect("contact");
        assert_eq!(a.email.as_deref(), Some("anna@x"));
        assert!(!a.active);
        let b = contact(&json!({ "id": "o2", "displayName": "Bo", "businessPhones": ["+1 555"], "department": "Sales" })).expect("contact");
        assert_eq!(b.phone.as_deref(), Some("+1 555"));
        let deps = departments_of(&[a.clone(), b.clone()]);
        assert_eq!(deps.len(), 1);
        assert_eq!(deps[0].name, "Sales");
        // Anna reports to m1 and Bo to m2: a tie goes to the smaller id; a third report decides.
        assert_eq!(
            manager_of(&json!({ "id": "o1", "manager@delta": [{ "@odata.type": "#microsoft.graph.user", "id": "m1" }] })).as_deref(),
            Some("m1")
        );
        assert_eq!(
            manager_of(
                &json!({ "id": "o1", "manager@delta": [{ "id": "m1", "@removed": { "reason": "deleted" } }] })
            ),
            None
        );
        let mut managers: HashMap<String, String> = [("o1", "m1"), ("o2", "m2")]
            .map(|(u, m)| (u.to_string(), m.to_string()))
            .into();
        let led = with_leaders(deps.clone(), &[a.clone(), b.clone()], &managers);
        assert_eq!(led[0].leaders, vec!["m1"]);
        let mut c = b.clone();
        c.external_id = "o3".into();
        managers.insert("o3".into(), "m2".into());
        let led = with_leaders(deps, &[a, b, c], &managers);
        assert_eq!(led[0].leaders, vec!["m2"]);
        assert_eq!(
            explain(
                403,
                &json!({ "error": { "code": "Authorization_RequestDenied" } }),
                USERS
            )
            .code(),
            crate::error::ErrorCode::Provider
        );
    }
}
