//! The mirror as administrators see it: browse a connection's contacts and departments, delete
//! flagged entries, "update structure" (remove every invalid entry) and "clear all".

use super::apply::Counts;
use crate::{
    authz::OrgAccess,
    error::{Error, Result},
    org::{audit::Change, connections, rules},
};
use entity::{department, department_member, directory_contact, directory_department};
use sea_orm::{
    ColumnTrait, Condition, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    sea_query::{Expr, ExprTrait, Func, LikeExpr},
};
use serde_json::json;

/// Which mirror contacts to list.
#[derive(Debug, Clone, Default)]
pub struct ContactFilter {
    /// Part of the name, email or provider id.
    pub keyword: Option<String>,
    /// Only entries flagged `name_changed` or `to_be_deleted`.
    pub flagged_only: bool,
    /// Only contacts directly in this provider department.
    pub department_external_id: Option<String>,
}

/// A connection's mirror contacts in id order, `limit` after the id `after`. The keyword matches
/// part of the name, email or provider id regardless of case.
///
/// **Permissions**: `org.sync.manage`.
pub async fn contacts(
    db: &DatabaseConnection,
    access: &OrgAccess,
    connection_id: i64,
    filter: &ContactFilter,
    after: Option<i64>,
    limit: u64,
) -> Result<Vec<directory_contact::Model>> {
    let conn = connections::get(db, access.org_id(), connection_id).await?;
    let mut query = directory_contact::Entity::find()
        .filter(directory_contact::Column::ConnectionId.eq(conn.id));
    if let Some(k) = filter
        .keyword
        .as_deref()
        .map(str::trim)
        .filter(|k| !k.is_empty())
    {
        let pattern = rules::like_pattern(k);
        let mut any = Condition::any();
        for column in [
            directory_contact::Column::Name,
            directory_contact::Column::Email,
            directory_contact::Column::ExternalId,
        ] {
            any = any.add(
                Expr::expr(Func::lower(Expr::col(column)))
                    .like(LikeExpr::new(&pattern).escape('\\')),
            );
        }
        query = query.filter(any);
    }
    if filter.flagged_only {
        query = query.filter(
            Condition::any()
                .add(directory_contact::Column::NameChanged.eq(true))
                .add(directory_contact::Column::ToBeDeleted.eq(true)),
        );
    }
    let in_department = |c: &directory_contact::Model| match &filter.department_external_id {
        Some(d) => serde_json::from_value::<Vec<String>>(c.department_external_ids.clone())
            .unwrap_or_default()
            .contains(d),
        None => true,
    };
    // The department list is JSON, filtered here: read pages until the page is full or the
    // mirror ends, so that a department filter never cuts a page short.
    let wanted = usize::try_from(limit).unwrap_or(usize::MAX);
    let mut out = Vec::new();
    let mut cursor = after;
    loop {
        let mut page = query.clone();
        if let Some(id) = cursor {
            page = page.filter(directory_contact::Column::Id.gt(id));
        }
        let rows = page
            .order_by_asc(directory_contact::Column::Id)
            .limit(limit)
            .all(db)
            .await?;
        let exhausted = rows.len() < wanted;
        cursor = rows.last().map(|r| r.id).or(cursor);
        out.extend(rows.into_iter().filter(in_department));
        if out.len() >= wanted || exhausted {
            out.truncate(wanted);
            return Ok(out);
        }
    }
}

/// A connection's mirror departments.
///
/// **Permissions**: `org.sync.manage`.
pub async fn departments(
    db: &DatabaseConnection,
    access: &OrgAccess,
    connection_id: i64,
) -> Result<Vec<directory_department::Model>> {
    let conn = connections::get(db, access.org_id(), connection_id).await?;
    Ok(directory_department::Entity::find()
        .filter(directory_department::Column::ConnectionId.eq(conn.id))
        .order_by_asc(directory_department::Column::SortOrder)
        .order_by_asc(directory_department::Column::Id)
        .all(db)
        .await?)
}

/// What to delete from the mirror.
#[derive(Debug, Clone)]
pub enum Cleanup {
    /// These flagged entries (mirror contact and department ids); unflagged ones are refused.
    Flagged {
        /// Mirror contact ids.
        contact_ids: Vec<i64>,
        /// Mirror department ids.
        department_ids: Vec<i64>,
    },
    /// Every entry flagged `to_be_deleted`, with the departments of the structure flagged so.
    InvalidEntries,
    /// Everything mirrored from the connection and every department it created.
    Everything,
}

/// Deletes mirror entries (and, for departments, the structure's departments made from them).
/// Members are never deleted here: members flagged `to_be_deleted` are removed or resigned with
/// the member operations, which keep their rules.
///
/// **Permissions**: `org.sync.manage`.
pub async fn clean(
    db: &DatabaseConnection,
    access: &OrgAccess,
    connection_id: i64,
    what: Cleanup,
    cx: &Change,
) -> Result<Counts> {
    let conn = connections::get(db, access.org_id(), connection_id).await?;
    let txn = crate::db::begin_write(db).await?;
    let (contact_filter, department_filter, structure_filter, action) = match &what {
        Cleanup::Flagged {
            contact_ids,
            department_ids,
        } => {
            let unflagged_contact = directory_contact::Entity::find()
                .filter(directory_contact::Column::ConnectionId.eq(conn.id))
                .filter(directory_contact::Column::Id.is_in(contact_ids.iter().copied()))
                .filter(directory_contact::Column::ToBeDeleted.eq(false))
                .filter(directory_contact::Column::NameChanged.eq(false))
                .one(&txn)
                .await?;
            if let Some(c) = unflagged_contact {
                return Err(Error::validation(
                    "contactIds",
                    format!(
                        "`{}` is not flagged; only flagged entries can be deleted",
                        c.name
                    ),
                ));
            }
            let flagged_deps: Vec<directory_department::Model> =
                directory_department::Entity::find()
                    .filter(directory_department::Column::ConnectionId.eq(conn.id))
                    .filter(directory_department::Column::Id.is_in(department_ids.iter().copied()))
                    .all(&txn)
                    .await?;
            if let Some(d) = flagged_deps
                .iter()
                .find(|d| !d.to_be_deleted && !d.name_changed)
            {
                return Err(Error::validation(
                    "departmentIds",
                    format!(
                        "`{}` is not flagged; only flagged entries can be deleted",
                        d.name
                    ),
                ));
            }
            let gone: Vec<String> = flagged_deps
                .iter()
                .filter(|d| d.to_be_deleted)
                .map(|d| d.external_id.clone())
                .collect();
            (
                directory_contact::Column::Id.is_in(contact_ids.iter().copied()),
                directory_department::Column::Id.is_in(department_ids.iter().copied()),
                Condition::all()
                    .add(department::Column::ExternalId.is_in(gone))
                    .add(department::Column::ToBeDeleted.eq(true)),
                "sync.delete_flagged",
            )
        }
        Cleanup::InvalidEntries => (
            directory_contact::Column::ToBeDeleted.eq(true),
            directory_department::Column::ToBeDeleted.eq(true),
            Condition::all().add(department::Column::ToBeDeleted.eq(true)),
            "sync.update_structure",
        ),
        Cleanup::Everything => (
            directory_contact::Column::Id.is_not_null(),
            directory_department::Column::Id.is_not_null(),
            Condition::all(),
            "sync.clear",
        ),
    };
    let contacts = directory_contact::Entity::delete_many()
        .filter(directory_contact::Column::ConnectionId.eq(conn.id))
        .filter(contact_filter)
        .exec(&txn)
        .await?
        .rows_affected;
    let deps = directory_department::Entity::delete_many()
        .filter(directory_department::Column::ConnectionId.eq(conn.id))
        .filter(department_filter)
        .exec(&txn)
        .await?
        .rows_affected;
    // The structure's departments: children before parents; their memberships go with them.
    let mut doomed: Vec<(i64, usize)> = department::Entity::find()
        .select_only()
        .columns([department::Column::Id, department::Column::Path])
        .filter(department::Column::OrganizationId.eq(conn.organization_id))
        .filter(department::Column::SourceConnectionId.eq(conn.id))
        .filter(structure_filter)
        .into_tuple::<(i64, String)>()
        .all(&txn)
        .await?
        .into_iter()
        .map(|(id, path)| (id, path.len()))
        .collect();
    doomed.sort_by_key(|(_, depth)| std::cmp::Reverse(*depth));
    let ids: Vec<i64> = doomed.iter().map(|(id, _)| *id).collect();
    if let Some(kept) = department::Entity::find()
        .filter(department::Column::OrganizationId.eq(conn.organization_id))
        .filter(department::Column::ParentId.is_in(ids.iter().copied()))
        .filter(department::Column::Id.is_not_in(ids.iter().copied()))
        .one(&txn)
        .await?
    {
        return Err(Error::Conflict(format!(
            "department `{}` was created in Roster under a department being removed; move or delete it first",
            kept.name
        )));
    }
    department_member::Entity::delete_many()
        .filter(department_member::Column::DepartmentId.is_in(ids.iter().copied()))
        .exec(&txn)
        .await?;
    for id in &ids {
        department::Entity::delete_by_id(*id).exec(&txn).await?;
    }
    let counts = Counts {
        removed: i32::try_from(contacts + deps + ids.len() as u64).unwrap_or(i32::MAX),
        ..Default::default()
    };
    let event = cx
        .record(
            &txn,
            access,
            action,
            "connection",
            conn.id,
            json!({ "contacts": contacts, "directoryDepartments": deps, "departments": ids.len() }),
        )
        .await?;
    txn.commit().await?;
    cx.published([event]);
    Ok(counts)
}
