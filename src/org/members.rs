//! Members: the list with filters, sorting and keyset pages; creation, editing, disabling,
//! removal and resignation with the rules of DESIGN §4. Every query is scoped to one organization;
//! a member of another organization is NOT_FOUND.

use super::{
    audit::{self, AuditEntry, Change},
    rules,
};
use crate::{
    auth::{
        password::{self, OneTimeLifetime},
        refresh,
    },
    authz::{Grants, OrgAccess, Permission, roles::BuiltinRole},
    db::PlannedRead,
    error::{Error, Result},
};
use chrono::{DateTime, Utc};
use entity::{
    department, department_member, directory_role_member, enums::*, identity, member, member_tag,
    organization, role, sub_tree_member, user, workspace, workspace_member,
};
use sea_orm::{
    ActiveValue::Set,
    ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, DbBackend, EntityTrait, Order,
    PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, QueryTrait,
    sea_query::{Expr, ExprTrait, Func, LikeExpr, Query},
};
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::collections::{BTreeMap, HashSet};

/// The member with this id in this organization.
pub async fn get<C: ConnectionTrait>(
    db: &C,
    organization_id: i64,
    member_id: i64,
) -> Result<member::Model> {
    member::Entity::find_by_id(member_id)
        .filter(member::Column::OrganizationId.eq(organization_id))
        .one(db)
        .await?
        .ok_or(Error::NotFound("member"))
}

/// The join from a member to its person (`user`), whose password and one-time flag it shares.
pub fn person_of_member() -> sea_orm::RelationDef {
    member::Entity::belongs_to(user::Entity)
        .from(member::Column::UserId)
        .to(user::Column::Id)
        .into()
}

/// The organization role a member holds (built-in roles have no organization).
pub async fn role_of<C: ConnectionTrait>(db: &C, member: &member::Model) -> Result<role::Model> {
    role::Entity::find_by_id(member.role_id)
        .filter(
            role::Column::OrganizationId
                .eq(member.organization_id)
                .or(role::Column::OrganizationId.is_null()),
        )
        .one(db)
        .await?
        .ok_or(Error::NotFound("role"))
}

/// Filters of the member list; empty lists mean "any".
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct MemberFilter {
    /// Partial, case-insensitive match on nickname, account, name, email or phone.
    pub keyword: Option<String>,
    /// Any of these user types.
    pub user_types: Vec<UserType>,
    /// Any of these account types.
    pub account_types: Vec<AccountType>,
    /// Bound to a provider identity (true) or not (false).
    pub bound: Option<bool>,
    /// Any of these statuses.
    pub statuses: Vec<MemberStatus>,
    /// In this department.
    pub department_id: Option<i64>,
    /// Including its sub-departments.
    pub include_sub_departments: bool,
    /// Holding this organization role.
    pub role_id: Option<i64>,
    /// Member of this workspace.
    pub workspace_id: Option<i64>,
    /// Carrying this tag (name without `tag_`).
    pub tag_name: Option<String>,
    /// …with this value.
    pub tag_value: Option<String>,
    /// Only these members.
    pub ids: Option<Vec<i64>>,
    /// Holding a one-time password in any of these states.
    pub one_time_passwords: Vec<OneTimePasswordState>,
    /// Renamed by the provider since the last review (true) or not (false).
    pub name_changed: Option<bool>,
    /// Gone from the provider (true) or not (false).
    pub to_be_deleted: Option<bool>,
}

/// Where a member's one-time password stands (people who chose their own hold none).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum OneTimePasswordState {
    /// It still lets them in: they have yet to log in and choose their own.
    Pending,
    /// It expired unused: they need a new one (`resetMemberPassword`).
    Expired,
}

impl MemberFilter {
    /// This filter less its department (for the callers that read the department their own way).
    pub(crate) fn without_department(&self) -> Self {
        Self {
            department_id: None,
            ..self.clone()
        }
    }

    /// Whether the filter keeps every member of the organization.
    pub fn is_empty(&self) -> bool {
        // Named field by field, so that a new filter cannot be forgotten here.
        let Self {
            keyword: _,
            user_types,
            account_types,
            bound,
            statuses,
            department_id,
            include_sub_departments: _,
            role_id,
            workspace_id,
            tag_name,
            tag_value,
            ids,
            one_time_passwords,
            name_changed,
            to_be_deleted,
        } = self;
        self.trimmed_keyword().is_none()
            && user_types.is_empty()
            && account_types.is_empty()
            && bound.is_none()
            && statuses.is_empty()
            && department_id.is_none()
            && role_id.is_none()
            && workspace_id.is_none()
            && tag_name.is_none()
            && tag_value.is_none()
            && ids.is_none()
            && one_time_passwords.is_empty()
            && name_changed.is_none()
            && to_be_deleted.is_none()
    }

    /// The keyword as it is matched: trimmed, and `None` when absent or blank.
    pub fn trimmed_keyword(&self) -> Option<&str> {
        self.keyword
            .as_deref()
            .map(str::trim)
            .filter(|k| !k.is_empty())
    }
}

/// Columns the member list sorts by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum SortField {
    /// Nickname (the default), regardless of letter case: `alice`, `Bob`, `carol`.
    #[default]
    Nickname,
    /// Account.
    Account,
    /// Join date.
    JoinedAt,
    /// Last login; members who never logged in come last.
    LastLoginAt,
    /// User type.
    UserType,
    /// Organization role.
    OrganizationRole,
    /// Status.
    Status,
}

impl SortField {
    /// The column the order is read from.
    fn column(self) -> member::Column {
        match self {
            Self::Nickname => member::Column::Nickname,
            Self::Account => member::Column::Account,
            Self::JoinedAt => member::Column::JoinedAt,
            Self::LastLoginAt => member::Column::LastLoginAt,
            Self::UserType => member::Column::UserType,
            Self::OrganizationRole => member::Column::RoleId,
            Self::Status => member::Column::Status,
        }
    }

    /// The expression the list is ordered by: nicknames by `lower(nickname)`, the expression of
    /// their unique index `(organization_id, lower(nickname))`, which serves the order and its
    /// cursors without an index of its own (one index fewer for every member write to maintain).
    fn sorted(self, value: Expr) -> Expr {
        match self {
            Self::Nickname => Func::lower(value).into(),
            _ => value,
        }
    }

    /// The ordered expression over the member row.
    fn expr(self) -> Expr {
        self.sorted(Expr::col((member::Entity, self.column())))
    }

    /// Whether no two members of an organization share the ordered value (a unique index), so
    /// that it orders them alone, without the id as tie-breaker.
    fn is_unique(self) -> bool {
        matches!(self, Self::Nickname | Self::Account)
    }

    /// `query` in this order, ties (if the value can tie) broken by id.
    fn order<Q: QueryOrder>(self, query: Q, order: &Order) -> Q {
        let query = query.order_by(self.expr(), order.clone());
        if self.is_unique() {
            query
        } else {
            query.order_by(member::Column::Id, order.clone())
        }
    }

    fn value(self, m: &member::Model) -> SortValue {
        match self {
            Self::Nickname => SortValue::Text(m.nickname.clone()),
            Self::Account => SortValue::Text(m.account.clone()),
            Self::JoinedAt => SortValue::Time(Some(m.joined_at)),
            Self::LastLoginAt => SortValue::Time(m.last_login_at),
            Self::UserType => SortValue::Text(sea_orm::ActiveEnum::to_value(&m.user_type)),
            Self::OrganizationRole => SortValue::Int(m.role_id),
            Self::Status => SortValue::Text(sea_orm::ActiveEnum::to_value(&m.status)),
        }
    }
}

/// The sort key of one row, as kept in a cursor.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum SortValue {
    /// A text column.
    Text(String),
    /// A time column (absent for never).
    Time(Option<DateTime<Utc>>),
    /// An id column.
    Int(i64),
}

/// A position in the list: the sort key and id of a row.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Cursor {
    /// The ordering the cursor belongs to.
    pub field: SortField,
    /// The row's sort value.
    pub value: SortValue,
    /// The row's id (the tie-breaker).
    pub id: i64,
}

impl Cursor {
    /// The cursor of a row.
    pub fn of(field: SortField, m: &member::Model) -> Self {
        Self {
            field,
            value: field.value(m),
            id: m.id,
        }
    }

    /// Opaque text form.
    pub fn encode(&self) -> String {
        use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(self).unwrap_or_default())
    }

    /// Parses the text form, checking it belongs to this ordering.
    pub fn decode(arg: &str, text: &str, field: SortField) -> Result<Self> {
        use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
        let cursor: Cursor = URL_SAFE_NO_PAD
            .decode(text)
            .ok()
            .and_then(|raw| serde_json::from_slice(&raw).ok())
            .ok_or_else(|| {
                Error::validation(
                    arg,
                    "the cursor is not one this API returned; start again without it",
                )
            })?;
        if cursor.field != field {
            return Err(Error::validation(
                arg,
                "the cursor belongs to another ordering; start again without it",
            ));
        }
        Ok(cursor)
    }
}

/// Which page to read.
#[derive(Debug, Clone)]
pub struct PageRequest {
    /// Rows wanted.
    pub limit: usize,
    /// Read forward after this cursor (or from the start).
    pub after: Option<Cursor>,
    /// Read backward before this cursor (`last`/`before`).
    pub before: Option<Cursor>,
    /// Whether to read from the end (`last` without `before` reads the final rows).
    pub backward: bool,
}

/// One page of members.
#[derive(Debug, Clone)]
pub struct MemberPage {
    /// The rows, in the requested order.
    pub rows: Vec<member::Model>,
    /// Rows exist before the first.
    pub has_previous: bool,
    /// Rows exist after the last.
    pub has_next: bool,
    /// What the filter's department covered when the page was read, so that counting the
    /// same filter reads it once.
    pub department: Option<DepartmentScope>,
}

/// The searchable text of a member as one SQL expression; PostgreSQL's trigram index is built on
/// exactly this expression (migration `m20261122_000004`).
const SEARCH_BODY: &str = "lower(\"member\".\"nickname\" || ' ' || \"member\".\"account\" || ' ' || \"member\".\"name\" || ' ' || coalesce(\"member\".\"email\", '') || ' ' || coalesce(\"member\".\"phone\", ''))";

/// Keyword match: partial and case-insensitive over nickname, account, name, email and phone.
/// Uses the trigram index (FTS5 on SQLite, pg_trgm on PostgreSQL) for keywords of three or more
/// characters; shorter keywords are matched by scanning.
fn keyword_condition(backend: DbBackend, keyword: &str) -> Condition {
    let pattern = rules::like_pattern(keyword);
    match backend {
        DbBackend::Postgres => Condition::all().add(Expr::cust_with_values(
            format!("{SEARCH_BODY} LIKE $1 ESCAPE '\\'"),
            [pattern],
        )),
        _ if keyword.chars().count() >= 3 => {
            let phrase = format!("\"{}\"", keyword.replace('"', "\"\""));
            Condition::all().add(Expr::cust_with_values(
                "\"member\".\"id\" IN (SELECT rowid FROM member_search WHERE member_search MATCH ?)",
                [phrase],
            ))
        }
        _ => {
            let mut any = Condition::any();
            for column in [
                member::Column::Nickname,
                member::Column::Account,
                member::Column::Name,
                member::Column::Email,
                member::Column::Phone,
            ] {
                any = any.add(
                    Expr::expr(Func::lower(Expr::col((member::Entity, column))))
                        .like(LikeExpr::new(&pattern).escape('\\')),
                );
            }
            any
        }
    }
}

/// The departments a department filter of the member list covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DepartmentScope {
    /// This department alone (its members in `department_member`).
    One(i64),
    /// This department and every department below it (their members in `sub_tree_member`,
    /// kept by triggers, migration `m20261206_000021_sub_tree_member`).
    Tree(i64),
}

impl DepartmentScope {
    /// A statement over the scope's rows, one per member (the department's links, or its
    /// sub-tree's rows in `sub_tree_member`), selecting their `member_id` or, with `count`, how
    /// many they are.
    pub(crate) fn select(self, count: bool) -> sea_orm::sea_query::SelectStatement {
        let mut select = match self {
            Self::One(id) => department_rows(false, |department| department.eq(id)),
            Self::Tree(id) => department_rows(true, |department| department.eq(id)),
        };
        if count {
            select.clear_selects().expr(Expr::cust("count(*)"));
        }
        select
    }

    /// What a filter's department covers, given whether it has departments below it.
    pub fn of(filter: &MemberFilter, department_id: i64, has_children: bool) -> Self {
        if filter.include_sub_departments && has_children {
            Self::Tree(department_id)
        } else {
            Self::One(department_id)
        }
    }
}

/// The ids of the members of any of `departments` (with `sub_trees`, of any department in their
/// sub-trees), in one subquery however many they are. A member of several of them may come more
/// than once; `IN` does not mind.
pub(crate) fn members_of_any(
    departments: &[i64],
    sub_trees: bool,
) -> sea_orm::sea_query::SelectStatement {
    department_rows(sub_trees, |department| {
        department.is_in(departments.iter().copied())
    })
}

/// `member_id` of the rows of `sub_tree_member` (with `sub_trees`) or of `department_member`
/// whose department passes `departments`.
fn department_rows(
    sub_trees: bool,
    departments: impl FnOnce(Expr) -> Expr,
) -> sea_orm::sea_query::SelectStatement {
    let mut select = Query::select();
    if sub_trees {
        select
            .column(sub_tree_member::Column::MemberId)
            .from(sub_tree_member::Entity)
            .and_where(departments(Expr::col(
                sub_tree_member::Column::DepartmentId,
            )));
    } else {
        select
            .column(department_member::Column::MemberId)
            .from(department_member::Entity)
            .and_where(departments(Expr::col(
                department_member::Column::DepartmentId,
            )));
    }
    select
}

/// How many rows in sort order a sub-tree page looks among before it reads the whole sub-tree.
const SUB_TREE_WINDOW: u64 = 4_096;

/// On PostgreSQL, a sub-tree page probes a hash of the sub-tree's members while it walks the
/// sort index when the sub-tree holds at least one member in this many (BENCHMARKS.md).
const HASHED_SHARE: u32 = 200;

/// How many of a sub-tree's members [`sub_tree_is_large`] counts at most.
const HASHED_COUNT: u32 = 4_096;

/// How many rows in sort order a keyword page looks among on PostgreSQL before it reads every
/// match through the trigram index.
const KEYWORD_WINDOW: u64 = 1_024;

/// The ids of `window` (a statement selecting member ids) that `held` also selects.
fn held_in_window(
    window: sea_orm::sea_query::SelectStatement,
    held: sea_orm::sea_query::SelectStatement,
) -> sea_orm::sea_query::SelectStatement {
    let w = sea_orm::sea_query::Alias::new("w");
    Query::select()
        .column((w.clone(), member::Column::Id))
        .from_subquery(window, w.clone())
        .and_where(Expr::col((w, member::Column::Id)).in_subquery(held))
        .to_owned()
}

/// The ids of the members a filter's department holds, as a subquery: `scope`, or without it
/// the department alone; `None` without a department filter.
fn department_subquery(
    filter: &MemberFilter,
    scope: Option<&DepartmentScope>,
) -> Option<sea_orm::sea_query::SelectStatement> {
    let scope = scope
        .copied()
        .or(filter.department_id.map(DepartmentScope::One))?;
    Some(scope.select(false))
}

/// The WHERE condition of a filter within one organization.
pub fn filter_condition(
    backend: DbBackend,
    organization_id: i64,
    filter: &MemberFilter,
    department: Option<&DepartmentScope>,
) -> Condition {
    let mut cond = Condition::all().add(member::Column::OrganizationId.eq(organization_id));
    if let Some(keyword) = filter.trimmed_keyword() {
        cond = cond.add(keyword_condition(backend, keyword));
    }
    if !filter.user_types.is_empty() {
        cond = cond.add(member::Column::UserType.is_in(filter.user_types.clone()));
    }
    if !filter.account_types.is_empty() {
        cond = cond.add(member::Column::AccountType.is_in(filter.account_types.clone()));
    }
    if !filter.statuses.is_empty() {
        cond = cond.add(member::Column::Status.is_in(filter.statuses.clone()));
    }
    if let Some(role_id) = filter.role_id {
        cond = cond.add(member::Column::RoleId.eq(role_id));
    }
    if let Some(ids) = &filter.ids {
        cond = cond.add(member::Column::Id.is_in(ids.clone()));
    }
    if !filter.one_time_passwords.is_empty() {
        cond = cond.add(
            member::Column::UserId.in_subquery(one_time_password_holders(
                &filter.one_time_passwords,
                Utc::now(),
            )),
        );
    }
    for (flag, column) in [
        (filter.name_changed, member::Column::NameChanged),
        (filter.to_be_deleted, member::Column::ToBeDeleted),
    ] {
        match flag {
            Some(true) => {
                cond = cond.add(member::Column::Id.in_subquery(flagged(organization_id, column)))
            }
            Some(false) => cond = cond.add(column.eq(false)),
            None => {}
        }
    }
    if let Some(bound) = filter.bound {
        let sub = Query::select()
            .column(identity::Column::UserId)
            .from(identity::Entity)
            .to_owned();
        cond = cond.add(if bound {
            member::Column::UserId.in_subquery(sub)
        } else {
            member::Column::UserId.not_in_subquery(sub)
        });
    }
    if let Some(sub) = department_subquery(filter, department) {
        cond = cond.add(member::Column::Id.in_subquery(sub));
    }
    if let Some(workspace_id) = filter.workspace_id {
        let sub = Query::select()
            .column(workspace_member::Column::MemberId)
            .from(workspace_member::Entity)
            .and_where(Expr::col(workspace_member::Column::WorkspaceId).eq(workspace_id))
            .and_where(Expr::col(workspace_member::Column::OrganizationId).eq(organization_id))
            .to_owned();
        cond = cond.add(member::Column::Id.in_subquery(sub));
    }
    if let Some(name) = &filter.tag_name {
        let mut sub = Query::select();
        sub.column(member_tag::Column::MemberId)
            .from(member_tag::Entity)
            .and_where(Expr::col(member_tag::Column::OrganizationId).eq(organization_id))
            .and_where(Expr::col(member_tag::Column::Name).eq(name.as_str()));
        if let Some(value) = &filter.tag_value {
            sub.and_where(
                Expr::col(member_tag::Column::Value)
                    .eq(value.as_str())
                    .or(Expr::col(member_tag::Column::Value).eq(rules::ALL_MEMBERS)),
            );
        }
        cond = cond.add(member::Column::Id.in_subquery(sub.to_owned()));
    }
    cond
}

/// The members of an organization carrying a sync flag (`column`): read from the partial index
/// `ix_member_flagged`, which holds only them, by naming the bare column as the index does.
/// Asked of the page itself, SQLite's planner prefers an index over two equalities (status,
/// user type) or the sort index to the partial one, and walks the whole organization; asked
/// apart, the few flagged ids are read first and the page fetched by id.
fn flagged(organization_id: i64, column: member::Column) -> sea_orm::sea_query::SelectStatement {
    let flagged = sea_orm::sea_query::Alias::new("flagged");
    Query::select()
        .column((flagged.clone(), member::Column::Id))
        .from_as(member::Entity, flagged.clone())
        .and_where(Expr::col((flagged.clone(), member::Column::OrganizationId)).eq(organization_id))
        .and_where(Expr::col((flagged, column)))
        .to_owned()
}

/// The people holding a one-time password in any of `states` at `now`.
fn one_time_password_holders(
    states: &[OneTimePasswordState],
    now: DateTime<Utc>,
) -> sea_orm::sea_query::SelectStatement {
    let expires = || Expr::col((user::Entity, user::Column::PasswordExpiresAt));
    let mut held = Condition::any();
    if states.contains(&OneTimePasswordState::Pending) {
        held = held.add(expires().is_null()).add(expires().gt(now));
    }
    if states.contains(&OneTimePasswordState::Expired) {
        held = held.add(expires().lte(now));
    }
    Query::select()
        .column((user::Entity, user::Column::Id))
        .from(user::Entity)
        // The bare column, as the partial index `ix_user_one_time_password` says it, so that
        // both databases see the index applies (a bound `= true` does not show them that).
        .and_where(Expr::col((
            user::Entity,
            user::Column::PasswordChangeRequired,
        )))
        .cond_where(held)
        .to_owned()
}

/// [`filter_condition`] for everything the filter asks but its department, which the caller
/// reads its own way.
fn condition_but_department(
    backend: DbBackend,
    organization_id: i64,
    filter: &MemberFilter,
) -> Condition {
    filter_condition(backend, organization_id, &filter.without_department(), None)
}

/// The WHERE condition of a page: [`filter_condition`], or, with `hashed` (the department's
/// [`department_subquery`], chosen by [`sub_tree_is_large`]), its members probed by hash.
fn page_condition(
    backend: DbBackend,
    organization_id: i64,
    filter: &MemberFilter,
    department: Option<&DepartmentScope>,
    hashed: Option<&sea_orm::sea_query::SelectStatement>,
) -> Condition {
    let Some(held) = hashed else {
        return filter_condition(backend, organization_id, filter, department);
    };
    // `IS TRUE` keeps PostgreSQL from turning the `IN` into a join: it hashes the members once
    // and probes the hash for each row it walks.
    condition_but_department(backend, organization_id, filter).add(Expr::cust_with_expr(
        "($1) IS TRUE",
        member::Column::Id.in_subquery(held.clone()),
    ))
}

/// On PostgreSQL, whether a sub-tree holds at least one member in [`HASHED_SHARE`] of those in
/// the `member` table (all organizations; `reltuples` from its statistics, so an overestimate
/// for one of several organizations, which keeps the plain form). At most [`HASHED_COUNT`] of
/// its members are counted, so beyond 200 times that many members the plain form stays.
///
/// In any order but the nickname's (which reads the sub-tree in order, [`in_sub_tree_order`]),
/// PostgreSQL finds a sub-tree's page by walking the sort index and probing each member against
/// the sub-tree's members by index, or, for a small sub-tree, by reading its members and sorting
/// them. Probing a hash of the sub-tree's members instead halves the walk (1.5 against 3.4 ms for
/// a sub-tree of 2 % of 100,000 members, measured when the sub-tree was listed through its
/// departments' links), and its planner misjudges sub-trees of 0.5–1 % (7.6–8.1 ms against
/// 2.0–3.3 ms). But it has no estimate for the hashed form and would walk
/// the whole organization for a small sub-tree, so the choice is made here.
async fn sub_tree_is_large<C: ConnectionTrait>(
    db: &C,
    held: &sea_orm::sea_query::SelectStatement,
) -> Result<bool> {
    let held = DbBackend::Postgres.build(held);
    // A limit the planner knows: one computed at run time, it takes for a tenth of the rows and
    // scans the whole table for them (4.6 ms in `psql`, against 1.2 ms through the index).
    let sql = format!(
        "SELECT count(*) AS held, (SELECT reltuples FROM pg_class \
         WHERE oid = 'member'::regclass)::float8 AS members FROM ({} LIMIT {HASHED_COUNT}) AS s",
        held.sql
    );
    let row = db
        .query_one_raw(sea_orm::Statement { sql, ..held })
        .await?
        .ok_or_else(|| Error::internal("counting a sub-tree's members returned no row"))?;
    Ok(share_reached(
        row.try_get::<i64>("", "held")?,
        row.try_get::<f64>("", "members")?,
    ))
}

/// How long a sub-tree's size class is remembered.
const SUB_TREE_SIZE_TTL: std::time::Duration = std::time::Duration::from_secs(60);

/// How many sub-trees' size classes are remembered at most.
const SUB_TREE_SIZES_KEPT: usize = 4_096;

/// Which sub-trees (organization, department) `sub_tree_is_large` found large, remembered for
/// `SUB_TREE_SIZE_TTL` (a minute) so that the pages of a sub-tree after its first skip the count
/// (a round trip and about 0.6 ms of PostgreSQL's time). The answer only picks between two plans
/// that read the same rows: one a minute stale costs time, never a wrong page.
#[derive(Debug, Default)]
pub struct SubTreeSizes {
    seen: std::sync::Mutex<std::collections::HashMap<(i64, i64), (bool, std::time::Instant)>>,
}

impl SubTreeSizes {
    fn get(&self, key: (i64, i64), now: std::time::Instant) -> Option<bool> {
        let seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        seen.get(&key)
            .filter(|(_, at)| now.duration_since(*at) < SUB_TREE_SIZE_TTL)
            .map(|(large, _)| *large)
    }

    fn keep(&self, key: (i64, i64), large: bool, now: std::time::Instant) {
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        if seen.len() >= SUB_TREE_SIZES_KEPT && !seen.contains_key(&key) {
            seen.retain(|_, (_, at)| now.duration_since(*at) < SUB_TREE_SIZE_TTL);
            if seen.len() >= SUB_TREE_SIZES_KEPT {
                seen.clear();
            }
        }
        seen.insert(key, (large, now));
    }
}

/// [`sub_tree_is_large`] for the filter's department, remembered in `sizes`.
async fn sub_tree_is_large_kept<C: ConnectionTrait>(
    db: &C,
    sizes: &SubTreeSizes,
    key: (i64, i64),
    held: &sea_orm::sea_query::SelectStatement,
) -> Result<bool> {
    let now = std::time::Instant::now();
    if let Some(large) = sizes.get(key, now) {
        return Ok(large);
    }
    let large = sub_tree_is_large(db, held).await?;
    sizes.keep(key, large, now);
    Ok(large)
}

/// Whether `held` members are at least one in [`HASHED_SHARE`] of `members` (negative when the
/// table has no statistics yet: never).
fn share_reached(held: i64, members: f64) -> bool {
    members > 0.0 && held as f64 * f64::from(HASHED_SHARE) >= members
}

/// Rows beyond the cursor in traversal order, among rows whose sort value is present.
fn keyset_condition(
    field: SortField,
    value: sea_orm::Value,
    id: i64,
    ascending: bool,
) -> Condition {
    let sorted = field.expr();
    let value = field.sorted(Expr::val(value));
    let beyond = if ascending {
        sorted.clone().gt(value.clone())
    } else {
        sorted.clone().lt(value.clone())
    };
    if field.is_unique() {
        // One range of the index: nothing else holds the cursor's value.
        return Condition::all().add(beyond);
    }
    Condition::any().add(beyond).add(
        Condition::all()
            .add(sorted.eq(value))
            .add(id_beyond(id, ascending)),
    )
}

/// Rows whose id lies beyond this one in traversal order.
fn id_beyond(id: i64, ascending: bool) -> Expr {
    if ascending {
        member::Column::Id.gt(id)
    } else {
        member::Column::Id.lt(id)
    }
}

/// A cursor's sort value as SQL; `None` for a member who never logged in.
fn sql_value(value: &SortValue) -> Option<sea_orm::Value> {
    match value {
        SortValue::Text(s) => Some(s.clone().into()),
        SortValue::Int(i) => Some((*i).into()),
        SortValue::Time(t) => t.map(Into::into),
    }
}

/// The filter's keyword, on PostgreSQL, when it is long enough for the trigram index (three
/// characters or more).
fn trigram_keyword(backend: DbBackend, filter: &MemberFilter) -> Option<&str> {
    filter
        .trimmed_keyword()
        .filter(|k| backend == DbBackend::Postgres && k.chars().count() >= 3)
}

/// The first `wanted` members of `bare` (a page's query without its keyword) in the order
/// `in_order` gives that match `keyword`, looked for among the next [`KEYWORD_WINDOW`] members in
/// that order: a walk of an index in sort order that stops there. `None` when those hold fewer;
/// index walks are then off for the rest of the page's transaction (`begin_planned_per_value`),
/// so that the caller's read of every match goes through the trigram index and sorts them.
async fn keyword_window<C: ConnectionTrait>(
    db: &C,
    bare: sea_orm::Select<member::Entity>,
    keyword: &str,
    in_order: impl Fn(sea_orm::Select<member::Entity>) -> sea_orm::Select<member::Entity>,
    wanted: usize,
) -> Result<Option<Vec<member::Model>>> {
    let next = in_order(bare).limit(KEYWORD_WINDOW).into_query();
    let mut matches =
        member::Entity::find().filter(keyword_condition(DbBackend::Postgres, keyword));
    QueryFilter::query(&mut matches)
        .from_clear()
        .from_subquery(next, member::Entity);
    let rows = in_order(matches).limit(wanted as u64).all(db).await?;
    if rows.len() == wanted {
        return Ok(Some(rows));
    }
    db.execute_unprepared("SET LOCAL enable_indexscan = off")
        .await?;
    Ok(None)
}

/// Whether the best plan for a filter's statements depends on the values bound to them: how
/// many members a keyword pattern or a sub-tree holds decides between walking the sort index
/// until a page is found and reading the matches to sort them. PostgreSQL plans a prepared
/// statement for its values only for its first five executions and may then settle on one
/// generic plan for all values; the generic plan for a keyword walks the nickname index
/// (0.1 s for a rare keyword on 100,000 members instead of 5 ms, BENCHMARKS.md).
fn plans_per_value(filter: &MemberFilter) -> bool {
    let keyword = filter.trimmed_keyword().is_some();
    let sub_tree = filter.department_id.is_some() && filter.include_sub_departments;
    keyword || sub_tree
}

/// Whether a page is read in [`in_sub_tree_order`] when its department has departments below
/// it: a sub-tree in nickname order, without a keyword (a keyword page looks for its matches in
/// the keyword's own way).
fn read_in_sub_tree_order(filter: &MemberFilter, field: SortField) -> bool {
    field == SortField::Nickname
        && filter.department_id.is_some()
        && filter.include_sub_departments
        && filter.trimmed_keyword().is_none()
}

/// One page of the organization's members.
///
/// **Permissions**: `org.members.view`, proven by `access`.
pub async fn list(
    db: &DatabaseConnection,
    sizes: &SubTreeSizes,
    access: &OrgAccess,
    filter: &MemberFilter,
    field: SortField,
    descending: bool,
    page: &PageRequest,
) -> Result<MemberPage> {
    // A page in sub-tree order has one good plan whatever the sub-tree's size.
    if plans_per_value(filter)
        && !read_in_sub_tree_order(filter, field)
        && let Some(txn) = crate::db::begin_planned_per_value(db, PlannedRead::Page).await?
    {
        let read = read_page(&txn, sizes, access, filter, field, descending, page).await?;
        txn.commit().await?;
        return Ok(read);
    }
    read_page(db, sizes, access, filter, field, descending, page).await
}

/// One page of the organization's members, read with `db`.
async fn read_page<C: ConnectionTrait>(
    db: &C,
    sizes: &SubTreeSizes,
    access: &OrgAccess,
    filter: &MemberFilter,
    field: SortField,
    descending: bool,
    page: &PageRequest,
) -> Result<MemberPage> {
    let scope = department_scope(db, access.org_id(), filter).await?;
    let backward = page.before.is_some() || page.backward;
    // Traversal order: the requested one, or its reverse when reading backward.
    let ascending = descending == backward;
    let order = if ascending { Order::Asc } else { Order::Desc };
    let backend = db.get_database_backend();
    let sub_tree = match scope {
        Some(DepartmentScope::Tree(department)) => Some(department),
        _ => None,
    };
    let ordered_sub_tree = sub_tree.filter(|_| read_in_sub_tree_order(filter, field));
    let hashed = match (sub_tree, backend, ordered_sub_tree) {
        (Some(department), DbBackend::Postgres, None) => {
            let held = DepartmentScope::Tree(department).select(false);
            sub_tree_is_large_kept(db, sizes, (access.org_id(), department), &held)
                .await?
                .then_some(held)
        }
        _ => None,
    };
    let condition = |filter: &MemberFilter| {
        page_condition(
            backend,
            access.org_id(),
            filter,
            scope.as_ref(),
            hashed.as_ref(),
        )
    };
    let query = member::Entity::find().filter(condition(filter));
    // PostgreSQL estimates how many members a keyword matches from a hundred sampled search
    // texts. When one of them happens to hold a rare keyword, it expects a page among the first
    // rows in sort order and walks the whole organization for matches that are not there (117 ms
    // at 100,000 members instead of 5 ms, BENCHMARKS.md). So a keyword the trigram index can
    // serve is looked for among the next rows in order first (`keyword_window`), in the same
    // query without the keyword.
    let keyword = trigram_keyword(backend, filter).map(|keyword| {
        let mut rest = filter.clone();
        rest.keyword = None;
        let bare = member::Entity::find().filter(condition(&rest));
        (bare, keyword)
    });
    let cursor = if backward {
        page.before.as_ref()
    } else {
        page.after.as_ref()
    };
    let wanted = page.limit + 1;
    let mut rows = if let Some(department) = ordered_sub_tree {
        let condition = condition_but_department(backend, access.org_id(), filter);
        in_sub_tree_order(db, department, condition, cursor, order.clone(), wanted).await?
    } else if field == SortField::LastLoginAt {
        by_last_login(db, query, keyword, cursor, order, backward, wanted).await?
    } else {
        let keyset = cursor
            .and_then(|c| sql_value(&c.value).map(|v| (v, c.id)))
            .map(|(value, id)| keyset_condition(field, value, id, ascending));
        // SQLite answers a sub-tree filter by reading every member of the sub-tree and sorting
        // them all; looking for the page among the next rows in sort order first (the sort
        // index, then the sub-tree's members among them) finds it at once when the sub-tree
        // is not tiny. When the window holds less than a page, the plain query decides.
        let window = match (sub_tree, backend) {
            (Some(department), DbBackend::Sqlite) => {
                let mut window = member::Entity::find()
                    .select_only()
                    .column(member::Column::Id)
                    .filter(condition_but_department(backend, access.org_id(), filter));
                if let Some(keyset) = keyset.clone() {
                    window = window.filter(keyset);
                }
                Some(held_in_window(
                    field
                        .order(window, &order)
                        .limit(SUB_TREE_WINDOW)
                        .into_query(),
                    DepartmentScope::Tree(department).select(false),
                ))
            }
            _ => None,
        };
        let ordered = |query: sea_orm::Select<member::Entity>| {
            field.order(query, &order).limit(wanted as u64)
        };
        let windowed = match window {
            Some(window) => Some(
                ordered(member::Entity::find().filter(member::Column::Id.in_subquery(window)))
                    .all(db)
                    .await?,
            ),
            None => None,
        };
        let windowed = match (windowed, keyword) {
            (None, Some((mut bare, keyword))) => {
                if let Some(keyset) = keyset.clone() {
                    bare = bare.filter(keyset);
                }
                let in_order = |q| field.order(q, &order);
                keyword_window(db, bare, keyword, in_order, wanted).await?
            }
            (windowed, _) => windowed,
        };
        match windowed {
            // The window held a whole page: those are the first matches in order.
            Some(rows) if rows.len() == wanted => rows,
            _ => {
                let mut query = query;
                if let Some(keyset) = keyset {
                    query = query.filter(keyset);
                }
                ordered(query).all(db).await?
            }
        }
    };
    let more = rows.len() > page.limit;
    rows.truncate(page.limit);
    if backward {
        rows.reverse();
        Ok(MemberPage {
            rows,
            has_previous: more,
            has_next: page.before.is_some(),
            department: scope,
        })
    } else {
        Ok(MemberPage {
            rows,
            has_previous: page.after.is_some(),
            has_next: more,
            department: scope,
        })
    }
}

/// Up to `wanted` members of `department`'s sub-tree matching `condition`, in nickname order
/// from the cursor on: one range of `sub_tree_member`'s index `(department_id, lower_nickname,
/// member_id)` read in order, each member fetched by id and tested, until enough match. A
/// sub-tree of 2,000 of 100,000 members no longer walks the organization's nickname index for
/// them (BENCHMARKS.md).
async fn in_sub_tree_order<C: ConnectionTrait>(
    db: &C,
    department: i64,
    condition: Condition,
    cursor: Option<&Cursor>,
    order: Order,
    wanted: usize,
) -> Result<Vec<member::Model>> {
    let sorted = Expr::col((
        sub_tree_member::Entity,
        sub_tree_member::Column::LowerNickname,
    ));
    let mut query = member::Entity::find().filter(condition).filter(
        Expr::col((
            sub_tree_member::Entity,
            sub_tree_member::Column::DepartmentId,
        ))
        .eq(department),
    );
    if let Some(value) = cursor.and_then(|c| sql_value(&c.value)) {
        // Nicknames are unique in an organization, in any letter case: no ties to break.
        let at = SortField::Nickname.sorted(Expr::val(value));
        query = query.filter(if order == Order::Asc {
            sorted.clone().gt(at)
        } else {
            sorted.clone().lt(at)
        });
    }
    QueryTrait::query(&mut query).inner_join(
        sub_tree_member::Entity,
        Expr::col((sub_tree_member::Entity, sub_tree_member::Column::MemberId))
            .equals((member::Entity, member::Column::Id)),
    );
    Ok(query
        .order_by(sorted, order)
        .limit(wanted as u64)
        .all(db)
        .await?)
}

/// Up to `wanted` rows in last-login order from the cursor on. Members who never logged in come
/// after everyone else in the requested order (so first in a backward read), ordered by id. The
/// two groups are read one after the other, each in the order of an index: a single
/// `ORDER BY last_login_at … NULLS LAST` would have PostgreSQL sort every matching row for a
/// descending page, because its indexes keep absent values at one end only. With `keyword` (the
/// query without its keyword, and the keyword), each group is first looked for in a
/// [`keyword_window`] until one comes up short.
async fn by_last_login<C: ConnectionTrait>(
    db: &C,
    query: sea_orm::Select<member::Entity>,
    mut keyword: Option<(sea_orm::Select<member::Entity>, &str)>,
    cursor: Option<&Cursor>,
    order: Order,
    backward: bool,
    wanted: usize,
) -> Result<Vec<member::Model>> {
    let ascending = order == Order::Asc;
    let col = member::Column::LastLoginAt;
    // The cursor's value, `None` inside the never-logged-in group.
    let at: Option<(Option<sea_orm::Value>, i64)> = cursor.map(|c| (sql_value(&c.value), c.id));
    // The groups in traversal order: `true` is the never-logged-in one.
    let groups = if backward {
        [true, false]
    } else {
        [false, true]
    };
    let mut rows = Vec::with_capacity(wanted);
    let mut reached = at.is_none();
    for never in groups {
        let mut group = Condition::all().add(if never {
            col.is_null()
        } else {
            col.is_not_null()
        });
        if !reached {
            match (&at, never) {
                // The cursor lies in the other group, further on.
                (Some((Some(_), _)), true) | (Some((None, _)), false) => continue,
                (Some((Some(value), id)), false) => {
                    group = group.add(keyset_condition(
                        SortField::LastLoginAt,
                        value.clone(),
                        *id,
                        ascending,
                    ));
                }
                (Some((None, id)), true) => group = group.add(id_beyond(*id, ascending)),
                (None, _) => {}
            }
            reached = true;
        }
        let in_order = |q: sea_orm::Select<member::Entity>| {
            if never {
                q.order_by(member::Column::Id, order.clone())
            } else {
                SortField::LastLoginAt.order(q, &order)
            }
        };
        let left = wanted - rows.len();
        let windowed = match &keyword {
            Some((bare, word)) => {
                keyword_window(db, bare.clone().filter(group.clone()), word, in_order, left).await?
            }
            None => None,
        };
        if windowed.is_none() {
            // Index walks are off now: the rest reads every match.
            keyword = None;
        }
        let read = match windowed {
            Some(read) => read,
            None => {
                in_order(query.clone().filter(group))
                    .limit(left as u64)
                    .all(db)
                    .await?
            }
        };
        rows.extend(read);
        if rows.len() >= wanted {
            break;
        }
    }
    Ok(rows)
}

/// How many members match the filter `page` was read with (all pages); without a statement when
/// the page holds them all.
///
/// **Permissions**: `org.members.view`, proven by `access`.
pub async fn count(
    db: &DatabaseConnection,
    access: &OrgAccess,
    filter: &MemberFilter,
    page: &MemberPage,
) -> Result<u64> {
    if !page.has_previous && !page.has_next {
        // Nothing before the page and nothing after it: the page holds every match.
        return Ok(page.rows.len() as u64);
    }
    if let Some(scope) = page.department.filter(|_| only_a_department(filter)) {
        return department_count(db, scope).await;
    }
    if let Some(less) = counted_from_tally(filter) {
        let tally = tally(db, access.org_id(), less).await?;
        if tally.rows > TALLY_ROWS_FOLDED {
            fold_tally(db, access.org_id()).await;
        }
        return Ok(tally.members);
    }
    let query = member::Entity::find().filter(filter_condition(
        db.get_database_backend(),
        access.org_id(),
        filter,
        page.department.as_ref(),
    ));
    if plans_per_value(filter)
        && let Some(txn) = crate::db::begin_planned_per_value(db, PlannedRead::All).await?
    {
        let count = query.count(&txn).await?;
        txn.commit().await?;
        return Ok(count);
    }
    Ok(query.count(db).await?)
}

/// Whether a filter keeps a department's members (with its sub-tree or not) and nothing else.
fn only_a_department(filter: &MemberFilter) -> bool {
    filter.department_id.is_some() && filter.without_department().is_empty()
}

/// How many members a department holds, or its sub-tree: its rows in `department_member` or
/// `sub_tree_member`, counted from their primary keys without reading a member. A department's
/// members are all its organization's, and a resigned member is in no department.
async fn department_count(db: &DatabaseConnection, scope: DepartmentScope) -> Result<u64> {
    let row = db
        .query_one(&scope.select(true))
        .await?
        .ok_or_else(|| Error::internal("counting a department's members returned no row"))?;
    let members: i64 = row.try_get_by_index(0)?;
    u64::try_from(members).map_err(|_| Error::internal("a negative count of a department"))
}

/// Whether [`count`] answers `filter` from the member tally, and then which members to take off
/// it: none without a filter; the members in the other statuses when the filter keeps only some
/// statuses, active among them. Most members are active, so the others are few, and they are
/// counted through the `(organization_id, status, …)` index. (Were most members not active,
/// this would cost at most what counting the whole organization did before the tally.)
fn counted_from_tally(filter: &MemberFilter) -> Option<Option<Condition>> {
    if filter.is_empty() {
        return Some(None);
    }
    let mut rest = filter.clone();
    rest.statuses.clear();
    if !rest.is_empty() || !filter.statuses.contains(&MemberStatus::Active) {
        return None;
    }
    let others: Vec<MemberStatus> = <MemberStatus as sea_orm::Iterable>::iter()
        .filter(|status| !filter.statuses.contains(status))
        .collect();
    Some(Some(
        Condition::all().add(member::Column::Status.is_in(others)),
    ))
}

/// How many rows of an organization's `member_tally` [`count`] reads before it folds them into one.
const TALLY_ROWS_FOLDED: i64 = 64;

/// An organization's member count from `member_tally`, and how many rows it was summed from.
struct Tally {
    members: u64,
    rows: i64,
}

/// How many members an organization has, less those matching `less` (counted in the same
/// statement, so from the same snapshot): the sum of its rows in `member_tally`, which triggers
/// on `member` keep exact in every snapshot (migration `m20261206_000020_member_tally`). A lookup
/// instead of counting 100,000 index entries (3.4–15 ms, BENCHMARKS.md).
///
/// On SQLite an organization has one row. On PostgreSQL every statement that adds or removes
/// members appends one, so that writers never wait for each other; [`fold_tally`] sums them up.
async fn tally<C: ConnectionTrait>(
    db: &C,
    organization_id: i64,
    less: Option<Condition>,
) -> Result<Tally> {
    let mut members = Expr::cust("CAST(coalesce(sum(members), 0) AS BIGINT)");
    if let Some(less) = less {
        let matching = member::Entity::find()
            .select_only()
            .expr(Expr::cust("count(*)"))
            .filter(member::Column::OrganizationId.eq(organization_id))
            .filter(less)
            .into_query();
        members = members.sub(Expr::from(matching));
    }
    let read = Query::select()
        .expr_as(members, "members")
        .expr_as(Expr::cust("count(*)"), "tally_rows")
        .from("member_tally")
        .and_where(Expr::col("organization_id").eq(organization_id))
        .to_owned();
    let row = db
        .query_one(&read)
        .await?
        .ok_or_else(|| Error::internal("summing an organization's member tally returned no row"))?;
    let members: i64 = row.try_get("", "members")?;
    Ok(Tally {
        members: u64::try_from(members).map_err(|_| {
            Error::internal(format!(
                "organization {organization_id} has a negative member tally ({members})"
            ))
        })?,
        rows: row.try_get("", "tally_rows")?,
    })
}

/// Folds an organization's `member_tally` rows into one holding their sum (PostgreSQL, where
/// they pile up), once a count has summed more than [`TALLY_ROWS_FOLDED`] of them. It only
/// tidies, so a failure (two folds deadlocking, say) is logged, not returned.
async fn fold_tally(db: &DatabaseConnection, organization_id: i64) {
    if let Err(e) = fold_tallies(db, Some(organization_id)).await {
        tracing::warn!(
            organization = organization_id,
            error = %crate::error::error_chain(&e),
            "folding the member tally failed; the next count tries again"
        );
    }
}

/// Folds the `member_tally` rows of every organization holding more than one (or of
/// `organization` alone) into one row holding their sum, and says how many organizations it
/// folded. Only PostgreSQL appends a row per writing statement (SQLite keeps one per
/// organization: nothing to do). Counts fold their organization's rows as they read them
/// ([`count`]); the server's housekeeping folds the others every ten minutes, so that an
/// organization written often but seldom counted does not pile them up for its seat checks.
///
/// One statement: no snapshot sees another sum, and rows appended meanwhile stay. Two folds at
/// once delete each row once: the second skips the rows the first deleted, and sums only its own.
pub async fn fold_tallies(db: &DatabaseConnection, organization: Option<i64>) -> Result<u64> {
    let backend = db.get_database_backend();
    if backend != DbBackend::Postgres {
        return Ok(0);
    }
    let only = if organization.is_some() {
        "WHERE organization_id = $1"
    } else {
        ""
    };
    let sql = format!(
        "WITH piled AS (SELECT organization_id FROM member_tally {only} \
           GROUP BY organization_id HAVING count(*) > 1), \
         folded AS (DELETE FROM member_tally \
           WHERE organization_id IN (SELECT organization_id FROM piled) \
           RETURNING organization_id, members) \
         INSERT INTO member_tally (organization_id, members) \
         SELECT organization_id, sum(members) FROM folded GROUP BY organization_id"
    );
    let values: Vec<sea_orm::Value> = organization.into_iter().map(Into::into).collect();
    let folded = db
        .execute_raw(sea_orm::Statement::from_sql_and_values(
            backend, sql, values,
        ))
        .await?;
    Ok(folded.rows_affected())
}

/// What a filter's department covers, in one statement: the department (NOT_FOUND unless it is
/// the organization's) and whether any department lies below it.
async fn department_scope<C: ConnectionTrait>(
    db: &C,
    org: i64,
    filter: &MemberFilter,
) -> Result<Option<DepartmentScope>> {
    let Some(id) = filter.department_id else {
        return Ok(None);
    };
    let child = sea_orm::sea_query::Alias::new("child");
    let children = Query::select()
        .expr(Expr::val(1))
        .from_as(department::Entity, child.clone())
        .and_where(Expr::col((child.clone(), department::Column::OrganizationId)).eq(org))
        .and_where(Expr::col((child, department::Column::ParentId)).eq(id))
        .to_owned();
    let found: Option<(i64, bool)> = department::Entity::find_by_id(id)
        .select_only()
        .column(department::Column::Id)
        .expr(Expr::exists(children))
        .filter(department::Column::OrganizationId.eq(org))
        .into_tuple()
        .one(db)
        .await?;
    let (id, has_children) = found.ok_or(Error::NotFound("department"))?;
    Ok(Some(DepartmentScope::of(filter, id, has_children)))
}

/// One tag with its values, as set on a member.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagSet {
    /// Tag name without `tag_`.
    pub name: String,
    /// Values, or `[$ALL_MEMBERS$]`.
    pub values: Vec<String>,
}

/// Fields of a new member.
#[derive(Debug, Clone, Default)]
pub struct NewMember {
    /// Login account.
    pub account: String,
    /// Nickname (defaults to the account).
    pub nickname: Option<String>,
    /// Real name (defaults to the nickname).
    pub name: Option<String>,
    /// Initial password; generated when absent.
    pub password: Option<String>,
    /// Whether the first password must be replaced at the first login (default: yes; a generated
    /// one always is).
    pub password_change_required: Option<bool>,
    /// Licence class.
    pub user_type: Option<UserType>,
    /// Organization role (defaults to standard user).
    pub role_id: Option<i64>,
    /// Email.
    pub email: Option<String>,
    /// Phone.
    pub phone: Option<String>,
    /// Employee number.
    pub employee_no: Option<String>,
    /// Position.
    pub position: Option<String>,
    /// Departments.
    pub department_ids: Vec<i64>,
    /// Tags.
    pub tags: Vec<TagSet>,
}

/// Changes to a member; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct MemberChanges {
    /// New nickname.
    pub nickname: Option<String>,
    /// New real name.
    pub name: Option<String>,
    /// New email (`Some("")` clears it).
    pub email: Option<String>,
    /// New phone (`Some("")` clears it).
    pub phone: Option<String>,
    /// New employee number.
    pub employee_no: Option<String>,
    /// New position.
    pub position: Option<String>,
    /// New user type.
    pub user_type: Option<UserType>,
    /// New organization role.
    pub role_id: Option<i64>,
    /// Replaces the departments.
    pub department_ids: Option<Vec<i64>>,
    /// Replaces the tags.
    pub tags: Option<Vec<TagSet>>,
}

/// An organization role resolved for assignment.
pub(crate) async fn assignable_org_role<C: ConnectionTrait>(
    db: &C,
    org: i64,
    role_id: i64,
) -> Result<(role::Model, bool)> {
    let role = role::Entity::find_by_id(role_id)
        .filter(
            role::Column::OrganizationId
                .eq(org)
                .or(role::Column::OrganizationId.is_null()),
        )
        .one(db)
        .await?
        .filter(|r| r.scope == RoleScope::Organization)
        .ok_or_else(|| {
            Error::validation(
                "roleId",
                "no organization role with this id in your organization",
            )
        })?;
    let is_admin = BuiltinRole::of(&role).is_some_and(BuiltinRole::is_administrator);
    Ok((role, is_admin))
}

fn is_org_admin_role(role: &role::Model) -> bool {
    role.builtin_key.as_deref() == Some(BuiltinRole::OrgAdmin.key())
}

/// Checks the caller may give or take away `role`: organization roles need `org.permissions.manage`,
/// and the organization administrator role needs `org.organization.manage`.
pub(crate) fn check_role_grant(grants: &Grants, role: &role::Model) -> Result<()> {
    grants.require(Permission::ManagePermissions)?;
    if is_org_admin_role(role) {
        grants.require(Permission::ManageOrganization)?;
    }
    Ok(())
}

/// [`check_role_grant`] for a member who is given `role` (or whose login is handed over), where
/// the standard user role needs no more than managing members.
pub(crate) fn check_role_grant_beyond_standard(grants: &Grants, role: &role::Model) -> Result<()> {
    if role.builtin_key.as_deref() == Some(BuiltinRole::StandardUser.key()) {
        return Ok(());
    }
    check_role_grant(grants, role)
}

/// Whether a member of the organization (other than `except`) holds this nickname in any letter
/// case. The database lower-cases both sides, as its unique index on
/// `(organization_id, lower(nickname))` does, so the answer is the index's.
pub async fn nickname_taken<C: ConnectionTrait>(
    db: &C,
    org: i64,
    nickname: &str,
    except: Option<i64>,
) -> Result<bool> {
    let mut query = member::Entity::find()
        .filter(member::Column::OrganizationId.eq(org))
        .filter(
            Expr::expr(Func::lower(Expr::col(member::Column::Nickname)))
                .eq(Func::lower(Expr::val(nickname))),
        );
    if let Some(id) = except {
        query = query.filter(member::Column::Id.ne(id));
    }
    Ok(query.count(db).await? > 0)
}

/// Refuses an account another member of the organization holds.
pub(crate) async fn check_account_free<C: ConnectionTrait>(
    db: &C,
    org: i64,
    account: &str,
) -> Result<()> {
    if member::Entity::find()
        .filter(member::Column::OrganizationId.eq(org))
        .filter(member::Column::Account.eq(account))
        .count(db)
        .await?
        > 0
    {
        return Err(Error::Conflict(format!(
            "the account `{account}` already exists in this organization"
        )));
    }
    Ok(())
}

/// Refuses a nickname another member of the organization holds in any letter case.
pub(crate) async fn check_nickname_free<C: ConnectionTrait>(
    db: &C,
    org: i64,
    nickname: &str,
    except: Option<i64>,
) -> Result<()> {
    if nickname_taken(db, org, nickname, except).await? {
        return Err(Error::Conflict(format!(
            "the nickname `{nickname}` is already used in this organization; choose another"
        )));
    }
    Ok(())
}

async fn check_departments<C: ConnectionTrait>(db: &C, org: i64, ids: &[i64]) -> Result<()> {
    let unique: HashSet<i64> = ids.iter().copied().collect();
    let found = department::Entity::find()
        .filter(department::Column::OrganizationId.eq(org))
        .filter(department::Column::Id.is_in(unique.iter().copied()))
        .count(db)
        .await?;
    if found as usize != unique.len() {
        return Err(Error::validation(
            "departmentIds",
            "one of the departments does not exist in this organization",
        ));
    }
    Ok(())
}

/// Counts the seats in use: the organization's members less the resigned ones, who are counted
/// through the `(organization_id, status, …)` index (usually few) while the others come from the
/// member tally. It never folds the tally: it runs inside the transaction that adds members.
pub async fn seats_in_use<C: ConnectionTrait>(db: &C, org: i64) -> Result<u64> {
    let resigned = Condition::all().add(member::Column::Status.eq(MemberStatus::Resigned));
    Ok(tally(db, org, Some(resigned)).await?.members)
}

/// Refuses when adding `adding` members would pass the organization's seat limit. Call it inside
/// the transaction that adds them: it locks the organization row so that concurrent additions
/// count one after the other.
pub async fn check_seats<C: ConnectionTrait>(
    db: &C,
    org: &organization::Model,
    adding: u64,
) -> Result<()> {
    if let Some(limit) = org.seat_limit {
        organization::Entity::update_many()
            .col_expr(
                organization::Column::SeatLimit,
                Expr::col(organization::Column::SeatLimit),
            )
            .filter(organization::Column::Id.eq(org.id))
            .exec(db)
            .await?;
        let used = seats_in_use(db, org.id).await?;
        if used + adding > u64::try_from(limit).unwrap_or(0) {
            return Err(Error::Conflict(format!(
                "the organization's seat limit is {limit} and {used} seats are in use; remove or resign members, or raise the limit"
            )));
        }
    }
    Ok(())
}

async fn replace_departments_in_txn<C: ConnectionTrait>(
    db: &C,
    org: i64,
    member_id: i64,
    ids: &[i64],
) -> Result<()> {
    department_member::Entity::delete_many()
        .filter(department_member::Column::MemberId.eq(member_id))
        .exec(db)
        .await?;
    let unique: Vec<i64> = ids
        .iter()
        .copied()
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    if !unique.is_empty() {
        department_member::Entity::insert_many(unique.into_iter().map(|department_id| {
            department_member::ActiveModel {
                department_id: Set(department_id),
                member_id: Set(member_id),
                organization_id: Set(org),
            }
        }))
        .exec_without_returning(db)
        .await?;
    }
    Ok(())
}

async fn replace_tags_in_txn<C: ConnectionTrait>(
    db: &C,
    org: i64,
    member_id: i64,
    tags: &[TagSet],
) -> Result<()> {
    member_tag::Entity::delete_many()
        .filter(member_tag::Column::MemberId.eq(member_id))
        .exec(db)
        .await?;
    let rows: Vec<member_tag::ActiveModel> = tags
        .iter()
        .flat_map(|tag| {
            tag.values.iter().map(move |value| member_tag::ActiveModel {
                organization_id: Set(org),
                member_id: Set(member_id),
                name: Set(tag.name.clone()),
                value: Set(value.clone()),
                ..Default::default()
            })
        })
        .collect();
    if !rows.is_empty() {
        member_tag::Entity::insert_many(rows)
            .exec_without_returning(db)
            .await?;
    }
    Ok(())
}

/// Normalizes tag input: valid names, parsed values, one entry per name.
pub fn parse_tags(tags: Vec<(String, String)>) -> Result<Vec<TagSet>> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (name, values) in tags {
        let name = rules::tag_name("tags", &name)?;
        if out.contains_key(&name) {
            return Err(Error::validation(
                "tags",
                format!("the tag `tag_{name}` is given twice"),
            ));
        }
        out.insert(name, rules::tag_values("tags", &values)?);
    }
    Ok(out
        .into_iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(name, values)| TagSet { name, values })
        .collect())
}

/// Creates a personal workspace for a member.
pub async fn create_personal_workspace_in_txn<C: ConnectionTrait>(
    db: &C,
    member: &member::Model,
) -> Result<()> {
    workspace::Entity::insert(personal_workspace_row(member))
        .exec_without_returning(db)
        .await?;
    Ok(())
}

/// The row of a member's personal workspace, for one insert or many (spreadsheet import).
pub fn personal_workspace_row(member: &member::Model) -> workspace::ActiveModel {
    workspace::ActiveModel {
        organization_id: Set(member.organization_id),
        name: Set(format!("{}'s workspace", member.nickname)),
        kind: Set(WorkspaceKind::Personal),
        owner_member_id: Set(member.id),
        created_at: Set(Utc::now()),
        ..Default::default()
    }
}

/// The fields of a new local (password) member, already checked.
#[derive(Debug, Clone)]
pub struct LocalMember {
    /// Organization.
    pub organization_id: i64,
    /// The person (a `user` row with the password hash).
    pub user_id: i64,
    /// Login account.
    pub account: String,
    /// Nickname.
    pub nickname: String,
    /// Real name.
    pub name: String,
    /// Licence class.
    pub user_type: UserType,
    /// Organization role.
    pub role_id: i64,
    /// Email.
    pub email: Option<String>,
    /// Phone.
    pub phone: Option<String>,
    /// Employee number (trimmed; empty means none).
    pub employee_no: Option<String>,
    /// Position (trimmed; empty means none).
    pub position: Option<String>,
}

/// Inserts an active local member (`createMember`, the first administrator, organizations).
pub async fn insert_local_member<C: ConnectionTrait>(
    db: &C,
    m: LocalMember,
    now: DateTime<Utc>,
) -> Result<member::Model> {
    Ok(member::Entity::insert(local_member_row(m, now))
        .exec_with_returning(db)
        .await?)
}

/// The row of an active local member; [`insert_local_member`] and spreadsheet import (many rows
/// per statement) share it.
pub fn local_member_row(m: LocalMember, now: DateTime<Utc>) -> member::ActiveModel {
    let clean = |v: Option<String>| v.map(|s| s.trim().to_string()).filter(|s| !s.is_empty());
    member::ActiveModel {
        organization_id: Set(m.organization_id),
        user_id: Set(m.user_id),
        account: Set(m.account),
        nickname: Set(m.nickname),
        name: Set(m.name),
        user_type: Set(m.user_type),
        role_id: Set(m.role_id),
        status: Set(MemberStatus::Active),
        email: Set(m.email),
        phone: Set(m.phone),
        employee_no: Set(clean(m.employee_no)),
        position: Set(clean(m.position)),
        account_type: Set(AccountType::Local),
        source_connection_id: Set(None),
        joined_at: Set(now),
        last_login_at: Set(None),
        name_changed: Set(false),
        to_be_deleted: Set(false),
        updated_at: Set(now),
        ..Default::default()
    }
}

/// Adds a local member (with a password) to a generic organization. Returns the member and the
/// generated password when none was given. The first password is one-time
/// ([`rules::password_one_time`]) and then expires after `lifetime`.
///
/// **Permissions**: `org.members.manage`; a role other than standard user also needs
/// `org.permissions.manage` (and `org.organization.manage` for the administrator role).
pub async fn create(
    db: &DatabaseConnection,
    access: &OrgAccess,
    grants: &Grants,
    input: NewMember,
    lifetime: OneTimeLifetime,
    cx: &Change,
) -> Result<(member::Model, Option<String>)> {
    let org = organization::Entity::find_by_id(access.org_id())
        .one(db)
        .await?
        .ok_or(Error::NotFound("organization"))?;
    let account = rules::account("account", &input.account)?;
    let nickname = rules::nickname("nickname", input.nickname.as_deref().unwrap_or(&account))?;
    let name = input
        .name
        .as_deref()
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .unwrap_or(&nickname)
        .to_string();
    let email = rules::email("email", input.email.as_deref())?;
    let phone = rules::phone("phone", input.phone.as_deref())?;
    let user_type = input.user_type.unwrap_or(UserType::Viewer);
    let roles = crate::authz::roles::builtin_role_ids(db).await?;
    let role_id = match input.role_id {
        Some(id) => id,
        None => roles
            .get(&BuiltinRole::StandardUser)
            .copied()
            .ok_or_else(|| Error::internal("built-in roles missing"))?,
    };
    let (role, is_admin) = assignable_org_role(db, org.id, role_id).await?;
    check_role_grant_beyond_standard(grants, &role)?;
    rules::check_admin_role("roleId", user_type, is_admin, &role.name)?;
    if let Some(p) = &input.password {
        password::validate_new("password", p)?;
    }
    let one_time = rules::password_one_time(
        "passwordChangeRequired",
        input.password.is_some(),
        input.password_change_required,
    )?;
    check_account_free(db, org.id, &account).await?;
    check_nickname_free(db, org.id, &nickname, None).await?;
    check_departments(db, org.id, &input.department_ids).await?;
    let (hash, generated) = password::hash_or_generate(input.password).await?;
    let now = Utc::now();

    let txn = crate::db::begin_write(db).await?;
    check_seats(&txn, &org, 1).await?;
    let person = user::Entity::insert(user::ActiveModel {
        name: Set(name.clone()),
        avatar_url: Set(None),
        password_hash: Set(Some(hash)),
        password_change_required: Set(one_time),
        password_expires_at: Set(lifetime.expires_at(now).filter(|_| one_time)),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    })
    .exec_with_returning(&txn)
    .await?;
    let created = insert_local_member(
        &txn,
        LocalMember {
            organization_id: org.id,
            user_id: person.id,
            account,
            nickname,
            name,
            user_type,
            role_id: role.id,
            email,
            phone,
            employee_no: input.employee_no,
            position: input.position,
        },
        now,
    )
    .await?;
    replace_departments_in_txn(&txn, org.id, created.id, &input.department_ids).await?;
    replace_tags_in_txn(&txn, org.id, created.id, &input.tags).await?;
    create_personal_workspace_in_txn(&txn, &created).await?;
    crate::push::outbox::created(
        &txn,
        org.id,
        Some(access.actor()),
        OutboxObject::Member,
        created.id,
        json!({
            "name": created.name,
            "userid": crate::push::deliver::userid_for(&created.account, created.id),
        }),
    )
    .await?;
    let event = audit::record(
        &txn,
        AuditEntry {
            organization_id: org.id,
            actor_member_id: Some(access.actor()),
            action: "member.create",
            target_type: "member",
            target_id: Some(created.id.to_string()),
            summary: json!({ "account": created.account, "nickname": created.nickname, "userType": created.user_type, "roleId": created.role_id }),
            client_ip: cx.client_ip.clone(),
        },
    )
    .await?;
    txn.commit().await?;
    cx.published([event]);
    Ok((created, generated))
}

/// Edits a member.
///
/// **Permissions**: `org.members.manage`; changing the organization role also needs
/// `org.permissions.manage`, and giving or taking the administrator role `org.organization.manage`.
pub async fn update(
    db: &DatabaseConnection,
    access: &OrgAccess,
    grants: &Grants,
    member_id: i64,
    changes: MemberChanges,
    cx: &Change,
) -> Result<member::Model> {
    let org = access.org_id();
    let current = get(db, org, member_id).await?;
    let mut row = member::ActiveModel {
        id: Set(current.id),
        updated_at: Set(Utc::now()),
        ..Default::default()
    };
    let mut summary = serde_json::Map::new();

    if let Some(nickname) = &changes.nickname {
        let nickname = rules::nickname("nickname", nickname)?;
        if nickname != current.nickname {
            check_nickname_free(db, org, &nickname, Some(current.id)).await?;
            summary.insert(
                "nickname".into(),
                json!({ "from": current.nickname, "to": nickname }),
            );
            row.nickname = Set(nickname);
        }
    }
    if let Some(source) = current.source_connection_id {
        // Name, email and phone of a provider's member follow the provider — unless the
        // connection pushes local changes, which DingTalk takes for all but the mobile number.
        let pushing = crate::push::outbox::pushes(db, source).await?;
        let differs = |new: &Option<String>, old: Option<&str>| {
            new.as_deref()
                .is_some_and(|n| Some(n.trim()).filter(|n| !n.is_empty()) != old)
        };
        if pushing && differs(&changes.phone, current.phone.as_deref()) {
            return Err(Error::validation(
                "phone",
                format!(
                    "DingTalk does not let apps change a mobile number; change `{}`'s mobile in DingTalk's admin console, and the next sync brings it here",
                    current.nickname
                ),
            ));
        }
        for (field, new, old) in [
            ("name", &changes.name, Some(current.name.as_str())),
            ("email", &changes.email, current.email.as_deref()),
            ("phone", &changes.phone, current.phone.as_deref()),
        ] {
            if !pushing && differs(new, old) {
                return Err(Error::validation(
                    field,
                    format!(
                        "`{}` comes from a provider connection; change their {field} in the provider's admin console (DingTalk, WeCom or Microsoft Entra) and sync again",
                        current.nickname
                    ),
                ));
            }
        }
    }
    if let Some(name) = &changes.name {
        let name = rules::name("name", name)?;
        summary.insert("name".into(), json!({ "from": current.name, "to": name }));
        row.name = Set(name);
    }
    if let Some(email) = &changes.email {
        let email = rules::email("email", Some(email))?;
        summary.insert(
            "email".into(),
            json!({ "from": current.email, "to": email }),
        );
        row.email = Set(email);
    }
    if let Some(phone) = &changes.phone {
        let phone = rules::phone("phone", Some(phone))?;
        summary.insert(
            "phone".into(),
            json!({ "from": current.phone, "to": phone }),
        );
        row.phone = Set(phone);
    }
    if let Some(employee_no) = &changes.employee_no {
        row.employee_no = Set(Some(employee_no.trim().to_string()).filter(|s| !s.is_empty()));
    }
    if let Some(position) = &changes.position {
        row.position = Set(Some(position.trim().to_string()).filter(|s| !s.is_empty()));
    }
    let user_type = changes.user_type.unwrap_or(current.user_type);
    let current_role = role_of(db, &current).await?;
    let (role, is_admin) = match changes.role_id {
        Some(role_id) if role_id != current.role_id => {
            let (role, is_admin) = assignable_org_role(db, org, role_id).await?;
            check_role_grant(grants, &role)?;
            check_role_grant(grants, &current_role)?;
            if current.id == access.actor() && is_org_admin_role(&current_role) {
                return Err(Error::Forbidden(
                    "you cannot take the organization administrator role from yourself; ask another administrator".into(),
                ));
            }
            summary.insert(
                "roleId".into(),
                json!({ "from": current.role_id, "to": role.id }),
            );
            row.role_id = Set(role.id);
            (role, is_admin)
        }
        _ => {
            let is_admin =
                BuiltinRole::of(&current_role).is_some_and(BuiltinRole::is_administrator);
            (current_role, is_admin)
        }
    };
    let field = if changes.user_type.is_some() && changes.role_id.is_none() {
        "userType"
    } else {
        "roleId"
    };
    rules::check_admin_role(field, user_type, is_admin, &role.name)?;
    if let Some(new_type) = changes.user_type
        && new_type != current.user_type
    {
        if new_type == UserType::Viewer {
            check_viewer_may_hold_current_roles(db, &current).await?;
        }
        summary.insert(
            "userType".into(),
            json!({ "from": current.user_type, "to": new_type }),
        );
        row.user_type = Set(new_type);
    }
    if let Some(ids) = &changes.department_ids {
        check_departments(db, org, ids).await?;
        summary.insert("departmentIds".into(), json!(ids));
    }
    if let Some(tags) = &changes.tags {
        summary.insert(
            "tags".into(),
            json!(
                tags.iter()
                    .map(|t| (format!("tag_{}", t.name), t.values.join(",")))
                    .collect::<BTreeMap<_, _>>()
            ),
        );
    }

    let txn = crate::db::begin_write(db).await?;
    let updated = member::Entity::update(row).exec(&txn).await?;
    if let Some(ids) = &changes.department_ids {
        replace_departments_in_txn(&txn, org, current.id, ids).await?;
    }
    if let Some(tags) = &changes.tags {
        replace_tags_in_txn(&txn, org, current.id, tags).await?;
    }
    // What DingTalk keeps of a person: name, email, title (position) and departments.
    if changes.name.is_some()
        || changes.email.is_some()
        || changes.position.is_some()
        || changes.department_ids.is_some()
    {
        crate::push::outbox::changed(
            &txn,
            org,
            Some(access.actor()),
            OutboxObject::Member,
            &[current.id],
        )
        .await?;
    }
    let event = audit::record(
        &txn,
        AuditEntry {
            organization_id: org,
            actor_member_id: Some(access.actor()),
            action: "member.update",
            target_type: "member",
            target_id: Some(current.id.to_string()),
            summary: serde_json::Value::Object(summary),
            client_ip: cx.client_ip.clone(),
        },
    )
    .await?;
    txn.commit().await?;
    cx.published([event]);
    Ok(updated)
}

/// Viewers hold no agent seats and only view-only workspace roles.
pub(crate) async fn check_viewer_may_hold_current_roles<C: ConnectionTrait>(
    db: &C,
    member: &member::Model,
) -> Result<()> {
    match viewer_blockers(db, &[member.id]).await?.remove(&member.id) {
        Some(why) => Err(Error::validation("userType", why)),
        None => Ok(()),
    }
}

/// Why each of these members may not become a viewer (agent seats, editing workspace roles);
/// members absent from the map may.
pub async fn viewer_blockers<C: ConnectionTrait>(
    db: &C,
    member_ids: &[i64],
) -> Result<std::collections::HashMap<i64, &'static str>> {
    let mut out = std::collections::HashMap::new();
    for chunk in member_ids.chunks(1000) {
        let seated: Vec<i64> = entity::agent_seat::Entity::find()
            .select_only()
            .column(entity::agent_seat::Column::MemberId)
            .filter(entity::agent_seat::Column::MemberId.is_in(chunk.iter().copied()))
            .into_tuple()
            .all(db)
            .await?;
        for id in seated {
            out.insert(
                id,
                "viewers cannot hold agent seats; unassign this member's agent seats first",
            );
        }
    }
    for id in super::workspaces::holding_editing_roles(db, member_ids).await? {
        out.entry(id).or_insert(
            "viewers may only hold view-only workspace roles; change this member's workspace roles first",
        );
    }
    Ok(out)
}

/// What happened to one member of a batch.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The member.
    pub member_id: i64,
    /// Whether the action was applied.
    pub ok: bool,
    /// Why not, and what to do.
    pub message: Option<String>,
}

impl Outcome {
    fn done(member_id: i64) -> Self {
        Self {
            member_id,
            ok: true,
            message: None,
        }
    }

    fn refused(member_id: i64, message: impl Into<String>) -> Self {
        Self {
            member_id,
            ok: false,
            message: Some(message.into()),
        }
    }
}

/// Disables or re-activates members; disabling revokes their refresh tokens, and their access
/// tokens stop working on the next request.
///
/// **Permissions**: `org.members.manage`.
pub async fn set_status(
    db: &DatabaseConnection,
    access: &OrgAccess,
    member_ids: &[i64],
    enable: bool,
    cx: &Change,
) -> Result<Vec<Outcome>> {
    let org = access.org_id();
    let mut outcomes = Vec::new();
    let txn = crate::db::begin_write(db).await?;
    let mut events = Vec::new();
    for &id in unique(member_ids).iter() {
        let m = match batch_target(
            &txn,
            access,
            id,
            if enable { None } else { Some("disable") },
        )
        .await?
        {
            Ok(m) => m,
            Err(refusal) => {
                outcomes.push(refusal);
                continue;
            }
        };
        if m.status == MemberStatus::Resigned {
            outcomes.push(Outcome::refused(
                id,
                "this member has resigned; resigned members stay as a record",
            ));
            continue;
        }
        let target = if enable {
            MemberStatus::Active
        } else {
            MemberStatus::Disabled
        };
        if m.status != target {
            member::Entity::update(member::ActiveModel {
                id: Set(m.id),
                status: Set(target),
                updated_at: Set(Utc::now()),
                ..Default::default()
            })
            .exec(&txn)
            .await?;
            if !enable {
                refresh::revoke_member(&txn, m.id).await?;
            }
            events.push(
                audit::record(
                    &txn,
                    AuditEntry {
                        organization_id: org,
                        actor_member_id: Some(access.actor()),
                        action: if enable {
                            "member.activate"
                        } else {
                            "member.disable"
                        },
                        target_type: "member",
                        target_id: Some(m.id.to_string()),
                        summary: json!({ "from": m.status, "to": target }),
                        client_ip: cx.client_ip.clone(),
                    },
                )
                .await?,
            );
        }
        outcomes.push(Outcome::done(id));
    }
    txn.commit().await?;
    cx.published(events);
    Ok(outcomes)
}

/// Why the caller may not give `target` a new one-time password, or `None`: `target` is the
/// caller themself (they use `changePassword`), logs in through a provider, also belongs to
/// another organization (the password is theirs there too), or holds a role other than standard
/// user that the caller could not assign.
async fn password_reset_refusal<C: ConnectionTrait>(
    db: &C,
    access: &OrgAccess,
    grants: &Grants,
    target: &member::Model,
) -> Result<Option<Error>> {
    if target.id == access.actor() {
        return Ok(Some(Error::validation(
            "id",
            "this is your own account: change your password with `changePassword`",
        )));
    }
    if target.account_type != AccountType::Local {
        return Ok(Some(Error::validation(
            "id",
            format!(
                "`{}` logs in through {}, and Roster keeps no password for them; their password is managed there",
                target.nickname,
                crate::excel::columns::account_type_label(target.account_type)
            ),
        )));
    }
    if let Err(refusal) = check_role_grant_beyond_standard(grants, &role_of(db, target).await?) {
        return Ok(Some(refusal));
    }
    let elsewhere = member::Entity::find()
        .filter(member::Column::UserId.eq(target.user_id))
        .filter(member::Column::OrganizationId.ne(target.organization_id))
        .count(db)
        .await?;
    Ok((elsewhere > 0).then(|| {
        Error::Forbidden(format!(
            "`{}` also belongs to another organization, where the same password lets them in; only they can change it, with `changePassword`",
            target.nickname
        ))
    }))
}

/// Gives each of `targets` (local members the caller may reset, see
/// [`password_reset_refusal`]) a new one-time password, in one transaction: their other logins
/// are logged out and a `member.password_reset` event is recorded for each. The passwords come
/// back in the order of `targets`, with the time they expire (the same for all).
async fn apply_password_resets(
    db: &DatabaseConnection,
    access: &OrgAccess,
    targets: &[member::Model],
    lifetime: OneTimeLifetime,
    cx: &Change,
) -> Result<(Vec<String>, Option<DateTime<Utc>>)> {
    let now = Utc::now();
    let expires_at = lifetime.expires_at(now);
    if targets.is_empty() {
        return Ok((Vec::new(), expires_at));
    }
    let (passwords, hashes): (Vec<String>, Vec<String>) = password::generated(targets.len())
        .await?
        .into_iter()
        .unzip();
    let txn = crate::db::begin_write(db).await?;
    let mut events = Vec::with_capacity(targets.len());
    for (target, hash) in targets.iter().zip(hashes) {
        user::Entity::update(user::ActiveModel {
            id: Set(target.user_id),
            password_hash: Set(Some(hash)),
            password_change_required: Set(true),
            password_expires_at: Set(expires_at),
            updated_at: Set(now),
            ..Default::default()
        })
        .exec(&txn)
        .await?;
        refresh::revoke_member(&txn, target.id).await?;
        events.push(
            audit::record(
                &txn,
                AuditEntry {
                    organization_id: target.organization_id,
                    actor_member_id: Some(access.actor()),
                    action: "member.password_reset",
                    target_type: "member",
                    target_id: Some(target.id.to_string()),
                    summary: json!({ "account": target.account }),
                    client_ip: cx.client_ip.clone(),
                },
            )
            .await?,
        );
    }
    txn.commit().await?;
    cx.published(events);
    Ok((passwords, expires_at))
}

/// Gives a local member a new one-time password, returned only here: their other logins are
/// logged out, and until they choose their own password with `changePassword` every operation
/// but `me`, `changePassword` and `logout` is refused. Refused for the caller themself (they
/// use `changePassword`), for members who log in through a provider, for people who also belong
/// to another organization (the password is theirs there too), and for a member holding a role
/// other than standard user that the caller could not assign. The password expires after
/// `lifetime`.
///
/// **Permissions**: `org.members.manage` (plus `org.permissions.manage`, and
/// `org.organization.manage` for an administrator, as above).
pub async fn reset_password(
    db: &DatabaseConnection,
    access: &OrgAccess,
    grants: &Grants,
    member_id: i64,
    lifetime: OneTimeLifetime,
    cx: &Change,
) -> Result<(member::Model, String)> {
    let target = get(db, access.org_id(), member_id).await?;
    if let Some(refusal) = password_reset_refusal(db, access, grants, &target).await? {
        return Err(refusal);
    }
    let generated = apply_password_resets(db, access, std::slice::from_ref(&target), lifetime, cx)
        .await?
        .0
        .pop()
        .ok_or_else(|| Error::internal("no password was generated"))?;
    Ok((target, generated))
}

/// What a batch password reset did for one member: the outcome, and the new one-time password
/// when it was applied.
#[derive(Debug, Clone)]
pub struct PasswordResetOutcome {
    /// Whether it was applied, and why not.
    pub outcome: Outcome,
    /// The new one-time password, shown only here.
    pub generated_password: Option<String>,
    /// When the new password stops letting its holder in, if it expires.
    pub password_expires_at: Option<DateTime<Utc>>,
}

/// [`reset_password`] for many members at once: each refusal is reported for its member (as
/// [`reset_password`] says), and the others get their new passwords together, all or
/// none. Outcomes come in the order the ids were given, each member once.
///
/// **Permissions**: as for [`reset_password`].
pub async fn reset_passwords(
    db: &DatabaseConnection,
    access: &OrgAccess,
    grants: &Grants,
    member_ids: &[i64],
    lifetime: OneTimeLifetime,
    cx: &Change,
) -> Result<Vec<PasswordResetOutcome>> {
    let mut outcomes = Vec::new();
    let mut targets = Vec::new();
    for &id in unique(member_ids).iter() {
        let outcome = match batch_target(db, access, id, None).await? {
            Err(refused) => refused,
            Ok(target) => match password_reset_refusal(db, access, grants, &target).await? {
                Some(refusal) => Outcome::refused(id, refusal.to_string()),
                None => {
                    targets.push(target);
                    Outcome::done(id)
                }
            },
        };
        outcomes.push(PasswordResetOutcome {
            outcome,
            generated_password: None,
            password_expires_at: None,
        });
    }
    let (passwords, expires_at) = apply_password_resets(db, access, &targets, lifetime, cx).await?;
    let mut passwords = passwords.into_iter();
    for reset in outcomes.iter_mut().filter(|r| r.outcome.ok) {
        reset.generated_password = passwords.next();
        reset.password_expires_at = expires_at;
    }
    Ok(outcomes)
}

/// The member a batch action names, or the outcome refusing it: not in the organization, or the
/// caller themself when the action (`self_verb`) may not apply to oneself.
async fn batch_target<C: ConnectionTrait>(
    db: &C,
    access: &OrgAccess,
    id: i64,
    self_verb: Option<&str>,
) -> Result<Result<member::Model, Outcome>> {
    let found = member::Entity::find_by_id(id)
        .filter(member::Column::OrganizationId.eq(access.org_id()))
        .one(db)
        .await?;
    Ok(match found {
        None => Err(Outcome::refused(id, "no such member in this organization")),
        Some(m) if m.id == access.actor() && self_verb.is_some() => Err(Outcome::refused(
            id,
            format!(
                "you cannot {} yourself; ask another administrator",
                self_verb.unwrap_or_default()
            ),
        )),
        Some(m) => Ok(m),
    })
}

/// The members a batch names, each once and in the order given; VALIDATION on `memberIds` when
/// one of them is not in the organization.
pub async fn in_organization<C: ConnectionTrait>(
    db: &C,
    org: i64,
    ids: &[i64],
) -> Result<Vec<member::Model>> {
    let rows = member::Entity::find()
        .filter(member::Column::OrganizationId.eq(org))
        .filter(member::Column::Id.is_in(unique(ids)))
        .all(db)
        .await?;
    in_order(
        ids,
        rows,
        |m| m.id,
        |id| {
            Error::validation(
                "memberIds",
                format!(
                    "member {id} does not exist in this organization; \
                     reload the member list and pick again"
                ),
            )
        },
    )
}

/// `ids` each once, in the order first given.
pub(crate) fn unique(ids: &[i64]) -> Vec<i64> {
    let mut seen = HashSet::new();
    ids.iter().copied().filter(|id| seen.insert(*id)).collect()
}

/// The rows a batch names by id (`rows`, read for those ids), each once and in the order of
/// `ids`; the first id without a row gets the error `missing` makes.
pub(crate) fn in_order<T>(
    ids: &[i64],
    rows: Vec<T>,
    id_of: impl Fn(&T) -> i64,
    missing: impl Fn(i64) -> Error,
) -> Result<Vec<T>> {
    let mut found: std::collections::HashMap<i64, T> =
        rows.into_iter().map(|row| (id_of(&row), row)).collect();
    unique(ids)
        .into_iter()
        .map(|id| found.remove(&id).ok_or_else(|| missing(id)))
        .collect()
}

/// Group workspaces (not personal ones) a member belongs to, and those they own.
async fn workspace_ties<C: ConnectionTrait>(
    db: &C,
    member_id: i64,
) -> Result<(Vec<String>, Vec<String>)> {
    let owned: Vec<String> = workspace::Entity::find()
        .filter(workspace::Column::OwnerMemberId.eq(member_id))
        .filter(workspace::Column::Kind.eq(WorkspaceKind::Group))
        .all(db)
        .await?
        .into_iter()
        .map(|w| w.name)
        .collect();
    let ids: Vec<i64> = workspace_member::Entity::find()
        .select_only()
        .column(workspace_member::Column::WorkspaceId)
        .filter(workspace_member::Column::MemberId.eq(member_id))
        .into_tuple()
        .all(db)
        .await?;
    let member_of: Vec<String> = workspace::Entity::find()
        .filter(workspace::Column::Id.is_in(ids))
        .filter(workspace::Column::Kind.eq(WorkspaceKind::Group))
        .all(db)
        .await?
        .into_iter()
        .map(|w| w.name)
        .collect();
    Ok((member_of, owned))
}

/// Why a member may not leave the organization, or `None`: organization administrators and
/// workspace owners may not, and for a removal (`removal`) neither may workspace members.
async fn may_not_leave<C: ConnectionTrait>(
    db: &C,
    m: &member::Model,
    removal: bool,
) -> Result<Option<String>> {
    if is_org_admin_role(&role_of(db, m).await?) {
        return Ok(Some(format!(
            "`{}` is an organization administrator; change their organization role first",
            m.nickname
        )));
    }
    let (member_of, owned) = workspace_ties(db, m.id).await?;
    if let Some(ws) = owned.first() {
        return Ok(Some(format!(
            "`{}` owns workspace `{ws}`; transfer its ownership first",
            m.nickname
        )));
    }
    if removal && let Some(ws) = member_of.first() {
        return Ok(Some(format!(
            "`{}` is a member of workspace `{ws}`; remove them from workspace `{ws}` first",
            m.nickname
        )));
    }
    Ok(None)
}

/// Removes members from the organization. Refused for the caller, organization administrators,
/// members of any workspace and workspace owners, each with the rule and what to do.
///
/// **Permissions**: `org.members.manage`.
pub async fn remove(
    db: &DatabaseConnection,
    access: &OrgAccess,
    member_ids: &[i64],
    cx: &Change,
) -> Result<Vec<Outcome>> {
    let org = access.org_id();
    let mut outcomes = Vec::new();
    let mut events = Vec::new();
    let txn = crate::db::begin_write(db).await?;
    for &id in unique(member_ids).iter() {
        let m = match batch_target(&txn, access, id, Some("remove")).await? {
            Ok(m) => m,
            Err(refusal) => {
                outcomes.push(refusal);
                continue;
            }
        };
        if let Some(why) = may_not_leave(&txn, &m, true).await? {
            outcomes.push(Outcome::refused(id, why));
            continue;
        }
        workspace::Entity::delete_many()
            .filter(workspace::Column::OwnerMemberId.eq(m.id))
            .filter(workspace::Column::Kind.eq(WorkspaceKind::Personal))
            .exec(&txn)
            .await?;
        organization::Entity::update_many()
            .col_expr(
                organization::Column::LeaderMemberId,
                Expr::value(Option::<i64>::None),
            )
            .filter(organization::Column::LeaderMemberId.eq(m.id))
            .exec(&txn)
            .await?;
        crate::push::outbox::members_left(
            &txn,
            org,
            Some(access.actor()),
            std::slice::from_ref(&m),
        )
        .await?;
        member::Entity::delete_by_id(m.id).exec(&txn).await?;
        events.push(
            audit::record(
                &txn,
                AuditEntry {
                    organization_id: org,
                    actor_member_id: Some(access.actor()),
                    action: "member.remove",
                    target_type: "member",
                    target_id: Some(m.id.to_string()),
                    summary: json!({ "account": m.account, "nickname": m.nickname }),
                    client_ip: cx.client_ip.clone(),
                },
            )
            .await?,
        );
        outcomes.push(Outcome::done(id));
    }
    txn.commit().await?;
    cx.published(events);
    Ok(outcomes)
}

/// Marks members as resigned: removed from departments, positions and workspaces, tokens revoked,
/// still listed under the resigned status.
///
/// **Permissions**: `org.members.manage`.
pub async fn resign(
    db: &DatabaseConnection,
    access: &OrgAccess,
    member_ids: &[i64],
    cx: &Change,
) -> Result<Vec<Outcome>> {
    let org = access.org_id();
    let mut outcomes = Vec::new();
    let mut events = Vec::new();
    let txn = crate::db::begin_write(db).await?;
    for &id in unique(member_ids).iter() {
        let m = match batch_target(&txn, access, id, Some("resign")).await? {
            Ok(m) => m,
            Err(refusal) => {
                outcomes.push(refusal);
                continue;
            }
        };
        if let Some(why) = may_not_leave(&txn, &m, false).await? {
            outcomes.push(Outcome::refused(id, why));
            continue;
        }
        if m.status == MemberStatus::Resigned {
            outcomes.push(Outcome::done(id));
            continue;
        }
        crate::push::outbox::members_left(
            &txn,
            org,
            Some(access.actor()),
            std::slice::from_ref(&m),
        )
        .await?;
        department_member::Entity::delete_many()
            .filter(department_member::Column::MemberId.eq(m.id))
            .exec(&txn)
            .await?;
        directory_role_member::Entity::delete_many()
            .filter(directory_role_member::Column::MemberId.eq(m.id))
            .exec(&txn)
            .await?;
        workspace_member::Entity::delete_many()
            .filter(workspace_member::Column::MemberId.eq(m.id))
            .exec(&txn)
            .await?;
        entity::agent_seat::Entity::delete_many()
            .filter(entity::agent_seat::Column::MemberId.eq(m.id))
            .exec(&txn)
            .await?;
        department::Entity::update_many()
            .col_expr(
                department::Column::LeaderMemberId,
                Expr::value(Option::<i64>::None),
            )
            .filter(department::Column::LeaderMemberId.eq(m.id))
            .exec(&txn)
            .await?;
        member::Entity::update(member::ActiveModel {
            id: Set(m.id),
            status: Set(MemberStatus::Resigned),
            updated_at: Set(Utc::now()),
            ..Default::default()
        })
        .exec(&txn)
        .await?;
        refresh::revoke_member(&txn, m.id).await?;
        events.push(
            audit::record(
                &txn,
                AuditEntry {
                    organization_id: org,
                    actor_member_id: Some(access.actor()),
                    action: "member.resign",
                    target_type: "member",
                    target_id: Some(m.id.to_string()),
                    summary: json!({ "account": m.account, "nickname": m.nickname, "previousStatus": m.status }),
                    client_ip: cx.client_ip.clone(),
                },
            )
            .await?,
        );
        outcomes.push(Outcome::done(id));
    }
    txn.commit().await?;
    cx.published(events);
    Ok(outcomes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_everyone_or_statuses_with_active_are_counted_from_the_tally() {
        let statuses = |statuses: Vec<MemberStatus>| MemberFilter {
            statuses,
            ..MemberFilter::default()
        };
        let taken_off = |filter: &MemberFilter| {
            counted_from_tally(filter).map(|less| {
                less.map(|condition| {
                    member::Entity::find()
                        .filter(condition)
                        .build(DbBackend::Sqlite)
                        .to_string()
                })
            })
        };
        assert_eq!(taken_off(&MemberFilter::default()), Some(None));
        let active = taken_off(&statuses(vec![MemberStatus::Active]))
            .flatten()
            .expect("the others are taken off");
        assert!(active.contains("IN ('disabled', 'resigned')"), "{active}");
        let two = taken_off(&statuses(vec![
            MemberStatus::Resigned,
            MemberStatus::Active,
        ]))
        .flatten()
        .expect("the other is taken off");
        assert!(two.contains("IN ('disabled')"), "{two}");
        // Without active, the few are counted directly; so is any other filter.
        assert_eq!(taken_off(&statuses(vec![MemberStatus::Disabled])), None);
        let mut keyword = statuses(vec![MemberStatus::Active]);
        keyword.keyword = Some("ann".into());
        assert_eq!(taken_off(&keyword), None);
    }

    #[test]
    fn a_filter_is_empty_only_without_any_condition() {
        assert!(MemberFilter::default().is_empty());
        let with = |f: fn(&mut MemberFilter)| {
            let mut filter = MemberFilter::default();
            f(&mut filter);
            filter.is_empty()
        };
        // A blank keyword and the sub-tree switch alone keep everyone.
        assert!(with(|f| f.keyword = Some("  ".into())));
        assert!(with(|f| f.include_sub_departments = true));
        let narrowing: [fn(&mut MemberFilter); 14] = [
            |f| f.keyword = Some("ann".into()),
            |f| f.user_types = vec![UserType::Viewer],
            |f| f.account_types = vec![AccountType::Local],
            |f| f.bound = Some(false),
            |f| f.statuses = vec![MemberStatus::Active],
            |f| f.department_id = Some(1),
            |f| f.role_id = Some(1),
            |f| f.workspace_id = Some(1),
            |f| f.tag_name = Some("region".into()),
            |f| f.tag_value = Some("East".into()),
            |f| f.ids = Some(vec![]),
            |f| f.one_time_passwords = vec![OneTimePasswordState::Expired],
            |f| f.name_changed = Some(false),
            |f| f.to_be_deleted = Some(false),
        ];
        for (i, narrow) in narrowing.into_iter().enumerate() {
            assert!(!with(narrow), "filter {i} keeps only some members");
        }
    }

    #[test]
    fn keywords_and_sub_trees_are_planned_for_their_values() {
        let with = |f: fn(&mut MemberFilter)| {
            let mut filter = MemberFilter::default();
            f(&mut filter);
            plans_per_value(&filter)
        };
        assert!(with(|f| f.keyword = Some("user042".into())));
        assert!(with(|f| {
            f.department_id = Some(1);
            f.include_sub_departments = true;
        }));
        // A plain page, a blank keyword and one department alone keep the cached plans.
        assert!(!with(|_| {}));
        assert!(!with(|f| f.keyword = Some("  ".into())));
        assert!(!with(|f| f.department_id = Some(1)));
        assert!(!with(|f| f.user_types = vec![UserType::Analyst]));
    }

    #[test]
    fn sync_flags_are_matched_as_the_flagged_index_says() {
        let sql = |backend: DbBackend, name_changed, to_be_deleted| {
            let filter = MemberFilter {
                name_changed,
                to_be_deleted,
                ..Default::default()
            };
            member::Entity::find()
                .filter(filter_condition(backend, 7, &filter, None))
                .build(backend)
                .to_string()
                .split_once(" WHERE ")
                .map(|(_, condition)| condition.to_string())
                .unwrap_or_default()
        };
        for backend in [DbBackend::Sqlite, DbBackend::Postgres] {
            // Flagged: ids read apart, naming the bare column, a term of the partial index's
            // `name_changed OR to_be_deleted`, so that both databases see the index holds every
            // match.
            let flagged = |column: &str| {
                format!(
                    r#""member"."id" IN (SELECT "flagged"."id" FROM "member" AS "flagged" WHERE "flagged"."organization_id" = 7 AND "flagged"."{column}")"#
                )
            };
            let renamed = sql(backend, Some(true), None);
            assert!(renamed.ends_with(&flagged("name_changed")), "{renamed}");
            let gone = sql(backend, None, Some(true));
            assert!(gone.ends_with(&flagged("to_be_deleted")), "{gone}");
            let unflagged = sql(backend, Some(false), Some(false));
            assert!(
                unflagged.contains(r#""member"."name_changed" = FALSE"#)
                    && unflagged.contains(r#""member"."to_be_deleted" = FALSE"#),
                "{unflagged}"
            );
            assert_eq!(
                sql(backend, None, None),
                r#""member"."organization_id" = 7"#
            );
        }
    }

    #[test]
    fn batches_keep_their_order_once_each_and_name_the_stranger() {
        let missing = |id| Error::validation("ids", format!("no {id}"));
        let rows = vec![(3, "c"), (1, "a"), (2, "b")];
        let found = in_order(&[2, 3, 2, 1], rows.clone(), |r| r.0, missing).expect("all found");
        assert_eq!(found, [(2, "b"), (3, "c"), (1, "a")]);
        let refused = in_order(&[1, 9, 8], rows, |r| r.0, missing).expect_err("9 is missing");
        assert!(refused.to_string().contains("no 9"), "{refused}");
    }

    #[test]
    fn sub_tree_sizes_are_kept_for_a_while_and_for_so_many() {
        use std::time::{Duration, Instant};
        let sizes = SubTreeSizes::default();
        let start = Instant::now();
        assert_eq!(sizes.get((1, 2), start), None);
        sizes.keep((1, 2), true, start);
        sizes.keep((1, 3), false, start);
        assert_eq!(sizes.get((1, 2), start), Some(true));
        assert_eq!(sizes.get((1, 3), start), Some(false));
        assert_eq!(sizes.get((2, 2), start), None, "another organization");
        let later = start + SUB_TREE_SIZE_TTL;
        assert_eq!(
            sizes.get((1, 2), later),
            None,
            "counted again after the TTL"
        );
        sizes.keep((1, 2), false, later);
        assert_eq!(sizes.get((1, 2), later), Some(false));
        for d in 0..(SUB_TREE_SIZES_KEPT as i64 * 2) {
            sizes.keep((9, d), true, later + Duration::from_millis(1));
            assert!(sizes.seen.lock().expect("lock").len() <= SUB_TREE_SIZES_KEPT);
        }
    }

    #[test]
    fn large_sub_trees_are_probed_by_hash() {
        // One member in 200 of the table's estimate, or more.
        assert!(share_reached(500, 100_000.0));
        assert!(share_reached(2_000, 100_000.0));
        assert!(!share_reached(499, 100_000.0));
        // No statistics yet (-1) or an empty table: never.
        assert!(!share_reached(1, -1.0));
        assert!(!share_reached(0, 0.0));

        let filter = MemberFilter {
            department_id: Some(1),
            include_sub_departments: true,
            ..MemberFilter::default()
        };
        // A department with departments below it covers its sub-tree, unless asked not to.
        assert_eq!(
            DepartmentScope::of(&filter, 1, true),
            DepartmentScope::Tree(1)
        );
        assert_eq!(
            DepartmentScope::of(&filter, 1, false),
            DepartmentScope::One(1)
        );
        let alone = MemberFilter {
            include_sub_departments: false,
            ..filter.clone()
        };
        assert_eq!(
            DepartmentScope::of(&alone, 1, true),
            DepartmentScope::One(1)
        );

        let scope = DepartmentScope::Tree(1);
        let sql = |hashed: bool| {
            let held = department_subquery(&filter, Some(&scope)).filter(|_| hashed);
            let condition =
                page_condition(DbBackend::Postgres, 7, &filter, Some(&scope), held.as_ref());
            member::Entity::find()
                .filter(condition)
                .build(DbBackend::Postgres)
                .to_string()
        };
        let held = r#""member"."id" IN (SELECT "member_id" FROM "sub_tree_member" WHERE "department_id" = 1)"#;
        let hashed = sql(true);
        assert!(hashed.contains(&format!("({held}) IS TRUE")), "{hashed}");
        let plain = sql(false);
        assert!(
            plain.contains(held) && !plain.contains("IS TRUE"),
            "{plain}"
        );
        // One department's members are its links; without a scope, the filter's department.
        let one = r#""member"."id" IN (SELECT "member_id" FROM "department_member" WHERE "department_id" = 1)"#;
        for scope in [Some(DepartmentScope::One(1)), None] {
            let sql = member::Entity::find()
                .filter(filter_condition(
                    DbBackend::Postgres,
                    7,
                    &filter,
                    scope.as_ref(),
                ))
                .build(DbBackend::Postgres)
                .to_string();
            assert!(sql.contains(one), "{sql}");
        }
    }

    #[test]
    fn sub_tree_pages_read_the_sub_tree_s_nickname_index() {
        let filter = MemberFilter {
            department_id: Some(1),
            include_sub_departments: true,
            ..MemberFilter::default()
        };
        assert!(read_in_sub_tree_order(&filter, SortField::Nickname));
        assert!(!read_in_sub_tree_order(&filter, SortField::Account));
        let keyword = MemberFilter {
            keyword: Some("ann".into()),
            ..filter.clone()
        };
        assert!(!read_in_sub_tree_order(&keyword, SortField::Nickname));
        let alone = MemberFilter {
            include_sub_departments: false,
            ..filter
        };
        assert!(!read_in_sub_tree_order(&alone, SortField::Nickname));
        // Counted from the department's rows alone, with its sub-tree or not, nothing else.
        assert!(only_a_department(&alone));
        assert!(only_a_department(&MemberFilter {
            include_sub_departments: true,
            ..alone.clone()
        }));
        assert!(!only_a_department(&keyword));
        assert!(!only_a_department(&MemberFilter::default()));
        assert!(!only_a_department(&MemberFilter {
            statuses: vec![MemberStatus::Active],
            ..alone
        }));
        let count = |scope: DepartmentScope| {
            scope
                .select(true)
                .to_string(sea_orm::sea_query::SqliteQueryBuilder)
        };
        assert_eq!(
            count(DepartmentScope::Tree(3)),
            r#"SELECT count(*) FROM "sub_tree_member" WHERE "department_id" = 3"#
        );
        assert_eq!(
            count(DepartmentScope::One(3)),
            r#"SELECT count(*) FROM "department_member" WHERE "department_id" = 3"#
        );
    }

    #[test]
    fn nicknames_page_by_their_lower_case_index_and_ties_by_id() {
        let sql = |field: SortField| {
            let keyset = keyset_condition(field, "Bob".into(), 7, true);
            field
                .order(member::Entity::find().filter(keyset), &Order::Asc)
                .build(DbBackend::Sqlite)
                .to_string()
        };
        // A unique ordered value: one index range, no id in the order or the cursor condition.
        let nickname = sql(SortField::Nickname);
        assert!(
            nickname.ends_with(
                r#"WHERE LOWER("member"."nickname") > LOWER('Bob') ORDER BY LOWER("member"."nickname") ASC"#
            ),
            "{nickname}"
        );
        let account = sql(SortField::Account);
        assert!(
            account
                .ends_with(r#"WHERE "member"."account" > 'Bob' ORDER BY "member"."account" ASC"#),
            "{account}"
        );
        // A value members share: ties continue by id.
        let status = sql(SortField::Status);
        assert!(
            status.ends_with(
                r#"WHERE "member"."status" > 'Bob' OR ("member"."status" = 'Bob' AND "member"."id" > 7) ORDER BY "member"."status" ASC, "member"."id" ASC"#
            ),
            "{status}"
        );
    }

    #[test]
    fn time_cursors_stay_times() {
        let c = Cursor {
            field: SortField::JoinedAt,
            value: SortValue::Time(Some(Utc::now())),
            id: 1,
        };
        assert_eq!(
            Cursor::decode("after", &c.encode(), SortField::JoinedAt).unwrap(),
            c
        );
    }

    #[test]
    fn cursors_round_trip_and_check_ordering() {
        let c = Cursor {
            field: SortField::LastLoginAt,
            value: SortValue::Time(None),
            id: 9,
        };
        assert_eq!(
            Cursor::decode("after", &c.encode(), SortField::LastLoginAt).unwrap(),
            c
        );
        assert!(Cursor::decode("after", &c.encode(), SortField::Nickname).is_err());
        assert!(Cursor::decode("after", "junk", SortField::Nickname).is_err());
    }

    #[test]
    fn tags_parse_and_refuse_duplicates() {
        let tags = parse_tags(vec![
            ("tag_region".into(), "North,South".into()),
            ("level".into(), "$ALL_MEMBERS$".into()),
        ])
        .unwrap();
        assert_eq!(tags.len(), 2);
        assert!(parse_tags(vec![("a".into(), "1".into()), ("tag_a".into(), "2".into())]).is_err());
    }
}
