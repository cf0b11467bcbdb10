//! Provider connections of an organization. Secrets are sealed with the master key on the way in
//! and never leave this module except as a [`DingtalkApp`] handed to a provider call.

use super::audit::Change;
use crate::{
    authz::OrgAccess,
    error::{Error, Result},
    providers::{Providers, dingtalk::DingtalkApp, microsoft::MicrosoftApp, wecom::WecomApp},
    secrets::SecretBox,
};
use chrono::Utc;
use entity::{
    connection,
    enums::{AutoAddPolicy, Provider, UserType},
};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    QueryOrder,
};
use serde_json::json;

/// Fields of a connection; secrets `None` on update keep the stored ones.
#[derive(Debug, Clone, Default)]
pub struct ConnectionInput {
    /// Label.
    pub name: Option<String>,
    /// CorpId / tenant id.
    pub corp_id: Option<String>,
    /// AgentId.
    pub agent_id: Option<String>,
    /// AppKey / ClientId.
    pub client_id: Option<String>,
    /// AppSecret / ClientSecret (write-only).
    pub client_secret: Option<String>,
    /// Callback token (write-only).
    pub callback_token: Option<String>,
    /// Callback EncodingAESKey (write-only).
    pub callback_aes_key: Option<String>,
    /// Whether visible contacts become members automatically (also at first login).
    pub auto_add_policy: Option<AutoAddPolicy>,
    /// Whether login through it is on.
    pub enabled: Option<bool>,
    /// DingTalk only: use the legacy "sns" QR login of older integrations.
    pub legacy_qr_login: Option<bool>,
    /// The user type of people the `auto` policy admits (viewer unless set).
    pub default_user_type: Option<UserType>,
    /// Sync only these provider departments and their sub-trees (Teams in groups mode: these
    /// groups and the groups nested in them); empty syncs everything the app sees.
    pub sync_departments: Option<Vec<String>>,
    /// Teams only: where departments come from.
    pub teams_departments: Option<TeamsDepartments>,
    /// WeCom only: mirror the corporation's tags as a role group.
    pub sync_tags: Option<bool>,
}

/// Where a Teams connection's departments come from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TeamsDepartments {
    /// The users' `department` attribute: one department per distinct value.
    #[default]
    Attribute,
    /// Microsoft groups: each group a department, nested groups sub-departments, members the
    /// group's user members.
    Groups,
}

/// Most departments a connection may limit its sync to.
const MAX_SYNC_DEPARTMENTS: usize = 100;

/// The departments a connection limits its sync to (`settings.syncDepartments`).
pub fn sync_departments(conn: &connection::Model) -> Vec<String> {
    conn.settings
        .get("syncDepartments")
        .and_then(serde_json::Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|v| {
            v.as_str()
                .map(str::to_string)
                .or_else(|| v.as_i64().map(|n| n.to_string()))
        })
        .collect()
}

/// Where a Teams connection's departments come from (`settings.teamsDepartments`).
pub fn teams_departments(conn: &connection::Model) -> TeamsDepartments {
    conn.settings
        .get("teamsDepartments")
        .cloned()
        .and_then(|v| serde_json::from_value(v).ok())
        .unwrap_or_default()
}

/// Whether a WeCom connection mirrors the corporation's tags (`settings.syncTags`).
pub fn sync_tags(conn: &connection::Model) -> bool {
    conn.settings
        .get("syncTags")
        .and_then(serde_json::Value::as_bool)
        .unwrap_or(false)
}

/// Checks the sync settings of a connection input against its provider and writes them into
/// `settings`; returns the names of the settings given.
fn sync_settings(
    provider: Provider,
    input: &ConnectionInput,
    settings: &mut serde_json::Value,
) -> Result<Vec<&'static str>> {
    let mut given = Vec::new();
    if let Some(ids) = &input.sync_departments {
        let ids: Vec<String> = ids
            .iter()
            .map(|i| i.trim().to_string())
            .filter(|i| !i.is_empty())
            .collect();
        if ids.len() > MAX_SYNC_DEPARTMENTS {
            return Err(Error::validation(
                "syncDepartments",
                format!(
                    "at most {MAX_SYNC_DEPARTMENTS} departments; choose their common parent instead"
                ),
            ));
        }
        let numeric = matches!(provider, Provider::Dingtalk | Provider::Wecom);
        if let Some(bad) = ids
            .iter()
            .find(|i| numeric && !i.bytes().all(|b| b.is_ascii_digit()))
        {
            return Err(Error::validation(
                "syncDepartments",
                format!(
                    "\"{bad}\" is not a {} department id: they are numbers (1 is the whole organization)",
                    provider_label(provider)
                ),
            ));
        }
        settings["syncDepartments"] = json!(ids);
        given.push("syncDepartments");
    }
    if let Some(source) = input.teams_departments {
        if provider != Provider::Teams {
            return Err(Error::validation(
                "teamsDepartments",
                "only Microsoft Teams connections choose where departments come from",
            ));
        }
        settings["teamsDepartments"] = json!(source);
        given.push("teamsDepartments");
    }
    if let Some(tags) = input.sync_tags {
        if provider != Provider::Wecom {
            return Err(Error::validation(
                "syncTags",
                "only WeCom connections have tags to mirror",
            ));
        }
        settings["syncTags"] = json!(tags);
        given.push("syncTags");
    }
    Ok(given)
}

/// The user type of people a connection's `auto` policy admits.
pub fn default_user_type(conn: &connection::Model) -> UserType {
    conn.settings
        .get("defaultUserType")
        .cloned()
        .and_then(|v| serde_json::from_value(v).ok())
        .unwrap_or(UserType::Viewer)
}

/// Whether a DingTalk connection uses the legacy "sns" QR login.
pub fn legacy_qr_login(conn: &connection::Model) -> bool {
    conn.settings
        .get("legacyQrLogin")
        .and_then(serde_json::Value::as_bool)
        .unwrap_or(false)
}

/// The provider's name as administrators know it.
fn provider_label(provider: Provider) -> &'static str {
    match provider {
        Provider::Dingtalk => "DingTalk",
        Provider::Wecom => "WeCom",
        Provider::Teams => "Microsoft Teams",
    }
}

/// The organization's connections.
pub async fn list<C: ConnectionTrait>(db: &C, org: i64) -> Result<Vec<connection::Model>> {
    Ok(connection::Entity::find()
        .filter(connection::Column::OrganizationId.eq(org))
        .order_by_asc(connection::Column::Id)
        .all(db)
        .await?)
}

/// A connection of the organization.
pub async fn get<C: ConnectionTrait>(db: &C, org: i64, id: i64) -> Result<connection::Model> {
    connection::Entity::find_by_id(id)
        .filter(connection::Column::OrganizationId.eq(org))
        .one(db)
        .await?
        .ok_or(Error::NotFound("connection"))
}

fn required(field: &str, value: &Option<String>, what: &str) -> Result<String> {
    value
        .as_deref()
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_string)
        .ok_or_else(|| Error::validation(field, format!("{what} is required")))
}

fn seal(secrets: &SecretBox, value: &Option<String>) -> Option<String> {
    value
        .as_deref()
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(|v| secrets.seal_str(v))
}

/// Checks a new connection's fields and that its app is not connected yet; returns the corp id
/// and the id that makes the app unique (AppKey, AgentId or client id).
pub async fn prepare<C: ConnectionTrait>(
    db: &C,
    provider: Provider,
    input: &ConnectionInput,
) -> Result<(String, String)> {
    let corp_id = required("corpId", &input.corp_id, "the CorpId")?;
    let client_id = match provider {
        Provider::Dingtalk => required("clientId", &input.client_id, "the AppKey (ClientId)")?,
        // WeCom apps are known by their AgentId; it is also what makes the app unique in the corp.
        Provider::Wecom => required("agentId", &input.agent_id, "the AgentId")?,
        Provider::Teams => required("clientId", &input.client_id, "the application (client) id")?,
    };
    required("clientSecret", &input.client_secret, "the app secret")?;
    let duplicate = connection::Entity::find()
        .filter(connection::Column::Provider.eq(provider))
        .filter(connection::Column::CorpId.eq(corp_id.as_str()))
        .filter(connection::Column::ClientId.eq(client_id.as_str()))
        .one(db)
        .await?;
    if duplicate.is_some() {
        return Err(Error::Conflict(
            "this app is already connected (to this or another organization)".into(),
        ));
    }
    Ok((corp_id, client_id))
}

/// Adds a connection to the organization.
///
/// **Permissions**: `org.connections.manage` (organization administrators).
pub async fn create(
    db: &DatabaseConnection,
    secrets: &SecretBox,
    access: &OrgAccess,
    provider: Provider,
    input: ConnectionInput,
    cx: &Change,
) -> Result<connection::Model> {
    let (corp_id, client_id) = prepare(db, provider, &input).await?;
    let mut settings = json!({
        "legacyQrLogin": input.legacy_qr_login.unwrap_or(false),
        "defaultUserType": input.default_user_type.unwrap_or(UserType::Viewer),
    });
    sync_settings(provider, &input, &mut settings)?;
    let now = Utc::now();
    let txn = crate::db::begin_write(db).await?;
    let row = connection::Entity::insert(connection::ActiveModel {
        organization_id: Set(access.org_id()),
        provider: Set(provider),
        name: Set(input
            .name
            .clone()
            .map(|n| n.trim().to_string())
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| format!("{} {corp_id}", provider_label(provider)))),
        corp_id: Set(corp_id),
        agent_id: Set(input.agent_id.clone().filter(|a| !a.trim().is_empty())),
        client_id: Set(Some(client_id)),
        client_secret_enc: Set(seal(secrets, &input.client_secret)),
        callback_token_enc: Set(seal(secrets, &input.callback_token)),
        callback_aes_key_enc: Set(seal(secrets, &input.callback_aes_key)),
        auto_add_policy: Set(input.auto_add_policy.unwrap_or(AutoAddPolicy::Manual)),
        settings: Set(settings),
        enabled: Set(input.enabled.unwrap_or(true)),
        push_enabled: Set(false),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    })
    .exec_with_returning(&txn)
    .await?;
    let event = record(
        &txn,
        access,
        "connection.create",
        row.id,
        json!({ "provider": provider, "corpId": row.corp_id, "clientId": row.client_id }),
        cx,
    )
    .await?;
    txn.commit().await?;
    cx.published([event]);
    Ok(row)
}

async fn record<C: ConnectionTrait>(
    db: &C,
    access: &OrgAccess,
    action: &'static str,
    id: i64,
    summary: serde_json::Value,
    cx: &Change,
) -> Result<entity::audit_event::Model> {
    cx.record(db, access, action, "connection", id, summary)
        .await
}

/// Changes a connection; secrets left out stay as they are.
///
/// **Permissions**: `org.connections.manage`.
pub async fn update(
    db: &DatabaseConnection,
    secrets: &SecretBox,
    access: &OrgAccess,
    id: i64,
    input: ConnectionInput,
    cx: &Change,
) -> Result<connection::Model> {
    let current = get(db, access.org_id(), id).await?;
    let mut row = connection::ActiveModel {
        id: Set(current.id),
        updated_at: Set(Utc::now()),
        ..Default::default()
    };
    let mut changed = Vec::new();
    if let Some(name) = &input.name {
        row.name = Set(super::rules::name("name", name)?);
        changed.push("name");
    }
    if input.corp_id.is_some() {
        row.corp_id = Set(required("corpId", &input.corp_id, "the CorpId")?);
        changed.push("corpId");
    }
    if input.client_id.is_some() {
        row.client_id = Set(Some(required(
            "clientId",
            &input.client_id,
            "the ClientId",
        )?));
        changed.push("clientId");
    }
    if let Some(agent) = &input.agent_id {
        row.agent_id = Set(Some(agent.trim().to_string()).filter(|a| !a.is_empty()));
        changed.push("agentId");
    }
    if let Some(sealed) = seal(secrets, &input.client_secret) {
        row.client_secret_enc = Set(Some(sealed));
        changed.push("clientSecret");
    }
    if let Some(sealed) = seal(secrets, &input.callback_token) {
        row.callback_token_enc = Set(Some(sealed));
        changed.push("callbackToken");
    }
    if let Some(sealed) = seal(secrets, &input.callback_aes_key) {
        row.callback_aes_key_enc = Set(Some(sealed));
        changed.push("callbackAesKey");
    }
    if let Some(policy) = input.auto_add_policy {
        row.auto_add_policy = Set(policy);
        changed.push("autoAddPolicy");
    }
    let mut settings = current.settings.clone();
    if let Some(legacy) = input.legacy_qr_login {
        settings["legacyQrLogin"] = json!(legacy);
        changed.push("legacyQrLogin");
    }
    if let Some(user_type) = input.default_user_type {
        settings["defaultUserType"] = json!(user_type);
        changed.push("defaultUserType");
    }
    changed.extend(sync_settings(current.provider, &input, &mut settings)?);
    if settings != current.settings {
        row.settings = Set(settings);
    }
    if let Some(enabled) = input.enabled {
        row.enabled = Set(enabled);
        changed.push("enabled");
    }
    let txn = crate::db::begin_write(db).await?;
    let updated = connection::Entity::update(row).exec(&txn).await?;
    let event = record(
        &txn,
        access,
        "connection.update",
        id,
        json!({ "changed": changed }),
        cx,
    )
    .await?;
    txn.commit().await?;
    cx.published([event]);
    Ok(updated)
}

/// Removes a connection (its login states and mirror go with it).
///
/// **Permissions**: `org.connections.manage`.
pub async fn delete(
    db: &DatabaseConnection,
    access: &OrgAccess,
    id: i64,
    cx: &Change,
) -> Result<()> {
    let current = get(db, access.org_id(), id).await?;
    let txn = crate::db::begin_write(db).await?;
    connection::Entity::delete_by_id(current.id)
        .exec(&txn)
        .await?;
    let event = record(
        &txn,
        access,
        "connection.delete",
        id,
        json!({ "name": current.name }),
        cx,
    )
    .await?;
    txn.commit().await?;
    cx.published([event]);
    Ok(())
}

/// The DingTalk application of a connection, with its secret opened.
pub fn dingtalk_app(secrets: &SecretBox, conn: &connection::Model) -> Result<DingtalkApp> {
    Ok(DingtalkApp {
        corp_id: conn.corp_id.clone(),
        app_key: conn.client_id.clone().unwrap_or_default(),
        app_secret: open_secret(secrets, conn)?,
    })
}

/// The Microsoft application of a connection, with its secret opened.
pub fn microsoft_app(secrets: &SecretBox, conn: &connection::Model) -> Result<MicrosoftApp> {
    Ok(MicrosoftApp {
        tenant_id: conn.corp_id.clone(),
        client_id: conn.client_id.clone().unwrap_or_default(),
        client_secret: open_secret(secrets, conn)?,
    })
}

/// The WeCom application of a connection, with its secret opened.
pub fn wecom_app(secrets: &SecretBox, conn: &connection::Model) -> Result<WecomApp> {
    Ok(WecomApp {
        corp_id: conn.corp_id.clone(),
        agent_id: conn
            .agent_id
            .clone()
            .or_else(|| conn.client_id.clone())
            .unwrap_or_default(),
        secret: open_secret(secrets, conn)?,
    })
}

fn open_secret(secrets: &SecretBox, conn: &connection::Model) -> Result<String> {
    let sealed = conn.client_secret_enc.as_deref().ok_or_else(|| {
        Error::validation(
            "clientSecret",
            "this connection has no app secret; set it with updateConnection",
        )
    })?;
    secrets.open_str(sealed).map_err(|_| {
        Error::internal(format!(
            "the secret of connection {} cannot be opened with this master key",
            conn.id
        ))
    })
}

/// Calls the provider with the connection's credentials and checks the contacts permissions a
/// sync needs; a failure says what to check.
///
/// **Permissions**: `org.connections.manage`.
pub async fn test(
    db: &DatabaseConnection,
    secrets: &SecretBox,
    providers: &Providers,
    access: &OrgAccess,
    id: i64,
) -> Result<()> {
    let conn = get(db, access.org_id(), id).await?;
    // The credentials first (the clearest message), then the contacts permissions a sync needs.
    match conn.provider {
        Provider::Dingtalk => {
            let app = dingtalk_app(secrets, &conn)?;
            providers.dingtalk.fetch_app_token(&app).await?;
            providers.dingtalk.check_contacts(&app).await
        }
        Provider::Wecom => {
            let app = wecom_app(secrets, &conn)?;
            providers.wecom.fetch_app_token(&app).await?;
            providers.wecom.check_contacts(&app).await
        }
        Provider::Teams => {
            let app = microsoft_app(secrets, &conn)?;
            providers.microsoft.check_credentials(&app).await?;
            providers.microsoft.check_contacts(&app).await
        }
    }
}
