//! The department tree of an organization. Each department keeps `path`, the ids from the root
//! down to itself (`/3/17/`), so that sub-tree filters and cycle checks are one indexed prefix
//! match; moves rewrite the paths of the moved sub-tree in one statement.

use super::{audit::Change, members, rules};
use crate::{
    authz::OrgAccess,
    error::{Error, Result},
    push::outbox,
};
use chrono::Utc;
use entity::{department, department_member, enums::OutboxObject};
use sea_orm::{
    ActiveValue::Set,
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect,
    sea_query::{BinOper, Expr, ExprTrait, Func, LikeExpr},
};
use serde_json::json;
use std::collections::{HashMap, HashSet};

/// A department of the organization.
pub async fn get<C: ConnectionTrait>(db: &C, org: i64, id: i64) -> Result<department::Model> {
    department::Entity::find_by_id(id)
        .filter(department::Column::OrganizationId.eq(org))
        .one(db)
        .await?
        .ok_or(Error::NotFound("department"))
}

/// The children of a department (or the top-level departments), in display order.
pub async fn children<C: ConnectionTrait>(
    db: &C,
    org: i64,
    parent: Option<i64>,
) -> Result<Vec<department::Model>> {
    let query = department::Entity::find().filter(department::Column::OrganizationId.eq(org));
    let query = match parent {
        Some(id) => query.filter(department::Column::ParentId.eq(id)),
        None => query.filter(department::Column::ParentId.is_null()),
    };
    Ok(query
        .order_by_asc(department::Column::SortOrder)
        .order_by_asc(department::Column::Name)
        .order_by_asc(department::Column::Id)
        .all(db)
        .await?)
}

/// The children of each of several departments, in display order (one query).
pub async fn children_of<C: ConnectionTrait>(
    db: &C,
    org: i64,
    parents: &[i64],
) -> Result<HashMap<i64, Vec<department::Model>>> {
    let query = department::Entity::find()
        .filter(department::Column::OrganizationId.eq(org))
        .order_by_asc(department::Column::SortOrder)
        .order_by_asc(department::Column::Name)
        .order_by_asc(department::Column::Id);
    let by = |d: &department::Model| d.parent_id;
    Ok(crate::db::rows_by(db, query, department::Column::ParentId, parents, by).await?)
}

/// The ids along a path such as `/3/17/`.
pub fn path_ids(path: &str) -> Vec<i64> {
    path.split('/').filter_map(|p| p.parse().ok()).collect()
}

/// The departments of members: a `(member id, department)` pair for each membership, in one
/// statement. On PostgreSQL each membership's department is read by primary key in a lateral
/// subquery that `OFFSET 0` keeps whole: joined plainly, the generic plan a prepared statement
/// settles on hashes the organization's every department (1.3–1.5 ms against 0.34–0.39 ms for a
/// page of 50 at 5,000 departments, BENCHMARKS.md). On SQLite a `CROSS JOIN` starts from the links
/// and probes the key of each, with or without statistics.
pub async fn of_members<C: ConnectionTrait>(
    db: &C,
    org: i64,
    member_ids: impl IntoIterator<Item = i64>,
) -> Result<Vec<(i64, department::Model)>> {
    use sea_orm::FromQueryResult;
    let statement = of_members_statement(db.get_database_backend(), org, member_ids);
    db.query_all_raw(statement)
        .await?
        .iter()
        .map(|row| {
            let member_id = row.try_get::<i64>("", "member_id")?;
            Ok((member_id, department::Model::from_query_result(row, "")?))
        })
        .collect()
}

/// The statement of [`of_members`] for `backend`.
fn of_members_statement(
    backend: sea_orm::DbBackend,
    org: i64,
    member_ids: impl IntoIterator<Item = i64>,
) -> sea_orm::Statement {
    use department_member::Column as Link;
    use sea_orm::{
        Condition, DbBackend,
        sea_query::{Asterisk, JoinType, Query},
    };
    let its_department = Expr::col((department::Entity, department::Column::Id))
        .equals((department_member::Entity, Link::DepartmentId));
    let in_org = Expr::col((department::Entity, department::Column::OrganizationId)).eq(org);
    let mut query = Query::select();
    query
        .column((department_member::Entity, Link::MemberId))
        .from(department_member::Entity)
        .and_where(Expr::col((department_member::Entity, Link::OrganizationId)).eq(org))
        .and_where(Expr::col((department_member::Entity, Link::MemberId)).is_in(member_ids));
    if backend == DbBackend::Postgres {
        let by_key = Query::select()
            .column(Asterisk)
            .from(department::Entity)
            .and_where(its_department)
            .and_where(in_org)
            .offset(0)
            .to_owned();
        // An empty condition is written `ON TRUE`.
        let on = Condition::all();
        query
            .column(("d", Asterisk))
            .join_lateral(JoinType::InnerJoin, by_key, "d", on);
    } else {
        // SQLite takes a `CROSS JOIN` in the order written: without statistics (a database the
        // server has not analysed yet) it would walk the organization's departments and probe
        // each against the members' links. sea-query writes no `ON` for a cross join, so the key
        // goes in `WHERE`.
        query
            .column((department::Entity, Asterisk))
            .cross_join(department::Entity)
            .and_where(its_department)
            .and_where(in_org);
    }
    backend.build(&query)
}

/// Display paths (`/Sales/North`) for departments, loading the names of their ancestors in one
/// query (none when `departments` holds every department on their paths).
pub async fn display_paths<C: ConnectionTrait>(
    db: &C,
    org: i64,
    departments: &[department::Model],
) -> Result<HashMap<i64, String>> {
    let mut names: HashMap<i64, String> =
        departments.iter().map(|d| (d.id, d.name.clone())).collect();
    let missing: HashSet<i64> = departments
        .iter()
        .flat_map(|d| path_ids(&d.path))
        .filter(|id| !names.contains_key(id))
        .collect();
    names.extend(names_of(db, org, missing).await?);
    Ok(departments
        .iter()
        .map(|d| (d.id, display_path(&d.path, &names)))
        .collect())
}

/// Display paths (`/Sales/North`) for paths of ids (`/3/17/`), loading the names on them in one
/// query.
pub async fn display_paths_of<C: ConnectionTrait>(
    db: &C,
    org: i64,
    id_paths: &[String],
) -> Result<HashMap<String, String>> {
    let ids: HashSet<i64> = id_paths.iter().flat_map(|p| path_ids(p)).collect();
    let names = names_of(db, org, ids).await?;
    Ok(id_paths
        .iter()
        .map(|p| (p.clone(), display_path(p, &names)))
        .collect())
}

/// The names of departments by id (no statement for no ids).
async fn names_of<C: ConnectionTrait>(
    db: &C,
    org: i64,
    ids: HashSet<i64>,
) -> Result<HashMap<i64, String>> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    Ok(department::Entity::find()
        .select_only()
        .column(department::Column::Id)
        .column(department::Column::Name)
        .filter(department::Column::OrganizationId.eq(org))
        .filter(department::Column::Id.is_in(ids))
        .into_tuple::<(i64, String)>()
        .all(db)
        .await?
        .into_iter()
        .collect())
}

/// `/3/17/` as `/Sales/North`, by the names of the ids on it (`?` for one not known).
fn display_path(id_path: &str, names: &HashMap<i64, String>) -> String {
    path_ids(id_path)
        .iter()
        .map(|id| format!("/{}", names.get(id).map(String::as_str).unwrap_or("?")))
        .collect()
}

/// Every department of the organization with its display path (`/Sales/North`), computed from
/// the one query that loads them (spreadsheets name departments by these paths).
pub async fn all_with_display_paths<C: ConnectionTrait>(
    db: &C,
    org: i64,
) -> Result<Vec<(department::Model, String)>> {
    let all = department::Entity::find()
        .filter(department::Column::OrganizationId.eq(org))
        .all(db)
        .await?;
    let names: HashMap<i64, &str> = all.iter().map(|d| (d.id, d.name.as_str())).collect();
    let paths: Vec<String> = all
        .iter()
        .map(|d| {
            path_ids(&d.path)
                .iter()
                .map(|id| format!("/{}", names.get(id).copied().unwrap_or("?")))
                .collect()
        })
        .collect();
    Ok(all.into_iter().zip(paths).collect())
}

/// Finds a department by its display path (`/Sales/North`), as spreadsheets name them.
pub async fn find_by_path<C: ConnectionTrait>(
    db: &C,
    org: i64,
    display: &str,
) -> Result<Option<department::Model>> {
    let mut parent: Option<i64> = None;
    let mut found = None;
    for segment in display.split('/').map(str::trim).filter(|s| !s.is_empty()) {
        let next = children(db, org, parent)
            .await?
            .into_iter()
            .find(|d| d.name == segment);
        match next {
            Some(d) => {
                parent = Some(d.id);
                found = Some(d);
            }
            None => return Ok(None),
        }
    }
    Ok(found)
}

async fn check_sibling_name<C: ConnectionTrait>(
    db: &C,
    org: i64,
    parent: Option<i64>,
    name: &str,
    except: Option<i64>,
) -> Result<()> {
    if children(db, org, parent)
        .await?
        .iter()
        .any(|d| d.name == name && Some(d.id) != except)
    {
        return Err(Error::Conflict(format!(
            "a department named `{name}` already exists at this level; choose another name"
        )));
    }
    Ok(())
}

async fn record<C: ConnectionTrait>(
    db: &C,
    access: &OrgAccess,
    action: &'static str,
    id: i64,
    summary: serde_json::Value,
    cx: &Change,
) -> Result<entity::audit_event::Model> {
    cx.record(db, access, action, "department", id, summary)
        .await
}

/// Creates a department under a parent (or at the top).
///
/// **Permissions**: `org.members.manage`.
pub async fn create(
    db: &DatabaseConnection,
    access: &OrgAccess,
    name: &str,
    parent: Option<i64>,
    sort_order: Option<i32>,
    cx: &Change,
) -> Result<department::Model> {
    let org = access.org_id();
    let name = rules::department_name("name", name)?;
    let parent_path = match parent {
        Some(id) => Some(get(db, org, id).await?.path),
        None => None,
    };
    check_sibling_name(db, org, parent, &name, None).await?;
    let txn = crate::db::begin_write(db).await?;
    let created = department::Entity::insert(department::ActiveModel {
        organization_id: Set(org),
        parent_id: Set(parent),
        name: Set(name.clone()),
        path: Set(String::new()),
        sort_order: Set(sort_order.unwrap_or(0)),
        external_id: Set(None),
        source_connection_id: Set(None),
        leader_member_id: Set(None),
        name_changed: Set(false),
        to_be_deleted: Set(false),
        created_at: Set(Utc::now()),
        ..Default::default()
    })
    .exec_with_returning(&txn)
    .await?;
    let path = format!(
        "{}{}/",
        parent_path.unwrap_or_else(|| "/".into()),
        created.id
    );
    let created = department::Entity::update(department::ActiveModel {
        id: Set(created.id),
        path: Set(path),
        ..Default::default()
    })
    .exec(&txn)
    .await?;
    outbox::created(
        &txn,
        org,
        Some(access.actor()),
        OutboxObject::Department,
        created.id,
        json!({ "name": name }),
    )
    .await?;
    let event = record(
        &txn,
        access,
        "department.create",
        created.id,
        json!({ "name": name, "parentId": parent }),
        cx,
    )
    .await?;
    txn.commit().await?;
    cx.published([event]);
    Ok(created)
}

/// Refuses a structural change to a department that comes from a provider: its name, place and
/// members follow the provider, so the change belongs in the provider's admin console — unless
/// the connection pushes local changes to the provider.
async fn provider_owned<C: ConnectionTrait>(
    db: &C,
    dep: &department::Model,
    change: &str,
) -> Result<()> {
    if let Some(source) = dep.source_connection_id
        && !outbox::pushes(db, source).await?
    {
        return Err(Error::validation(
            "id",
            format!(
                "department `{}` is synced from a provider connection; {change} it in the provider's admin console (DingTalk, WeCom or Microsoft Entra), then sync again",
                dep.name
            ),
        ));
    }
    Ok(())
}

/// Changes a department's name, order or leader.
///
/// **Permissions**: `org.members.manage`.
pub async fn update(
    db: &DatabaseConnection,
    access: &OrgAccess,
    id: i64,
    name: Option<&str>,
    sort_order: Option<i32>,
    leader: Option<Option<i64>>,
    cx: &Change,
) -> Result<department::Model> {
    let org = access.org_id();
    let current = get(db, org, id).await?;
    if name.is_some() {
        provider_owned(db, &current, "rename").await?;
    }
    let mut row = department::ActiveModel {
        id: Set(id),
        ..Default::default()
    };
    let mut summary = serde_json::Map::new();
    if let Some(name) = name {
        let name = rules::department_name("name", name)?;
        check_sibling_name(db, org, current.parent_id, &name, Some(id)).await?;
        summary.insert("name".into(), json!({ "from": current.name, "to": name }));
        row.name = Set(name);
    }
    if let Some(order) = sort_order {
        row.sort_order = Set(order);
        summary.insert("sortOrder".into(), json!(order));
    }
    if let Some(leader) = leader {
        if let Some(leader) = leader {
            members::get(db, org, leader).await.map_err(|_| {
                Error::validation(
                    "leaderId",
                    "the leader must be a member of this organization",
                )
            })?;
        }
        row.leader_member_id = Set(leader);
        summary.insert("leaderId".into(), json!(leader));
    }
    let pushed = name.is_some() || sort_order.is_some();
    let txn = crate::db::begin_write(db).await?;
    let updated = department::Entity::update(row).exec(&txn).await?;
    if pushed {
        outbox::changed(
            &txn,
            org,
            Some(access.actor()),
            OutboxObject::Department,
            &[id],
        )
        .await?;
    }
    let event = record(
        &txn,
        access,
        "department.update",
        id,
        serde_json::Value::Object(summary),
        cx,
    )
    .await?;
    txn.commit().await?;
    cx.published([event]);
    Ok(updated)
}

/// Rewrites the paths of a sub-tree after its root moved from `old_prefix` to `new_prefix`.
async fn repath_in_txn<C: ConnectionTrait>(
    db: &C,
    org: i64,
    old_prefix: &str,
    new_prefix: &str,
) -> Result<()> {
    let old_len = i32::try_from(old_prefix.chars().count()).unwrap_or(0);
    department::Entity::update_many()
        .col_expr(
            department::Column::Path,
            Expr::val(new_prefix.to_string()).cast_as("text").binary(
                BinOper::Custom("||"),
                Func::cust("substr")
                    .arg(Expr::col(department::Column::Path))
                    .arg(old_len + 1),
            ),
        )
        .filter(department::Column::OrganizationId.eq(org))
        .filter(department::Column::Path.like(LikeExpr::new(format!("{old_prefix}%"))))
        .exec(db)
        .await?;
    Ok(())
}

/// Moves a department (with its sub-tree) under another parent or to the top; moving it into its
/// own sub-tree is refused.
///
/// **Permissions**: `org.members.manage`.
pub async fn move_to(
    db: &DatabaseConnection,
    access: &OrgAccess,
    id: i64,
    parent: Option<i64>,
    cx: &Change,
) -> Result<department::Model> {
    let org = access.org_id();
    let current = get(db, org, id).await?;
    provider_owned(db, &current, "move").await?;
    let new_parent_path = match parent {
        Some(pid) => {
            let p = get(db, org, pid).await?;
            if p.path.starts_with(&current.path) {
                return Err(Error::validation(
                    "parentId",
                    "a department cannot move under itself or one of its sub-departments",
                ));
            }
            p.path
        }
        None => "/".into(),
    };
    check_sibling_name(db, org, parent, &current.name, Some(id)).await?;
    let new_path = format!("{new_parent_path}{id}/");
    let txn = crate::db::begin_write(db).await?;
    department::Entity::update(department::ActiveModel {
        id: Set(id),
        parent_id: Set(parent),
        ..Default::default()
    })
    .exec(&txn)
    .await?;
    repath_in_txn(&txn, org, &current.path, &new_path).await?;
    outbox::changed(
        &txn,
        org,
        Some(access.actor()),
        OutboxObject::Department,
        &[id],
    )
    .await?;
    let event = record(
        &txn,
        access,
        "department.move",
        id,
        json!({ "fromParentId": current.parent_id, "toParentId": parent }),
        cx,
    )
    .await?;
    txn.commit().await?;
    cx.published([event]);
    get(db, org, id).await
}

/// Moves the members of `from` into `to`; returns them.
async fn move_members_in_txn<C: ConnectionTrait>(
    db: &C,
    org: i64,
    from: i64,
    to: i64,
) -> Result<Vec<i64>> {
    let ids: Vec<i64> = department_member::Entity::find()
        .select_only()
        .column(department_member::Column::MemberId)
        .filter(department_member::Column::DepartmentId.eq(from))
        .into_tuple()
        .all(db)
        .await?;
    add_members_in_txn(db, org, to, &ids).await?;
    department_member::Entity::delete_many()
        .filter(department_member::Column::DepartmentId.eq(from))
        .exec(db)
        .await?;
    Ok(ids)
}

async fn add_members_in_txn<C: ConnectionTrait>(
    db: &C,
    org: i64,
    department_id: i64,
    ids: &[i64],
) -> Result<()> {
    if ids.is_empty() {
        return Ok(());
    }
    department_member::Entity::insert_many(ids.iter().map(|&member_id| {
        department_member::ActiveModel {
            department_id: Set(department_id),
            member_id: Set(member_id),
            organization_id: Set(org),
        }
    }))
    .on_conflict(
        sea_orm::sea_query::OnConflict::columns([
            department_member::Column::DepartmentId,
            department_member::Column::MemberId,
        ])
        .do_nothing()
        .to_owned(),
    )
    .exec_without_returning(db)
    .await?;
    Ok(())
}

/// Moves the sub-departments of `from` under `to`; returns them.
async fn move_children_in_txn<C: ConnectionTrait>(
    db: &C,
    org: i64,
    from: &department::Model,
    to: &department::Model,
) -> Result<Vec<i64>> {
    let mut moved = Vec::new();
    for child in children(db, org, Some(from.id)).await? {
        moved.push(child.id);
        department::Entity::update(department::ActiveModel {
            id: Set(child.id),
            parent_id: Set(Some(to.id)),
            ..Default::default()
        })
        .exec(db)
        .await?;
        repath_in_txn(db, org, &child.path, &format!("{}{}/", to.path, child.id)).await?;
    }
    Ok(moved)
}

/// Records for DingTalk what a merge or a delete with transfer did: the members and
/// sub-departments that moved, then the department that went (in that order, so DingTalk's
/// department is empty when its delete arrives).
async fn push_dissolved<C: ConnectionTrait>(
    db: &C,
    access: &OrgAccess,
    gone: &department::Model,
    members: &[i64],
    children: &[i64],
) -> Result<()> {
    let (org, actor) = (access.org_id(), Some(access.actor()));
    outbox::changed(db, org, actor, OutboxObject::Member, members).await?;
    outbox::changed(db, org, actor, OutboxObject::Department, children).await?;
    outbox::department_deleted(db, org, actor, gone).await
}

/// Merges `source` into `target`: its members and sub-departments move to the target, and the
/// source disappears.
///
/// **Permissions**: `org.members.manage`.
pub async fn merge(
    db: &DatabaseConnection,
    access: &OrgAccess,
    source: i64,
    target: i64,
    cx: &Change,
) -> Result<department::Model> {
    let org = access.org_id();
    let src = get(db, org, source).await?;
    let dst = get(db, org, target).await?;
    provider_owned(db, &src, "merge").await?;
    provider_owned(db, &dst, "merge").await?;
    if dst.path.starts_with(&src.path) {
        return Err(Error::validation(
            "targetId",
            "a department cannot merge into itself or one of its sub-departments",
        ));
    }
    let txn = crate::db::begin_write(db).await?;
    let members = move_members_in_txn(&txn, org, src.id, dst.id).await?;
    let children = move_children_in_txn(&txn, org, &src, &dst).await?;
    push_dissolved(&txn, access, &src, &members, &children).await?;
    department::Entity::delete_by_id(src.id).exec(&txn).await?;
    let event = record(
        &txn,
        access,
        "department.merge",
        src.id,
        json!({ "name": src.name, "intoId": dst.id }),
        cx,
    )
    .await?;
    txn.commit().await?;
    cx.published([event]);
    Ok(dst)
}

/// Deletes a department. Refused while it has members or sub-departments, unless `transfer_to`
/// names where they go.
///
/// **Permissions**: `org.members.manage`.
pub async fn delete(
    db: &DatabaseConnection,
    access: &OrgAccess,
    id: i64,
    transfer_to: Option<i64>,
    cx: &Change,
) -> Result<()> {
    let org = access.org_id();
    let dep = get(db, org, id).await?;
    if !dep.to_be_deleted {
        provider_owned(db, &dep, "delete").await?;
    }
    let member_count = department_member::Entity::find()
        .filter(department_member::Column::DepartmentId.eq(id))
        .count(db)
        .await?;
    let child_count = department::Entity::find()
        .filter(department::Column::ParentId.eq(id))
        .count(db)
        .await?;
    let target = match transfer_to {
        Some(t) => {
            let t = get(db, org, t).await?;
            if t.path.starts_with(&dep.path) {
                return Err(Error::validation(
                    "transferTo",
                    "members cannot move into the department being deleted or its sub-departments",
                ));
            }
            Some(t)
        }
        None if member_count > 0 || child_count > 0 => {
            return Err(Error::Conflict(format!(
                "`{}` still has {member_count} members and {child_count} sub-departments; pass `transferTo` to move them, or empty it first",
                dep.name
            )));
        }
        None => None,
    };
    let txn = crate::db::begin_write(db).await?;
    let (mut members, mut children) = (Vec::new(), Vec::new());
    if let Some(t) = &target {
        members = move_members_in_txn(&txn, org, dep.id, t.id).await?;
        children = move_children_in_txn(&txn, org, &dep, t).await?;
    }
    push_dissolved(&txn, access, &dep, &members, &children).await?;
    department::Entity::delete_by_id(dep.id).exec(&txn).await?;
    let event = record(
        &txn,
        access,
        "department.delete",
        dep.id,
        json!({ "name": dep.name, "transferTo": transfer_to }),
        cx,
    )
    .await?;
    txn.commit().await?;
    cx.published([event]);
    Ok(())
}

/// Adds members to a department.
///
/// **Permissions**: `org.members.manage`.
pub async fn add_members(
    db: &DatabaseConnection,
    access: &OrgAccess,
    id: i64,
    member_ids: &[i64],
    cx: &Change,
) -> Result<department::Model> {
    let org = access.org_id();
    let dep = get(db, org, id).await?;
    provider_owned(db, &dep, "add people to").await?;
    let ids: Vec<i64> = members::in_organization(db, org, member_ids)
        .await?
        .into_iter()
        .map(|m| m.id)
        .collect();
    let txn = crate::db::begin_write(db).await?;
    add_members_in_txn(&txn, org, dep.id, &ids).await?;
    outbox::changed(&txn, org, Some(access.actor()), OutboxObject::Member, &ids).await?;
    let event = record(
        &txn,
        access,
        "department.add_members",
        dep.id,
        json!({ "memberIds": ids }),
        cx,
    )
    .await?;
    txn.commit().await?;
    cx.published([event]);
    Ok(dep)
}

/// Removes members from a department.
///
/// **Permissions**: `org.members.manage`.
pub async fn remove_members(
    db: &DatabaseConnection,
    access: &OrgAccess,
    id: i64,
    member_ids: &[i64],
    cx: &Change,
) -> Result<department::Model> {
    let dep = get(db, access.org_id(), id).await?;
    provider_owned(db, &dep, "remove people from").await?;
    let txn = crate::db::begin_write(db).await?;
    department_member::Entity::delete_many()
        .filter(department_member::Column::DepartmentId.eq(dep.id))
        .filter(department_member::Column::MemberId.is_in(member_ids.iter().copied()))
        .exec(&txn)
        .await?;
    outbox::changed(
        &txn,
        access.org_id(),
        Some(access.actor()),
        OutboxObject::Member,
        member_ids,
    )
    .await?;
    let event = record(
        &txn,
        access,
        "department.remove_members",
        dep.id,
        json!({ "memberIds": member_ids }),
        cx,
    )
    .await?;
    txn.commit().await?;
    cx.published([event]);
    Ok(dep)
}

/// The number of direct members of each of several departments (one query over the primary
/// key, which starts with the department). The ids are of departments already read within the
/// caller's organization.
pub async fn member_counts<C: ConnectionTrait>(db: &C, ids: &[i64]) -> Result<HashMap<i64, u64>> {
    Ok(crate::db::counts_by(
        db,
        department_member::Entity::find(),
        department_member::Column::DepartmentId,
        ids,
    )
    .await?)
}

/// Departments whose name contains the keyword (case-insensitive), at most `limit`.
pub async fn search<C: ConnectionTrait>(
    db: &C,
    org: i64,
    keyword: &str,
    limit: u64,
) -> Result<Vec<department::Model>> {
    let pattern = super::rules::like_pattern(keyword);
    Ok(department::Entity::find()
        .filter(department::Column::OrganizationId.eq(org))
        .filter(
            Expr::expr(Func::lower(Expr::col(department::Column::Name)))
                .like(LikeExpr::new(pattern).escape('\\')),
        )
        .order_by_asc(department::Column::Path)
        .limit(limit)
        .all(db)
        .await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_ids_parse() {
        assert_eq!(path_ids("/3/17/"), vec![3, 17]);
        assert!(path_ids("/").is_empty());
    }

    #[test]
    fn display_paths_name_every_id_on_the_path() {
        let names = HashMap::from([(3, "Sales".to_string()), (17, "North".to_string())]);
        assert_eq!(display_path("/3/17/", &names), "/Sales/North");
        assert_eq!(display_path("/3/", &names), "/Sales");
        assert_eq!(
            display_path("/3/99/", &names),
            "/Sales/?",
            "a name not found shows as ?"
        );
        assert_eq!(display_path("/", &names), "");
    }

    /// A database the server has not analysed yet (no statistics): a plain join would start from
    /// the organization's departments and probe the links of each.
    #[tokio::test]
    async fn sqlite_reads_members_departments_from_their_links_first() {
        let dir = tempfile::tempdir().expect("a temporary folder");
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("plan.db").display());
        let db = sea_orm::Database::connect(url).await.expect("open");
        crate::db::migrate(&db).await.expect("migrated");
        let mut statement = of_members_statement(sea_orm::DbBackend::Sqlite, 1, [1, 2, 3]);
        statement.sql = format!("EXPLAIN QUERY PLAN {}", statement.sql);
        let plan: Vec<String> = db
            .query_all_raw(statement)
            .await
            .expect("a plan")
            .iter()
            .map(|row| row.try_get::<String>("", "detail").expect("detail"))
            .collect();
        let first = plan.first().map(String::as_str).unwrap_or_default();
        assert!(first.contains("department_member"), "{plan:?}");
        assert!(
            plan.iter().any(|step| step.contains("INTEGER PRIMARY KEY")),
            "{plan:?}"
        );
    }
}
