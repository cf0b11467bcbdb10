//! The outbox: local changes waiting to be pushed to DingTalk, recorded in the caller's
//! transaction so that a change and its delivery stand or fall together. Administrators see the
//! items, retry failed ones and discard what should not be pushed.

use crate::{
    authz::OrgAccess,
    error::{Error, Result},
};
use chrono::Utc;
use entity::{
    connection,
    enums::{OutboxAction, OutboxObject, OutboxStatus, Provider, SyncStatus, SyncTrigger},
    outbox_item, sync_run,
};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait,
    PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
};
use serde_json::{Value, json};
use std::collections::HashMap;

/// One local change to push.
#[derive(Debug, Clone)]
pub struct Pushed {
    /// The kind of object.
    pub object: OutboxObject,
    /// Its local id.
    pub id: i64,
    /// What happened.
    pub action: OutboxAction,
    /// What the delivery needs that may be gone by then (names, provider ids of deleted objects).
    pub payload: Value,
}

impl Pushed {
    /// A change of this object, described by `payload`.
    pub fn new(object: OutboxObject, id: i64, action: OutboxAction, payload: Value) -> Self {
        Self {
            object,
            id,
            action,
            payload,
        }
    }
}

/// The organization's DingTalk connection that pushes local changes, if any.
pub async fn target<C: ConnectionTrait>(db: &C, org: i64) -> Result<Option<connection::Model>> {
    Ok(connection::Entity::find()
        .filter(connection::Column::OrganizationId.eq(org))
        .filter(connection::Column::Provider.eq(Provider::Dingtalk))
        .filter(connection::Column::PushEnabled.eq(true))
        .filter(connection::Column::Enabled.eq(true))
        .order_by_asc(connection::Column::Id)
        .one(db)
        .await?)
}

/// Whether the connection a synced object came from pushes local changes (then the object is
/// editable in Roster).
pub async fn pushes<C: ConnectionTrait>(db: &C, connection_id: i64) -> Result<bool> {
    Ok(connection::Entity::find_by_id(connection_id)
        .filter(connection::Column::PushEnabled.eq(true))
        .filter(connection::Column::Enabled.eq(true))
        .count(db)
        .await?
        > 0)
}

/// Whether a local object is pushed through `conn`: it came from the connection, or it was
/// created in Roster while push was on (it has a create item that was not discarded).
pub async fn is_pushed<C: ConnectionTrait>(
    db: &C,
    conn: &connection::Model,
    object: OutboxObject,
    id: i64,
    source_connection_id: Option<i64>,
) -> Result<bool> {
    if source_connection_id == Some(conn.id) {
        return Ok(true);
    }
    Ok(outbox_item::Entity::find()
        .filter(outbox_item::Column::ConnectionId.eq(conn.id))
        .filter(outbox_item::Column::ObjectType.eq(object))
        .filter(outbox_item::Column::ObjectId.eq(id))
        .filter(outbox_item::Column::Action.eq(OutboxAction::Create))
        .filter(outbox_item::Column::Status.ne(OutboxStatus::Discarded))
        .count(db)
        .await?
        > 0)
}

/// Records changes for delivery through `conn`, in the caller's transaction.
pub async fn enqueue<C: ConnectionTrait>(
    db: &C,
    conn: &connection::Model,
    actor: Option<i64>,
    changes: Vec<Pushed>,
) -> Result<()> {
    if changes.is_empty() {
        return Ok(());
    }
    let now = Utc::now();
    let rows = changes.into_iter().map(|c| outbox_item::ActiveModel {
        organization_id: Set(conn.organization_id),
        connection_id: Set(conn.id),
        object_type: Set(c.object),
        object_id: Set(c.id),
        action: Set(c.action),
        payload: Set(c.payload),
        status: Set(OutboxStatus::Pending),
        attempts: Set(0),
        next_attempt_at: Set(now),
        last_errcode: Set(None),
        last_error: Set(None),
        external_id: Set(None),
        actor_member_id: Set(actor),
        created_at: Set(now),
        delivered_at: Set(None),
        ..Default::default()
    });
    outbox_item::Entity::insert_many(rows)
        .exec_without_returning(db)
        .await?;
    Ok(())
}

/// The provider id a delivered create gave an object, for changes recorded before it arrived.
pub async fn delivered_id<C: ConnectionTrait>(
    db: &C,
    connection_id: i64,
    object: OutboxObject,
    id: i64,
) -> Result<Option<String>> {
    Ok(outbox_item::Entity::find()
        .select_only()
        .column(outbox_item::Column::ExternalId)
        .filter(outbox_item::Column::ConnectionId.eq(connection_id))
        .filter(outbox_item::Column::ObjectType.eq(object))
        .filter(outbox_item::Column::ObjectId.eq(id))
        .filter(outbox_item::Column::Status.eq(OutboxStatus::Delivered))
        .filter(outbox_item::Column::ExternalId.is_not_null())
        .order_by_desc(outbox_item::Column::Id)
        .into_tuple::<Option<String>>()
        .one(db)
        .await?
        .flatten())
}

/// Items of the organization, newest first, optionally of one connection and status.
///
/// **Permissions**: `org.sync.manage`.
pub async fn list(
    db: &DatabaseConnection,
    access: &OrgAccess,
    connection_id: Option<i64>,
    status: Option<OutboxStatus>,
    limit: u64,
    offset: u64,
) -> Result<Vec<outbox_item::Model>> {
    let mut query =
        outbox_item::Entity::find().filter(outbox_item::Column::OrganizationId.eq(access.org_id()));
    if let Some(c) = connection_id {
        query = query.filter(outbox_item::Column::ConnectionId.eq(c));
    }
    if let Some(s) = status {
        query = query.filter(outbox_item::Column::Status.eq(s));
    }
    Ok(query
        .order_by_desc(outbox_item::Column::Id)
        .limit(limit.min(500))
        .offset(offset)
        .all(db)
        .await?)
}

/// What a connection has left to deliver: the items waiting and the items the provider refused.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Backlog {
    /// Waiting to be pushed.
    pub pending: u64,
    /// Refused by the provider, waiting for a retry or a discard.
    pub failed: u64,
}

/// The backlog of each of `connection_ids` (empty for a connection with nothing left), in one
/// statement.
pub async fn backlogs_of<C: ConnectionTrait>(
    db: &C,
    connection_ids: &[i64],
) -> Result<HashMap<i64, Backlog>> {
    let counted: Vec<(i64, OutboxStatus, i64)> = outbox_item::Entity::find()
        .select_only()
        .column(outbox_item::Column::ConnectionId)
        .column(outbox_item::Column::Status)
        .column_as(outbox_item::Column::Id.count(), "items")
        .filter(outbox_item::Column::ConnectionId.is_in(connection_ids.iter().copied()))
        .filter(outbox_item::Column::Status.is_in([OutboxStatus::Pending, OutboxStatus::Failed]))
        .group_by(outbox_item::Column::ConnectionId)
        .group_by(outbox_item::Column::Status)
        .into_tuple()
        .all(db)
        .await?;
    let mut out: HashMap<i64, Backlog> = connection_ids
        .iter()
        .map(|&id| (id, Backlog::default()))
        .collect();
    for (id, status, items) in counted {
        let items = u64::try_from(items).unwrap_or_default();
        let backlog = out.entry(id).or_default();
        match status {
            OutboxStatus::Pending => backlog.pending = items,
            OutboxStatus::Failed => backlog.failed = items,
            _ => {}
        }
    }
    Ok(out)
}

/// The backlog of one connection.
pub async fn backlog_of<C: ConnectionTrait>(db: &C, connection_id: i64) -> Result<Backlog> {
    Ok(backlogs_of(db, &[connection_id])
        .await?
        .remove(&connection_id)
        .unwrap_or_default())
}

async fn item(db: &DatabaseConnection, access: &OrgAccess, id: i64) -> Result<outbox_item::Model> {
    outbox_item::Entity::find_by_id(id)
        .filter(outbox_item::Column::OrganizationId.eq(access.org_id()))
        .one(db)
        .await?
        .ok_or(Error::NotFound("outbox item"))
}

/// Puts a failed item back in the queue, due now.
///
/// **Permissions**: `org.sync.manage`.
pub async fn retry(
    db: &DatabaseConnection,
    access: &OrgAccess,
    id: i64,
) -> Result<outbox_item::Model> {
    let current = item(db, access, id).await?;
    if current.status != OutboxStatus::Failed {
        return Err(Error::validation(
            "id",
            format!(
                "only failed items can be retried; this one is {}",
                status_word(current.status)
            ),
        ));
    }
    Ok(outbox_item::Entity::update(outbox_item::ActiveModel {
        id: Set(id),
        status: Set(OutboxStatus::Pending),
        next_attempt_at: Set(Utc::now()),
        ..Default::default()
    })
    .exec(db)
    .await?)
}

/// Gives up an item that failed or is still waiting: it will not be pushed.
///
/// **Permissions**: `org.sync.manage`.
pub async fn discard(
    db: &DatabaseConnection,
    access: &OrgAccess,
    id: i64,
) -> Result<outbox_item::Model> {
    let current = item(db, access, id).await?;
    if !matches!(current.status, OutboxStatus::Failed | OutboxStatus::Pending) {
        return Err(Error::validation(
            "id",
            format!(
                "only failed or pending items can be discarded; this one is {}",
                status_word(current.status)
            ),
        ));
    }
    // Only if it is still in that state: the worker may have delivered it meanwhile.
    let done = outbox_item::Entity::update_many()
        .col_expr(
            outbox_item::Column::Status,
            sea_orm::sea_query::Expr::value(OutboxStatus::Discarded),
        )
        .filter(outbox_item::Column::Id.eq(id))
        .filter(outbox_item::Column::Status.eq(current.status))
        .exec(db)
        .await?;
    if done.rows_affected == 0 {
        return Err(Error::Conflict(
            "the item changed while discarding it (it was probably just delivered); look at it again".into(),
        ));
    }
    item(db, access, id).await
}

fn status_word(status: OutboxStatus) -> &'static str {
    match status {
        OutboxStatus::Pending => "pending",
        OutboxStatus::Delivered => "delivered",
        OutboxStatus::Failed => "failed",
        OutboxStatus::Discarded => "discarded",
    }
}

/// Switches pushing on or off for a connection. Turning it on needs a DingTalk connection whose
/// last full sync succeeded (so both sides start equal) and no sync running.
///
/// **Permissions**: `org.connections.manage`.
pub async fn set_push(
    db: &DatabaseConnection,
    access: &OrgAccess,
    connection_id: i64,
    enabled: bool,
    cx: &crate::org::audit::Change,
) -> Result<connection::Model> {
    let conn = crate::org::connections::get(db, access.org_id(), connection_id).await?;
    if enabled {
        if conn.provider != Provider::Dingtalk {
            return Err(Error::validation(
                "id",
                "pushing local changes is available for DingTalk connections only",
            ));
        }
        if let Some(other) = target(db, access.org_id()).await?
            && other.id != conn.id
        {
            return Err(Error::Conflict(format!(
                "the connection `{}` already pushes this organization's changes; turn it off there first",
                other.name
            )));
        }
        let last_full = sync_run::Entity::find()
            .filter(sync_run::Column::ConnectionId.eq(conn.id))
            .filter(sync_run::Column::Trigger.ne(SyncTrigger::Event))
            .filter(sync_run::Column::Status.ne(SyncStatus::Running))
            .order_by_desc(sync_run::Column::Id)
            .one(db)
            .await?;
        if last_full.is_none_or(|r| r.status != SyncStatus::Succeeded) {
            return Err(Error::validation(
                "id",
                format!(
                    "import the DingTalk organization first: run a full sync of `{}` (startSync) and let it succeed, then turn push on, so that both sides start equal",
                    conn.name
                ),
            ));
        }
    }
    let txn = crate::db::begin_write(db).await?;
    let updated = connection::Entity::update(connection::ActiveModel {
        id: Set(conn.id),
        push_enabled: Set(enabled),
        updated_at: Set(Utc::now()),
        ..Default::default()
    })
    .exec(&txn)
    .await?;
    let event = cx
        .record(
            &txn,
            access,
            "connection.push",
            "connection",
            conn.id,
            json!({ "pushEnabled": enabled }),
        )
        .await?;
    txn.commit().await?;
    cx.published([event]);
    Ok(updated)
}

/// The ids among `ids` of objects pushed through `conn` (see [`is_pushed`]), in the given order.
async fn pushed_among<C: ConnectionTrait>(
    db: &C,
    conn: &connection::Model,
    object: OutboxObject,
    ids: &[i64],
) -> Result<Vec<i64>> {
    use entity::{department, directory_role, member, role_group};
    let mut pushed = std::collections::HashSet::new();
    for chunk in ids.chunks(1000) {
        let chunk = chunk.iter().copied();
        let from_source: Vec<i64> = match object {
            OutboxObject::Department => {
                department::Entity::find()
                    .select_only()
                    .column(department::Column::Id)
                    .filter(department::Column::Id.is_in(chunk.clone()))
                    .filter(department::Column::SourceConnectionId.eq(conn.id))
                    .into_tuple()
                    .all(db)
                    .await?
            }
            OutboxObject::Member => {
                member::Entity::find()
                    .select_only()
                    .column(member::Column::Id)
                    .filter(member::Column::Id.is_in(chunk.clone()))
                    .filter(member::Column::SourceConnectionId.eq(conn.id))
                    .into_tuple()
                    .all(db)
                    .await?
            }
            OutboxObject::RoleGroup => {
                role_group::Entity::find()
                    .select_only()
                    .column(role_group::Column::Id)
                    .filter(role_group::Column::Id.is_in(chunk.clone()))
                    .filter(role_group::Column::SourceConnectionId.eq(conn.id))
                    .into_tuple()
                    .all(db)
                    .await?
            }
            OutboxObject::Role => {
                directory_role::Entity::find()
                    .select_only()
                    .column(directory_role::Column::Id)
                    .filter(directory_role::Column::Id.is_in(chunk.clone()))
                    .filter(directory_role::Column::SourceConnectionId.eq(conn.id))
                    .into_tuple()
                    .all(db)
                    .await?
            }
        };
        pushed.extend(from_source);
        let created: Vec<i64> = outbox_item::Entity::find()
            .select_only()
            .column(outbox_item::Column::ObjectId)
            .filter(outbox_item::Column::ConnectionId.eq(conn.id))
            .filter(outbox_item::Column::ObjectType.eq(object))
            .filter(outbox_item::Column::ObjectId.is_in(chunk))
            .filter(outbox_item::Column::Action.eq(OutboxAction::Create))
            .filter(outbox_item::Column::Status.ne(OutboxStatus::Discarded))
            .into_tuple()
            .all(db)
            .await?;
        pushed.extend(created);
    }
    let mut seen = std::collections::HashSet::new();
    Ok(ids
        .iter()
        .copied()
        .filter(|id| pushed.contains(id) && seen.insert(*id))
        .collect())
}

/// Records that these objects were created in Roster, when the organization pushes.
pub async fn created<C: ConnectionTrait>(
    db: &C,
    org: i64,
    actor: Option<i64>,
    object: OutboxObject,
    id: i64,
    payload: Value,
) -> Result<()> {
    let Some(conn) = target(db, org).await? else {
        return Ok(());
    };
    enqueue(
        db,
        &conn,
        actor,
        vec![Pushed::new(object, id, OutboxAction::Create, payload)],
    )
    .await
}

/// Records that these objects changed in Roster, for those of them that are pushed.
pub async fn changed<C: ConnectionTrait>(
    db: &C,
    org: i64,
    actor: Option<i64>,
    object: OutboxObject,
    ids: &[i64],
) -> Result<()> {
    if ids.is_empty() {
        return Ok(());
    }
    let Some(conn) = target(db, org).await? else {
        return Ok(());
    };
    let pushed = pushed_among(db, &conn, object, ids).await?;
    enqueue(
        db,
        &conn,
        actor,
        pushed
            .into_iter()
            .map(|id| Pushed::new(object, id, OutboxAction::Update, json!({})))
            .collect(),
    )
    .await
}

/// Records that a department was deleted in Roster, when it is pushed (call before deleting
/// the row: its DingTalk id goes into the item).
pub async fn department_deleted<C: ConnectionTrait>(
    db: &C,
    org: i64,
    actor: Option<i64>,
    dep: &entity::department::Model,
) -> Result<()> {
    let Some(conn) = target(db, org).await? else {
        return Ok(());
    };
    if !is_pushed(
        db,
        &conn,
        OutboxObject::Department,
        dep.id,
        dep.source_connection_id,
    )
    .await?
    {
        return Ok(());
    }
    let ext = dep
        .external_id
        .clone()
        .filter(|_| dep.source_connection_id == Some(conn.id));
    enqueue(
        db,
        &conn,
        actor,
        vec![Pushed::new(
            OutboxObject::Department,
            dep.id,
            OutboxAction::Delete,
            json!({ "name": dep.name, "externalId": ext }),
        )],
    )
    .await
}

/// Records that members left (removed or resigned), for those of them that are pushed; their
/// DingTalk userids go into the items.
pub async fn members_left<C: ConnectionTrait>(
    db: &C,
    org: i64,
    actor: Option<i64>,
    members: &[entity::member::Model],
) -> Result<()> {
    let Some(conn) = target(db, org).await? else {
        return Ok(());
    };
    let ids: Vec<i64> = members.iter().map(|m| m.id).collect();
    let pushed: std::collections::HashSet<i64> =
        pushed_among(db, &conn, OutboxObject::Member, &ids)
            .await?
            .into_iter()
            .collect();
    let mut items = Vec::new();
    for m in members.iter().filter(|m| pushed.contains(&m.id)) {
        let userid = linked_userid(db, &conn, m.user_id).await?;
        items.push(Pushed::new(
            OutboxObject::Member,
            m.id,
            OutboxAction::Delete,
            json!({ "name": m.name, "userid": userid }),
        ));
    }
    enqueue(db, &conn, actor, items).await
}

/// The DingTalk userid a Roster user is linked to in the connection's enterprise, if any.
pub async fn linked_userid<C: ConnectionTrait>(
    db: &C,
    conn: &connection::Model,
    user_id: i64,
) -> Result<Option<String>> {
    use entity::identity;
    Ok(identity::Entity::find()
        .select_only()
        .column(identity::Column::ProviderUserId)
        .filter(identity::Column::UserId.eq(user_id))
        .filter(identity::Column::Provider.eq(Provider::Dingtalk))
        .filter(identity::Column::Tenant.eq(conn.corp_id.as_str()))
        .into_tuple()
        .one(db)
        .await?)
}
