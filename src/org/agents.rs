//! Agents: seat-limited add-ons. The quota is never exceeded, even under concurrent requests: each
//! assignment first writes the agent row (taking its write lock on SQLite and its row lock on
//! PostgreSQL), then counts.

use super::audit::Change;
use crate::{
    authz::OrgAccess,
    error::{Error, Result},
};
use chrono::Utc;
use entity::{agent, agent_seat, enums::*};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    QueryOrder, sea_query::Expr,
};
use serde_json::json;
use std::collections::HashSet;

/// The organization's agents by name.
pub async fn list<C: ConnectionTrait>(db: &C, org: i64) -> Result<Vec<agent::Model>> {
    Ok(agent::Entity::find()
        .filter(agent::Column::OrganizationId.eq(org))
        .order_by_asc(agent::Column::Name)
        .all(db)
        .await?)
}

/// Seats in use of each of `agent_ids` (0 for an agent nobody holds a seat of), in one statement.
pub async fn seats_used_of<C: ConnectionTrait>(
    db: &C,
    agent_ids: &[i64],
) -> Result<std::collections::HashMap<i64, u64>> {
    Ok(crate::db::counts_by(
        db,
        agent_seat::Entity::find(),
        agent_seat::Column::AgentId,
        agent_ids,
    )
    .await?)
}

/// Seats in use of an agent.
pub async fn seats_used<C: ConnectionTrait>(db: &C, agent_id: i64) -> Result<u64> {
    Ok(seats_used_of(db, &[agent_id])
        .await?
        .get(&agent_id)
        .copied()
        .unwrap_or_default())
}

async fn get<C: ConnectionTrait>(db: &C, org: i64, id: i64) -> Result<agent::Model> {
    agent::Entity::find_by_id(id)
        .filter(agent::Column::OrganizationId.eq(org))
        .one(db)
        .await?
        .ok_or(Error::NotFound("agent"))
}

async fn record<C: ConnectionTrait>(
    db: &C,
    access: &OrgAccess,
    action: &'static str,
    id: i64,
    summary: serde_json::Value,
    cx: &Change,
) -> Result<entity::audit_event::Model> {
    cx.record(db, access, action, "agent", id, summary).await
}

/// Creates an agent with a seat quota.
///
/// **Permissions**: `org.agents.manage`.
pub async fn create(
    db: &DatabaseConnection,
    access: &OrgAccess,
    name: &str,
    seat_quota: i32,
    cx: &Change,
) -> Result<agent::Model> {
    let name = super::rules::name("name", name)?;
    if seat_quota < 0 {
        return Err(Error::validation(
            "seatQuota",
            "the seat quota cannot be negative",
        ));
    }
    if list(db, access.org_id())
        .await?
        .iter()
        .any(|a| a.name == name)
    {
        return Err(Error::Conflict(format!(
            "an agent named `{name}` already exists"
        )));
    }
    let txn = crate::db::begin_write(db).await?;
    let a = agent::Entity::insert(agent::ActiveModel {
        organization_id: Set(access.org_id()),
        name: Set(name),
        seat_quota: Set(seat_quota),
        created_at: Set(Utc::now()),
        ..Default::default()
    })
    .exec_with_returning(&txn)
    .await?;
    let event = record(
        &txn,
        access,
        "agent.create",
        a.id,
        json!({ "name": a.name, "seatQuota": seat_quota }),
        cx,
    )
    .await?;
    txn.commit().await?;
    cx.published([event]);
    Ok(a)
}

/// Changes an agent's seat quota; it cannot go below the seats in use.
///
/// **Permissions**: `org.agents.manage`.
pub async fn set_quota(
    db: &DatabaseConnection,
    access: &OrgAccess,
    id: i64,
    seat_quota: i32,
    cx: &Change,
) -> Result<agent::Model> {
    let a = get(db, access.org_id(), id).await?;
    let txn = crate::db::begin_write(db).await?;
    lock_in_txn(&txn, a.id).await?;
    let used = seats_used(&txn, a.id).await?;
    if seat_quota < 0 || (seat_quota as u64) < used {
        return Err(Error::validation(
            "seatQuota",
            format!("{used} seats are assigned; the quota cannot be below that"),
        ));
    }
    let updated = agent::Entity::update(agent::ActiveModel {
        id: Set(a.id),
        seat_quota: Set(seat_quota),
        ..Default::default()
    })
    .exec(&txn)
    .await?;
    let event = record(
        &txn,
        access,
        "agent.set_quota",
        a.id,
        json!({ "from": a.seat_quota, "to": seat_quota }),
        cx,
    )
    .await?;
    txn.commit().await?;
    cx.published([event]);
    Ok(updated)
}

/// Takes the agent row's lock for the rest of the transaction.
async fn lock_in_txn<C: ConnectionTrait>(db: &C, id: i64) -> Result<()> {
    agent::Entity::update_many()
        .col_expr(
            agent::Column::SeatQuota,
            Expr::col(agent::Column::SeatQuota),
        )
        .filter(agent::Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(())
}

/// Assigns seats of an agent to members. Viewers cannot hold seats; the quota is never exceeded.
///
/// **Permissions**: `org.agents.manage`.
pub async fn assign(
    db: &DatabaseConnection,
    access: &OrgAccess,
    id: i64,
    member_ids: &[i64],
    cx: &Change,
) -> Result<agent::Model> {
    let a = get(db, access.org_id(), id).await?;
    let members = super::members::in_organization(db, access.org_id(), member_ids).await?;
    let ids: Vec<i64> = members.iter().map(|m| m.id).collect();
    if let Some(v) = members.iter().find(|m| m.user_type == UserType::Viewer) {
        return Err(Error::validation(
            "memberIds",
            format!(
                "`{}` is a viewer; viewers cannot hold agent seats",
                v.nickname
            ),
        ));
    }
    if let Some(v) = members.iter().find(|m| m.status != MemberStatus::Active) {
        return Err(Error::validation(
            "memberIds",
            format!("`{}` is not active", v.nickname),
        ));
    }
    let txn = crate::db::begin_write(db).await?;
    lock_in_txn(&txn, a.id).await?;
    let held: HashSet<i64> = agent_seat::Entity::find()
        .filter(agent_seat::Column::AgentId.eq(a.id))
        .all(&txn)
        .await?
        .into_iter()
        .map(|s| s.member_id)
        .collect();
    let new: Vec<i64> = ids.iter().copied().filter(|m| !held.contains(m)).collect();
    if held.len() + new.len() > usize::try_from(a.seat_quota).unwrap_or(0) {
        return Err(Error::Conflict(format!(
            "agent `{}` has {} seats and {} are assigned; {} more do not fit. Unassign seats or raise the quota",
            a.name,
            a.seat_quota,
            held.len(),
            new.len()
        )));
    }
    if !new.is_empty() {
        let now = Utc::now();
        agent_seat::Entity::insert_many(new.iter().map(|&member_id| agent_seat::ActiveModel {
            agent_id: Set(a.id),
            member_id: Set(member_id),
            organization_id: Set(access.org_id()),
            assigned_at: Set(now),
        }))
        .exec_without_returning(&txn)
        .await?;
    }
    let event = record(
        &txn,
        access,
        "agent.assign",
        a.id,
        json!({ "memberIds": new }),
        cx,
    )
    .await?;
    txn.commit().await?;
    cx.published([event]);
    Ok(a)
}

/// Frees seats of an agent.
///
/// **Permissions**: `org.agents.manage`.
pub async fn unassign(
    db: &DatabaseConnection,
    access: &OrgAccess,
    id: i64,
    member_ids: &[i64],
    cx: &Change,
) -> Result<agent::Model> {
    let a = get(db, access.org_id(), id).await?;
    let txn = crate::db::begin_write(db).await?;
    agent_seat::Entity::delete_many()
        .filter(agent_seat::Column::AgentId.eq(a.id))
        .filter(agent_seat::Column::MemberId.is_in(member_ids.iter().copied()))
        .exec(&txn)
        .await?;
    let event = record(
        &txn,
        access,
        "agent.unassign",
        a.id,
        json!({ "memberIds": member_ids }),
        cx,
    )
    .await?;
    txn.commit().await?;
    cx.published([event]);
    Ok(a)
}
