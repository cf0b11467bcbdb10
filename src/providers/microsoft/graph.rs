//! Microsoft Graph reads for sync: the tenant's users through a delta query (the first round is
//! the full state and ends in a delta link; the link later yields only what changed, removals
//! marked `@removed`). Departments come from the users' `department` attribute, as Teams
//! organizations usually keep them.

use super::{MicrosoftApp, MicrosoftClient};
use crate::{
    error::{Error, Result},
    providers::{
        directory::{Contact, Department, ReadProgress, Snapshot, text},
        error, read_json, send,
    },
};
use serde_json::Value;
use std::{collections::BTreeSet, sync::atomic::Ordering};

const PROVIDER: &str = "teams";
const SELECT: &str = "id,displayName,userPrincipalName,mail,mobilePhone,businessPhones,jobTitle,department,employeeId,accountEnabled";

/// What a delta link returned.
#[derive(Debug, Default)]
pub struct UserChanges {
    /// Users created or changed (only the properties Graph sent are meaningful; Roster asks for
    /// all selected ones, which the first round always carries).
    pub changed: Vec<Contact>,
    /// Object ids of users removed.
    pub removed: Vec<String>,
    /// The link for the next round.
    pub delta_link: String,
}

/// The error code a stale delta link gets; the caller restarts with a full read.
pub const RESYNC: &str = "syncStateNotFound";

fn explain(status: u16, body: &Value) -> Error {
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
            "Microsoft Graph refused to list users ({code}: {message}); grant the application permission User.Read.All (application, not delegated) and an administrator's consent in the Entra admin center"
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
    async fn graph_get(&self, app: &MicrosoftApp, url: &str) -> Result<Value> {
        for attempt in 0..2 {
            self.limiter.wait(&app.client_id).await;
            let token = self.app_token(app).await?;
            let response = send(
                PROVIDER,
                "Microsoft Graph",
                self.http.get(url).bearer_auth(&token),
            )
            .await?;
            let status = response.status().as_u16();
            let body = read_json(PROVIDER, "Microsoft Graph", response).await?;
            if status == 401 && attempt == 0 {
                self.forget_app_token(app);
                continue;
            }
            if !(200..300).contains(&status) {
                return Err(explain(status, &body));
            }
            return Ok(body);
        }
        Err(error(
            PROVIDER,
            Some("InvalidAuthenticationToken".into()),
            "Microsoft Graph kept refusing a fresh app token; check the application's credentials",
        ))
    }

    /// Follows a delta query from `start` through every `@odata.nextLink` to the delta link.
    pub async fn user_changes(
        &self,
        app: &MicrosoftApp,
        start: &str,
        progress: &ReadProgress,
    ) -> Result<UserChanges> {
        let mut out = UserChanges::default();
        let mut url = start.to_string();
        loop {
            progress.call();
            let page = self.graph_get(app, &url).await?;
            for user in page
                .get("value")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                if user.get("@removed").is_some() {
                    out.removed.extend(text(user, "id"));
                } else if let Some(c) = contact(user) {
                    progress.contacts.fetch_add(1, Ordering::Relaxed);
                    out.changed.push(c);
                }
            }
            if let Some(next) = text(&page, "@odata.nextLink") {
                url = next;
            } else if let Some(delta) = text(&page, "@odata.deltaLink") {
                out.delta_link = delta;
                return Ok(out);
            } else {
                return Err(error(
                    PROVIDER,
                    None,
                    "Microsoft Graph ended a delta page without a next or delta link; try the sync again",
                ));
            }
        }
    }

    /// Checks that the application may list the tenant's users (User.Read.All, consented).
    pub async fn check_contacts(&self, app: &MicrosoftApp) -> Result<()> {
        let url = format!(
            "{}/v1.0/users?$select=id&$top=1",
            self.urls.graph_url.trim_end_matches('/')
        );
        self.graph_get(app, &url).await.map(|_| ())
    }

    /// Reads every user of the tenant (a fresh delta round) and the delta link that follows it.
    pub async fn read_directory(
        &self,
        app: &MicrosoftApp,
        progress: &ReadProgress,
    ) -> Result<(Snapshot, String)> {
        let start = format!(
            "{}/v1.0/users/delta?$select={SELECT}",
            self.urls.graph_url.trim_end_matches('/')
        );
        let changes = self.user_changes(app, &start, progress).await?;
        let mut contacts = changes.changed;
        // The same object may appear more than once in a round; the last one wins.
        contacts.reverse();
        let mut seen = std::collections::HashSet::new();
        contacts.retain(|c| seen.insert(c.external_id.clone()));
        contacts.sort_by(|a, b| a.external_id.cmp(&b.external_id));
        Ok((
            Snapshot {
                departments: departments_of(&contacts),
                contacts,
                role_groups: Vec::new(),
            },
            changes.delta_link,
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
        })
        .collect()
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
        let deps = departments_of(&[a, b]);
        assert_eq!(deps.len(), 1);
        assert_eq!(deps[0].name, "Sales");
        assert_eq!(
            explain(
                403,
                &json!({ "error": { "code": "Authorization_RequestDenied" } })
            )
            .code(),
            crate::error::ErrorCode::Provider
        );
    }
}
