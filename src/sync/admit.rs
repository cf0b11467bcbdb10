//! Adding people from the mirror as members: chosen by an administrator (the "sync organization
//! chart" dialog: contacts or whole departments, a user type, an organization role, agents) or
//! automatically under a connection's `auto` policy. A person already known through another
//! enterprise of the same developer organization (same DingTalk unionId) stays one user.

use super::apply::{Counts, follow_mirror_in_txn, linked_members};
use crate::{
    auth::sso::{Admission, ProviderPerson, add_member, resolve_user},
    authz::{Grants, OrgAccess},
    error::{Error, Result},
    org::{agents, audit::Change, connections, members, rules},
};
use chrono::Utc;
use entity::{
    agent, connection, directory_contact, directory_department,
    enums::{MemberStatus, SyncStatus, SyncTrigger, UserType},
    member, organization, sync_run, user,
};
use sea_orm::{ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter};
use serde_json::json;
use std::collections::HashSet;

/// Whom to add from the mirror and as what.
#[derive(Debug, Clone)]
pub struct FromMirror {
    /// The connection (account source).
    pub connection_id: i64,
    /// Mirror contact ids.
    pub contact_ids: Vec<i64>,
    /// Mirror department ids: everyone directly in them.
    pub department_ids: Vec<i64>,
    /// Whether the departments' sub-departments count too.
    pub include_sub_departments: bool,
    /// User type of new members.
    pub user_type: UserType,
    /// Organization role of new members; standard user when `None`.
    pub role_id: Option<i64>,
    /// Agents whose seats new members get.
    pub agent_ids: Vec<i64>,
}

/// What adding from the mirror did.
#[derive(Debug, Clone)]
pub struct Added {
    /// The run recording it.
    pub run: sync_run::Model,
    /// Members added.
    pub added: Vec<member::Model>,
    /// Members that already existed (their provider details were refreshed).
    pub existing: Vec<member::Model>,
}

fn person(c: &directory_contact::Model) -> ProviderPerson {
    ProviderPerson {
        userid: c.external_id.clone(),
        union_id: c.union_id.clone(),
        name: c.name.clone(),
        email: c.email.clone(),
    }
}

/// The mirror contacts chosen by id or through departments.
async fn chosen_contacts<C: ConnectionTrait>(
    db: &C,
    conn: &connection::Model,
    input: &FromMirror,
) -> Result<Vec<directory_contact::Model>> {
    let contacts: Vec<directory_contact::Model> = directory_contact::Entity::find()
        .filter(directory_contact::Column::ConnectionId.eq(conn.id))
        .filter(directory_contact::Column::ToBeDeleted.eq(false))
        .all(db)
        .await?;
    let departments: Vec<directory_department::Model> = directory_department::Entity::find()
        .filter(directory_department::Column::ConnectionId.eq(conn.id))
        .all(db)
        .await?;
    let wanted_ids: HashSet<i64> = input.contact_ids.iter().copied().collect();
    let known: HashSet<i64> = contacts.iter().map(|c| c.id).collect();
    if let Some(missing) = wanted_ids.iter().find(|id| !known.contains(id)) {
        return Err(Error::validation(
            "contactIds",
            format!(
                "contact {missing} is not in this connection's directory (or is flagged as gone); sync again and pick from the list"
            ),
        ));
    }
    let mut chosen_deps: HashSet<String> = HashSet::new();
    for id in &input.department_ids {
        let d = departments.iter().find(|d| d.id == *id).ok_or_else(|| {
            Error::validation(
                "departmentIds",
                format!("department {id} is not in this connection's directory"),
            )
        })?;
        chosen_deps.insert(d.external_id.clone());
    }
    if input.include_sub_departments {
        loop {
            let before = chosen_deps.len();
            for d in &departments {
                if d.parent_external_id
                    .as_ref()
                    .is_some_and(|p| chosen_deps.contains(p))
                {
                    chosen_deps.insert(d.external_id.clone());
                }
            }
            if chosen_deps.len() == before {
                break;
            }
        }
    }
    Ok(contacts
        .into_iter()
        .filter(|c| {
            wanted_ids.contains(&c.id)
                || serde_json::from_value::<Vec<String>>(c.department_external_ids.clone())
                    .unwrap_or_default()
                    .iter()
                    .any(|d| chosen_deps.contains(d))
        })
        .collect())
}

/// Adds (or refreshes) the chosen people as members, records the run, and gives new members the
/// chosen agents' seats. All checks come first; the members are written in one transaction.
///
/// **Permissions**: `org.sync.manage`; a role other than standard user also needs the role grant
/// rules of `createMember`; agents need `org.agents.manage` (`agent_access`).
pub async fn from_mirror(
    db: &DatabaseConnection,
    access: &OrgAccess,
    grants: &Grants,
    agent_access: Option<&OrgAccess>,
    input: FromMirror,
    cx: &Change,
) -> Result<Added> {
    let org = access.org_id();
    let conn = connections::get(db, org, input.connection_id).await?;
    if input.contact_ids.is_empty() && input.department_ids.is_empty() {
        return Err(Error::validation(
            "contactIds",
            "choose at least one contact or department",
        ));
    }
    if let Some(role_id) = input.role_id {
        let (role, is_admin) = members::assignable_org_role(db, org, role_id).await?;
        members::check_role_grant_beyond_standard(grants, &role)?;
        rules::check_admin_role("roleId", input.user_type, is_admin, &role.name)?;
    }
    let organization = organization::Entity::find_by_id(org)
        .one(db)
        .await?
        .ok_or(Error::NotFound("organization"))?;
    let contacts = chosen_contacts(db, &conn, &input).await?;
    let linked = linked_members(db, &conn, None).await?;
    let new_count = contacts
        .iter()
        .filter(|c| !linked.contains_key(&c.external_id))
        .count();
    if !input.agent_ids.is_empty() {
        if input.user_type == UserType::Viewer {
            return Err(Error::validation(
                "agentIds",
                "viewers cannot hold agent seats; choose developer or analyst, or no agents",
            ));
        }
        if agent_access.is_none() {
            return Err(Error::Forbidden(
                "giving agent seats needs the permission org.agents.manage".into(),
            ));
        }
        for id in &input.agent_ids {
            let a = agent::Entity::find_by_id(*id)
                .filter(agent::Column::OrganizationId.eq(org))
                .one(db)
                .await?
                .ok_or(Error::NotFound("agent"))?;
            let used = agents::seats_used(db, a.id).await?;
            if used + new_count as u64 > u64::try_from(a.seat_quota).unwrap_or(0) {
                return Err(Error::Conflict(format!(
                    "agent `{}` has {} of {} seats free; {new_count} new members do not fit. Choose fewer people or raise the quota",
                    a.name,
                    u64::try_from(a.seat_quota)
                        .unwrap_or(0)
                        .saturating_sub(used),
                    a.seat_quota
                )));
            }
        }
    }
    members::check_seats(db, &organization, new_count as u64).await?;
    let txn = crate::db::begin_write(db).await?;
    let admission = Admission {
        user_type: input.user_type,
        role_id: input.role_id,
    };
    let mut added = Vec::new();
    let mut existing = Vec::new();
    for c in &contacts {
        match linked.get(&c.external_id) {
            Some(m) => existing.push(m.clone()),
            None => {
                let user_id = admit_user(&txn, &conn, c).await?;
                let found = member::Entity::find()
                    .filter(member::Column::OrganizationId.eq(org))
                    .filter(member::Column::UserId.eq(user_id))
                    .one(&txn)
                    .await?;
                match found {
                    Some(m) => existing.push(m),
                    None => added.push(
                        add_member(&txn, &organization, &conn, user_id, &person(c), &admission)
                            .await?,
                    ),
                }
            }
        }
    }
    let admitted: HashSet<String> = contacts.iter().map(|c| c.external_id.clone()).collect();
    follow_mirror_in_txn(&txn, &conn, &admitted).await?;
    let started =
        super::runner::record_start(&txn, &conn, SyncTrigger::Manual, Some(access.actor())).await?;
    let counts = Counts {
        added: i32::try_from(added.len()).unwrap_or(i32::MAX),
        ..Default::default()
    };
    let run = super::runner::finish(&txn, started.id, SyncStatus::Succeeded, counts, None).await?;
    let event = cx
        .record(
            &txn,
            access,
            "sync.add_members",
            "connection",
            conn.id,
            json!({ "added": added.iter().map(|m| m.id).collect::<Vec<_>>(), "userType": input.user_type, "roleId": input.role_id }),
        )
        .await?;
    txn.commit().await?;
    cx.published([event]);
    if let Some(agent_access) = agent_access {
        let ids: Vec<i64> = added.iter().map(|m| m.id).collect();
        for agent_id in &input.agent_ids {
            if !ids.is_empty() {
                agents::assign(db, agent_access, *agent_id, &ids, cx).await?;
            }
        }
    }
    Ok(Added {
        run,
        added,
        existing,
    })
}

/// Finds or creates the user of a contact; an existing user takes the name of the latest sync.
async fn admit_user<C: ConnectionTrait>(
    db: &C,
    conn: &connection::Model,
    c: &directory_contact::Model,
) -> Result<i64> {
    let user_id = resolve_user(db, conn, &person(c)).await?;
    user::Entity::update_many()
        .col_expr(user::Column::Name, c.name.clone().into())
        .col_expr(user::Column::UpdatedAt, Utc::now().into())
        .filter(user::Column::Id.eq(user_id))
        .filter(user::Column::Name.ne(c.name.as_str()))
        .exec(db)
        .await?;
    Ok(user_id)
}

/// Under the `auto` policy: every active contact of the mirror without a member becomes one, with
/// the connection's default user type and the standard user role; the seat limit is respected.
pub async fn auto_in_txn<C: ConnectionTrait>(db: &C, conn: &connection::Model) -> Result<Counts> {
    let linked = linked_members(db, conn, None).await?;
    let contacts: Vec<directory_contact::Model> = directory_contact::Entity::find()
        .filter(directory_contact::Column::ConnectionId.eq(conn.id))
        .filter(directory_contact::Column::ToBeDeleted.eq(false))
        .filter(directory_contact::Column::Active.eq(true))
        .all(db)
        .await?;
    let organization = organization::Entity::find_by_id(conn.organization_id)
        .one(db)
        .await?
        .ok_or(Error::NotFound("organization"))?;
    let admission = Admission {
        user_type: connections::default_user_type(conn),
        role_id: None,
    };
    let mut counts = Counts::default();
    let mut admitted = HashSet::new();
    for c in contacts
        .iter()
        .filter(|c| !linked.contains_key(&c.external_id))
    {
        admitted.insert(c.external_id.clone());
        let user_id = admit_user(db, conn, c).await?;
        let exists = member::Entity::find()
            .filter(member::Column::OrganizationId.eq(conn.organization_id))
            .filter(member::Column::UserId.eq(user_id))
            .filter(member::Column::Status.ne(MemberStatus::Resigned))
            .one(db)
            .await?
            .is_some();
        if !exists {
            add_member(db, &organization, conn, user_id, &person(c), &admission).await?;
            counts.added += 1;
        }
    }
    if !admitted.is_empty() {
        follow_mirror_in_txn(db, conn, &admitted).await?;
    }
    Ok(counts)
}
