//! The delivery worker. Items of one connection go out strictly in the order they were recorded
//! (a department exists in DingTalk before its members are pushed into it); a connection's queue
//! is worked by one instance at a time (a database lease). Each attempt is counted in the
//! database before DingTalk is called, so a retry knows an earlier attempt may have arrived and
//! looks for the object before creating it again; the result — provider ids, the link of a
//! member to their DingTalk person, DingTalk's own view of the object in the mirror, and the
//! item's `delivered` status — is written in one transaction. Because the mirror already holds
//! what DingTalk will report, the contacts events DingTalk sends back for Roster's own pushes
//! change nothing.
//!
//! A temporary failure (DingTalk unreachable, throttling, busy) keeps the item at the head of
//! its queue and retries it with backoff; a refusal that a retry cannot fix fails the item with
//! DingTalk's error and a plain explanation, and the queue moves on.

use super::outbox::delivered_id;
use crate::{
    error::{Error, Result, error_chain},
    org::connections,
    providers::dingtalk::{
        DingtalkApp, DingtalkClient,
        push::{NewPerson, PersonChanges},
    },
    state::AppState,
    sync::{apply, lease},
};
use chrono::{Duration, Utc};
use entity::{
    connection, department, department_member, directory_contact, directory_department,
    directory_role, directory_role_member,
    enums::{OutboxAction, OutboxObject, OutboxStatus, Provider},
    identity, member, outbox_item, role_group,
};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, sea_query::Expr,
};
use serde_json::Value;

/// DingTalk's root department.
const ROOT: &str = "1";
/// The longest wait between two attempts.
const MAX_BACKOFF_SECS: i64 = 300;

/// The lease of a connection's delivery queue.
pub fn lease_name(connection_id: i64) -> String {
    format!("push:{connection_id}")
}

/// Works the outbox until the task is aborted: every `push.poll_ms`, the due queues.
pub async fn run(app: AppState) {
    let mut every =
        tokio::time::interval(std::time::Duration::from_millis(app.settings.push.poll_ms));
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        every.tick().await;
        if let Err(e) = tick(&app).await {
            tracing::warn!(error = %error_chain(&e), "pushing local changes failed");
        }
    }
}

/// Delivers what is due on every connection whose queue this instance can take; returns how many
/// items were delivered or failed.
pub async fn tick(app: &AppState) -> Result<usize> {
    let due: Vec<i64> = outbox_item::Entity::find()
        .select_only()
        .column(outbox_item::Column::ConnectionId)
        .filter(outbox_item::Column::Status.eq(OutboxStatus::Pending))
        .filter(outbox_item::Column::NextAttemptAt.lte(Utc::now()))
        .distinct()
        .into_tuple()
        .all(&app.db)
        .await?;
    let ttl = i64::try_from(app.settings.push.lease_secs).unwrap_or(30);
    let mut done = 0;
    if due.is_empty() {
        return Ok(0);
    }
    let pushing = connection::Entity::find()
        .filter(connection::Column::Id.is_in(due))
        .filter(connection::Column::PushEnabled.eq(true))
        .filter(connection::Column::Enabled.eq(true))
        .all(&app.db)
        .await?;
    // Items of a connection whose push is off wait until it is on again (or are discarded).
    for conn in pushing {
        let name = lease_name(conn.id);
        let holder = app.sync.holder();
        if !lease::acquire_for(&app.db, &name, &holder, ttl).await? {
            continue;
        }
        let worked = drain(app, conn, &name, &holder, ttl).await;
        lease::release(&app.db, &name, &holder).await?;
        done += worked?;
    }
    Ok(done)
}

/// What an attempt needs.
struct Attempt<'a> {
    db: &'a DatabaseConnection,
    dingtalk: &'a DingtalkClient,
    app: DingtalkApp,
    conn: connection::Model,
    item: outbox_item::Model,
}

async fn drain(
    app: &AppState,
    conn: connection::Model,
    lease_name: &str,
    holder: &str,
    ttl: i64,
) -> Result<usize> {
    let db = &app.db;
    let dingtalk_app = connections::dingtalk_app(&app.secrets, &conn)?;
    let mut done = 0;
    loop {
        if !lease::renew_for(db, lease_name, holder, ttl).await? {
            break;
        }
        let Some(head) = outbox_item::Entity::find()
            .filter(outbox_item::Column::ConnectionId.eq(conn.id))
            .filter(outbox_item::Column::Status.eq(OutboxStatus::Pending))
            .order_by_asc(outbox_item::Column::Id)
            .one(db)
            .await?
        else {
            break;
        };
        let now = Utc::now();
        if head.next_attempt_at > now {
            break;
        }
        // The attempt is on record before DingTalk hears of it.
        let attempts = head.attempts + 1;
        let backoff = backoff_secs(app.settings.push.retry_secs, attempts);
        let counted = outbox_item::Entity::update_many()
            .col_expr(outbox_item::Column::Attempts, Expr::value(attempts))
            .col_expr(
                outbox_item::Column::NextAttemptAt,
                Expr::value(now + Duration::seconds(backoff)),
            )
            .filter(outbox_item::Column::Id.eq(head.id))
            .filter(outbox_item::Column::Status.eq(OutboxStatus::Pending))
            .exec(db)
            .await?;
        if counted.rows_affected == 0 {
            continue;
        }
        let item = outbox_item::Model { attempts, ..head };
        let attempt = Attempt {
            db,
            dingtalk: &app.providers.dingtalk,
            app: dingtalk_app.clone(),
            conn: conn.clone(),
            item: item.clone(),
        };
        match deliver(&attempt).await {
            Ok(()) => {
                done += 1;
                tracing::info!(item = item.id, connection = conn.id, object = ?item.object_type, action = ?item.action, "pushed a change to DingTalk");
            }
            Err(e) if transient(&e) => {
                tracing::info!(item = item.id, attempts, retry_in_secs = backoff, error = %error_chain(&e), "pushing a change to DingTalk failed for now; will retry");
                note_failure(db, item.id, &e, OutboxStatus::Pending).await?;
                break;
            }
            Err(e) => {
                tracing::warn!(item = item.id, error = %error_chain(&e), "DingTalk refused a change");
                note_failure(db, item.id, &e, OutboxStatus::Failed).await?;
                done += 1;
            }
        }
    }
    Ok(done)
}

/// Seconds before attempt `attempts + 1`: `base`, doubled per further failure, capped.
fn backoff_secs(base: u64, attempts: i32) -> i64 {
    let base = i64::try_from(base.max(1)).unwrap_or(1);
    let doublings = u32::try_from(attempts.saturating_sub(1))
        .unwrap_or(0)
        .min(16);
    base.saturating_mul(1_i64 << doublings)
        .min(MAX_BACKOFF_SECS)
}

/// Whether a retry may succeed: DingTalk unreachable, busy or throttling, or our own database.
fn transient(e: &Error) -> bool {
    match e {
        Error::Provider { errcode, .. } => match errcode.as_deref() {
            None => true,
            Some(code) => {
                matches!(
                    code,
                    "-1" | "Throttling" | "system.busy" | "systemBusy" | "HTTP 429"
                ) || code.starts_with("HTTP 5")
                    || (code.starts_with("900") && code != "90020")
            }
        },
        Error::Database(_) | Error::Internal(_) => true,
        _ => false,
    }
}

async fn note_failure(
    db: &DatabaseConnection,
    id: i64,
    e: &Error,
    status: OutboxStatus,
) -> Result<()> {
    let code = match e {
        Error::Provider { errcode, .. } => errcode.clone(),
        other => Some(other.code().as_str().to_string()),
    };
    outbox_item::Entity::update_many()
        .col_expr(outbox_item::Column::Status, Expr::value(status))
        .col_expr(outbox_item::Column::LastErrcode, Expr::value(code))
        .col_expr(
            outbox_item::Column::LastError,
            Expr::value(Some(e.public_message())),
        )
        .filter(outbox_item::Column::Id.eq(id))
        .filter(outbox_item::Column::Status.eq(OutboxStatus::Pending))
        .exec(db)
        .await?;
    Ok(())
}

/// Marks the item delivered, in the transaction that records what the delivery changed.
async fn finish<C: ConnectionTrait>(
    db: &C,
    item: &outbox_item::Model,
    external_id: Option<String>,
) -> Result<()> {
    outbox_item::Entity::update(outbox_item::ActiveModel {
        id: Set(item.id),
        status: Set(OutboxStatus::Delivered),
        external_id: Set(external_id),
        last_errcode: Set(None),
        last_error: Set(None),
        delivered_at: Set(Some(Utc::now())),
        ..Default::default()
    })
    .exec(db)
    .await?;
    Ok(())
}

/// A refusal of ours that a retry does not fix.
fn refused(message: String) -> Error {
    Error::validation("item", message)
}

async fn deliver(a: &Attempt<'_>) -> Result<()> {
    match (a.item.object_type, a.item.action) {
        (OutboxObject::Department, OutboxAction::Delete) => department_delete(a).await,
        (OutboxObject::Department, _) => department_upsert(a).await,
        (OutboxObject::RoleGroup, OutboxAction::Delete) | (OutboxObject::Role, OutboxAction::Delete) => {
            Err(refused("deleting role groups and roles is not pushed to DingTalk; delete it in DingTalk's admin console".into()))
        }
        (OutboxObject::RoleGroup, _) => role_group_create(a).await,
        (OutboxObject::Role, _) => role_create(a).await,
        (OutboxObject::Member, OutboxAction::Delete) => member_delete(a).await,
        (OutboxObject::Member, _) => member_upsert(a).await,
    }
}

/// DingTalk's id of a local department, if it is there.
async fn department_ext<C: ConnectionTrait>(
    db: &C,
    conn: &connection::Model,
    id: i64,
) -> Result<Option<String>> {
    if let Some(row) = department::Entity::find_by_id(id).one(db).await?
        && row.source_connection_id == Some(conn.id)
        && row.external_id.is_some()
    {
        return Ok(row.external_id);
    }
    delivered_id(db, conn.id, OutboxObject::Department, id).await
}

async fn department_upsert(a: &Attempt<'_>) -> Result<()> {
    let Some(dep) = department::Entity::find_by_id(a.item.object_id)
        .filter(department::Column::OrganizationId.eq(a.conn.organization_id))
        .one(a.db)
        .await?
    else {
        // Deleted in Roster before it reached DingTalk: nothing to push.
        return finish(a.db, &a.item, None).await;
    };
    let parent = match dep.parent_id {
        None => ROOT.to_string(),
        Some(p) => department_ext(a.db, &a.conn, p).await?.ok_or_else(|| {
            refused(format!(
                "the parent of `{}` is not in DingTalk (it was made in Roster before push was turned on, or its own push failed); push or move the parent first, then retry",
                dep.name
            ))
        })?,
    };
    let order = i64::from(dep.sort_order);
    let ext = match department_ext(a.db, &a.conn, dep.id).await? {
        Some(ext) => {
            if ext != ROOT {
                a.dingtalk
                    .update_department(&a.app, &ext, &dep.name, &parent, order)
                    .await?;
            }
            ext
        }
        None => {
            // An earlier attempt may have created it before its answer was lost.
            let earlier = if a.item.attempts > 1 {
                a.dingtalk
                    .find_department(&a.app, &parent, &dep.name)
                    .await?
            } else {
                None
            };
            match earlier {
                Some(ext) => ext,
                None => {
                    a.dingtalk
                        .create_department(
                            &a.app,
                            &dep.name,
                            &parent,
                            order,
                            &format!("roster:{}", dep.id),
                        )
                        .await?
                }
            }
        }
    };
    let seen = a.dingtalk.department(&a.app, &ext).await?;
    let txn = crate::db::begin_write(a.db).await?;
    department::Entity::update(department::ActiveModel {
        id: Set(dep.id),
        external_id: Set(Some(ext.clone())),
        source_connection_id: Set(Some(a.conn.id)),
        ..Default::default()
    })
    .exec(&txn)
    .await?;
    if let Some(seen) = seen {
        apply::mirror_only_in_txn(&txn, &a.conn, &[seen], &[], Utc::now()).await?;
    }
    finish(&txn, &a.item, Some(ext)).await?;
    txn.commit().await?;
    Ok(())
}

/// A text field of an item's payload.
fn payload_text(item: &outbox_item::Model, key: &str) -> Option<String> {
    item.payload
        .get(key)
        .and_then(Value::as_str)
        .map(str::to_string)
        .filter(|s| !s.is_empty())
}

async fn department_delete(a: &Attempt<'_>) -> Result<()> {
    let ext = match payload_text(&a.item, "externalId") {
        Some(ext) => Some(ext),
        None => delivered_id(a.db, a.conn.id, OutboxObject::Department, a.item.object_id).await?,
    };
    let Some(ext) = ext else {
        // It never reached DingTalk.
        return finish(a.db, &a.item, None).await;
    };
    a.dingtalk.delete_department(&a.app, &ext).await?;
    let txn = crate::db::begin_write(a.db).await?;
    directory_department::Entity::delete_many()
        .filter(directory_department::Column::ConnectionId.eq(a.conn.id))
        .filter(directory_department::Column::ExternalId.eq(ext.as_str()))
        .exec(&txn)
        .await?;
    finish(&txn, &a.item, Some(ext)).await?;
    txn.commit().await?;
    Ok(())
}

async fn role_group_create(a: &Attempt<'_>) -> Result<()> {
    let Some(group) = role_group::Entity::find_by_id(a.item.object_id)
        .filter(role_group::Column::OrganizationId.eq(a.conn.organization_id))
        .one(a.db)
        .await?
    else {
        return finish(a.db, &a.item, None).await;
    };
    if group.source_connection_id == Some(a.conn.id) && group.external_id.is_some() {
        return finish(a.db, &a.item, group.external_id).await;
    }
    let earlier = if a.item.attempts > 1 {
        a.dingtalk.find_role_group(&a.app, &group.name).await?
    } else {
        None
    };
    let ext = match earlier {
        Some(ext) => ext,
        None => a.dingtalk.create_role_group(&a.app, &group.name).await?,
    };
    let txn = crate::db::begin_write(a.db).await?;
    role_group::Entity::update(role_group::ActiveModel {
        id: Set(group.id),
        external_id: Set(Some(ext.clone())),
        source_connection_id: Set(Some(a.conn.id)),
        ..Default::default()
    })
    .exec(&txn)
    .await?;
    finish(&txn, &a.item, Some(ext)).await?;
    txn.commit().await?;
    Ok(())
}

async fn role_create(a: &Attempt<'_>) -> Result<()> {
    let Some(role) = directory_role::Entity::find_by_id(a.item.object_id)
        .filter(directory_role::Column::OrganizationId.eq(a.conn.organization_id))
        .one(a.db)
        .await?
    else {
        return finish(a.db, &a.item, None).await;
    };
    if role.source_connection_id == Some(a.conn.id) && role.external_id.is_some() {
        return finish(a.db, &a.item, role.external_id).await;
    }
    let group = role_group::Entity::find_by_id(role.role_group_id)
        .one(a.db)
        .await?;
    let group_ext = match group {
        Some(g) if g.source_connection_id == Some(a.conn.id) && g.external_id.is_some() => {
            g.external_id
        }
        _ => delivered_id(a.db, a.conn.id, OutboxObject::RoleGroup, role.role_group_id).await?,
    }
    .ok_or_else(|| {
        refused(format!(
            "the role group of `{}` is not in DingTalk (it was made in Roster before push was turned on, or its push failed)",
            role.name
        ))
    })?;
    let earlier = if a.item.attempts > 1 {
        a.dingtalk.find_role(&a.app, &group_ext, &role.name).await?
    } else {
        None
    };
    let ext = match earlier {
        Some(ext) => ext,
        None => {
            a.dingtalk
                .create_role(&a.app, &group_ext, &role.name)
                .await?
        }
    };
    let txn = crate::db::begin_write(a.db).await?;
    directory_role::Entity::update(directory_role::ActiveModel {
        id: Set(role.id),
        external_id: Set(Some(ext.clone())),
        source_connection_id: Set(Some(a.conn.id)),
        ..Default::default()
    })
    .exec(&txn)
    .await?;
    finish(&txn, &a.item, Some(ext)).await?;
    txn.commit().await?;
    Ok(())
}

/// The DingTalk userid a member is linked to, if any.
async fn member_userid<C: ConnectionTrait>(
    db: &C,
    conn: &connection::Model,
    m: &member::Model,
) -> Result<Option<String>> {
    match super::outbox::linked_userid(db, conn, m.user_id).await? {
        Some(userid) => Ok(Some(userid)),
        None => delivered_id(db, conn.id, OutboxObject::Member, m.id).await,
    }
}

/// The userid Roster gives a person it creates in DingTalk: the account when DingTalk accepts
/// it as a userid, else one made from the member id.
pub fn userid_for(account: &str, member_id: i64) -> String {
    let fits = (1..=64).contains(&account.len())
        && account
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if fits {
        account.to_string()
    } else {
        format!("roster{member_id}")
    }
}

async fn member_upsert(a: &Attempt<'_>) -> Result<()> {
    let Some(m) = member::Entity::find_by_id(a.item.object_id)
        .filter(member::Column::OrganizationId.eq(a.conn.organization_id))
        .one(a.db)
        .await?
    else {
        return finish(a.db, &a.item, None).await;
    };
    let in_departments: Vec<i64> = department_member::Entity::find()
        .select_only()
        .column(department_member::Column::DepartmentId)
        .filter(department_member::Column::MemberId.eq(m.id))
        .into_tuple()
        .all(a.db)
        .await?;
    let departments: Vec<String> = department::Entity::find()
        .select_only()
        .column(department::Column::ExternalId)
        .filter(department::Column::Id.is_in(in_departments))
        .filter(department::Column::SourceConnectionId.eq(a.conn.id))
        .filter(department::Column::ExternalId.is_not_null())
        .order_by_asc(department::Column::Id)
        .into_tuple::<Option<String>>()
        .all(a.db)
        .await?
        .into_iter()
        .flatten()
        .collect();
    // DingTalk puts everyone somewhere: a member in no department goes to the root, here too.
    let homeless = departments.is_empty();
    let departments = if homeless {
        vec![ROOT.to_string()]
    } else {
        departments
    };
    let linked = member_userid(a.db, &a.conn, &m).await?;
    let userid = match &linked {
        Some(userid) => {
            a.dingtalk
                .update_person(
                    &a.app,
                    userid,
                    &PersonChanges {
                        name: Some(&m.name),
                        email: m.email.as_deref(),
                        title: m.position.as_deref(),
                        departments: Some(&departments),
                    },
                )
                .await?;
            // Roles added here since (DingTalk ignores roles a person already holds).
            let roles = held_roles(a, &m).await?;
            if !roles.is_empty() {
                a.dingtalk
                    .add_roles(&a.app, &roles, std::slice::from_ref(userid))
                    .await?;
            }
            userid.clone()
        }
        None => create_person(a, &m, &departments).await?,
    };
    let seen = a.dingtalk.contact(&a.app, &userid).await?;
    let txn = crate::db::begin_write(a.db).await?;
    if linked.is_none() {
        let taken = identity::Entity::find()
            .filter(identity::Column::Provider.eq(Provider::Dingtalk))
            .filter(identity::Column::Tenant.eq(a.conn.corp_id.as_str()))
            .filter(identity::Column::ProviderUserId.eq(userid.as_str()))
            .one(&txn)
            .await?;
        match taken {
            Some(other) if other.user_id != m.user_id => {
                return Err(refused(format!(
                    "the DingTalk userid `{userid}` already belongs to another Roster user; give this member another account, then retry"
                )));
            }
            Some(_) => {}
            None => {
                identity::Entity::insert(identity::ActiveModel {
                    user_id: Set(m.user_id),
                    provider: Set(Provider::Dingtalk),
                    tenant: Set(a.conn.corp_id.clone()),
                    provider_user_id: Set(userid.clone()),
                    union_id: Set(seen.as_ref().and_then(|c| c.union_id.clone())),
                    created_at: Set(Utc::now()),
                    ..Default::default()
                })
                .exec_without_returning(&txn)
                .await?;
            }
        }
    }
    member::Entity::update(member::ActiveModel {
        id: Set(m.id),
        source_connection_id: Set(Some(a.conn.id)),
        ..Default::default()
    })
    .exec(&txn)
    .await?;
    if homeless
        && let Some(root) = department::Entity::find()
            .filter(department::Column::SourceConnectionId.eq(a.conn.id))
            .filter(department::Column::ExternalId.eq(ROOT))
            .one(&txn)
            .await?
    {
        department_member::Entity::insert(department_member::ActiveModel {
            department_id: Set(root.id),
            member_id: Set(m.id),
            organization_id: Set(m.organization_id),
        })
        .on_conflict(
            sea_orm::sea_query::OnConflict::columns([
                department_member::Column::DepartmentId,
                department_member::Column::MemberId,
            ])
            .do_nothing()
            .to_owned(),
        )
        .exec_without_returning(&txn)
        .await?;
    }
    if let Some(seen) = seen {
        apply::mirror_only_in_txn(&txn, &a.conn, &[], &[seen], Utc::now()).await?;
    }
    finish(&txn, &a.item, Some(userid)).await?;
    txn.commit().await?;
    Ok(())
}

/// Creates the member in DingTalk with their departments and directory roles.
async fn create_person(
    a: &Attempt<'_>,
    m: &member::Model,
    departments: &[String],
) -> Result<String> {
    let userid = payload_text(&a.item, "userid").unwrap_or_else(|| userid_for(&m.account, m.id));
    let Some(mobile) = m.phone.as_deref() else {
        return Err(refused(format!(
            "DingTalk needs a mobile number for every person; set `{}`'s phone in Roster, then retry",
            m.nickname
        )));
    };
    let created = a
        .dingtalk
        .create_person(
            &a.app,
            &NewPerson {
                userid: &userid,
                name: &m.name,
                mobile,
                email: m.email.as_deref(),
                title: m.position.as_deref(),
                departments,
            },
        )
        .await;
    let userid = match created {
        Ok(userid) => userid,
        // The userid is taken: by this very person when an earlier attempt's answer was lost
        // (same mobile), else by someone else.
        Err(Error::Provider {
            errcode: Some(code),
            ..
        }) if code == "60102"
            && a.dingtalk
                .person_departments(&a.app, &userid)
                .await?
                .is_some_and(|(phone, _)| phone.as_deref() == Some(mobile)) =>
        {
            userid
        }
        Err(e) => return Err(e),
    };
    let roles = held_roles(a, m).await?;
    if !roles.is_empty() {
        a.dingtalk
            .add_roles(&a.app, &roles, std::slice::from_ref(&userid))
            .await?;
    }
    Ok(userid)
}

/// DingTalk ids of the directory roles a member holds that are in DingTalk.
async fn held_roles(a: &Attempt<'_>, m: &member::Model) -> Result<Vec<String>> {
    let held: Vec<i64> = directory_role_member::Entity::find()
        .select_only()
        .column(directory_role_member::Column::DirectoryRoleId)
        .filter(directory_role_member::Column::MemberId.eq(m.id))
        .into_tuple()
        .all(a.db)
        .await?;
    Ok(directory_role::Entity::find()
        .select_only()
        .column(directory_role::Column::ExternalId)
        .filter(directory_role::Column::Id.is_in(held))
        .filter(directory_role::Column::SourceConnectionId.eq(a.conn.id))
        .filter(directory_role::Column::ExternalId.is_not_null())
        .into_tuple::<Option<String>>()
        .all(a.db)
        .await?
        .into_iter()
        .flatten()
        .collect())
}

async fn member_delete(a: &Attempt<'_>) -> Result<()> {
    let userid = match payload_text(&a.item, "userid") {
        Some(userid) => Some(userid),
        None => delivered_id(a.db, a.conn.id, OutboxObject::Member, a.item.object_id).await?,
    };
    let Some(userid) = userid else {
        return finish(a.db, &a.item, None).await;
    };
    a.dingtalk.delete_person(&a.app, &userid).await?;
    let txn = crate::db::begin_write(a.db).await?;
    directory_contact::Entity::delete_many()
        .filter(directory_contact::Column::ConnectionId.eq(a.conn.id))
        .filter(directory_contact::Column::ExternalId.eq(userid.as_str()))
        .exec(&txn)
        .await?;
    identity::Entity::delete_many()
        .filter(identity::Column::Provider.eq(Provider::Dingtalk))
        .filter(identity::Column::Tenant.eq(a.conn.corp_id.as_str()))
        .filter(identity::Column::ProviderUserId.eq(userid.as_str()))
        .exec(&txn)
        .await?;
    member::Entity::update_many()
        .col_expr(
            member::Column::SourceConnectionId,
            Expr::value(Option::<i64>::None),
        )
        .filter(member::Column::Id.eq(a.item.object_id))
        .exec(&txn)
        .await?;
    finish(&txn, &a.item, Some(userid)).await?;
    txn.commit().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_back_off_and_stop_growing() {
        assert_eq!(backoff_secs(2, 1), 2);
        assert_eq!(backoff_secs(2, 2), 4);
        assert_eq!(backoff_secs(2, 4), 16);
        assert_eq!(backoff_secs(2, 40), MAX_BACKOFF_SECS);
        assert_eq!(backoff_secs(0, 1), 1);
    }

    #[test]
    fn only_passing_troubles_are_retried() {
        let provider = |code: Option<&str>| Error::Provider {
            provider: "dingtalk",
            errcode: code.map(str::to_string),
            message: String::new(),
        };
        for code in [
            None,
            Some("-1"),
            Some("90018"),
            Some("90002"),
            Some("HTTP 502"),
        ] {
            assert!(transient(&provider(code)), "{code:?} is worth a retry");
        }
        for code in [Some("60004"), Some("60104"), Some("90020"), Some("43007")] {
            assert!(!transient(&provider(code)), "{code:?} needs a person");
        }
        assert!(!transient(&refused("no phone".into())));
    }

    #[test]
    fn userids_come_from_accounts_when_dingtalk_takes_them() {
        assert_eq!(userid_for("zhang_wei-2", 7), "zhang_wei-2");
        assert_eq!(userid_for("张伟", 7), "roster7");
        assert_eq!(userid_for("a.b@example.com", 9), "roster9");
        assert_eq!(userid_for(&"x".repeat(65), 3), "roster3");
    }
}
