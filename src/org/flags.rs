//! The flags a sync leaves on members and departments for an administrator to review:
//! `name_changed` (the provider renamed them) and `to_be_deleted` (they are gone from the
//! provider). A sync only ever sets them; a flagged member is found with the member filters of the
//! same names, a gone one is resigned or removed, and a rename, once seen, is acknowledged here.

use super::{audit::Change, members};
use crate::{
    authz::OrgAccess,
    error::{Error, Result},
};
use chrono::Utc;
use entity::{department, member};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, ExprTrait, QueryFilter,
    QueryOrder, sea_query::Expr,
};
use serde_json::json;

/// The members and departments named by [`acknowledge_renames`], as they are afterwards.
#[derive(Debug)]
pub struct Acknowledged {
    /// The members, in the order named.
    pub members: Vec<member::Model>,
    /// The departments, in the order named.
    pub departments: Vec<department::Model>,
}

/// Marks the provider's renames of these members and departments as seen: their `name_changed`
/// flag is cleared, with an audit event for each one that carried it (those that did not are
/// left as they are). Every id must be of this organization; otherwise nothing changes and the
/// answer is VALIDATION on the list that holds the stranger. A later rename by the provider
/// flags them again.
///
/// **Permissions**: `org.members.manage`.
pub async fn acknowledge_renames(
    db: &DatabaseConnection,
    access: &OrgAccess,
    member_ids: &[i64],
    department_ids: &[i64],
    cx: &Change,
) -> Result<Acknowledged> {
    if member_ids.is_empty() && department_ids.is_empty() {
        return Err(Error::validation(
            "memberIds",
            "name at least one member or department whose rename you have seen",
        ));
    }
    let org = access.org_id();
    let txn = crate::db::begin_write(db).await?;
    let mut members = members::in_organization(&txn, org, member_ids).await?;
    let mut departments = departments_in_organization(&txn, org, department_ids).await?;
    let now = Utc::now();
    // One audit event for each that carried the flag, under the name it has now.
    let mut events = Vec::new();
    let mut renamed_members = Vec::new();
    for m in members.iter_mut().filter(|m| m.name_changed) {
        let summary = json!({ "name": m.name });
        events.push(
            cx.record(
                &txn,
                access,
                "member.acknowledge_rename",
                "member",
                m.id,
                summary,
            )
            .await?,
        );
        renamed_members.push(m.id);
        m.name_changed = false;
        m.updated_at = now;
    }
    let mut renamed_departments = Vec::new();
    for d in departments.iter_mut().filter(|d| d.name_changed) {
        let summary = json!({ "name": d.name });
        events.push(
            cx.record(
                &txn,
                access,
                "department.acknowledge_rename",
                "department",
                d.id,
                summary,
            )
            .await?,
        );
        renamed_departments.push(d.id);
        d.name_changed = false;
    }
    if !renamed_members.is_empty() {
        member::Entity::update_many()
            .col_expr(member::Column::NameChanged, Expr::value(false))
            .col_expr(member::Column::UpdatedAt, Expr::value(now))
            .filter(member::Column::Id.is_in(renamed_members))
            .exec(&txn)
            .await?;
    }
    if !renamed_departments.is_empty() {
        department::Entity::update_many()
            .col_expr(department::Column::NameChanged, Expr::value(false))
            .filter(department::Column::Id.is_in(renamed_departments))
            .exec(&txn)
            .await?;
    }
    txn.commit().await?;
    cx.published(events);
    Ok(Acknowledged {
        members,
        departments,
    })
}

/// The departments a sync flagged, renamed by the provider since the last review or gone from
/// it, by name.
///
/// **Permissions**: `org.members.view`.
pub async fn flagged_departments<C: ConnectionTrait>(
    db: &C,
    org: i64,
) -> Result<Vec<department::Model>> {
    Ok(department::Entity::find()
        .filter(department::Column::OrganizationId.eq(org))
        .filter(
            department::Column::NameChanged
                .eq(true)
                .or(department::Column::ToBeDeleted.eq(true)),
        )
        .order_by_asc(department::Column::Name)
        .order_by_asc(department::Column::Id)
        .all(db)
        .await?)
}

/// The departments a batch names, each once and in the order given; VALIDATION on
/// `departmentIds` when one of them is not in the organization.
async fn departments_in_organization<C: ConnectionTrait>(
    db: &C,
    org: i64,
    ids: &[i64],
) -> Result<Vec<department::Model>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let rows = department::Entity::find()
        .filter(department::Column::OrganizationId.eq(org))
        .filter(department::Column::Id.is_in(members::unique(ids)))
        .all(db)
        .await?;
    members::in_order(
        ids,
        rows,
        |d| d.id,
        |id| {
            Error::validation(
                "departmentIds",
                format!(
                    "department {id} does not exist in this organization; \
                     reload the department tree and pick again"
                ),
            )
        },
    )
}
