//! Counting the member list's matches (`totalCount`): from the page when it holds them all,
//! from a department's rows, or from the member tally the triggers keep.

use super::*;
use crate::{
    authz::OrgAccess,
    error::{Error, Result},
};
use entity::{enums::*, member};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, DbBackend, EntityTrait,
    PaginatorTrait, QueryFilter, QuerySelect, QueryTrait,
    sea_query::{Expr, ExprTrait, Query},
};

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
    let backend = db.get_database_backend();
    let department = page.department.as_ref();
    // A short keyword the page found rare is counted through the index the page read it with;
    // a common one is counted faster by scanning.
    let indexed = filter
        .trimmed_keyword()
        .filter(|_| page.keyword_indexed)
        .and_then(|keyword| short_keyword_indexed(backend, keyword));
    let condition = match indexed {
        Some(indexed) => {
            let rest = filter.without_keyword();
            filter_condition(backend, access.org_id(), &rest, department).add(indexed)
        }
        None => filter_condition(backend, access.org_id(), filter, department),
    };
    let query = member::Entity::find().filter(condition);
    if plans_per_value(filter)
        && let Some(txn) = crate::db::begin_planned_per_value(db).await?
    {
        let count = query.count(&txn).await?;
        txn.commit().await?;
        return Ok(count);
    }
    Ok(query.count(db).await?)
}

/// Whether a filter keeps a department's members (with its sub-tree or not) and nothing else.
pub(super) fn only_a_department(filter: &MemberFilter) -> bool {
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

/// Whether [`count()`] answers `filter` from the member tally, and then which members to take off
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

/// How many rows of an organization's `member_tally` [`count()`] reads before it folds them into one.
const TALLY_ROWS_FOLDED: i64 = 64;

/// Counts the seats in use: the organization's members less the resigned ones, who are counted
/// through the `(organization_id, status, …)` index (usually few) while the others come from the
/// member tally. It never folds the tally: it runs inside the transaction that adds members.
pub async fn seats_in_use<C: ConnectionTrait>(db: &C, org: i64) -> Result<u64> {
    let resigned = Condition::all().add(member::Column::Status.eq(MemberStatus::Resigned));
    Ok(tally(db, org, Some(resigned)).await?.members)
}

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
/// ([`count()`]); the server's housekeeping folds the others every ten minutes, so that an
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
}
