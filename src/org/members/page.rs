//! Reading one page of the member list: the keyset walk in the requested order, with the ways
//! a sub-tree, a keyword or the last-login order are read fast on each database.

use super::*;
use crate::{
    authz::OrgAccess,
    error::{Error, Result},
};
use entity::{member, sub_tree_member};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, DbBackend, EntityTrait, Order,
    QueryFilter, QueryOrder, QuerySelect, QueryTrait,
    sea_query::{Alias, Expr, ExprTrait, Query},
};

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
    /// Whether the page read its keyword through an index as a rare short keyword
    /// ([`short_keyword_indexed`]: on SQLite when [`rare_short_keyword`] found it rare, on
    /// PostgreSQL in a page of few: known to match few, or after its window came up short), so
    /// that counting its matches does too.
    pub keyword_indexed: bool,
    /// What the filter's department covered when the page was read, so that counting the
    /// same filter reads it once.
    pub department: Option<DepartmentScope>,
}

/// How many rows in sort order a sub-tree page looks among before it reads the whole sub-tree.
const SUB_TREE_WINDOW: u64 = 4_096;

/// On PostgreSQL, a sub-tree page probes a hash of the sub-tree's members while it walks the
/// sort index when the sub-tree holds at least one member in this many (BENCHMARKS.md).
const HASHED_SHARE: u32 = 200;

/// How many of a sub-tree's members [`sub_tree_is_large`] counts at most.
const HASHED_COUNT: u32 = 4_096;

/// How many rows in sort order a keyword page looks among on PostgreSQL before it reads every
/// match through the keyword's index.
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

/// [`sub_tree_is_large`] for `department`, remembered in `hints` for a minute, so that the
/// pages of a sub-tree after its first skip the count (a round trip and about 0.6 ms of
/// PostgreSQL's time).
async fn sub_tree_is_large_kept<C: ConnectionTrait>(
    db: &C,
    hints: &PlanHints,
    organization_id: i64,
    department: i64,
    held: &sea_orm::sea_query::SelectStatement,
) -> Result<bool> {
    if let Some(large) = hints.sub_tree_is_large(organization_id, department) {
        return Ok(large);
    }
    let large = sub_tree_is_large(db, held).await?;
    hints.keep_sub_tree(organization_id, department, large);
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

/// The filter's keyword, on PostgreSQL, when an index serves it: the trigram index a keyword of
/// three characters or more or of two ASCII characters, one a letter or digit ([`ascii_pair`]),
/// the index of characters a shorter one that holds characters beyond ASCII or ASCII signs
/// ([`indexed_characters`]), the index of letters one ASCII letter or digit ([`ascii_letter`]).
fn indexed_keyword(backend: DbBackend, filter: &MemberFilter) -> Option<&str> {
    filter.trimmed_keyword().filter(|k| {
        backend == DbBackend::Postgres
            && (k.chars().count() >= 3
                || indexed_characters(k).is_some()
                || ascii_pair(k).is_some()
                || ascii_letter(k).is_some())
    })
}

/// The first `wanted` members of `bare` (a page's query without its keyword) in the order
/// `in_order` gives that match `keyword`, looked for among the next [`KEYWORD_WINDOW`] members in
/// that order: a walk of an index in sort order that stops there. `None` when those hold fewer:
/// the page is then read as a page of few ([`PageRead::few`]).
async fn keyword_window<C: ConnectionTrait>(
    db: &C,
    bare: sea_orm::Select<member::Entity>,
    keyword: &str,
    in_order: impl Fn(sea_orm::Select<member::Entity>) -> sea_orm::Select<member::Entity>,
    wanted: usize,
) -> Result<Option<Vec<member::Model>>> {
    let mut next = in_order(bare).limit(KEYWORD_WINDOW).into_query();
    // The keyword is tested against the stored search body, which the entity does not select.
    next.column((member::Entity, Alias::new(SEARCH_BODY_COLUMN)));
    let mut matches = member::Entity::find().filter(search_body_holds(keyword));
    QueryFilter::query(&mut matches)
        .from_clear()
        .from_subquery(next, member::Entity);
    let rows = in_order(matches).limit(wanted as u64).all(db).await?;
    Ok((rows.len() == wanted).then_some(rows))
}

/// Whether the best plan for a filter's statements depends on the values bound to them: how
/// many members a keyword pattern or a sub-tree holds decides between walking the sort index
/// until a page is found and reading the matches to sort them. PostgreSQL plans a prepared
/// statement for its values only for its first five executions and may then settle on one
/// generic plan for all values; the generic plan for a keyword walks the nickname index
/// (0.1 s for a rare keyword on 100,000 members instead of 5 ms, BENCHMARKS.md).
pub(super) fn plans_per_value(filter: &MemberFilter) -> bool {
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

/// What a member page reads with ([`crate::state::AppState::page_reads`]).
#[derive(Clone, Copy)]
pub struct PageReads<'a> {
    /// The server's pool.
    pub db: &'a DatabaseConnection,
    /// On PostgreSQL, the pools of reads planned for their values
    /// ([`crate::db::connect_planned`]).
    pub planned: Option<&'a crate::db::PlannedPools>,
    /// What earlier pages learned that picks this one's plan.
    pub hints: &'a PlanHints,
}

/// One page of the organization's members.
///
/// **Permissions**: `org.members.view`, proven by `access`.
pub async fn list(
    reads: PageReads<'_>,
    access: &OrgAccess,
    filter: &MemberFilter,
    field: SortField,
    descending: bool,
    page: &PageRequest,
) -> Result<MemberPage> {
    let PageReads { db, planned, hints } = reads;
    let few = indexed_keyword(db.get_database_backend(), filter).is_some_and(|keyword| {
        hints.keyword_matches_fewer(access.org_id(), &marked(keyword), page.limit + 1)
    });
    let read = PageRead {
        hints,
        access,
        filter,
        field,
        descending,
        page,
        few,
    };
    // A keyword or a sub-tree page is read with the pools planned for its values; a page in
    // sub-tree order has one good plan whatever the sub-tree's size.
    let Some(planned) =
        planned.filter(|_| plans_per_value(filter) && !read_in_sub_tree_order(filter, field))
    else {
        return read_page(db, read).await?.ok_or_else(window_not_looked_in);
    };
    if !few && let Some(page) = read_page(&planned.values, read).await? {
        return Ok(page);
    }
    // A page of few, or one whose keyword's window came up short: read with index walks off.
    let read = PageRead { few: true, ..read };
    read_page(&planned.few, read)
        .await?
        .ok_or_else(window_not_looked_in)
}

/// A page that looked in no keyword window found one short: keyword windows are PostgreSQL's,
/// and a page of few looks in none.
fn window_not_looked_in() -> Error {
    Error::internal("a member page found a keyword window short where it looked in none")
}

/// What [`read_page`] reads: [`list`]'s arguments, and whether the page reads every match
/// through the keyword's index without a window first, with index walks off
/// ([`crate::db::PlannedPools::few`]): the keyword is known to match fewer members than the page
/// wants ([`PlanHints::keyword_matches_fewer`]), or its window came up short.
#[derive(Clone, Copy)]
struct PageRead<'a> {
    hints: &'a PlanHints,
    access: &'a OrgAccess,
    filter: &'a MemberFilter,
    field: SortField,
    descending: bool,
    page: &'a PageRequest,
    few: bool,
}

/// One page of the organization's members, read with `db`; `None` when a keyword's window came
/// up short ([`keyword_window`]), which only a page of few does not look in.
async fn read_page<C: ConnectionTrait>(db: &C, read: PageRead<'_>) -> Result<Option<MemberPage>> {
    let PageRead {
        hints,
        access,
        filter,
        field,
        descending,
        page,
        few,
    } = read;
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
            sub_tree_is_large_kept(db, hints, access.org_id(), department, &held)
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
    // On SQLite, a rare keyword of one or two characters is read through the trigram index. On
    // PostgreSQL, two ASCII characters (one a letter or digit) are, and one letter or digit is
    // read through the index of letters, when the keyword's window (below) comes up short:
    // `query` is read only then.
    let short = match backend {
        DbBackend::Postgres => filter
            .trimmed_keyword()
            .and_then(|keyword| short_keyword_indexed(backend, keyword)),
        _ => rare_short_keyword(db, filter).await?,
    };
    // SQLite has found the keyword rare already; PostgreSQL knows it in a page of few (a window
    // that comes up short has the page read again as one), and only then does the page (and its
    // count) read the keyword through the index.
    let keyword_indexed = short.is_some() && (backend != DbBackend::Postgres || few);
    let query = match short {
        Some(indexed) => {
            member::Entity::find().filter(condition(&filter.without_keyword()).add(indexed))
        }
        None => member::Entity::find().filter(condition(filter)),
    };
    let query = PageQuery {
        query,
        ids_first: hashed.is_some() && ids_first(filter, field),
    };
    // PostgreSQL estimates how many members a keyword matches from a hundred sampled search
    // texts. When one of them happens to hold a rare keyword, it expects a page among the first
    // rows in sort order and walks the whole organization for matches that are not there (117 ms
    // at 100,000 members instead of 5 ms, BENCHMARKS.md). So a keyword an index can serve (the
    // trigram index, for a short one the index of characters beyond ASCII and signs or, for two
    // ASCII characters, the trigram index again, for one letter or digit the index of letters)
    // is looked for among the next rows in order first (`keyword_window`), in the same query
    // without the keyword. A keyword known to match fewer members than the page wants cannot
    // fill a window: its matches are read through its index at once.
    let indexed = indexed_keyword(backend, filter);
    let keyword = indexed.filter(|_| !few).map(|keyword| {
        let bare = member::Entity::find().filter(condition(&filter.without_keyword()));
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
        match by_last_login(db, query, keyword, cursor, order, backward, wanted).await? {
            Some(rows) => rows,
            None => return Ok(None),
        }
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
                match keyword_window(db, bare, keyword, in_order, wanted).await? {
                    Some(rows) => Some(rows),
                    None => return Ok(None),
                }
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
                query.read(db, |q| field.order(q, &order), wanted).await?
            }
        }
    };
    // A page with nothing but a keyword and no cursor that holds fewer rows than it wanted
    // holds every match in the organization: later pages of the keyword, or of a keyword
    // beginning with it, skip their windows.
    if let Some(keyword) = indexed
        && let Some(matches) = matches_shown(filter, cursor.is_none(), rows.len(), wanted)
    {
        hints.keep_keyword(access.org_id(), &marked(keyword), matches);
    }
    let more = rows.len() > page.limit;
    rows.truncate(page.limit);
    if backward {
        rows.reverse();
        Ok(Some(MemberPage {
            rows,
            has_previous: more,
            has_next: page.before.is_some(),
            keyword_indexed,
            department: scope,
        }))
    } else {
        Ok(Some(MemberPage {
            rows,
            has_previous: page.after.is_some(),
            has_next: more,
            keyword_indexed,
            department: scope,
        }))
    }
}

/// A page's query, before its order and limit, and whether it is read with its ids first
/// ([`ids_first`]).
#[derive(Clone)]
struct PageQuery {
    query: sea_orm::Select<member::Entity>,
    ids_first: bool,
}

impl PageQuery {
    fn filter(self, condition: impl sea_orm::sea_query::IntoCondition) -> Self {
        Self {
            query: self.query.filter(condition),
            ..self
        }
    }

    /// The first `limit` rows in the order `in_order` gives: read at once, or with
    /// `ids_first`, the ids of those rows in that order, then their rows.
    async fn read<C: ConnectionTrait>(
        self,
        db: &C,
        in_order: impl Fn(sea_orm::Select<member::Entity>) -> sea_orm::Select<member::Entity>,
        limit: usize,
    ) -> Result<Vec<member::Model>> {
        let limit = limit as u64;
        let query = in_order(self.query).limit(limit);
        if !self.ids_first {
            return Ok(query.all(db).await?);
        }
        let ids = query.select_only().column(member::Column::Id).into_query();
        let rows = member::Entity::find().filter(member::Column::Id.in_subquery(ids));
        Ok(in_order(rows).limit(limit).all(db).await?)
    }
}

/// Whether a sub-tree page probed by hash (PostgreSQL, [`sub_tree_is_large`]) finds its members'
/// ids first and reads their rows after: when the filter holds nothing but the department and
/// the order's index holds the id after the sorted column (join date, last login, organization
/// role; members who never logged in are in the last-login index too, by id). The walk in sort
/// order then reads that index alone (an index-only scan, where the table's pages are all
/// visible) and probes the hash with each id, and only the page's rows are read from the table.
/// Otherwise the walk reads each member's row to test the other filters or to learn its id, and
/// reading the rows again would only add to it. A sub-tree of 2 % of 100,000 members, newest
/// first: 0.26 ms to plan and 0.94 ms to run, against 0.11 and 2.2 ms (BENCHMARKS.md).
fn ids_first(filter: &MemberFilter, field: SortField) -> bool {
    matches!(
        field,
        SortField::JoinedAt | SortField::LastLoginAt | SortField::OrganizationRole
    ) && filter.without_department().is_empty()
}

/// How many members of the organization match the filter's keyword, when a page of it shows
/// that: the filter holds nothing else, the page was read from one end (no cursor), and it read
/// fewer rows than it wanted, so it holds every match.
fn matches_shown(
    filter: &MemberFilter,
    from_an_end: bool,
    read: usize,
    wanted: usize,
) -> Option<usize> {
    (from_an_end && read < wanted && filter.without_keyword().is_empty()).then_some(read)
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
/// [`keyword_window`]: `None` when one comes up short.
async fn by_last_login<C: ConnectionTrait>(
    db: &C,
    query: PageQuery,
    keyword: Option<(sea_orm::Select<member::Entity>, &str)>,
    cursor: Option<&Cursor>,
    order: Order,
    backward: bool,
    wanted: usize,
) -> Result<Option<Vec<member::Model>>> {
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
    // Both groups in last-login order, then by id. Members who never logged in share the absent
    // value, so this order is theirs by id. Written in full, it is the order of the index
    // `(organization_id, last_login_at, id)`: ordered by id alone, PostgreSQL does not see that
    // `last_login_at IS NULL` leaves the index in id order, and walked the primary key over the
    // whole table instead (27 ms against 4.7 ms for the 20 such members of a sub-tree,
    // BENCHMARKS.md).
    let in_order = |q: sea_orm::Select<member::Entity>| SortField::LastLoginAt.order(q, &order);
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
        let left = wanted - rows.len();
        let read = match &keyword {
            Some((bare, word)) => {
                let bare = bare.clone().filter(group);
                match keyword_window(db, bare, word, in_order, left).await? {
                    Some(read) => read,
                    None => return Ok(None),
                }
            }
            None => query.clone().filter(group).read(db, in_order, left).await?,
        };
        rows.extend(read);
        if rows.len() >= wanted {
            break;
        }
    }
    Ok(Some(rows))
}

#[cfg(test)]
mod tests {
    use super::*;
    use entity::enums::{MemberStatus, UserType};

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
    fn hashed_sub_tree_pages_find_ids_first_in_orders_whose_index_holds_them() {
        let tree = MemberFilter {
            department_id: Some(1),
            include_sub_departments: true,
            ..MemberFilter::default()
        };
        assert!(ids_first(&tree, SortField::JoinedAt));
        assert!(ids_first(&tree, SortField::LastLoginAt));
        assert!(ids_first(&tree, SortField::OrganizationRole));
        // The account's index holds no id; user types and statuses sort by their value and id,
        // which their indexes do not.
        for field in [SortField::Account, SortField::UserType, SortField::Status] {
            assert!(!ids_first(&tree, field), "{field:?}");
        }
        // Another filter is tested on the member's row.
        let analysts = MemberFilter {
            user_types: vec![UserType::Analyst],
            ..tree.clone()
        };
        assert!(!ids_first(&analysts, SortField::JoinedAt));
        let keyword = MemberFilter {
            keyword: Some("ann".into()),
            ..tree
        };
        assert!(!ids_first(&keyword, SortField::JoinedAt));
    }

    #[test]
    fn a_page_shows_how_many_match_its_keyword_when_it_holds_them_all() {
        let keyword = MemberFilter {
            keyword: Some("ann".into()),
            ..MemberFilter::default()
        };
        assert_eq!(matches_shown(&keyword, true, 3, 51), Some(3));
        assert_eq!(matches_shown(&keyword, true, 0, 51), Some(0));
        assert_eq!(matches_shown(&keyword, true, 51, 51), None, "a full page");
        assert_eq!(matches_shown(&keyword, false, 3, 51), None, "past a cursor");
        // Another filter narrows the matches to fewer than the organization holds.
        for narrowed in [
            MemberFilter {
                statuses: vec![MemberStatus::Active],
                ..keyword.clone()
            },
            MemberFilter {
                department_id: Some(1),
                ..keyword.clone()
            },
            MemberFilter {
                ids: Some(vec![1]),
                ..keyword.clone()
            },
        ] {
            assert_eq!(matches_shown(&narrowed, true, 3, 51), None, "{narrowed:?}");
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
}
