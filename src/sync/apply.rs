//! Applies a fresh read to the mirror and to the organization structure, inside the caller's
//! transaction: mirror rows added, updated (renames flagged `name_changed`) or flagged
//! `to_be_deleted`; provider departments created, renamed, moved or flagged in the department
//! tree; members linked to a contact kept in step (name, contact details, departments, roles);
//! DingTalk role groups and roles mirrored as role groups and directory roles. Nothing is written
//! for an entry that did not change.

use super::diff::{Comparison, Diff, Mirrored, diff};
use crate::{
    error::Result,
    providers::directory::{Contact, Department, RoleGroup, Snapshot, parents_first},
};
use chrono::{DateTime, Utc};
use entity::{
    connection, department, department_member, directory_contact, directory_department,
    directory_role, directory_role_member, enums::MemberStatus, identity, member, role_group,
};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, sea_query::Expr,
};
use std::collections::{HashMap, HashSet};

/// Rows per multi-row insert (keeps every statement under 10,000 parameters).
const ROWS_PER_INSERT: usize = 500;
/// Ids per `IN (…)` list.
const IDS_PER_STATEMENT: usize = 5_000;
/// Mirror rows read per statement when comparing a whole read with the mirror.
const MIRROR_PAGE: u64 = 10_000;

/// What an apply changed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Counts {
    /// Entries added (mirror entries, departments, role groups, roles, members).
    pub added: i32,
    /// Entries changed.
    pub updated: i32,
    /// Entries flagged `name_changed` or `to_be_deleted`.
    pub flagged: i32,
    /// Entries removed (memberships and role holdings the provider dropped; entries deleted by
    /// an administrator's clean-up).
    pub removed: i32,
}

impl Counts {
    /// Adds another count to this one.
    pub fn add(&mut self, other: Counts) {
        self.added += other.added;
        self.updated += other.updated;
        self.flagged += other.flagged;
        self.removed += other.removed;
    }
}

fn n(len: usize) -> i32 {
    i32::try_from(len).unwrap_or(i32::MAX)
}

/// Applies a full read of a connection (everything the connection sees).
pub async fn full_in_txn<C: ConnectionTrait>(
    db: &C,
    conn: &connection::Model,
    snapshot: Snapshot,
    now: DateTime<Utc>,
) -> Result<Counts> {
    let mut counts = Counts::default();
    let departments = parents_first(snapshot.departments);
    counts.add(mirror_departments(db, conn, &departments, now).await?);
    let dept_ids = structure_departments(db, conn, &departments).await?;
    counts.flagged += flag_unseen_departments(db, conn, &dept_ids).await?;
    counts.add(mirror_contacts(db, conn, &snapshot.contacts, now).await?);
    let linked = linked_members(db, conn, None).await?;
    counts.add(
        follow_contacts(
            db,
            conn,
            &linked,
            &index(&snapshot.contacts),
            &dept_ids,
            true,
        )
        .await?,
    );
    // A full read holds every role the connection sees (none for Microsoft, none for WeCom with
    // tags off): what it no longer holds is removed.
    counts.add(role_groups(db, conn, &snapshot.role_groups, &linked).await?);
    counts.updated += leaders_in_txn(db, conn, &departments).await?;
    Ok(counts)
}

/// Applies some contacts read again after an event, and the ids the provider says are gone.
pub async fn contacts_in_txn<C: ConnectionTrait>(
    db: &C,
    conn: &connection::Model,
    changed: Vec<Contact>,
    gone: &[String],
    now: DateTime<Utc>,
) -> Result<Counts> {
    let mut counts = Counts::default();
    counts.add(mirror_contacts_partial(db, conn, &changed, gone, Origin::Provider, now).await?);
    let dept_ids = synced_department_ids(db, conn).await?;
    let named: HashSet<String> = changed
        .iter()
        .map(|c| c.external_id.clone())
        .chain(gone.iter().cloned())
        .collect();
    let linked = linked_members(db, conn, Some(&named)).await?;
    counts.add(follow_contacts(db, conn, &linked, &index(&changed), &dept_ids, false).await?);
    let gone_members: Vec<i64> = linked
        .iter()
        .filter(|(ext, m)| gone.contains(ext) && !m.to_be_deleted)
        .map(|(_, m)| m.id)
        .collect();
    counts.flagged += flag_rows::<C, member::Entity>(
        db,
        member::Column::Id,
        member::Column::ToBeDeleted,
        &gone_members,
    )
    .await?;
    Ok(counts)
}

/// Applies departments read again after an event (the whole list the connection now sees is
/// not known, so only these change) and the ids the provider says are gone.
pub async fn departments_in_txn<C: ConnectionTrait>(
    db: &C,
    conn: &connection::Model,
    changed: Vec<Department>,
    gone: &[String],
    now: DateTime<Utc>,
) -> Result<Counts> {
    let mut counts =
        mirror_departments_partial(db, conn, &changed, gone, Origin::Provider, now).await?;
    // The structure follows the whole mirror, as after a full read.
    let seen = mirrored_departments(db, conn).await?;
    let seen = parents_first(seen);
    let ids = structure_departments(db, conn, &seen).await?;
    counts.flagged += flag_unseen_departments(db, conn, &ids).await?;
    counts.updated += leaders_in_txn(db, conn, &seen).await?;
    Ok(counts)
}

/// Records in the mirror only (the department tree and members are left as they are) what the
/// provider now says of some departments and contacts: after Roster pushed them, so that the
/// provider's echo of its own push finds nothing new.
pub async fn mirror_only_in_txn<C: ConnectionTrait>(
    db: &C,
    conn: &connection::Model,
    departments: &[Department],
    contacts: &[Contact],
    now: DateTime<Utc>,
) -> Result<()> {
    if !departments.is_empty() {
        mirror_departments_partial(db, conn, departments, &[], Origin::Push, now).await?;
    }
    if !contacts.is_empty() {
        mirror_contacts_partial(db, conn, contacts, &[], Origin::Push, now).await?;
    }
    Ok(())
}

/// Who changed the entries a partial mirror write records.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Origin {
    /// The provider (an event): renames are flagged `name_changed`.
    Provider,
    /// Roster's own push: a rename made here is not flagged.
    Push,
}

/// Writes to the mirror the difference for these departments and the ids said to be gone.
async fn mirror_departments_partial<C: ConnectionTrait>(
    db: &C,
    conn: &connection::Model,
    changed: &[Department],
    gone: &[String],
    origin: Origin,
    now: DateTime<Utc>,
) -> Result<Counts> {
    let mirror = mirror_rows_departments(db, conn).await?;
    let changed_ids: HashSet<String> = changed.iter().map(|d| d.external_id.clone()).collect();
    let relevant: Vec<Mirrored> = mirror
        .into_iter()
        .filter(|m| changed_ids.contains(&m.external_id) || gone.contains(&m.external_id))
        .collect();
    let mut d = diff(&relevant, changed);
    d.gone.retain(|id| {
        relevant
            .iter()
            .any(|m| m.id == *id && gone.contains(&m.external_id))
    });
    if origin == Origin::Push {
        d.updated.iter_mut().for_each(|u| u.renamed = false);
    }
    write_department_diff(db, conn, d, now).await
}

async fn mirror_rows_departments<C: ConnectionTrait>(
    db: &C,
    conn: &connection::Model,
) -> Result<Vec<Mirrored>> {
    Ok(directory_department::Entity::find()
        .filter(directory_department::Column::ConnectionId.eq(conn.id))
        .all(db)
        .await?
        .into_iter()
        .map(|d| Mirrored {
            id: d.id,
            external_id: d.external_id,
            name: d.name,
            content_hash: d.content_hash,
            to_be_deleted: d.to_be_deleted,
        })
        .collect())
}

/// The departments the mirror holds and has not flagged gone, as the provider last showed them.
pub async fn mirrored_departments<C: ConnectionTrait>(
    db: &C,
    conn: &connection::Model,
) -> Result<Vec<Department>> {
    Ok(directory_department::Entity::find()
        .filter(directory_department::Column::ConnectionId.eq(conn.id))
        .filter(directory_department::Column::ToBeDeleted.eq(false))
        .all(db)
        .await?
        .into_iter()
        .map(|d| Department {
            leaders: leaders_of(d.leaders.as_ref()),
            external_id: d.external_id,
            parent_external_id: d.parent_external_id,
            name: d.name,
            sort_order: d.sort_order,
        })
        .collect())
}

/// These contacts as the mirror holds them (those it does not hold are left out).
pub async fn mirrored_contacts<C: ConnectionTrait>(
    db: &C,
    conn: &connection::Model,
    only: &HashSet<String>,
) -> Result<Vec<Contact>> {
    let mut rows = directory_contact::Entity::find()
        .filter(directory_contact::Column::ConnectionId.eq(conn.id));
    if only.len() <= IDS_PER_STATEMENT {
        rows = rows.filter(directory_contact::Column::ExternalId.is_in(only.iter().cloned()));
    }
    Ok(rows
        .all(db)
        .await?
        .into_iter()
        .filter(|c| only.contains(&c.external_id))
        .map(|c| Contact {
            department_external_ids: serde_json::from_value(c.department_external_ids)
                .unwrap_or_default(),
            external_id: c.external_id,
            union_id: c.union_id,
            name: c.name,
            email: c.email,
            phone: c.phone,
            title: c.title,
            active: c.active,
        })
        .collect())
}

/// Provider ids of the departments the mirror holds and has not flagged gone.
pub async fn mirrored_department_ids<C: ConnectionTrait>(
    db: &C,
    conn: &connection::Model,
) -> Result<HashSet<String>> {
    let ids: Vec<String> = directory_department::Entity::find()
        .select_only()
        .column(directory_department::Column::ExternalId)
        .filter(directory_department::Column::ConnectionId.eq(conn.id))
        .filter(directory_department::Column::ToBeDeleted.eq(false))
        .into_tuple()
        .all(db)
        .await?;
    Ok(ids.into_iter().collect())
}

async fn mirror_departments<C: ConnectionTrait>(
    db: &C,
    conn: &connection::Model,
    read: &[Department],
    now: DateTime<Utc>,
) -> Result<Counts> {
    let mirror = mirror_rows_departments(db, conn).await?;
    write_department_diff(db, conn, diff(&mirror, read), now).await
}

async fn write_department_diff<C: ConnectionTrait>(
    db: &C,
    conn: &connection::Model,
    d: Diff<&Department>,
    now: DateTime<Utc>,
) -> Result<Counts> {
    let mut counts = Counts {
        added: n(d.added.len()),
        ..Default::default()
    };
    for chunk in d.added.chunks(ROWS_PER_INSERT) {
        directory_department::Entity::insert_many(chunk.iter().map(|(dep, hash)| {
            directory_department::ActiveModel {
                organization_id: Set(conn.organization_id),
                connection_id: Set(conn.id),
                external_id: Set(dep.external_id.clone()),
                parent_external_id: Set(dep.parent_external_id.clone()),
                name: Set(dep.name.clone()),
                sort_order: Set(dep.sort_order),
                leaders: Set(leaders_json(&dep.leaders)),
                content_hash: Set(hash.clone()),
                name_changed: Set(false),
                to_be_deleted: Set(false),
                synced_at: Set(now),
                ..Default::default()
            }
        }))
        .exec_without_returning(db)
        .await?;
    }
    for u in d.updated {
        let mut row = directory_department::ActiveModel {
            id: Set(u.id),
            parent_external_id: Set(u.entry.parent_external_id.clone()),
            name: Set(u.entry.name.clone()),
            sort_order: Set(u.entry.sort_order),
            leaders: Set(leaders_json(&u.entry.leaders)),
            content_hash: Set(u.content_hash),
            to_be_deleted: Set(false),
            synced_at: Set(now),
            ..Default::default()
        };
        if u.renamed {
            row.name_changed = Set(true);
            counts.flagged += 1;
        } else {
            counts.updated += 1;
        }
        directory_department::Entity::update(row).exec(db).await?;
    }
    counts.flagged += flag_rows::<C, directory_department::Entity>(
        db,
        directory_department::Column::Id,
        directory_department::Column::ToBeDeleted,
        &d.gone,
    )
    .await?;
    Ok(counts)
}

/// The mirror's form of a department's leaders: `None` for none.
fn leaders_json(leaders: &[String]) -> Option<serde_json::Value> {
    (!leaders.is_empty()).then(|| serde_json::json!(leaders))
}

/// A department's leaders as the mirror holds them.
fn leaders_of(value: Option<&serde_json::Value>) -> Vec<String> {
    value
        .and_then(|v| serde_json::from_value(v.clone()).ok())
        .unwrap_or_default()
}

/// Sets the leader of each of the connection's departments to the member linked to the first
/// leader the provider names (none when no named leader is a member here); returns how many
/// departments changed. `seen` is every department the connection sees now (the mirror's
/// departments not flagged gone), with its leaders. The provider is the record of its
/// departments' leaders.
async fn leaders_in_txn<C: ConnectionTrait>(
    db: &C,
    conn: &connection::Model,
    seen: &[Department],
) -> Result<i32> {
    let named: HashMap<&str, &[String]> = seen
        .iter()
        .map(|d| (d.external_id.as_str(), d.leaders.as_slice()))
        .collect();
    let userids: HashSet<String> = named.values().copied().flatten().cloned().collect();
    let linked = if userids.is_empty() {
        HashMap::new()
    } else {
        linked_members(db, conn, Some(&userids)).await?
    };
    let departments: Vec<(i64, Option<String>, Option<i64>)> = department::Entity::find()
        .select_only()
        .columns([
            department::Column::Id,
            department::Column::ExternalId,
            department::Column::LeaderMemberId,
        ])
        .filter(department::Column::OrganizationId.eq(conn.organization_id))
        .filter(department::Column::SourceConnectionId.eq(conn.id))
        .into_tuple()
        .all(db)
        .await?;
    let mut changed = 0;
    for (id, ext, current) in departments {
        let Some(leaders) = ext.and_then(|e| named.get(e.as_str()).copied()) else {
            continue;
        };
        let wanted = leaders
            .iter()
            .filter_map(|u| linked.get(u))
            .find(|m| m.status != MemberStatus::Resigned)
            .map(|m| m.id);
        if wanted != current {
            department::Entity::update_many()
                .col_expr(department::Column::LeaderMemberId, Expr::value(wanted))
                .filter(department::Column::Id.eq(id))
                .exec(db)
                .await?;
            changed += 1;
        }
    }
    Ok(changed)
}

/// Sets a boolean flag column on rows by id, a list at a time; returns how many.
async fn flag_rows<C: ConnectionTrait, E: EntityTrait>(
    db: &C,
    id: E::Column,
    flag: E::Column,
    ids: &[i64],
) -> Result<i32> {
    for chunk in ids.chunks(IDS_PER_STATEMENT) {
        E::update_many()
            .col_expr(flag, Expr::value(true))
            .filter(id.is_in(chunk.iter().copied()))
            .exec(db)
            .await?;
    }
    Ok(n(ids.len()))
}

/// Mirror rows of the connection's contacts (or of these of them), handed to `on_page` a page
/// at a time along the (connection, provider id) index: the driver and the caller hold one
/// page's rows, not the whole mirror of a large organization next to the read being compared.
async fn mirror_rows_contacts<C: ConnectionTrait>(
    db: &C,
    conn: &connection::Model,
    only: Option<&HashSet<String>>,
    mut on_page: impl FnMut(Vec<Mirrored>),
) -> Result<()> {
    let mut query = directory_contact::Entity::find()
        .select_only()
        .columns([
            directory_contact::Column::Id,
            directory_contact::Column::ExternalId,
            directory_contact::Column::Name,
            directory_contact::Column::ContentHash,
            directory_contact::Column::ToBeDeleted,
        ])
        .filter(directory_contact::Column::ConnectionId.eq(conn.id));
    if let Some(ids) = only {
        query = query.filter(directory_contact::Column::ExternalId.is_in(ids.iter().cloned()));
    }
    let mut after: Option<String> = None;
    loop {
        let mut page = query.clone();
        if let Some(last) = &after {
            page = page.filter(directory_contact::Column::ExternalId.gt(last.as_str()));
        }
        let rows: Vec<(i64, String, String, String, bool)> = page
            .order_by_asc(directory_contact::Column::ExternalId)
            .limit(MIRROR_PAGE)
            .into_tuple()
            .all(db)
            .await?;
        let full = rows.len() as u64 == MIRROR_PAGE;
        after = rows.last().map(|r| r.1.clone());
        on_page(
            rows.into_iter()
                .map(
                    |(id, external_id, name, content_hash, to_be_deleted)| Mirrored {
                        id,
                        external_id,
                        name,
                        content_hash,
                        to_be_deleted,
                    },
                )
                .collect(),
        );
        if !full {
            return Ok(());
        }
    }
}

/// Compares a whole read with the mirror a page at a time and writes the difference.
async fn mirror_contacts<C: ConnectionTrait>(
    db: &C,
    conn: &connection::Model,
    read: &[Contact],
    now: DateTime<Utc>,
) -> Result<Counts> {
    let mut comparison = Comparison::new(read);
    mirror_rows_contacts(db, conn, None, |page| comparison.page(&page)).await?;
    write_contact_diff(db, conn, comparison.finish(), now).await
}

async fn mirror_contacts_partial<C: ConnectionTrait>(
    db: &C,
    conn: &connection::Model,
    read: &[Contact],
    gone: &[String],
    origin: Origin,
    now: DateTime<Utc>,
) -> Result<Counts> {
    let ids: HashSet<String> = read
        .iter()
        .map(|c| c.external_id.clone())
        .chain(gone.iter().cloned())
        .collect();
    let mut mirror = Vec::new();
    mirror_rows_contacts(db, conn, Some(&ids), |page| mirror.extend(page)).await?;
    let mut d = diff(&mirror, read);
    d.gone.retain(|id| {
        mirror
            .iter()
            .any(|m| m.id == *id && gone.contains(&m.external_id))
    });
    if origin == Origin::Push {
        d.updated.iter_mut().for_each(|u| u.renamed = false);
    }
    write_contact_diff(db, conn, d, now).await
}

fn contact_row(
    conn: &connection::Model,
    c: &Contact,
    hash: &str,
    now: DateTime<Utc>,
) -> directory_contact::ActiveModel {
    directory_contact::ActiveModel {
        organization_id: Set(conn.organization_id),
        connection_id: Set(conn.id),
        external_id: Set(c.external_id.clone()),
        union_id: Set(c.union_id.clone()),
        name: Set(c.name.clone()),
        email: Set(c.email.clone()),
        phone: Set(c.phone.clone()),
        title: Set(c.title.clone()),
        department_external_ids: Set(serde_json::json!(c.department_external_ids)),
        active: Set(c.active),
        content_hash: Set(hash.to_string()),
        name_changed: Set(false),
        to_be_deleted: Set(false),
        synced_at: Set(now),
        ..Default::default()
    }
}

async fn write_contact_diff<C: ConnectionTrait>(
    db: &C,
    conn: &connection::Model,
    d: Diff<&Contact>,
    now: DateTime<Utc>,
) -> Result<Counts> {
    let mut counts = Counts {
        added: n(d.added.len()),
        ..Default::default()
    };
    for chunk in d.added.chunks(ROWS_PER_INSERT) {
        directory_contact::Entity::insert_many(
            chunk
                .iter()
                .map(|(c, hash)| contact_row(conn, c, hash, now)),
        )
        .exec_without_returning(db)
        .await?;
    }
    for u in d.updated {
        let mut row = contact_row(conn, u.entry, &u.content_hash, now);
        row.id = Set(u.id);
        row.organization_id = sea_orm::ActiveValue::NotSet;
        row.connection_id = sea_orm::ActiveValue::NotSet;
        row.external_id = sea_orm::ActiveValue::NotSet;
        if u.renamed {
            row.name_changed = Set(true);
            counts.flagged += 1;
        } else {
            row.name_changed = sea_orm::ActiveValue::NotSet;
            counts.updated += 1;
        }
        directory_contact::Entity::update(row).exec(db).await?;
    }
    counts.flagged += flag_rows::<C, directory_contact::Entity>(
        db,
        directory_contact::Column::Id,
        directory_contact::Column::ToBeDeleted,
        &d.gone,
    )
    .await?;
    Ok(counts)
}

/// Department ids of the connection's departments by provider id.
pub async fn synced_department_ids<C: ConnectionTrait>(
    db: &C,
    conn: &connection::Model,
) -> Result<HashMap<String, i64>> {
    let rows: Vec<(i64, Option<String>)> = department::Entity::find()
        .select_only()
        .columns([department::Column::Id, department::Column::ExternalId])
        .filter(department::Column::OrganizationId.eq(conn.organization_id))
        .filter(department::Column::SourceConnectionId.eq(conn.id))
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .filter_map(|(id, ext)| Some((ext?, id)))
        .collect())
}

/// Keeps the organization's department tree in step with the provider's departments (given
/// parents first); departments the connection no longer sees are flagged, not deleted. Returns
/// department ids by provider id.
///
/// New departments are written in batches (one level of the tree at a time when the read is
/// breadth-first): a multi-row INSERT, their ids read back by provider id, and their paths set
/// in one UPDATE, instead of two statements per department.
async fn structure_departments<C: ConnectionTrait>(
    db: &C,
    conn: &connection::Model,
    read: &[Department],
) -> Result<HashMap<String, i64>> {
    let existing: Vec<department::Model> = department::Entity::find()
        .filter(department::Column::OrganizationId.eq(conn.organization_id))
        .filter(department::Column::SourceConnectionId.eq(conn.id))
        .all(db)
        .await?;
    let by_ext: HashMap<String, &department::Model> = existing
        .iter()
        .filter_map(|d| Some((d.external_id.clone()?, d)))
        .collect();
    let mut tree = Tree::default();
    let mut pending: Vec<&Department> = Vec::new();
    let now = Utc::now();
    for d in read {
        // A department under one not written yet needs its parent's id first.
        if d.parent_external_id
            .as_ref()
            .is_some_and(|p| pending.iter().any(|n| &n.external_id == p))
        {
            add_departments(db, conn, &std::mem::take(&mut pending), &mut tree, now).await?;
        }
        let Some(row) = by_ext.get(&d.external_id) else {
            pending.push(d);
            if pending.len() == ROWS_PER_INSERT {
                add_departments(db, conn, &std::mem::take(&mut pending), &mut tree, now).await?;
            }
            continue;
        };
        let (parent, path) = tree.place(d, row.id);
        let order = sort_order(d);
        let renamed = row.name != d.name;
        let changed = renamed
            || row.parent_id != parent
            || row.path != path
            || row.sort_order != order
            || row.to_be_deleted;
        if changed {
            department::Entity::update(department::ActiveModel {
                id: Set(row.id),
                parent_id: Set(parent),
                name: Set(d.name.clone()),
                path: Set(path.clone()),
                sort_order: Set(order),
                name_changed: Set(row.name_changed || renamed),
                to_be_deleted: Set(false),
                ..Default::default()
            })
            .exec(db)
            .await?;
        }
        tree.insert(&d.external_id, row.id, path);
    }
    add_departments(db, conn, &pending, &mut tree, now).await?;
    Ok(tree.ids)
}

/// Department ids and paths by provider id, as the tree is written.
#[derive(Default)]
struct Tree {
    ids: HashMap<String, i64>,
    paths: HashMap<i64, String>,
}

/// A department's position among its siblings as stored.
fn sort_order(d: &Department) -> i32 {
    i32::try_from(d.sort_order).unwrap_or(i32::MAX)
}

impl Tree {
    /// The id of a department's parent, once written (`None` for a top department).
    fn parent(&self, d: &Department) -> Option<i64> {
        d.parent_external_id
            .as_ref()
            .and_then(|p| self.ids.get(p).copied())
    }

    /// The parent id and the path of a department with this id.
    fn place(&self, d: &Department, id: i64) -> (Option<i64>, String) {
        let parent = self.parent(d);
        let parent_path = parent
            .and_then(|p| self.paths.get(&p).map(String::as_str))
            .unwrap_or("/");
        (parent, format!("{parent_path}{id}/"))
    }

    fn insert(&mut self, external_id: &str, id: i64, path: String) {
        self.ids.insert(external_id.to_string(), id);
        self.paths.insert(id, path);
    }
}

/// Writes new departments whose parents are written: one INSERT, their ids read back, their
/// paths set by one UPDATE.
async fn add_departments<C: ConnectionTrait>(
    db: &C,
    conn: &connection::Model,
    new: &[&Department],
    tree: &mut Tree,
    now: DateTime<Utc>,
) -> Result<()> {
    if new.is_empty() {
        return Ok(());
    }
    department::Entity::insert_many(new.iter().map(|d| department::ActiveModel {
        organization_id: Set(conn.organization_id),
        parent_id: Set(tree.parent(d)),
        name: Set(d.name.clone()),
        path: Set(String::new()),
        sort_order: Set(sort_order(d)),
        external_id: Set(Some(d.external_id.clone())),
        source_connection_id: Set(Some(conn.id)),
        leader_member_id: Set(None),
        name_changed: Set(false),
        to_be_deleted: Set(false),
        created_at: Set(now),
        ..Default::default()
    }))
    .exec_without_returning(db)
    .await?;
    let written: HashMap<String, i64> = department::Entity::find()
        .select_only()
        .columns([department::Column::ExternalId, department::Column::Id])
        .filter(department::Column::SourceConnectionId.eq(conn.id))
        .filter(department::Column::ExternalId.is_in(new.iter().map(|d| d.external_id.as_str())))
        .into_tuple::<(String, i64)>()
        .all(db)
        .await?
        .into_iter()
        .collect();
    let mut paths = Vec::with_capacity(new.len());
    for d in new {
        let id = *written.get(&d.external_id).ok_or_else(|| {
            crate::error::Error::internal(format!(
                "department {} was written but could not be read back",
                d.external_id
            ))
        })?;
        let (_, path) = tree.place(d, id);
        paths.push((id, path.clone()));
        tree.insert(&d.external_id, id, path);
    }
    let mut case = sea_orm::sea_query::CaseStatement::new();
    for (id, path) in &paths {
        case = case.case(department::Column::Id.eq(*id), path.as_str());
    }
    department::Entity::update_many()
        .col_expr(department::Column::Path, case.into())
        .filter(department::Column::Id.is_in(paths.iter().map(|(id, _)| *id)))
        .exec(db)
        .await?;
    Ok(())
}

/// Flags the connection's departments that are not in `seen` (a full read).
async fn flag_unseen_departments<C: ConnectionTrait>(
    db: &C,
    conn: &connection::Model,
    seen: &HashMap<String, i64>,
) -> Result<i32> {
    let gone: Vec<i64> = department::Entity::find()
        .filter(department::Column::OrganizationId.eq(conn.organization_id))
        .filter(department::Column::SourceConnectionId.eq(conn.id))
        .filter(department::Column::ToBeDeleted.eq(false))
        .all(db)
        .await?
        .into_iter()
        .filter(|d| {
            d.external_id
                .as_ref()
                .is_none_or(|ext| !seen.contains_key(ext))
        })
        .map(|d| d.id)
        .collect();
    flag_rows::<C, department::Entity>(
        db,
        department::Column::Id,
        department::Column::ToBeDeleted,
        &gone,
    )
    .await
}

/// Contacts by provider id.
fn index(contacts: &[Contact]) -> HashMap<&str, &Contact> {
    contacts
        .iter()
        .map(|c| (c.external_id.as_str(), c))
        .collect()
}

/// Members linked to the connection's contacts (or to these of them), by provider user id.
pub async fn linked_members<C: ConnectionTrait>(
    db: &C,
    conn: &connection::Model,
    only: Option<&HashSet<String>>,
) -> Result<HashMap<String, member::Model>> {
    let mut identities = identity::Entity::find()
        .select_only()
        .columns([identity::Column::UserId, identity::Column::ProviderUserId])
        .filter(identity::Column::Provider.eq(conn.provider))
        .filter(identity::Column::Tenant.eq(conn.corp_id.as_str()));
    // A short list narrows the query; a long one (an automatic admission of thousands) is
    // filtered here instead, under the statement's parameter limit.
    let listed = only.filter(|ids| ids.len() <= IDS_PER_STATEMENT);
    if let Some(ids) = listed {
        identities = identities.filter(identity::Column::ProviderUserId.is_in(ids.iter().cloned()));
    }
    let by_user: HashMap<i64, String> = identities
        .into_tuple::<(i64, String)>()
        .all(db)
        .await?
        .into_iter()
        .filter(|(_, ext)| only.is_none_or(|ids| ids.contains(ext)))
        .collect();
    let mut members = member::Entity::find()
        .filter(member::Column::OrganizationId.eq(conn.organization_id))
        .filter(member::Column::SourceConnectionId.eq(conn.id));
    if listed.is_some() {
        members = members.filter(member::Column::UserId.is_in(by_user.keys().copied()));
    }
    Ok(members
        .all(db)
        .await?
        .into_iter()
        .filter_map(|m| Some((by_user.get(&m.user_id)?.clone(), m)))
        .collect())
}

/// Keeps linked members in step with their contacts: name (a change flags `name_changed`),
/// email, phone, title, the connection's departments; with `full`, members whose contact is gone
/// are flagged `to_be_deleted`.
async fn follow_contacts<C: ConnectionTrait>(
    db: &C,
    conn: &connection::Model,
    linked: &HashMap<String, member::Model>,
    contacts: &HashMap<&str, &Contact>,
    dept_ids: &HashMap<String, i64>,
    full: bool,
) -> Result<Counts> {
    let mut counts = Counts::default();
    let synced: HashSet<i64> = dept_ids.values().copied().collect();
    let member_ids: Vec<i64> = linked.values().map(|m| m.id).collect();
    let mut current: HashMap<i64, HashSet<i64>> = HashMap::new();
    for chunk in member_ids.chunks(IDS_PER_STATEMENT) {
        let rows: Vec<(i64, i64)> = department_member::Entity::find()
            .select_only()
            .columns([
                department_member::Column::MemberId,
                department_member::Column::DepartmentId,
            ])
            .filter(department_member::Column::MemberId.is_in(chunk.iter().copied()))
            .into_tuple()
            .all(db)
            .await?;
        for (m, d) in rows {
            if synced.contains(&d) {
                current.entry(m).or_default().insert(d);
            }
        }
    }
    let mut gone = Vec::new();
    let mut joins = Vec::new();
    let now = Utc::now();
    for (ext, m) in linked {
        let Some(c) = contacts.get(ext.as_str()) else {
            if full && !m.to_be_deleted {
                gone.push(m.id);
            }
            continue;
        };
        let email = crate::org::rules::email("email", c.email.as_deref())
            .ok()
            .flatten();
        let renamed = m.name != c.name;
        let details = m.email != email || m.phone != c.phone || m.position != c.title;
        if renamed || details || m.to_be_deleted {
            member::Entity::update(member::ActiveModel {
                id: Set(m.id),
                name: Set(c.name.clone()),
                email: Set(email),
                phone: Set(c.phone.clone()),
                position: Set(c.title.clone()),
                name_changed: Set(m.name_changed || renamed),
                to_be_deleted: Set(false),
                updated_at: Set(now),
                ..Default::default()
            })
            .exec(db)
            .await?;
            if renamed {
                counts.flagged += 1;
            } else {
                counts.updated += 1;
            }
        }
        let want: HashSet<i64> = c
            .department_external_ids
            .iter()
            .filter_map(|d| dept_ids.get(d).copied())
            .collect();
        let have = current.remove(&m.id).unwrap_or_default();
        for d in want.difference(&have) {
            joins.push(department_member::ActiveModel {
                department_id: Set(*d),
                member_id: Set(m.id),
                organization_id: Set(conn.organization_id),
            });
        }
        let leave: Vec<i64> = have.difference(&want).copied().collect();
        if !leave.is_empty() {
            department_member::Entity::delete_many()
                .filter(department_member::Column::MemberId.eq(m.id))
                .filter(department_member::Column::DepartmentId.is_in(leave.iter().copied()))
                .exec(db)
                .await?;
            counts.removed += n(leave.len());
        }
    }
    counts.updated += n(joins.len());
    for chunk in joins.chunks(ROWS_PER_INSERT) {
        department_member::Entity::insert_many(chunk.to_vec())
            .exec_without_returning(db)
            .await?;
    }
    counts.flagged +=
        flag_rows::<C, member::Entity>(db, member::Column::Id, member::Column::ToBeDeleted, &gone)
            .await?;
    Ok(counts)
}

/// Mirrors DingTalk role groups and roles (WeCom tags) as role groups and directory roles of the
/// connection, and their holders among linked members. Roles of the connection the read no
/// longer has are removed with their holdings, and so are its groups left without roles (a
/// group an administrator added local roles to stays).
async fn role_groups<C: ConnectionTrait>(
    db: &C,
    conn: &connection::Model,
    read: &[RoleGroup],
    linked: &HashMap<String, member::Model>,
) -> Result<Counts> {
    let mut counts = Counts::default();
    let now = Utc::now();
    let groups: HashMap<String, role_group::Model> = role_group::Entity::find()
        .filter(role_group::Column::OrganizationId.eq(conn.organization_id))
        .filter(role_group::Column::SourceConnectionId.eq(conn.id))
        .all(db)
        .await?
        .into_iter()
        .filter_map(|g| Some((g.external_id.clone()?, g)))
        .collect();
    let roles: HashMap<String, directory_role::Model> = directory_role::Entity::find()
        .filter(directory_role::Column::OrganizationId.eq(conn.organization_id))
        .filter(directory_role::Column::SourceConnectionId.eq(conn.id))
        .all(db)
        .await?
        .into_iter()
        .filter_map(|r| Some((r.external_id.clone()?, r)))
        .collect();
    for g in read {
        let group_id = match groups.get(&g.external_id) {
            Some(row) => {
                if row.name != g.name {
                    role_group::Entity::update(role_group::ActiveModel {
                        id: Set(row.id),
                        name: Set(g.name.clone()),
                        ..Default::default()
                    })
                    .exec(db)
                    .await?;
                    counts.updated += 1;
                }
                row.id
            }
            None => {
                counts.added += 1;
                role_group::Entity::insert(role_group::ActiveModel {
                    organization_id: Set(conn.organization_id),
                    name: Set(g.name.clone()),
                    external_id: Set(Some(g.external_id.clone())),
                    source_connection_id: Set(Some(conn.id)),
                    created_at: Set(now),
                    ..Default::default()
                })
                .exec_with_returning(db)
                .await?
                .id
            }
        };
        for r in &g.roles {
            let role_id = match roles.get(&r.external_id) {
                Some(row) => {
                    if row.name != r.name || row.role_group_id != group_id {
                        directory_role::Entity::update(directory_role::ActiveModel {
                            id: Set(row.id),
                            name: Set(r.name.clone()),
                            role_group_id: Set(group_id),
                            ..Default::default()
                        })
                        .exec(db)
                        .await?;
                        counts.updated += 1;
                    }
                    row.id
                }
                None => {
                    counts.added += 1;
                    directory_role::Entity::insert(directory_role::ActiveModel {
                        organization_id: Set(conn.organization_id),
                        role_group_id: Set(group_id),
                        name: Set(r.name.clone()),
                        external_id: Set(Some(r.external_id.clone())),
                        source_connection_id: Set(Some(conn.id)),
                        created_at: Set(now),
                        ..Default::default()
                    })
                    .exec_with_returning(db)
                    .await?
                    .id
                }
            };
            let want: HashSet<i64> = r
                .holders
                .iter()
                .filter_map(|h| linked.get(h).map(|m| m.id))
                .collect();
            let have: HashSet<i64> = directory_role_member::Entity::find()
                .filter(directory_role_member::Column::DirectoryRoleId.eq(role_id))
                .all(db)
                .await?
                .into_iter()
                .map(|h| h.member_id)
                .collect();
            let add: Vec<directory_role_member::ActiveModel> = want
                .difference(&have)
                .map(|m| directory_role_member::ActiveModel {
                    directory_role_id: Set(role_id),
                    member_id: Set(*m),
                    organization_id: Set(conn.organization_id),
                })
                .collect();
            if !add.is_empty() {
                counts.updated += n(add.len());
                directory_role_member::Entity::insert_many(add)
                    .exec_without_returning(db)
                    .await?;
            }
            let drop: Vec<i64> = have.difference(&want).copied().collect();
            if !drop.is_empty() {
                counts.removed += n(drop.len());
                directory_role_member::Entity::delete_many()
                    .filter(directory_role_member::Column::DirectoryRoleId.eq(role_id))
                    .filter(directory_role_member::Column::MemberId.is_in(drop))
                    .exec(db)
                    .await?;
            }
        }
    }
    let seen_roles: HashSet<&str> = read
        .iter()
        .flat_map(|g| g.roles.iter().map(|r| r.external_id.as_str()))
        .collect();
    let gone_roles: Vec<i64> = roles
        .iter()
        .filter(|(external, _)| !seen_roles.contains(external.as_str()))
        .map(|(_, r)| r.id)
        .collect();
    for chunk in gone_roles.chunks(ROWS_PER_INSERT) {
        // Holdings go with their role (foreign key cascade); counted first.
        let holdings = directory_role_member::Entity::delete_many()
            .filter(directory_role_member::Column::DirectoryRoleId.is_in(chunk.iter().copied()))
            .exec(db)
            .await?
            .rows_affected;
        let removed = directory_role::Entity::delete_many()
            .filter(directory_role::Column::Id.is_in(chunk.iter().copied()))
            .exec(db)
            .await?
            .rows_affected;
        counts.removed += i32::try_from(holdings + removed).unwrap_or(i32::MAX);
    }
    let seen_groups: HashSet<&str> = read.iter().map(|g| g.external_id.as_str()).collect();
    let gone_groups: Vec<i64> = groups
        .iter()
        .filter(|(external, _)| !seen_groups.contains(external.as_str()))
        .map(|(_, g)| g.id)
        .collect();
    if !gone_groups.is_empty() {
        let still_used: HashSet<i64> = directory_role::Entity::find()
            .filter(directory_role::Column::RoleGroupId.is_in(gone_groups.iter().copied()))
            .all(db)
            .await?
            .into_iter()
            .map(|r| r.role_group_id)
            .collect();
        let empty: Vec<i64> = gone_groups
            .into_iter()
            .filter(|g| !still_used.contains(g))
            .collect();
        if !empty.is_empty() {
            counts.removed += n(empty.len());
            role_group::Entity::delete_many()
                .filter(role_group::Column::Id.is_in(empty))
                .exec(db)
                .await?;
        }
    }
    Ok(counts)
}

/// Brings the members linked to these contacts in step with the mirror (after admitting them).
pub async fn follow_mirror_in_txn<C: ConnectionTrait>(
    db: &C,
    conn: &connection::Model,
    only: &HashSet<String>,
) -> Result<Counts> {
    let contacts = mirrored_contacts(db, conn, only).await?;
    let dept_ids = synced_department_ids(db, conn).await?;
    let linked = linked_members(db, conn, Some(only)).await?;
    let mut counts =
        follow_contacts(db, conn, &linked, &index(&contacts), &dept_ids, false).await?;
    // The people just admitted may lead departments.
    let seen = mirrored_departments(db, conn).await?;
    counts.updated += leaders_in_txn(db, conn, &seen).await?;
    Ok(counts)
}
