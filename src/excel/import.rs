//! Batch update and import from uploaded workbooks: read, check every row against the
//! organization, then apply everything in one transaction — or nothing, with every problem
//! reported by row and column and as a copy of the file with a Problems column.

use super::{
    columns::{self, Column},
    download::{self, Body, Link},
    read::{self, Sheet},
    validate::{self, Current, Lookup, MemberUpdate, NewRow, Problem, RoleRef},
};
use crate::{
    auth::{
        password::{self, OneTimeLifetime},
        refresh,
    },
    authz::{Grants, OrgAccess, Permission, roles::BuiltinRole},
    error::{Error, Result},
    org::{
        audit::{AuditEntry, record},
        members::{self, TagSet},
    },
    secrets::SecretBox,
};
use chrono::{DateTime, Utc};
use entity::{department_member, enums::*, member, member_tag, organization, user, workspace};
use sea_orm::{
    ActiveValue::Set,
    ColumnTrait, DatabaseConnection, EntityTrait, IdenStatic, QueryFilter, QuerySelect,
    sea_query::{Expr, ExprTrait, Func, OnConflict},
};
use serde_json::json;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

/// Bound parameters per multi-row statement (SQLite allows 32,766, PostgreSQL 65,535); a chunk
/// holds as many rows as fit.
const PARAMS: usize = 10_000;
/// Rows per multi-row INSERT of a table with this many columns.
const fn rows_per_insert(columns: usize) -> usize {
    PARAMS / columns
}
/// Ids per `IN (…)` lookup: a whole file at once (5,000 parameters is within both limits).
const LOOKUP: usize = columns::MAX_ROWS;

/// Where uploads come from and where problem reports go.
pub struct Upload<'a> {
    /// The database.
    pub db: &'a DatabaseConnection,
    /// Signs problem-report links.
    pub secrets: &'a SecretBox,
    /// Base of links.
    pub public_url: &'a str,
    /// Largest accepted file.
    pub max_bytes: usize,
    /// The file.
    pub bytes: Vec<u8>,
    /// The uploaded file's name, for the problem report's name.
    pub file_name: String,
    /// Only report; change nothing.
    pub dry_run: bool,
}

/// The outcome of a batch update or import.
#[derive(Debug, Clone)]
pub struct Report {
    /// Whether the changes were made (false on a dry run or when there are problems).
    pub applied: bool,
    /// Data rows in the file.
    pub rows: usize,
    /// Members changed (or that would change on a dry run); added members on import.
    pub members: Vec<i64>,
    /// Every problem found.
    pub problems: Vec<Problem>,
    /// The file with a Problems column, when there are problems.
    pub problem_report: Option<Link>,
    /// One-time passwords of imported members, by member id.
    pub passwords: Vec<(i64, String)>,
    /// When those passwords stop letting their holders in, if they expire.
    pub passwords_expire_at: Option<DateTime<Utc>>,
}

impl Report {
    /// An outcome without problems: applied or not (dry run, nothing to change).
    fn clean(applied: bool, rows: usize, members: Vec<i64>) -> Self {
        Self {
            applied,
            rows,
            members,
            problems: Vec::new(),
            problem_report: None,
            passwords: Vec::new(),
            passwords_expire_at: None,
        }
    }
}

async fn read_sheet(upload: &mut Upload<'_>) -> Result<Sheet> {
    let bytes = std::mem::take(&mut upload.bytes);
    let max = upload.max_bytes;
    // `read` answers a malformed file (even one that trips the parsers) with an error.
    tokio::task::spawn_blocking(move || read::read(&bytes, max))
        .await
        .map_err(|e| Error::internal(format!("the workbook reader stopped: {e}")))?
}

/// Roles, departments and permissions every check needs.
async fn lookup(db: &DatabaseConnection, access: &OrgAccess, grants: &Grants) -> Result<Lookup> {
    let org = access.org_id();
    let roles = crate::org::roles::list(db, org, Some(RoleScope::Organization))
        .await?
        .into_iter()
        .map(|r| {
            let builtin = BuiltinRole::of(&r);
            let role = RoleRef {
                id: r.id,
                is_admin: builtin.is_some_and(BuiltinRole::is_administrator),
                is_org_admin: builtin == Some(BuiltinRole::OrgAdmin),
                name: r.name,
            };
            (columns::normalize(&role.name).to_lowercase(), role)
        })
        .collect();
    let departments = crate::org::departments::all_with_display_paths(db, org)
        .await?
        .into_iter()
        .map(|(d, display)| (display, d.id))
        .collect();
    Ok(Lookup {
        roles,
        departments,
        nicknames: HashMap::new(),
        may_change_roles: grants.has(Permission::ManagePermissions),
        may_change_org_admin: grants.has(Permission::ManageOrganization),
        actor: access.actor(),
    })
}

/// Members of the organization holding any of these nicknames (lower-cased).
async fn nicknames_in_use(
    db: &DatabaseConnection,
    org: i64,
    wanted: Vec<String>,
) -> Result<HashMap<String, i64>> {
    let mut out = HashMap::new();
    // One statement for the whole file; each name is a probe of the unique index on
    // (organization_id, lower(nickname)) (migration 000006).
    for chunk in wanted.chunks(LOOKUP * 2) {
        let held = if db.get_database_backend() == sea_orm::DbBackend::Postgres {
            // PostgreSQL plans a list of 5,000 values as a sequential scan that lower-cases every
            // nickname of the organization (30 ms at 100,000 members, BENCHMARKS.md); the names
            // as one JSON array unnested in a subquery are probed in the index.
            Expr::cust_with_values(
                r#"lower("member"."nickname") IN (SELECT json_array_elements_text($1::json))"#,
                [crate::db::json_text(chunk)?],
            )
        } else {
            Expr::expr(Func::lower(Expr::col(member::Column::Nickname)))
                .is_in(chunk.iter().cloned())
        };
        let rows: Vec<(i64, String)> = member::Entity::find()
            .select_only()
            .columns([member::Column::Id, member::Column::Nickname])
            .filter(member::Column::OrganizationId.eq(org))
            .filter(held)
            .into_tuple()
            .all(db)
            .await?;
        out.extend(rows.into_iter().map(|(id, n)| (n.to_lowercase(), id)));
    }
    Ok(out)
}

async fn refused(
    upload: &Upload<'_>,
    access: &OrgAccess,
    sheet: &Sheet,
    problems: Vec<Problem>,
) -> Result<Report> {
    let bytes = {
        let sheet = sheet.clone();
        let problems = problems.clone();
        tokio::task::spawn_blocking(move || super::template::problem_report(&sheet, &problems))
            .await
            .map_err(|e| Error::internal(format!("the report writer stopped: {e}")))??
    };
    let stem = upload
        .file_name
        .trim_end_matches(".xlsx")
        .chars()
        .filter(|c| c.is_alphanumeric() || "-_ ".contains(*c))
        .collect::<String>();
    let stem = if stem.trim().is_empty() {
        "members".to_string()
    } else {
        stem
    };
    let link = download::create(
        upload.db,
        upload.secrets,
        upload.public_url,
        access.org_id(),
        access.actor(),
        format!("{stem} - problems.xlsx"),
        Body::File(bytes),
    )
    .await?;
    Ok(Report {
        problems,
        problem_report: Some(link),
        ..Report::clean(false, sheet.rows.len(), Vec::new())
    })
}

/// The organization's members among these ids. Ids of other organizations are not found.
async fn members_by_id(
    db: &DatabaseConnection,
    org: i64,
    ids: &[i64],
) -> Result<HashMap<i64, member::Model>> {
    let mut models = HashMap::with_capacity(ids.len());
    for chunk in ids.chunks(LOOKUP) {
        for m in member::Entity::find()
            .filter(member::Column::OrganizationId.eq(org))
            .filter(member::Column::Id.is_in(chunk.iter().copied()))
            .all(db)
            .await?
        {
            models.insert(m.id, m);
        }
    }
    Ok(models)
}

/// Department ids of each of these members.
async fn departments_of(
    db: &DatabaseConnection,
    ids: &[i64],
) -> Result<HashMap<i64, BTreeSet<i64>>> {
    let mut out: HashMap<i64, BTreeSet<i64>> = HashMap::new();
    for chunk in ids.chunks(LOOKUP) {
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
            out.entry(m).or_default().insert(d);
        }
    }
    Ok(out)
}

/// Tag values of each of these members, by tag name.
async fn tags_of(
    db: &DatabaseConnection,
    ids: &[i64],
) -> Result<HashMap<i64, BTreeMap<String, Vec<String>>>> {
    let mut out: HashMap<i64, BTreeMap<String, Vec<String>>> = HashMap::new();
    for chunk in ids.chunks(LOOKUP) {
        let rows: Vec<(i64, String, String)> = member_tag::Entity::find()
            .select_only()
            .columns([
                member_tag::Column::MemberId,
                member_tag::Column::Name,
                member_tag::Column::Value,
            ])
            .filter(member_tag::Column::MemberId.is_in(chunk.iter().copied()))
            .into_tuple()
            .all(db)
            .await?;
        for (m, name, value) in rows {
            out.entry(m)
                .or_default()
                .entry(name)
                .or_default()
                .push(value);
        }
    }
    Ok(out)
}

/// What the checks compare each row with.
fn current_state(
    models: &HashMap<i64, member::Model>,
    mut departments: HashMap<i64, BTreeSet<i64>>,
    mut tags: HashMap<i64, BTreeMap<String, Vec<String>>>,
) -> HashMap<i64, Current> {
    models
        .values()
        .map(|m| {
            (
                m.id,
                Current {
                    id: m.id,
                    account: m.account.clone(),
                    nickname: m.nickname.clone(),
                    user_type: m.user_type,
                    role_id: m.role_id,
                    status: m.status,
                    email: m.email.clone(),
                    phone: m.phone.clone(),
                    departments: departments.remove(&m.id).unwrap_or_default(),
                    tags: tags.remove(&m.id).unwrap_or_default(),
                },
            )
        })
        .collect()
}

/// Changes existing members from a batch-update workbook, all or nothing.
///
/// **Permissions**: `org.members.manage`; rows that change organization roles also need
/// `org.permissions.manage` (and `org.organization.manage` for the administrator role).
pub async fn batch_update(
    mut upload: Upload<'_>,
    access: &OrgAccess,
    grants: &Grants,
    cx: &crate::org::audit::Change,
) -> Result<Report> {
    let db = upload.db;
    let org = access.org_id();
    let started = std::time::Instant::now();
    // The workbook is parsed on a blocking thread while roles and departments load.
    let (sheet, mut lookup) =
        tokio::try_join!(read_sheet(&mut upload), lookup(db, access, grants))?;
    let read_ms = started.elapsed().as_millis();
    let columns = validate::map_headers(&sheet.headers, &columns::update_columns(&[]))?;

    let ids = validate::user_ids(&columns, &sheet.rows);
    let wanted: Vec<String> = validate::column_texts(&columns, &sheet, &Column::Nickname)
        .into_iter()
        .map(|n| n.to_lowercase())
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    // Four independent reads, each one statement for the whole file, run side by side.
    let (models, departments, tags, nicknames) = tokio::try_join!(
        members_by_id(db, org, &ids),
        departments_of(db, &ids),
        tags_of(db, &ids),
        nicknames_in_use(db, org, wanted),
    )?;
    lookup.nicknames = nicknames;
    let current = current_state(&models, departments, tags);
    let looked_up_ms = started.elapsed().as_millis();

    let updates = match validate::check_update(&columns, &sheet.rows, &current, &lookup) {
        Ok(updates) => updates,
        Err(problems) => return refused(&upload, access, &sheet, problems).await,
    };
    let becoming_viewers: Vec<i64> = updates
        .iter()
        .filter(|u| u.user_type == Some(UserType::Viewer))
        .map(|u| u.id)
        .collect();
    let blockers = members::viewer_blockers(db, &becoming_viewers).await?;
    let problems: Vec<Problem> = updates
        .iter()
        .filter_map(|u| {
            blockers.get(&u.id).map(|why| Problem {
                row: u.row,
                column: Column::UserType.header().into_owned(),
                message: (*why).to_string(),
            })
        })
        .collect();
    if !problems.is_empty() {
        return refused(&upload, access, &sheet, problems).await;
    }
    let changed: Vec<i64> = updates.iter().map(|u| u.id).collect();
    let checked_ms = started.elapsed().as_millis();
    if upload.dry_run || updates.is_empty() {
        tracing::info!(
            rows = sheet.rows.len(),
            changed = changed.len(),
            read_ms,
            looked_up_ms,
            checked_ms,
            dry_run = upload.dry_run,
            "batch update checked"
        );
        return Ok(Report::clean(false, sheet.rows.len(), changed));
    }
    apply_updates(
        db,
        access,
        &updates,
        &models,
        &current,
        cx,
        sheet.rows.len(),
    )
    .await?;
    tracing::info!(
        rows = sheet.rows.len(),
        changed = changed.len(),
        read_ms,
        looked_up_ms,
        checked_ms,
        applied_ms = started.elapsed().as_millis(),
        "batch update applied"
    );
    Ok(Report::clean(true, sheet.rows.len(), changed))
}

async fn apply_updates(
    db: &DatabaseConnection,
    access: &OrgAccess,
    updates: &[MemberUpdate],
    models: &HashMap<i64, member::Model>,
    current: &HashMap<i64, Current>,
    cx: &crate::org::audit::Change,
    rows: usize,
) -> Result<()> {
    let org = access.org_id();
    let now = Utc::now();
    let txn = crate::db::begin_write(db).await?;
    let rewritten: Vec<(u8, member::Model)> = updates
        .iter()
        .map(|u| (rewritten_mask(u), u))
        .filter(|(mask, _)| *mask != 0)
        .filter_map(|(mask, u)| {
            let mut m = models.get(&u.id)?.clone();
            if let Some(v) = &u.nickname {
                m.nickname = v.clone();
            }
            if let Some(v) = u.user_type {
                m.user_type = v;
            }
            if let Some(v) = u.role_id {
                m.role_id = v;
            }
            if let Some(v) = u.status {
                m.status = v;
            }
            if let Some(v) = &u.email {
                m.email = v.clone();
            }
            if let Some(v) = &u.phone {
                m.phone = v.clone();
            }
            m.updated_at = now;
            Some((mask, m))
        })
        .collect();
    park_swapped_nicknames(&txn, &rewritten, models).await?;
    rewrite_members(&txn, rewritten).await?;
    let regrouped: Vec<&MemberUpdate> =
        updates.iter().filter(|u| u.departments.is_some()).collect();
    for chunk in regrouped.chunks(LOOKUP) {
        department_member::Entity::delete_many()
            .filter(department_member::Column::MemberId.is_in(chunk.iter().map(|u| u.id)))
            .exec(&txn)
            .await?;
        let rows: Vec<department_member::ActiveModel> = chunk
            .iter()
            .flat_map(|u| {
                u.departments
                    .iter()
                    .flatten()
                    .map(|d| department_member::ActiveModel {
                        department_id: Set(*d),
                        member_id: Set(u.id),
                        organization_id: Set(org),
                    })
            })
            .collect();
        for part in rows.chunks(rows_per_insert(3)) {
            department_member::Entity::insert_many(part.to_vec())
                .exec_without_returning(&txn)
                .await?;
        }
    }
    // On PostgreSQL a tag that goes from one value to another is rewritten in place; the other
    // tag changes replace the tag's values.
    let swaps = if db.get_database_backend() == sea_orm::DbBackend::Postgres {
        single_value_swaps(updates, current)
    } else {
        Vec::new()
    };
    let swapped: HashSet<(i64, &str)> = swaps.iter().map(|s| (s.member_id, s.name)).collect();
    rewrite_tag_values(&txn, org, &swaps).await?;
    let replaced: Vec<(i64, &TagSet)> = updates
        .iter()
        .flat_map(|u| u.tags.iter().map(move |t| (u.id, t)))
        .filter(|(id, t)| !swapped.contains(&(*id, t.name.as_str())))
        .collect();
    let mut by_tag: BTreeMap<&str, Vec<i64>> = BTreeMap::new();
    for (id, t) in &replaced {
        by_tag.entry(t.name.as_str()).or_default().push(*id);
    }
    for (name, ids) in &by_tag {
        for chunk in ids.chunks(LOOKUP) {
            member_tag::Entity::delete_many()
                .filter(member_tag::Column::OrganizationId.eq(org))
                .filter(member_tag::Column::Name.eq(*name))
                .filter(member_tag::Column::MemberId.is_in(chunk.iter().copied()))
                .exec(&txn)
                .await?;
        }
    }
    let tag_rows: Vec<member_tag::ActiveModel> = replaced
        .iter()
        .flat_map(|(id, t)| tag_rows(org, *id, std::slice::from_ref(*t)))
        .collect();
    for part in tag_rows.chunks(rows_per_insert(5)) {
        member_tag::Entity::insert_many(part.to_vec())
            .exec_without_returning(&txn)
            .await?;
    }
    let disabled: Vec<i64> = updates
        .iter()
        .filter(|u| u.status == Some(MemberStatus::Disabled))
        .map(|u| u.id)
        .collect();
    refresh::revoke_members(&txn, &disabled).await?;
    let event = record(
        &txn,
        AuditEntry {
            organization_id: org,
            actor_member_id: Some(access.actor()),
            action: "member.batch_update",
            target_type: "member",
            target_id: None,
            summary: json!({
                "rows": rows,
                "changed": updates.len(),
                "memberIds": updates.iter().map(|u| u.id).collect::<Vec<_>>(),
                "disabled": disabled,
            }),
            client_ip: cx.client_ip.clone(),
        },
    )
    .await?;
    txn.commit().await?;
    cx.published([event]);
    Ok(())
}

/// A tag of a member that goes from one value to another.
#[derive(Debug, PartialEq, Eq, serde::Serialize)]
struct TagSwap<'a> {
    member_id: i64,
    name: &'a str,
    old: &'a str,
    value: &'a str,
}

/// The tag changes of a batch that set one value where the member had exactly one.
fn single_value_swaps<'a>(
    updates: &'a [MemberUpdate],
    current: &'a HashMap<i64, Current>,
) -> Vec<TagSwap<'a>> {
    updates
        .iter()
        .flat_map(|u| u.tags.iter().map(move |t| (u.id, t)))
        .filter_map(|(member_id, t)| {
            let [old] = current.get(&member_id)?.tags.get(&t.name)?.as_slice() else {
                return None;
            };
            let [value] = t.values.as_slice() else {
                return None;
            };
            Some(TagSwap {
                member_id,
                name: &t.name,
                old,
                value,
            })
        })
        .collect()
}

/// PostgreSQL: rewrites each swapped tag value in place, one statement for the whole file.
/// Deleting the row and inserting a new one would check the new row's foreign key to its member
/// (a key-share lock on the member row just updated): 20–35 ms more for 5,000 rows
/// (BENCHMARKS.md). A value changed since the file was checked is a conflict, and the batch
/// changes nothing.
async fn rewrite_tag_values<C: sea_orm::ConnectionTrait>(
    db: &C,
    org: i64,
    swaps: &[TagSwap<'_>],
) -> Result<()> {
    if swaps.is_empty() {
        return Ok(());
    }
    let done = db
        .execute_raw(sea_orm::Statement::from_sql_and_values(
            sea_orm::DbBackend::Postgres,
            "UPDATE member_tag AS t SET value = v.value \
             FROM json_to_recordset($1::json) AS v(member_id bigint, name text, old text, value text) \
             WHERE t.organization_id = $2 AND t.member_id = v.member_id AND t.name = v.name \
             AND t.value = v.old",
            [crate::db::json_text(swaps)?, org.into()],
        ))
        .await?;
    if done.rows_affected() != swaps.len() as u64 {
        return Err(Error::Conflict(
            "tags of members in the file changed while it was being checked; nothing was changed — upload the file again".into(),
        ));
    }
    Ok(())
}

/// Members of the file may trade nicknames (A takes B's, B takes A's); the unique index checks
/// row by row, so the members whose current nickname another row takes first get a placeholder
/// (`~<id>`, which no valid nickname can be) in the same transaction.
async fn park_swapped_nicknames<C: sea_orm::ConnectionTrait>(
    db: &C,
    rows: &[(u8, member::Model)],
    before: &HashMap<i64, member::Model>,
) -> Result<()> {
    let holders: HashMap<String, i64> = rows
        .iter()
        .filter_map(|(_, m)| before.get(&m.id))
        .map(|m| (m.nickname.to_lowercase(), m.id))
        .collect();
    let parked: BTreeSet<i64> = rows
        .iter()
        .filter_map(|(_, m)| {
            holders
                .get(&m.nickname.to_lowercase())
                .copied()
                .filter(|holder| *holder != m.id)
        })
        .collect();
    for id in parked {
        member::Entity::update_many()
            .col_expr(member::Column::Nickname, Expr::value(format!("~{id}")))
            .filter(member::Column::Id.eq(id))
            .exec(db)
            .await?;
    }
    Ok(())
}

/// The member columns a batch update writes (besides `updated_at`); bit `i` of a row's mask
/// stands for `REWRITTEN[i]`.
const REWRITTEN: [member::Column; 6] = [
    member::Column::Nickname,
    member::Column::UserType,
    member::Column::RoleId,
    member::Column::Status,
    member::Column::Email,
    member::Column::Phone,
];

/// Whether a row of the file changes this member column.
fn changes(u: &MemberUpdate, column: member::Column) -> bool {
    match column {
        member::Column::Nickname => u.nickname.is_some(),
        member::Column::UserType => u.user_type.is_some(),
        member::Column::RoleId => u.role_id.is_some(),
        member::Column::Status => u.status.is_some(),
        member::Column::Email => u.email.is_some(),
        member::Column::Phone => u.phone.is_some(),
        _ => false,
    }
}

/// Which of [`REWRITTEN`] a row of the file changes.
fn rewritten_mask(u: &MemberUpdate) -> u8 {
    REWRITTEN
        .iter()
        .enumerate()
        .fold(0, |mask, (bit, c)| mask | (u8::from(changes(u, *c)) << bit))
}

/// The columns a row with this mask sets: those it changes and `updated_at`.
fn rewritten_columns(mask: u8) -> Vec<member::Column> {
    REWRITTEN
        .iter()
        .enumerate()
        .filter(|(bit, _)| mask & (1 << bit) != 0)
        .map(|(_, c)| *c)
        .chain([member::Column::UpdatedAt])
        .collect()
}

/// A member row as [`rewrite_members`] sends it to PostgreSQL, one element of its JSON array.
#[derive(serde::Serialize)]
struct RewrittenRow<'a> {
    id: i64,
    mask: u8,
    nickname: &'a str,
    user_type: UserType,
    role_id: i64,
    status: MemberStatus,
    email: Option<&'a str>,
    phone: Option<&'a str>,
    updated_at: DateTime<Utc>,
}

/// Writes the changed columns of many members: one `UPDATE … FROM json_to_recordset` on
/// PostgreSQL (one statement and one parameter for the whole file), multi-row upserts on SQLite.
async fn rewrite_members<C: sea_orm::ConnectionTrait>(
    db: &C,
    rows: Vec<(u8, member::Model)>,
) -> Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    if db.get_database_backend() == sea_orm::DbBackend::Postgres {
        // Each row sets only the columns it changes (its mask tells which), so that a change made
        // to another column since the file was checked is kept.
        let set: Vec<String> = REWRITTEN
            .iter()
            .enumerate()
            .map(|(bit, c)| {
                let c = c.as_str();
                format!(
                    "{c} = CASE WHEN v.mask & {} <> 0 THEN v.{c} ELSE m.{c} END",
                    1 << bit
                )
            })
            .collect();
        let json: Vec<RewrittenRow<'_>> = rows
            .iter()
            .map(|(mask, m)| RewrittenRow {
                id: m.id,
                mask: *mask,
                nickname: &m.nickname,
                user_type: m.user_type,
                role_id: m.role_id,
                status: m.status,
                email: m.email.as_deref(),
                phone: m.phone.as_deref(),
                updated_at: m.updated_at,
            })
            .collect();
        db.execute_raw(sea_orm::Statement::from_sql_and_values(
            sea_orm::DbBackend::Postgres,
            format!(
                "UPDATE member AS m SET {}, updated_at = v.updated_at \
                 FROM json_to_recordset($1::json) AS v(id bigint, mask int, nickname text, \
                 user_type text, role_id bigint, status text, email text, phone text, \
                 updated_at timestamptz) \
                 WHERE m.id = v.id",
                set.join(", ")
            ),
            [crate::db::json_text(&json)?],
        ))
        .await?;
        return Ok(());
    }
    // SQLite: rows are written in groups that set only the columns they change (a change made
    // to another column since the file was checked is kept). SQLite also rewrites the entry of
    // every index over a column a statement sets, changed or not, so a file of new nicknames
    // and user types leaves the role and status indexes alone.
    let mut groups: BTreeMap<u8, Vec<member::Model>> = BTreeMap::new();
    for (mask, m) in rows {
        groups.entry(mask).or_default().push(m);
    }
    for (mask, mut group) in groups {
        let columns = rewritten_columns(mask);
        // FTS5 writes its pending index out whenever a row id comes lower than the one before,
        // so a file sorted by anything but User ID would rewrite the search index once per
        // descent (4× the time for 5,000 shuffled rows); in ascending order it is written once
        // per statement.
        group.sort_unstable_by_key(|m| m.id);
        for chunk in group.chunks(rows_per_insert(17)) {
            member::Entity::insert_many(chunk.iter().cloned().map(member::ActiveModel::from))
                .on_conflict(
                    OnConflict::column(member::Column::Id)
                        .update_columns(columns.iter().copied())
                        .to_owned(),
                )
                .exec_without_returning(db)
                .await?;
        }
    }
    Ok(())
}

fn tag_rows(org: i64, member_id: i64, tags: &[TagSet]) -> Vec<member_tag::ActiveModel> {
    tags.iter()
        .flat_map(|t| {
            t.values.iter().map(move |value| member_tag::ActiveModel {
                organization_id: Set(org),
                member_id: Set(member_id),
                name: Set(t.name.clone()),
                value: Set(value.clone()),
                ..Default::default()
            })
        })
        .collect()
}

/// Adds new local members from an import workbook, all or nothing, within the seat limit. Each
/// gets a generated one-time password, returned once in the report, that expires after `lifetime`.
///
/// **Permissions**: `org.members.manage`; roles other than standard user also need
/// `org.permissions.manage` (and `org.organization.manage` for the administrator role).
pub async fn import(
    mut upload: Upload<'_>,
    access: &OrgAccess,
    grants: &Grants,
    lifetime: OneTimeLifetime,
    cx: &crate::org::audit::Change,
) -> Result<Report> {
    let db = upload.db;
    let org_id = access.org_id();
    let org = organization::Entity::find_by_id(org_id)
        .one(db)
        .await?
        .ok_or(Error::NotFound("organization"))?;
    if org.kind != OrgKind::Generic {
        return Err(Error::validation(
            "file",
            "members of a provider organization come from the provider's directory; import applies to generic organizations only",
        ));
    }
    let (sheet, mut lookup) =
        tokio::try_join!(read_sheet(&mut upload), lookup(db, access, grants))?;
    let columns = validate::map_headers(&sheet.headers, &columns::import_columns())?;
    let accounts: Vec<String> = validate::column_texts(&columns, &sheet, &Column::Account)
        .into_iter()
        .map(|a| columns::normalize(&a))
        .collect();
    let mut existing = HashSet::new();
    for chunk in accounts.chunks(LOOKUP) {
        let found: Vec<String> = member::Entity::find()
            .select_only()
            .column(member::Column::Account)
            .filter(member::Column::OrganizationId.eq(org_id))
            .filter(
                Expr::expr(Func::lower(Expr::col(member::Column::Account)))
                    .is_in(chunk.iter().map(|a| a.to_lowercase())),
            )
            .into_tuple()
            .all(db)
            .await?;
        existing.extend(found.into_iter().map(|a| a.to_lowercase()));
    }
    let mut wanted: HashSet<String> = validate::column_texts(&columns, &sheet, &Column::Nickname)
        .into_iter()
        .map(|n| n.to_lowercase())
        .collect();
    wanted.extend(accounts.iter().map(|a| a.to_lowercase()));
    lookup.nicknames = nicknames_in_use(db, org_id, wanted.into_iter().collect()).await?;
    let standard = crate::authz::roles::builtin_role_ids(db)
        .await?
        .get(&BuiltinRole::StandardUser)
        .copied()
        .ok_or_else(|| Error::internal("built-in roles missing"))?;
    let default_role = lookup
        .roles
        .values()
        .find(|r| r.id == standard)
        .cloned()
        .ok_or_else(|| Error::internal("the standard user role is missing"))?;
    let rows =
        match validate::check_import(&columns, &sheet.rows, &existing, &default_role, &lookup) {
            Ok(rows) => rows,
            Err(problems) => return refused(&upload, access, &sheet, problems).await,
        };
    if let Some(limit) = org.seat_limit {
        let used = members::seats_in_use(db, org_id).await?;
        if used + rows.len() as u64 > u64::try_from(limit).unwrap_or(0) {
            let problems = vec![Problem {
                row: rows.first().map(|r| r.row).unwrap_or(2),
                column: Column::Account.header().into_owned(),
                message: format!(
                    "the organization's seat limit is {limit} and {used} seats are in use; this file adds {} — remove rows, free seats or raise the limit",
                    rows.len()
                ),
            }];
            return refused(&upload, access, &sheet, problems).await;
        }
    }
    if upload.dry_run {
        return Ok(Report::clean(false, sheet.rows.len(), Vec::new()));
    }
    let (plain, hashes): (Vec<String>, Vec<String>) =
        password::generated(rows.len()).await?.into_iter().unzip();
    let txn = crate::db::begin_write(db).await?;
    members::check_seats(&txn, &org, rows.len() as u64).await?;
    let now = Utc::now();
    let expires_at = lifetime.expires_at(now);
    let inserted = insert_rows(&txn, org_id, &rows, &hashes, expires_at, now).await?;
    let mut created = Vec::with_capacity(rows.len());
    let mut groups = Vec::new();
    let mut tags = Vec::new();
    for (row, m) in rows.iter().zip(&inserted) {
        groups.extend(
            row.departments
                .iter()
                .map(|d| department_member::ActiveModel {
                    department_id: Set(*d),
                    member_id: Set(m.id),
                    organization_id: Set(org_id),
                }),
        );
        tags.extend(tag_rows(org_id, m.id, &row.tags));
        created.push(m.id);
    }
    let workspaces: Vec<workspace::ActiveModel> = inserted
        .iter()
        .map(members::personal_workspace_row)
        .collect();
    for part in workspaces.chunks(rows_per_insert(5)) {
        workspace::Entity::insert_many(part.to_vec())
            .exec_without_returning(&txn)
            .await?;
    }
    for part in groups.chunks(rows_per_insert(3)) {
        department_member::Entity::insert_many(part.to_vec())
            .exec_without_returning(&txn)
            .await?;
    }
    for part in tags.chunks(rows_per_insert(5)) {
        member_tag::Entity::insert_many(part.to_vec())
            .exec_without_returning(&txn)
            .await?;
    }
    let event = record(
        &txn,
        AuditEntry {
            organization_id: org_id,
            actor_member_id: Some(access.actor()),
            action: "member.import",
            target_type: "member",
            target_id: None,
            summary: json!({ "rows": rows.len(), "memberIds": created }),
            client_ip: cx.client_ip.clone(),
        },
    )
    .await?;
    txn.commit().await?;
    cx.published([event]);
    Ok(Report {
        passwords: created.iter().copied().zip(plain).collect(),
        passwords_expire_at: expires_at,
        ..Report::clean(true, sheet.rows.len(), created)
    })
}

/// Inserts the people and members of an import, many rows per statement, and returns the members
/// in the order of `rows`. `RETURNING` gives rows back in no promised order (SQLite says so), so
/// each person is matched to its row by its password hash (every hash has its own random salt)
/// and each member by its account (unique in the organization).
async fn insert_rows<C: sea_orm::ConnectionTrait>(
    txn: &C,
    org: i64,
    rows: &[NewRow],
    hashes: &[String],
    expires_at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<Vec<member::Model>> {
    let people: Vec<user::ActiveModel> = rows
        .iter()
        .zip(hashes)
        .map(|(row, hash)| user::ActiveModel {
            name: Set(row.name.clone()),
            avatar_url: Set(None),
            password_hash: Set(Some(hash.clone())),
            password_change_required: Set(true),
            password_expires_at: Set(expires_at),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        })
        .collect();
    let mut person_of: HashMap<String, i64> = HashMap::with_capacity(rows.len());
    for part in people.chunks(rows_per_insert(
        <user::Column as sea_orm::Iterable>::iter().count(),
    )) {
        for person in user::Entity::insert_many(part.to_vec())
            .exec_with_returning(txn)
            .await?
        {
            if let Some(hash) = person.password_hash {
                person_of.insert(hash, person.id);
            }
        }
    }
    let new_members: Vec<member::ActiveModel> = rows
        .iter()
        .zip(hashes)
        .map(|(row, hash)| {
            let user_id = person_of
                .get(hash)
                .copied()
                .ok_or_else(|| Error::internal("an imported person was not returned"))?;
            Ok(members::local_member_row(
                members::LocalMember {
                    organization_id: org,
                    user_id,
                    account: row.account.clone(),
                    nickname: row.nickname.clone(),
                    name: row.name.clone(),
                    user_type: row.user_type,
                    role_id: row.role_id,
                    email: row.email.clone(),
                    phone: row.phone.clone(),
                    employee_no: row.employee_no.clone(),
                    position: row.position.clone(),
                },
                now,
            ))
        })
        .collect::<Result<_>>()?;
    let mut by_account: HashMap<String, member::Model> = HashMap::with_capacity(rows.len());
    for part in new_members.chunks(rows_per_insert(
        <member::Column as sea_orm::Iterable>::iter().count(),
    )) {
        for m in member::Entity::insert_many(part.to_vec())
            .exec_with_returning(txn)
            .await?
        {
            by_account.insert(m.account.clone(), m);
        }
    }
    rows.iter()
        .map(|row| {
            by_account
                .remove(&row.account)
                .ok_or_else(|| Error::internal("an imported member was not returned"))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_row_sets_exactly_the_columns_it_changes() {
        let unchanged = MemberUpdate::default();
        assert_eq!(rewritten_mask(&unchanged), 0, "nothing to rewrite");
        let renamed_viewer = MemberUpdate {
            nickname: Some("li".into()),
            user_type: Some(UserType::Viewer),
            ..MemberUpdate::default()
        };
        assert_eq!(rewritten_mask(&renamed_viewer), 0b11);
        let cleared_phone = MemberUpdate {
            status: Some(MemberStatus::Disabled),
            phone: Some(None),
            ..MemberUpdate::default()
        };
        assert!(matches!(
            rewritten_columns(rewritten_mask(&cleared_phone)).as_slice(),
            [
                member::Column::Status,
                member::Column::Phone,
                member::Column::UpdatedAt
            ]
        ));
    }

    #[test]
    fn only_one_value_replacing_one_value_is_swapped_in_place() {
        let tag = |name: &str, values: &[&str]| TagSet {
            name: name.into(),
            values: values.iter().map(|v| v.to_string()).collect(),
        };
        let current = |id: i64, tags: &[(&str, &[&str])]| Current {
            id,
            account: format!("user{id}"),
            nickname: format!("user{id}"),
            user_type: UserType::Analyst,
            role_id: 1,
            status: MemberStatus::Active,
            email: None,
            phone: None,
            departments: BTreeSet::new(),
            tags: tags
                .iter()
                .map(|(n, v)| (n.to_string(), v.iter().map(|v| v.to_string()).collect()))
                .collect(),
        };
        let now: HashMap<i64, Current> = [
            current(1, &[("region", &["north"]), ("level", &["a", "b"])]),
            current(2, &[("region", &["south"])]),
        ]
        .into_iter()
        .map(|c| (c.id, c))
        .collect();
        let updates = vec![
            MemberUpdate {
                id: 1,
                // One value to another; two values to one; a tag the member did not have.
                tags: vec![
                    tag("region", &["east"]),
                    tag("level", &["a"]),
                    tag("team", &["x"]),
                ],
                ..MemberUpdate::default()
            },
            MemberUpdate {
                id: 2,
                // One value to two; removing the tag.
                tags: vec![tag("region", &["south", "west"])],
                ..MemberUpdate::default()
            },
            MemberUpdate {
                id: 2,
                tags: vec![tag("region", &[])],
                ..MemberUpdate::default()
            },
        ];
        assert_eq!(
            single_value_swaps(&updates, &now),
            vec![TagSwap {
                member_id: 1,
                name: "region",
                old: "north",
                value: "east",
            }]
        );
    }
}
