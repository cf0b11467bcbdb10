//! What a member list asks for: its filter, its order and the keyset cursors of that order,
//! and the SQL conditions they become (keyword, department and its sub-tree, flags).

use crate::error::{Error, Result};
use crate::org::rules;
use chrono::{DateTime, Utc};
use entity::{
    department, department_member, enums::*, identity, member, member_tag, sub_tree_member, user,
    workspace_member,
};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DbBackend, EntityTrait, Order, QueryFilter,
    QueryOrder, QuerySelect, Statement,
    sea_query::{Alias, Expr, ExprTrait, Func, LikeExpr, Query},
};
use serde::{Deserialize, Serialize};

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
    pub(super) fn without_department(&self) -> Self {
        Self {
            department_id: None,
            ..self.clone()
        }
    }

    /// This filter less its keyword (for the callers that match the keyword their own way).
    pub(super) fn without_keyword(&self) -> Self {
        Self {
            keyword: None,
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
    pub(super) fn sorted(self, value: Expr) -> Expr {
        match self {
            Self::Nickname => Func::lower(value).into(),
            _ => value,
        }
    }

    /// The ordered expression over the member row.
    pub(super) fn expr(self) -> Expr {
        self.sorted(Expr::col((member::Entity, self.column())))
    }

    /// Whether no two members of an organization share the ordered value (a unique index), so
    /// that it orders them alone, without the id as tie-breaker.
    pub(super) fn is_unique(self) -> bool {
        matches!(self, Self::Nickname | Self::Account)
    }

    /// `query` in this order, ties (if the value can tie) broken by id.
    pub(super) fn order<Q: QueryOrder>(self, query: Q, order: &Order) -> Q {
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

/// PostgreSQL's column of each member's searchable text (nickname, account, name, email and
/// phone), lower-cased: generated and stored by the database, with the trigram index on it
/// (migration `m20261206_000022`). Not part of the entity, which SQLite shares.
pub(super) const SEARCH_BODY_COLUMN: &str = "search_body";

/// Keyword match: partial and case-insensitive over nickname, account, name, email and phone.
/// Uses the trigram index (FTS5 on SQLite, pg_trgm on PostgreSQL) for keywords of three or more
/// characters. Shorter keywords are matched by scanning, except on SQLite a rare one, which a
/// page reads through the trigram index ([`rare_short_keyword`]), and on PostgreSQL one holding
/// characters beyond ASCII or ASCII signs, which the index of those characters serves
/// ([`indexed_characters`]), and two ASCII characters one of which is a letter or digit, or one
/// letter or digit alone, which a page that finds them rare reads through the trigram index or
/// the index of letters ([`short_keyword_indexed`]).
pub(super) fn keyword_condition(backend: DbBackend, keyword: &str) -> Condition {
    match backend {
        DbBackend::Postgres => {
            // The pattern, and beside it the characters an index serves (stored, so a member's
            // are cheap to test where PostgreSQL reads every member for a common keyword).
            let matched = Condition::all().add(search_body_holds(keyword));
            match indexed_characters(keyword) {
                Some(characters) => matched.add(held_characters(characters)),
                None => matched,
            }
        }
        _ if keyword.chars().count() >= 3 => {
            let phrase = format!("\"{}\"", keyword.replace('"', "\"\""));
            Condition::all().add(Expr::cust_with_values(
                "\"member\".\"id\" IN (SELECT rowid FROM member_search WHERE member_search MATCH ?)",
                [phrase],
            ))
        }
        // SQLite's `LIKE` ignores the case of ASCII letters and no other, which is exactly what
        // its `lower()` changes: the pattern (lower-cased) is compared with the columns as they
        // are, without lower-casing five columns of every member passed (a keyword matching
        // nobody: 135 ms instead of 55 ms on 100,000 members, BENCHMARKS.md).
        _ => {
            let pattern = rules::like_pattern(keyword);
            let mut any = Condition::any();
            for column in [
                member::Column::Nickname,
                member::Column::Account,
                member::Column::Name,
                member::Column::Email,
                member::Column::Phone,
            ] {
                any = any.add(
                    Expr::col((member::Entity, column)).like(LikeExpr::new(&pattern).escape('\\')),
                );
            }
            any
        }
    }
}

/// PostgreSQL: the member's stored search text holds `keyword` (the pattern alone, without an
/// index's condition: for rows already read, such as a page's window in sort order). The text
/// is marked where it passes between ASCII and the characters beyond it, so the keyword is too.
pub(super) fn search_body_holds(keyword: &str) -> Expr {
    Expr::col((member::Entity, Alias::new(SEARCH_BODY_COLUMN)))
        .like(LikeExpr::new(rules::like_pattern(&marked(keyword))).escape('\\'))
}

/// The mark PostgreSQL's stored search text holds between a character of ASCII and one beyond it.
const MARK: char = '\u{1}';

/// `text` lower-cased and marked as PostgreSQL marks each member's stored search text
/// (`member_search_text`, migration `m20261207_000025`): [`MARK`] between each two neighbouring
/// characters of which one is ASCII and the other is not, and any mark already there read as a
/// space. A text holds a keyword exactly when the marked text holds the marked keyword.
pub(super) fn marked(text: &str) -> String {
    let mut marked = String::with_capacity(text.len() + 4);
    let mut previous: Option<char> = None;
    for c in text.to_lowercase().chars() {
        let c = if c == MARK { ' ' } else { c };
        if previous.is_some_and(|p| p.is_ascii() != c.is_ascii()) {
            marked.push(MARK);
        }
        marked.push(c);
        previous = Some(c);
    }
    marked
}

/// PostgreSQL: a keyword of two ASCII characters, letters, digits or signs, at least one of them a
/// letter or a digit (`qx`, `x@`, `.x`), lower-cased; `None` for any other. Two signs (`@.`)
/// give pg_trgm no trigram to look up, since a sign ends a word: the index of characters serves
/// them ([`indexed_characters`]).
pub(super) fn ascii_pair(keyword: &str) -> Option<String> {
    let pair = keyword.to_ascii_lowercase();
    let graphic = pair.chars().all(|c| c.is_ascii_graphic());
    let lettered = pair.chars().any(|c| c.is_ascii_alphanumeric());
    // Two bytes, all of them ASCII: two characters.
    (pair.len() == 2 && graphic && lettered).then_some(pair)
}

/// PostgreSQL: the members whose marked search text holds `pair` ([`ascii_pair`]), found through
/// the trigram index. In the marked text every ASCII character follows ASCII or starts the text,
/// so the pair follows one of the characters the expression names (capital letters left out:
/// the text is lower-cased) or starts the text. pg_trgm reads the expression as the trigrams
/// ` qx`, `aqx` … `9qx`, one of which every member holding `qx` has; for `x@` the trigrams of a
/// word ending with `x`, for `.x` the one of a word beginning with it. A sign is escaped: in a
/// regular expression, `\` before a character that is not a letter or digit stands for it.
fn pair_through_trigrams(pair: &str) -> Expr {
    let mut expression = String::from("(^|[\\x01-\\x40\\x5b-\\x7f])");
    for c in pair.chars() {
        if !c.is_ascii_alphanumeric() {
            expression.push('\\');
        }
        expression.push(c);
    }
    Expr::cust_with_values(
        format!("\"member\".\"{SEARCH_BODY_COLUMN}\" ~ $1"),
        [expression],
    )
}

/// PostgreSQL: a keyword of one ASCII letter or digit, lower-cased (`q`, `7`); `None` for any
/// other. Nearly every member holds most letters and digits, so the index of characters leaves
/// them out ([`indexed_characters`]); a page that finds one rare reads it through the index of
/// each member's letters and digits instead ([`held_letter`]).
pub(super) fn ascii_letter(keyword: &str) -> Option<char> {
    let mut chars = keyword.chars();
    match (chars.next(), chars.next()) {
        (Some(c), None) if c.is_ascii_alphanumeric() => Some(c.to_ascii_lowercase()),
        _ => None,
    }
}

/// PostgreSQL's column of the ASCII letters and digits each member's text holds, each once, as
/// an array of the one-byte `"char"`: generated and stored by the database, with a GIN index on
/// it (migration `m20261207_000027`). Not part of the entity, which SQLite shares.
const SEARCH_LETTERS_COLUMN: &str = "search_letters";

/// PostgreSQL: the members whose text holds `letter` ([`ascii_letter`]), by the index of each
/// member's letters and digits. The array is cast from the text split as [`held_characters`]
/// splits it: in a custom expression sea-query reads `[` as opening a quoted name, and a
/// placeholder within (`ARRAY[$1]`) would not be bound.
fn held_letter(letter: char) -> Expr {
    Expr::cust_with_values(
        format!(
            "\"member\".\"{SEARCH_LETTERS_COLUMN}\" @> CAST(string_to_array($1, NULL) AS \"char\"[])"
        ),
        [letter.to_string()],
    )
}

/// PostgreSQL: the characters of a keyword too short for the trigram index that the index of
/// each member's characters holds (migration `m20261207_000026`): those beyond ASCII and the
/// ASCII signs (`#`, `@`), lower-cased as the keyword's pattern is, each once, in the order they
/// come. `None` for a longer keyword, for two ASCII characters that the
/// trigram index serves ([`ascii_pair`]), and for one of ASCII letters and digits alone. A
/// member whose text holds the keyword holds each of them, so the index finds every member the
/// pattern keeps, and few others: a two-character Chinese name is looked up as both of its
/// characters, `#(` as `#` and `(`.
pub(super) fn indexed_characters(keyword: &str) -> Option<String> {
    if keyword.chars().count() >= 3 || ascii_pair(keyword).is_some() {
        return None;
    }
    let mut characters = String::new();
    for c in keyword.to_lowercase().chars() {
        if (!c.is_ascii() || c.is_ascii_punctuation()) && !characters.contains(c) {
            characters.push(c);
        }
    }
    (!characters.is_empty()).then_some(characters)
}

/// PostgreSQL's column of each member's characters beyond ASCII and ASCII signs, each in an
/// element of its own: generated and stored by the database, with a GIN index on it (migration
/// `m20261207_000026`). Not part of the entity, which SQLite shares.
const SEARCH_CHARACTERS_COLUMN: &str = "search_characters";

/// PostgreSQL: the members whose text holds each of `characters` ([`indexed_characters`]), by
/// the index of each member's characters: bound as one text, split into its characters as the
/// column holds each member's.
fn held_characters(characters: String) -> Expr {
    Expr::cust_with_values(
        format!("\"member\".\"{SEARCH_CHARACTERS_COLUMN}\" @> string_to_array($1, NULL)"),
        [characters],
    )
}

/// The keyword condition of a rare short keyword, read through the trigram index: how a page
/// that found the keyword rare reads it, and its count counts it. `None` for a keyword the index
/// cannot serve this way, which is scanned for.
///
/// - SQLite, a keyword of one or two characters: every one- or two-character piece of a
///   member's indexed text begins one of its trigrams (the text ends with two spaces, migration
///   `m20261206_000023`), so the members holding `qx` are those of the trigrams from `qx` up to
///   `qy`, listed by `member_search_instance`. The index folds the case of every letter and
///   `LIKE` only of ASCII ones, so a keyword with any other cased letter gets `None`; without
///   one, the index holds every member the scan would keep.
/// - PostgreSQL, two ASCII characters, one a letter or digit ([`ascii_pair`]): the pattern, and
///   beside it the expression pg_trgm serves ([`pair_through_trigrams`]). The pattern comes
///   first, so where PostgreSQL scans instead it tests the cheaper condition on every member and
///   the expression only on those it keeps.
/// - PostgreSQL, one ASCII letter or digit ([`ascii_letter`]): the pattern, and beside it the
///   stored letters the index of letters serves ([`held_letter`]).
pub(super) fn short_keyword_indexed(backend: DbBackend, keyword: &str) -> Option<Condition> {
    match backend {
        DbBackend::Postgres => {
            let matched = keyword_condition(backend, keyword);
            match (ascii_pair(keyword), ascii_letter(keyword)) {
                (Some(pair), _) => Some(matched.add(pair_through_trigrams(&pair))),
                (None, Some(letter)) => Some(matched.add(held_letter(letter))),
                (None, None) => None,
            }
        }
        _ => {
            let (from, until) = trigram_range(keyword)?;
            Some(indexed_in_range(keyword, from, until))
        }
    }
}

/// The members holding a trigram from `from` up to `until` whose text holds `keyword`.
fn indexed_in_range(keyword: &str, from: String, until: String) -> Condition {
    Condition::all()
        .add(Expr::cust_with_values(
            "\"member\".\"id\" IN \
             (SELECT doc FROM member_search_instance WHERE term >= ? AND term < ?)",
            [from, until],
        ))
        .add(keyword_condition(DbBackend::Sqlite, keyword))
}

/// How many occurrences of a short keyword's trigrams [`rare_short_keyword`] reads at most.
const RARE_OCCURRENCES: i64 = 1_024;

/// SQLite: [`short_keyword_indexed`] for the filter's keyword when its trigrams occur fewer than
/// [`RARE_OCCURRENCES`] times in all organizations, counted up to there (0.1–0.4 ms); `None`
/// otherwise, and on PostgreSQL. Reading the members of a rare keyword's trigrams and sorting
/// them costs about a microsecond per occurrence, while scanning in sort order for a page of a
/// keyword one member in a hundred holds passes some 5,000 members (about 4 ms on 100,000), and
/// one nobody holds passes them all (50 ms). So a rare keyword is read through the index, and a
/// common one, found sooner by scanning, is scanned.
pub(super) async fn rare_short_keyword<C: ConnectionTrait>(
    db: &C,
    filter: &MemberFilter,
) -> Result<Option<Condition>> {
    let keyword = filter.trimmed_keyword();
    let range = keyword
        .filter(|_| db.get_database_backend() == DbBackend::Sqlite)
        .and_then(trigram_range);
    let (Some(keyword), Some((from, until))) = (keyword, range) else {
        return Ok(None);
    };
    let statement = Statement::from_sql_and_values(
        DbBackend::Sqlite,
        "SELECT count(*) FROM \
         (SELECT 1 FROM member_search_instance WHERE term >= ? AND term < ? LIMIT ?)",
        [
            from.as_str().into(),
            until.as_str().into(),
            RARE_OCCURRENCES.into(),
        ],
    );
    let row = db
        .query_one_raw(statement)
        .await?
        .ok_or_else(|| Error::internal("counting a keyword's trigrams returned no row"))?;
    let occurrences: i64 = row.try_get_by_index(0)?;
    Ok((occurrences < RARE_OCCURRENCES).then(|| indexed_in_range(keyword, from, until)))
}

/// The trigrams beginning with a keyword of one or two characters, folded as the index folds
/// them: from the keyword (ASCII letters in lower case) up to, not including, the keyword with
/// its last character followed by the next one. `None` for a longer keyword and one with a cased
/// letter beyond ASCII.
fn trigram_range(keyword: &str) -> Option<(String, String)> {
    let uncased = |c: char| c.is_ascii() || (c.to_lowercase().eq([c]) && c.to_uppercase().eq([c]));
    if keyword.chars().count() >= 3 || !keyword.chars().all(uncased) {
        return None;
    }
    let from = keyword.to_ascii_lowercase();
    let mut until = from.clone();
    let last = until.pop()?;
    until.push((last as u32 + 1..=char::MAX as u32).find_map(char::from_u32)?);
    Some((from, until))
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

/// The ids of the members a filter's department holds, as a subquery: `scope`, or without it
/// the department alone; `None` without a department filter.
pub(super) fn department_subquery(
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
pub(super) fn condition_but_department(
    backend: DbBackend,
    organization_id: i64,
    filter: &MemberFilter,
) -> Condition {
    filter_condition(backend, organization_id, &filter.without_department(), None)
}

/// What a filter's department covers, in one statement: the department (NOT_FOUND unless it is
/// the organization's) and whether any department lies below it.
pub(super) async fn department_scope<C: ConnectionTrait>(
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

#[cfg(test)]
mod tests {
    use super::*;

    use sea_orm::QueryTrait;

    /// What PostgreSQL is sent for members matching `condition`: the `WHERE` clause's text and
    /// the values bound to it.
    fn postgres_where(
        condition: impl sea_orm::sea_query::IntoCondition,
    ) -> (String, Vec<sea_orm::Value>) {
        let sql = member::Entity::find()
            .filter(condition)
            .build(DbBackend::Postgres);
        let text = sql
            .sql
            .split_once(" WHERE ")
            .map_or("", |(_, w)| w)
            .to_string();
        (text, sql.values.map(|v| v.0).unwrap_or_default())
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
    fn short_keywords_are_ranges_of_trigrams_as_the_index_folds_them() {
        let range = |k: &str| trigram_range(k);
        let pair = |a: &str, b: &str| Some((a.to_string(), b.to_string()));
        assert_eq!(range("qZ"), pair("qz", "q{"));
        assert_eq!(range("Q"), pair("q", "r"));
        assert_eq!(range("明华"), pair("明华", "明协"));
        assert_eq!(range("@9"), pair("@9", "@:"));
        // The next character skips the surrogates; nothing follows the last one.
        assert_eq!(range("\u{d7ff}"), pair("\u{d7ff}", "\u{e000}"));
        assert_eq!(range("a\u{10ffff}"), None);
        // Long enough for `MATCH`, or holding a letter whose case `LIKE` keeps.
        assert_eq!(range("abc"), None);
        assert_eq!(range("É"), None);
        assert_eq!(range("aé"), None);
        assert_eq!(range("µ"), None, "its upper case is Greek");
        assert!(short_keyword_indexed(DbBackend::Sqlite, "qx").is_some());
        assert!(short_keyword_indexed(DbBackend::Sqlite, "Éa").is_none());
    }

    #[test]
    fn short_keywords_beyond_ascii_or_of_signs_are_their_characters_on_postgres() {
        let characters = |k: &str| indexed_characters(k);
        let listed = |c: &str| Some(c.to_string());
        assert_eq!(characters("鑫"), listed("鑫"));
        assert_eq!(characters("明华"), listed("明华"));
        assert_eq!(characters("华华"), listed("华"), "each once");
        assert_eq!(
            characters("a鑫"),
            listed("鑫"),
            "letters left to the pattern"
        );
        assert_eq!(characters("É"), listed("é"), "lower-cased as the pattern");
        assert_eq!(characters("#"), listed("#"));
        assert_eq!(characters("@."), listed("@."), "two signs");
        assert_eq!(characters("(("), listed("("));
        assert_eq!(characters("王."), listed("王."));
        assert_eq!(characters("q"), None, "a letter alone");
        assert_eq!(characters("7"), None, "a digit alone");
        assert_eq!(
            characters("qx"),
            None,
            "the trigram index serves two letters"
        );
        assert_eq!(characters("x@"), None, "and a letter beside a sign");
        assert_eq!(characters("\u{1}"), None, "a control character is no sign");
        assert_eq!(characters("王小明"), None, "the trigram index serves it");
        // The pattern is tested first, and the characters are bound as a value.
        let (text, values) = postgres_where(keyword_condition(DbBackend::Postgres, "明华"));
        assert_eq!(
            text,
            r#""member"."search_body" LIKE $1 ESCAPE E'\\' AND ("member"."search_characters" @> string_to_array($2, NULL))"#
        );
        assert_eq!(
            values,
            ["%明华%", "明华"].map(sea_orm::Value::from).to_vec()
        );
        let (qx, _) = postgres_where(keyword_condition(DbBackend::Postgres, "qx"));
        assert!(!qx.contains("search_characters"), "{qx}");
        let (_, values) = postgres_where(keyword_condition(DbBackend::Postgres, "#_"));
        assert_eq!(
            values,
            ["%#\\_%", "#_"].map(sea_orm::Value::from).to_vec(),
            "the pattern escaped, the characters as typed"
        );
    }

    #[test]
    fn one_ascii_letter_or_digit_goes_through_the_index_of_letters_on_postgres() {
        assert_eq!(ascii_letter("Q"), Some('q'));
        assert_eq!(ascii_letter("7"), Some('7'));
        assert_eq!(ascii_letter("qx"), None, "two are a pair");
        assert_eq!(
            ascii_letter("#"),
            None,
            "the index of characters serves a sign"
        );
        assert_eq!(ascii_letter("鑫"), None);
        assert_eq!(ascii_letter("é"), None);
        assert_eq!(ascii_letter(""), None);
        // The pattern first, the letter bound as a value; the pattern alone where the page
        // does not read the letter as rare.
        let letter = short_keyword_indexed(DbBackend::Postgres, "V");
        let (text, values) = postgres_where(letter.unwrap_or_else(Condition::all));
        assert_eq!(
            text,
            r#""member"."search_body" LIKE $1 ESCAPE E'\\' AND ("member"."search_letters" @> CAST(string_to_array($2, NULL) AS "char"[]))"#
        );
        assert_eq!(values, ["%v%", "v"].map(sea_orm::Value::from).to_vec());
        let (text, _) = postgres_where(keyword_condition(DbBackend::Postgres, "v"));
        assert!(!text.contains("search_letters"), "{text}");
    }

    #[test]
    fn keywords_are_marked_between_ascii_and_beyond_as_postgres_marks_the_text() {
        let mark = |t: &str| marked(t).replace(MARK, "|");
        assert_eq!(mark("王Qx明"), "王|qx|明");
        assert_eq!(mark("Ab 明华0"), "ab |明华|0", "the space is ASCII");
        assert_eq!(mark("a华b华"), "a|华|b|华");
        assert_eq!(mark("qx"), "qx");
        assert_eq!(mark("明华"), "明华");
        assert_eq!(mark("a\u{1}b"), "a b", "a mark already there is a space");
        assert_eq!(mark(""), "");
        // The pattern of a mixed keyword is marked, its `%` and `_` escaped.
        let (_, values) = postgres_where(search_body_holds("x鑫_"));
        assert_eq!(values, [sea_orm::Value::from("%x\u{1}鑫\u{1}\\_%")]);
    }

    #[test]
    fn ascii_pairs_go_through_the_trigram_index_on_postgres() {
        assert_eq!(ascii_pair("Qx"), Some("qx".to_string()));
        assert_eq!(ascii_pair("q1"), Some("q1".to_string()));
        assert_eq!(
            ascii_pair("q"),
            None,
            "one character has no trigram to name"
        );
        assert_eq!(
            ascii_pair("qxz"),
            None,
            "the trigram index serves its pattern"
        );
        assert_eq!(ascii_pair("X@"), Some("x@".to_string()));
        assert_eq!(ascii_pair("@."), None, "two signs have no trigram");
        assert_eq!(ascii_pair("鑫x"), None, "the index of characters serves it");
        assert_eq!(ascii_pair("x\u{1}"), None, "a control character is no sign");
        let pair = short_keyword_indexed(DbBackend::Postgres, "QX");
        let (text, values) = postgres_where(pair.unwrap_or_else(Condition::all));
        assert_eq!(
            text,
            r#""member"."search_body" LIKE $1 ESCAPE E'\\' AND ("member"."search_body" ~ $2)"#
        );
        assert_eq!(
            values,
            ["%qx%", r"(^|[\x01-\x40\x5b-\x7f])qx"]
                .map(sea_orm::Value::from)
                .to_vec()
        );
        assert!(short_keyword_indexed(DbBackend::Postgres, "鑫").is_none());
        // A sign is escaped in the expression, and in the pattern only if `LIKE` reads it.
        assert!(
            short_keyword_indexed(DbBackend::Postgres, "_.").is_none(),
            "two signs"
        );
        let signed = short_keyword_indexed(DbBackend::Postgres, "x_");
        let (_, values) = postgres_where(signed.unwrap_or_else(Condition::all));
        assert_eq!(
            values,
            [r"%x\_%", r"(^|[\x01-\x40\x5b-\x7f])x\_"]
                .map(sea_orm::Value::from)
                .to_vec()
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
}
