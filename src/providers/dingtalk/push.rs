//! DingTalk's contacts write APIs, for pushing local changes: departments, role groups, roles
//! and people. Every call goes through the paced, token-renewing legacy caller; DingTalk's
//! errors come back as [`Error::Provider`](crate::error::Error::Provider) with their errcode and a
//! plain explanation.

use super::{DingtalkApp, DingtalkClient, contacts::ids};
use crate::{
    error::Result,
    providers::{
        directory::{ReadProgress, id_text, text},
        error,
    },
};
use serde_json::{Map, Value, json};

const PROVIDER: &str = "dingtalk";

/// A department id as DingTalk's JSON number (ids Roster stores as text).
fn dept_number(id: &str) -> Result<i64> {
    id.parse().map_err(|_| {
        error(
            PROVIDER,
            None,
            format!("`{id}` is not a DingTalk department id; run a full sync to repair the link"),
        )
    })
}

/// A person to create in DingTalk.
#[derive(Debug, Clone)]
pub struct NewPerson<'a> {
    /// The userid to give them (chosen by Roster so that a retried create is recognised).
    pub userid: &'a str,
    /// Name.
    pub name: &'a str,
    /// Mobile number (DingTalk requires one, unique in the enterprise).
    pub mobile: &'a str,
    /// Email, if any.
    pub email: Option<&'a str>,
    /// Job title, if any.
    pub title: Option<&'a str>,
    /// DingTalk department ids (at least one).
    pub departments: &'a [String],
}

/// Changes to a DingTalk person; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct PersonChanges<'a> {
    /// Name.
    pub name: Option<&'a str>,
    /// Email.
    pub email: Option<&'a str>,
    /// Job title.
    pub title: Option<&'a str>,
    /// DingTalk department ids.
    pub departments: Option<&'a [String]>,
}

impl DingtalkClient {
    /// Creates a department under `parent` (DingTalk's root is `1`); returns DingTalk's id.
    pub async fn create_department(
        &self,
        app: &DingtalkApp,
        name: &str,
        parent: &str,
        order: i64,
        source_identifier: &str,
    ) -> Result<String> {
        let body = self
            .oapi_write(
                app,
                "/topapi/v2/department/create",
                json!({ "name": name, "parent_id": dept_number(parent)?, "order": order, "source_identifier": source_identifier }),
            )
            .await?;
        id_text(body.get("result").and_then(|r| r.get("dept_id"))).ok_or_else(|| {
            error(
                PROVIDER,
                None,
                "DingTalk created the department but did not say its id",
            )
        })
    }

    /// Renames, moves or reorders a department.
    pub async fn update_department(
        &self,
        app: &DingtalkApp,
        id: &str,
        name: &str,
        parent: &str,
        order: i64,
    ) -> Result<()> {
        self.oapi_write(
            app,
            "/topapi/v2/department/update",
            json!({ "dept_id": dept_number(id)?, "name": name, "parent_id": dept_number(parent)?, "order": order }),
        )
        .await
        .map(|_| ())
    }

    /// Deletes a department; `false` when DingTalk no longer had it.
    pub async fn delete_department(&self, app: &DingtalkApp, id: &str) -> Result<bool> {
        match self
            .oapi_write(
                app,
                "/topapi/v2/department/delete",
                json!({ "dept_id": dept_number(id)? }),
            )
            .await
        {
            Ok(_) => Ok(true),
            Err(crate::error::Error::Provider {
                errcode: Some(code),
                ..
            }) if code == "60003" => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// The id of the sub-department of `parent` named `name`, if there is one.
    pub async fn find_department(
        &self,
        app: &DingtalkApp,
        parent: &str,
        name: &str,
    ) -> Result<Option<String>> {
        let body = self
            .oapi(
                app,
                "/topapi/v2/department/listsub",
                json!({ "dept_id": dept_number(parent)? }),
            )
            .await?;
        Ok(body
            .get("result")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .find(|d| text(d, "name").as_deref() == Some(name))
            .and_then(|d| id_text(d.get("dept_id"))))
    }

    /// Creates a person; returns their userid.
    pub async fn create_person(&self, app: &DingtalkApp, person: &NewPerson<'_>) -> Result<String> {
        let mut body = json!({
            "userid": person.userid,
            "name": person.name,
            "mobile": person.mobile,
            "dept_id_list": person.departments.join(","),
        });
        if let Some(email) = person.email {
            body["email"] = json!(email);
        }
        if let Some(title) = person.title {
            body["title"] = json!(title);
        }
        let body = self.oapi_write(app, "/topapi/v2/user/create", body).await?;
        Ok(text(body.get("result").unwrap_or(&Value::Null), "userid")
            .unwrap_or_else(|| person.userid.to_string()))
    }

    /// Changes a person (DingTalk does not let the API change a mobile number).
    pub async fn update_person(
        &self,
        app: &DingtalkApp,
        userid: &str,
        changes: &PersonChanges<'_>,
    ) -> Result<()> {
        let mut body = Map::new();
        body.insert("userid".into(), json!(userid));
        if let Some(name) = changes.name {
            body.insert("name".into(), json!(name));
        }
        if let Some(email) = changes.email {
            body.insert("email".into(), json!(email));
        }
        if let Some(title) = changes.title {
            body.insert("title".into(), json!(title));
        }
        if let Some(departments) = changes.departments {
            body.insert("dept_id_list".into(), json!(departments.join(",")));
        }
        self.oapi_write(app, "/topapi/v2/user/update", Value::Object(body))
            .await
            .map(|_| ())
    }

    /// Deletes a person; `false` when DingTalk no longer had them.
    pub async fn delete_person(&self, app: &DingtalkApp, userid: &str) -> Result<bool> {
        match self
            .oapi_write(app, "/topapi/v2/user/delete", json!({ "userid": userid }))
            .await
        {
            Ok(_) => Ok(true),
            Err(crate::error::Error::Provider {
                errcode: Some(code),
                ..
            }) if matches!(code.as_str(), "60121" | "33012") => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// The department ids a person is in, as DingTalk has them (`None`: unknown person).
    pub async fn person_departments(
        &self,
        app: &DingtalkApp,
        userid: &str,
    ) -> Result<Option<(Option<String>, Vec<String>)>> {
        match self.user(app, userid).await {
            Ok(result) => Ok(Some((
                text(&result, "mobile"),
                ids(result.get("dept_id_list")),
            ))),
            Err(crate::error::Error::Provider {
                errcode: Some(code),
                ..
            }) if matches!(code.as_str(), "60121" | "33012") => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Adds a role group; returns its id.
    pub async fn create_role_group(&self, app: &DingtalkApp, name: &str) -> Result<String> {
        let body = self
            .oapi_write(app, "/role/add_role_group", json!({ "name": name }))
            .await?;
        id_text(body.get("groupId")).ok_or_else(|| {
            error(
                PROVIDER,
                None,
                "DingTalk created the role group but did not say its id",
            )
        })
    }

    /// Adds a role to a group; returns its id.
    pub async fn create_role(&self, app: &DingtalkApp, group: &str, name: &str) -> Result<String> {
        let body = self
            .oapi_write(
                app,
                "/role/add_role",
                json!({ "roleName": name, "groupId": dept_number(group)? }),
            )
            .await?;
        id_text(body.get("roleId")).ok_or_else(|| {
            error(
                PROVIDER,
                None,
                "DingTalk created the role but did not say its id",
            )
        })
    }

    /// The id of the role group named `name`, if there is one.
    pub async fn find_role_group(&self, app: &DingtalkApp, name: &str) -> Result<Option<String>> {
        let groups = self.list_role_groups(app, &ReadProgress::default()).await?;
        Ok(groups
            .into_iter()
            .find(|g| g.name == name)
            .map(|g| g.external_id))
    }

    /// The id of the role named `name` in the group `group`, if there is one.
    pub async fn find_role(
        &self,
        app: &DingtalkApp,
        group: &str,
        name: &str,
    ) -> Result<Option<String>> {
        let groups = self.list_role_groups(app, &ReadProgress::default()).await?;
        Ok(groups
            .into_iter()
            .filter(|g| g.external_id == group)
            .flat_map(|g| g.roles)
            .find(|r| r.name == name)
            .map(|r| r.external_id))
    }

    /// Gives these people these roles (DingTalk takes at most 20 of each per call).
    pub async fn add_roles(
        &self,
        app: &DingtalkApp,
        roles: &[String],
        userids: &[String],
    ) -> Result<()> {
        for roles in roles.chunks(20) {
            for users in userids.chunks(20) {
                self.oapi_write(
                    app,
                    "/topapi/role/addrolesforemps",
                    json!({ "roleIds": roles.join(","), "userIds": users.join(",") }),
                )
                .await?;
            }
        }
        Ok(())
    }
}
