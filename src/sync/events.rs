//! Incremental sync from provider callbacks: a decrypted DingTalk (JSON) or WeCom (XML) contacts
//! event names the people or departments that changed; they are read again from the provider
//! (events carry ids, not trusted details) and applied like a sync of just those entries,
//! recorded as an `event` run. Redeliveries are recognised by their key and applied once.

use super::{apply, lease, runner};
use crate::providers::dingtalk::contacts::ids;
use crate::{
    error::{Error, Result, error_chain},
    org::connections,
    state::AppState,
};
use chrono::Utc;
use entity::{
    callback_event, connection,
    enums::{Provider, SyncStatus, SyncTrigger},
};
use sea_orm::{ActiveValue::Set, ConnectionTrait, EntityTrait, sea_query::OnConflict};
use serde_json::Value;
use std::time::Duration;

/// What an event asks to refresh.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Refresh {
    /// The event's type, for the record.
    pub kind: String,
    /// A key unique per delivery of one event (for de-duplication).
    pub key: String,
    /// Contacts to read again.
    pub users: Vec<String>,
    /// Contacts gone.
    pub users_gone: Vec<String>,
    /// Departments to read again.
    pub departments: Vec<String>,
    /// Departments gone.
    pub departments_gone: Vec<String>,
}

impl Refresh {
    /// Whether the event changes nothing Roster mirrors (a URL check, an unrelated event).
    pub fn is_empty(&self) -> bool {
        self.users.is_empty()
            && self.users_gone.is_empty()
            && self.departments.is_empty()
            && self.departments_gone.is_empty()
    }
}

/// Reads a decrypted DingTalk HTTP event (`{"EventType": …}`); both the documented lower-case
/// (`userId`) and the legacy capitalised (`UserId`) field names are accepted.
pub fn dingtalk_event(plain: &str) -> Result<Refresh> {
    let v: Value = serde_json::from_str(plain).map_err(|e| {
        Error::validation(
            "encrypt",
            format!("the decrypted DingTalk event is not JSON: {e}"),
        )
    })?;
    let kind = v
        .get("EventType")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let users = ids(v.get("userId").or_else(|| v.get("UserId")));
    let departments = ids(v.get("deptId").or_else(|| v.get("DeptId")));
    let key = v
        .get("eventId")
        .and_then(Value::as_str)
        .map(str::to_string)
        .unwrap_or_else(|| {
            // Without an event id, the content itself identifies the delivery.
            let digest = <sha2::Sha256 as sha2::Digest>::digest(plain.as_bytes());
            digest.iter().take(16).map(|b| format!("{b:02x}")).collect()
        });
    let mut r = Refresh {
        key,
        ..Default::default()
    };
    match kind.as_str() {
        "user_add_org" | "user_modify_org" | "user_active_org" | "org_admin_add"
        | "org_admin_remove" => r.users = users,
        "user_leave_org" => r.users_gone = users,
        "org_dept_create" | "org_dept_modify" => r.departments = departments,
        "org_dept_remove" => r.departments_gone = departments,
        _ => {}
    }
    r.kind = kind;
    Ok(r)
}

/// The text of a flat XML element (`<Tag>text</Tag>` or `<Tag><![CDATA[text]]></Tag>`).
pub fn xml_field(xml: &str, tag: &str) -> Option<String> {
    let open = format!("<{tag}>");
    let close = format!("</{tag}>");
    let start = xml.find(&open)? + open.len();
    let end = start + xml[start..].find(&close)?;
    let inner = xml[start..end].trim();
    let inner = inner
        .strip_prefix("<![CDATA[")
        .and_then(|s| s.strip_suffix("]]>"))
        .unwrap_or(inner);
    Some(inner.to_string())
}

fn list(text: Option<String>) -> Vec<String> {
    text.map(|t| {
        t.split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect()
    })
    .unwrap_or_default()
}

/// Reads a decrypted WeCom `change_contact` event (XML). User ids are lower-cased as WeCom
/// compares them case-insensitively; a renamed user id (`NewUserID`) is the old one gone and the
/// new one read.
pub fn wecom_event(xml: &str) -> Result<Refresh> {
    let change = xml_field(xml, "ChangeType").unwrap_or_default();
    let event = xml_field(xml, "Event").unwrap_or_default();
    let user = xml_field(xml, "UserID").map(|u| u.to_lowercase());
    let party = xml_field(xml, "Id");
    let key = format!(
        "{}:{}:{}:{}",
        xml_field(xml, "FromUserName").unwrap_or_default(),
        xml_field(xml, "CreateTime").unwrap_or_default(),
        change,
        user.clone().or(party.clone()).unwrap_or_default()
    );
    let mut r = Refresh {
        kind: if change.is_empty() {
            event.clone()
        } else {
            change.clone()
        },
        key,
        ..Default::default()
    };
    if event != "change_contact" {
        return Ok(r);
    }
    match change.as_str() {
        "create_user" => r.users = user.into_iter().collect(),
        "update_user" => match xml_field(xml, "NewUserID").map(|u| u.to_lowercase()) {
            Some(new) if Some(&new) != user.as_ref() => {
                r.users_gone = user.into_iter().collect();
                r.users = vec![new];
            }
            _ => r.users = user.into_iter().collect(),
        },
        "delete_user" => r.users_gone = user.into_iter().collect(),
        "create_party" | "update_party" => r.departments = party.into_iter().collect(),
        "delete_party" => r.departments_gone = party.into_iter().collect(),
        "update_tag" => {
            r.users = list(xml_field(xml, "AddUserItems"))
                .into_iter()
                .chain(list(xml_field(xml, "DelUserItems")))
                .map(|u| u.to_lowercase())
                .collect();
        }
        _ => {}
    }
    Ok(r)
}

/// Records the delivery; false when this event was already received.
pub async fn first_delivery<C: ConnectionTrait>(
    db: &C,
    connection_id: i64,
    refresh: &Refresh,
) -> Result<bool> {
    let inserted = callback_event::Entity::insert(callback_event::ActiveModel {
        connection_id: Set(connection_id),
        event_key: Set(refresh.key.chars().take(200).collect()),
        event_type: Set(refresh.kind.chars().take(64).collect()),
        received_at: Set(Utc::now()),
        ..Default::default()
    })
    .on_conflict(
        OnConflict::columns([
            callback_event::Column::ConnectionId,
            callback_event::Column::EventKey,
        ])
        .do_nothing()
        .to_owned(),
    )
    .exec_without_returning(db)
    .await?;
    Ok(inserted == 1)
}

/// Reads the named entries again and applies them as one `event` run, waiting (briefly) for a
/// running sync of the connection to finish first.
pub async fn apply(app: &AppState, conn: &connection::Model, refresh: Refresh) -> Result<()> {
    if refresh.is_empty() {
        return Ok(());
    }
    let name = runner::lease_name(conn.id);
    let mut waited = Duration::ZERO;
    let holder = app.sync.holder();
    while !lease::acquire(&app.db, &name, &holder).await? {
        if waited >= Duration::from_secs(120) {
            return Err(Error::Conflict(format!(
                "a sync of `{}` kept running; the event {} was not applied and the next full sync will catch it up",
                conn.name, refresh.kind
            )));
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
        waited += Duration::from_millis(500);
    }
    let result = read_and_apply(app, conn, &refresh).await;
    lease::release(&app.db, &name, &holder).await?;
    if let Err(e) = &result {
        tracing::warn!(connection = conn.id, event = %refresh.kind, error = %error_chain(e), "applying a provider event failed");
        let run = runner::record_start(&app.db, conn, SyncTrigger::Event, None).await?;
        runner::finish(
            &app.db,
            run.id,
            SyncStatus::Failed,
            apply::Counts::default(),
            Some(&format!("event {}: {e}", refresh.kind)),
        )
        .await?;
    }
    result
}

async fn read_and_apply(app: &AppState, conn: &connection::Model, refresh: &Refresh) -> Result<()> {
    let mut users = Vec::new();
    let mut users_gone = refresh.users_gone.clone();
    let mut departments = Vec::new();
    let mut departments_gone = refresh.departments_gone.clone();
    match conn.provider {
        Provider::Dingtalk => {
            let dt = connections::dingtalk_app(&app.secrets, conn)?;
            for u in &refresh.users {
                match app.providers.dingtalk.contact(&dt, u).await? {
                    Some(c) => users.push(c),
                    None => users_gone.push(u.clone()),
                }
            }
            for d in &refresh.departments {
                match app.providers.dingtalk.department(&dt, d).await? {
                    Some(dep) => departments.push(dep),
                    None => departments_gone.push(d.clone()),
                }
            }
        }
        Provider::Wecom => {
            let wc = connections::wecom_app(&app.secrets, conn)?;
            for u in &refresh.users {
                match app.providers.wecom.contact(&wc, u).await? {
                    Some(c) => users.push(c),
                    None => users_gone.push(u.clone()),
                }
            }
            for d in &refresh.departments {
                match app.providers.wecom.department(&wc, d).await? {
                    Some(dep) => departments.push(dep),
                    None => departments_gone.push(d.clone()),
                }
            }
        }
        Provider::Teams => {
            return Err(Error::validation(
                "provider",
                "Microsoft changes arrive through Graph delta queries, not contacts events",
            ));
        }
    }
    let now = Utc::now();
    let txn = crate::db::begin_write(&app.db).await?;
    // The run is written first: on SQLite the transaction then holds the write lock from its
    // start, so a concurrent writer waits instead of invalidating this transaction's snapshot.
    let run = runner::record_start(&txn, conn, SyncTrigger::Event, None).await?;
    let mut counts = apply::Counts::default();
    if !departments.is_empty() || !departments_gone.is_empty() {
        counts
            .add(apply::departments_in_txn(&txn, conn, departments, &departments_gone, now).await?);
    }
    if !users.is_empty() || !users_gone.is_empty() {
        counts.add(apply::contacts_in_txn(&txn, conn, users, &users_gone, now).await?);
    }
    runner::finish(&txn, run.id, SyncStatus::Succeeded, counts, None).await?;
    txn.commit().await?;
    tracing::info!(connection = conn.id, run = run.id, event = %refresh.kind, added = counts.added, updated = counts.updated, flagged = counts.flagged, "provider event applied");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dingtalk_events_name_what_to_read() {
        let r = dingtalk_event(r#"{"EventType":"user_modify_org","userId":["0001","0002"],"eventId":"e1","CorpId":"ding1"}"#).expect("event");
        assert_eq!((r.users.len(), r.key.as_str()), (2, "e1"));
        let legacy =
            dingtalk_event(r#"{"EventType":"user_leave_org","UserId":["7"],"TimeStamp":"1"}"#)
                .expect("event");
        assert_eq!(legacy.users_gone, vec!["7"]);
        assert_eq!(legacy.key.len(), 32);
        let dept =
            dingtalk_event(r#"{"EventType":"org_dept_remove","deptId":[12]}"#).expect("event");
        assert_eq!(dept.departments_gone, vec!["12"]);
        assert!(
            dingtalk_event(r#"{"EventType":"check_url"}"#)
                .expect("event")
                .is_empty()
        );
        assert!(dingtalk_event("not json").is_err());
    }

    #[test]
    fn wecom_events_name_what_to_read() {
        let xml = "<xml><ToUserName><![CDATA[ww1]]></ToUserName><FromUserName><![CDATA[sys]]></FromUserName><CreateTime>1409659813</CreateTime><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[change_contact]]></Event><ChangeType>update_user</ChangeType><UserID><![CDATA[ZhangSan]]></UserID><NewUserID><![CDATA[zhangsan2]]></NewUserID></xml>";
        let r = wecom_event(xml).expect("event");
        assert_eq!(r.users_gone, vec!["zhangsan"]);
        assert_eq!(r.users, vec!["zhangsan2"]);
        assert_eq!(r.key, "sys:1409659813:update_user:zhangsan");
        let party = wecom_event("<xml><Event>change_contact</Event><ChangeType>delete_party</ChangeType><Id>5</Id></xml>").expect("event");
        assert_eq!(party.departments_gone, vec!["5"]);
        let text =
            wecom_event("<xml><MsgType>text</MsgType><Content>hi</Content></xml>").expect("event");
        assert!(text.is_empty());
    }
}
