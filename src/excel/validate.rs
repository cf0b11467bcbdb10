//! The rules a member sheet's rows follow, as pure functions over the rows and what the
//! organization holds (members, roles, departments, nicknames in use). The service in
//! [`super::import`] loads that context, calls these, and applies the outcome only when there is
//! no problem at all.

use super::columns::{self, Column, TAG_PREFIX};
use super::read::{Cell, Row, Sheet};
use crate::error::{Error, Result};
use crate::org::{members::TagSet, rules};
use entity::enums::{MemberStatus, UserType};
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

/// One problem in an uploaded sheet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Excel row number (the header is row 1).
    pub row: u32,
    /// Header of the column at fault.
    pub column: String,
    /// What is wrong and what to do.
    pub message: String,
}

/// Maps the sheet's headers onto the expected columns: the fixed columns must appear exactly in
/// the template's order; `tag_` columns may be added, removed or moved.
pub fn map_headers(headers: &[String], expected: &[Column]) -> Result<Vec<Column>> {
    let fixed: Vec<&Column> = expected
        .iter()
        .filter(|c| !matches!(c, Column::Tag(_)))
        .collect();
    let mut mapped = Vec::with_capacity(headers.len());
    let mut next = 0;
    let mut tags = HashSet::new();
    for (i, header) in headers.iter().enumerate() {
        let position = i + 1;
        let normalized = columns::normalize(header);
        if normalized.to_lowercase().starts_with(TAG_PREFIX) {
            let name = rules::tag_name("file", &normalized).map_err(|_| {
                Error::validation(
                    "file",
                    format!(
                        "column {position} `{header}` is not a tag column name: after tag_ use letters, digits and _"
                    ),
                )
            })?;
            if !tags.insert(name.clone()) {
                return Err(Error::validation(
                    "file",
                    format!("the tag column `{TAG_PREFIX}{name}` appears twice; keep one"),
                ));
            }
            mapped.push(Column::Tag(name));
            continue;
        }
        let Some(want) = fixed.get(next) else {
            return Err(Error::validation(
                "file",
                format!(
                    "column {position} `{header}` is not a column of the template; remove it (only tag_ columns may be added)"
                ),
            ));
        };
        if !columns::same_header(header, &want.header()) {
            return Err(Error::validation(
                "file",
                format!(
                    "column {position} should be `{}` but the file has `{header}`; keep the template's columns in their order (only tag_ columns may be added, removed or moved)",
                    want.header()
                ),
            ));
        }
        mapped.push((*want).clone());
        next += 1;
    }
    if let Some(missing) = fixed.get(next) {
        return Err(Error::validation(
            "file",
            format!(
                "the column `{}` is missing; download the template again and keep its columns",
                missing.header()
            ),
        ));
    }
    Ok(mapped)
}

/// An organization role as the sheet names it.
#[derive(Debug, Clone)]
pub struct RoleRef {
    /// Role id.
    pub id: i64,
    /// Display name.
    pub name: String,
    /// Organization or permission administrator: needs developer or analyst.
    pub is_admin: bool,
    /// The organization administrator role: giving or taking it needs `org.organization.manage`.
    pub is_org_admin: bool,
}

/// What the organization holds that rows refer to.
#[derive(Debug, Clone, Default)]
pub struct Lookup {
    /// Organization roles by lower-cased name.
    pub roles: HashMap<String, RoleRef>,
    /// Department ids by display path (`/Sales/North`).
    pub departments: HashMap<String, i64>,
    /// Nicknames (lower-cased) in use by members, with the member holding each.
    pub nicknames: HashMap<String, i64>,
    /// May change organization roles (`org.permissions.manage`).
    pub may_change_roles: bool,
    /// May give or take the organization administrator role (`org.organization.manage`).
    pub may_change_org_admin: bool,
    /// The member uploading the file.
    pub actor: i64,
}

impl Lookup {
    fn role(&self, raw: &str) -> Option<&RoleRef> {
        self.roles.get(&columns::normalize(raw).to_lowercase())
    }
}

/// A member as it is now, for batch update.
#[derive(Debug, Clone)]
pub struct Current {
    /// Member id (User ID).
    pub id: i64,
    /// Account.
    pub account: String,
    /// Nickname.
    pub nickname: String,
    /// User type.
    pub user_type: UserType,
    /// Organization role id.
    pub role_id: i64,
    /// Status.
    pub status: MemberStatus,
    /// Email.
    pub email: Option<String>,
    /// Phone.
    pub phone: Option<String>,
    /// Department ids.
    pub departments: BTreeSet<i64>,
    /// Tags: name → values.
    pub tags: BTreeMap<String, Vec<String>>,
}

/// The changes one row asks for; `None` fields stay as they are.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MemberUpdate {
    /// Member id.
    pub id: i64,
    /// Excel row.
    pub row: u32,
    /// New nickname.
    pub nickname: Option<String>,
    /// New user type.
    pub user_type: Option<UserType>,
    /// New organization role.
    pub role_id: Option<i64>,
    /// New status.
    pub status: Option<MemberStatus>,
    /// New email (`Some(None)` clears it).
    pub email: Option<Option<String>>,
    /// New phone (`Some(None)` clears it).
    pub phone: Option<Option<String>>,
    /// New departments.
    pub departments: Option<Vec<i64>>,
    /// Tags whose values change (empty values remove the tag).
    pub tags: Vec<TagSet>,
}

impl MemberUpdate {
    /// Whether the row changes anything.
    pub fn changes_anything(&self) -> bool {
        self.nickname.is_some()
            || self.user_type.is_some()
            || self.role_id.is_some()
            || self.status.is_some()
            || self.email.is_some()
            || self.phone.is_some()
            || self.departments.is_some()
            || !self.tags.is_empty()
    }
}

/// Collects problems of one row, naming the column by its header.
struct RowCheck<'a> {
    row: u32,
    columns: &'a [Column],
    cells: &'a [Cell],
    problems: &'a mut Vec<Problem>,
}

impl RowCheck<'_> {
    fn problem(&mut self, column: &Column, message: impl Into<String>) {
        self.problems.push(Problem {
            row: self.row,
            column: column.header().into_owned(),
            message: message.into(),
        });
    }

    fn cell(&self, column: &Column) -> Option<&Cell> {
        self.columns
            .iter()
            .position(|c| c == column)
            .and_then(|i| self.cells.get(i))
    }

    /// The cell's text; formulas and error values are problems.
    fn text(&mut self, column: &Column) -> Option<String> {
        match self.cell(column)?.clone() {
            Cell::Formula(f) => {
                self.problem(
                    column,
                    format!("formulas are not accepted (`={f}`); paste the value instead"),
                );
                None
            }
            Cell::Error(e) => {
                self.problem(
                    column,
                    format!("the cell shows the Excel error {e}; type a value"),
                );
                None
            }
            other => Some(other.text()),
        }
    }

    /// A read-only date column: empty, a date, or text that reads as one.
    fn date(&mut self, column: &Column) {
        match self.cell(column).cloned() {
            None | Some(Cell::Empty | Cell::Date(_) | Cell::Number(_)) => {}
            Some(Cell::Text(t)) if parses_as_date(&t) => {}
            Some(Cell::Text(t)) => self.problem(
                column,
                format!(
                    "`{t}` is not a date; this column is read-only — keep the exported value (a date cell or YYYY-MM-DD)"
                ),
            ),
            Some(_) => {
                let _ = self.text(column);
            }
        }
    }

    fn nickname(&mut self, raw: &str) -> Option<String> {
        match rules::nickname("nickname", raw) {
            Ok(n) => Some(n),
            Err(e) => {
                self.problem(&Column::Nickname, e.to_string());
                None
            }
        }
    }

    fn user_type(&mut self, raw: &str) -> Option<UserType> {
        let parsed = columns::parse_user_type(raw);
        if parsed.is_none() {
            self.problem(
                &Column::UserType,
                format!("`{raw}` is not a user type; use Developer, Analyst or Viewer"),
            );
        }
        parsed
    }

    fn role<'l>(&mut self, lookup: &'l Lookup, raw: &str) -> Option<&'l RoleRef> {
        let role = lookup.role(raw);
        if role.is_none() {
            self.problem(
                &Column::OrganizationRole,
                format!("no organization role is named `{raw}`; use one listed on the Lists sheet"),
            );
        }
        role
    }

    fn contact(&mut self) -> (Option<Option<String>>, Option<Option<String>>) {
        let email = self.text(&Column::Email).and_then(|raw| {
            match rules::email("email", Some(&columns::normalize(&raw))) {
                Ok(v) => Some(v),
                Err(e) => {
                    self.problem(&Column::Email, e.to_string());
                    None
                }
            }
        });
        let phone = self.text(&Column::PhoneNumber).and_then(|raw| {
            match rules::phone("phone", Some(&columns::normalize(&raw))) {
                Ok(v) => Some(v),
                Err(e) => {
                    self.problem(&Column::PhoneNumber, e.to_string());
                    None
                }
            }
        });
        (email, phone)
    }

    fn departments(&mut self, lookup: &Lookup) -> Option<Vec<i64>> {
        let raw = self.text(&Column::UserGroup)?;
        let mut ids = Vec::new();
        let mut ok = true;
        for path in columns::split_paths(&raw) {
            let path = if path.starts_with('/') {
                path
            } else {
                format!("/{path}")
            };
            match lookup.departments.get(path.trim_end_matches('/')) {
                Some(id) => {
                    if !ids.contains(id) {
                        ids.push(*id);
                    }
                }
                None => {
                    ok = false;
                    self.problem(
                        &Column::UserGroup,
                        format!(
                            "the department `{path}` does not exist; create it first or correct the path (such as /Sales/North)"
                        ),
                    );
                }
            }
        }
        ok.then_some(ids)
    }

    fn tags(&mut self) -> Vec<(String, Vec<String>)> {
        let tag_columns: Vec<Column> = self
            .columns
            .iter()
            .filter(|c| matches!(c, Column::Tag(_)))
            .cloned()
            .collect();
        let mut out = Vec::new();
        for column in tag_columns {
            let Column::Tag(name) = &column else { continue };
            let Some(raw) = self.text(&column) else {
                continue;
            };
            match rules::tag_values("tags", &raw) {
                Ok(values) => out.push((name.clone(), values)),
                Err(e) => self.problem(&column, e.to_string()),
            }
        }
        out
    }
}

fn parses_as_date(text: &str) -> bool {
    let t = columns::normalize(text);
    [
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%d %H:%M",
        "%Y/%m/%d %H:%M:%S",
        "%Y/%m/%d %H:%M",
    ]
    .iter()
    .any(|f| chrono::NaiveDateTime::parse_from_str(&t, f).is_ok())
        || ["%Y-%m-%d", "%Y/%m/%d"]
            .iter()
            .any(|f| chrono::NaiveDate::parse_from_str(&t, f).is_ok())
}

/// The User IDs batch-update rows name (for loading those members), ignoring unreadable ones.
pub fn user_ids(columns: &[Column], rows: &[Row]) -> Vec<i64> {
    let Some(i) = columns.iter().position(|c| *c == Column::UserId) else {
        return Vec::new();
    };
    rows.iter().filter_map(|r| parse_id(&r.cells[i])).collect()
}

/// The texts of one column, normalized, for loading what they refer to.
pub fn column_texts(columns: &[Column], sheet: &Sheet, column: &Column) -> Vec<String> {
    let Some(i) = columns.iter().position(|c| c == column) else {
        return Vec::new();
    };
    sheet
        .rows
        .iter()
        .map(|r| r.cells[i].text().trim().to_string())
        .filter(|t| !t.is_empty())
        .collect()
}

fn parse_id(cell: &Cell) -> Option<i64> {
    match cell {
        Cell::Number(n) if n.fract() == 0.0 && *n > 0.0 => Some(*n as i64),
        Cell::Text(t) => columns::normalize(t).parse().ok().filter(|id| *id > 0),
        _ => None,
    }
}

/// Checks every row of a batch-update sheet against the members it names and returns the
/// changes, or every problem found.
pub fn check_update(
    columns: &[Column],
    rows: &[Row],
    members: &HashMap<i64, Current>,
    lookup: &Lookup,
) -> std::result::Result<Vec<MemberUpdate>, Vec<Problem>> {
    let mut problems = Vec::new();
    let mut updates = Vec::new();
    let mut seen_ids: HashMap<i64, u32> = HashMap::new();
    let mut seen_nicknames: HashMap<String, u32> = HashMap::new();
    let file_ids: HashSet<i64> = user_ids(columns, rows).into_iter().collect();
    for row in rows {
        let mut check = RowCheck {
            row: row.number,
            columns,
            cells: &row.cells,
            problems: &mut problems,
        };
        let before = check.problems.len();
        let Some(raw_id) = check.text(&Column::UserId) else {
            continue;
        };
        let Some(current) = resolve_member(&mut check, &raw_id, members, &mut seen_ids) else {
            continue;
        };
        if let Some(account) = check.text(&Column::Account)
            && !account.is_empty()
            && account != current.account
        {
            check.problem(
                &Column::Account,
                format!(
                    "User ID {} belongs to the account `{}`, not `{account}`; do not change User ID or Account",
                    current.id, current.account
                ),
            );
        }
        check.date(&Column::JoinDate);
        check.date(&Column::LastLogonTime);
        let _ = check.text(&Column::AccountType);
        let mut update = MemberUpdate {
            id: current.id,
            row: row.number,
            ..Default::default()
        };
        if let Some(raw) = check.text(&Column::Nickname)
            && let Some(nickname) = check.nickname(&raw)
        {
            let key = nickname.to_lowercase();
            if let Some(other) = seen_nicknames.insert(key.clone(), row.number) {
                check.problem(
                    &Column::Nickname,
                    format!(
                        "the nickname `{nickname}` is also on row {other}; nicknames are unique"
                    ),
                );
            } else if lookup
                .nicknames
                .get(&key)
                .is_some_and(|owner| *owner != current.id && !file_ids.contains(owner))
            {
                check.problem(
                    &Column::Nickname,
                    format!(
                        "the nickname `{nickname}` is already used by another member; choose another"
                    ),
                );
            }
            if nickname != current.nickname {
                update.nickname = Some(nickname);
            }
        }
        let user_type = check
            .text(&Column::UserType)
            .and_then(|raw| check.user_type(&raw));
        let role = check
            .text(&Column::OrganizationRole)
            .and_then(|raw| check.role(lookup, &raw));
        if let (Some(user_type), Some(role)) = (user_type, role) {
            if let Err(e) = rules::check_admin_role("roleId", user_type, role.is_admin, &role.name)
            {
                check.problem(&Column::OrganizationRole, e.to_string());
            }
            if user_type != current.user_type {
                update.user_type = Some(user_type);
            }
            if role.id != current.role_id {
                let was_org_admin = lookup
                    .roles
                    .values()
                    .any(|r| r.id == current.role_id && r.is_org_admin);
                if !lookup.may_change_roles {
                    check.problem(
                        &Column::OrganizationRole,
                        "changing organization roles needs the permission `org.permissions.manage`; keep the current role",
                    );
                } else if (role.is_org_admin || was_org_admin) && !lookup.may_change_org_admin {
                    check.problem(
                        &Column::OrganizationRole,
                        "giving or taking the organization administrator role needs the permission `org.organization.manage`",
                    );
                } else if was_org_admin && current.id == lookup.actor {
                    check.problem(
                        &Column::OrganizationRole,
                        "you cannot take the organization administrator role from yourself; ask another administrator",
                    );
                }
                update.role_id = Some(role.id);
            }
        }
        if let Some(raw) = check.text(&Column::UserStatus) {
            match columns::parse_status(&raw) {
                Some(MemberStatus::Resigned) => check.problem(
                    &Column::UserStatus,
                    "members resign with the resign action, not by batch update; use Active or Disabled",
                ),
                Some(status) => {
                    if status == MemberStatus::Disabled && current.id == lookup.actor {
                        check.problem(
                            &Column::UserStatus,
                            "you cannot disable yourself; ask another administrator",
                        );
                    }
                    if status != current.status {
                        update.status = Some(status);
                    }
                }
                None => check.problem(
                    &Column::UserStatus,
                    format!("`{raw}` is not a status; use Active or Disabled"),
                ),
            }
        }
        let (email, phone) = check.contact();
        if let Some(email) = email
            && email != current.email
        {
            update.email = Some(email);
        }
        if let Some(phone) = phone
            && phone != current.phone
        {
            update.phone = Some(phone);
        }
        if let Some(ids) = check.departments(lookup) {
            let set: BTreeSet<i64> = ids.iter().copied().collect();
            if set != current.departments {
                update.departments = Some(ids);
            }
        }
        for (name, values) in check.tags() {
            let now = current.tags.get(&name).cloned().unwrap_or_default();
            if values != now {
                update.tags.push(TagSet { name, values });
            }
        }
        if check.problems.len() == before && update.changes_anything() {
            updates.push(update);
        }
    }
    if problems.is_empty() {
        Ok(updates)
    } else {
        Err(problems)
    }
}

fn resolve_member<'m>(
    check: &mut RowCheck<'_>,
    raw: &str,
    members: &'m HashMap<i64, Current>,
    seen: &mut HashMap<i64, u32>,
) -> Option<&'m Current> {
    if raw.trim().is_empty() {
        check.problem(
            &Column::UserId,
            "User ID is empty; batch update changes existing members only — add new members with the import template",
        );
        return None;
    }
    let Some(id) = parse_id(&Cell::Text(raw.to_string())) else {
        check.problem(
            &Column::UserId,
            format!("`{raw}` is not a User ID; keep the exported value"),
        );
        return None;
    };
    if let Some(other) = seen.insert(id, check.row) {
        check.problem(
            &Column::UserId,
            format!("User ID {id} is also on row {other}; list each member once"),
        );
        return None;
    }
    let Some(current) = members.get(&id) else {
        check.problem(
            &Column::UserId,
            format!(
                "no member has User ID {id} in this organization; batch update cannot add members — use the import template"
            ),
        );
        return None;
    };
    if current.status == MemberStatus::Resigned {
        check.problem(
            &Column::UserId,
            "this member has resigned; resigned members are a record and cannot be changed",
        );
        return None;
    }
    Some(current)
}

/// A member to add, from one import row.
#[derive(Debug, Clone, PartialEq)]
pub struct NewRow {
    /// Excel row.
    pub row: u32,
    /// Account.
    pub account: String,
    /// Nickname.
    pub nickname: String,
    /// Real name.
    pub name: String,
    /// Employee number.
    pub employee_no: Option<String>,
    /// Email.
    pub email: Option<String>,
    /// Phone.
    pub phone: Option<String>,
    /// Position.
    pub position: Option<String>,
    /// Departments.
    pub departments: Vec<i64>,
    /// User type.
    pub user_type: UserType,
    /// Organization role.
    pub role_id: i64,
    /// Tags.
    pub tags: Vec<TagSet>,
}

/// Checks every row of an import sheet; `existing_accounts` are the file's accounts that are
/// already taken in the organization, `default_role` the standard-user role.
pub fn check_import(
    columns: &[Column],
    rows: &[Row],
    existing_accounts: &HashSet<String>,
    default_role: &RoleRef,
    lookup: &Lookup,
) -> std::result::Result<Vec<NewRow>, Vec<Problem>> {
    let mut problems = Vec::new();
    let mut out = Vec::new();
    let mut seen_accounts: HashMap<String, u32> = HashMap::new();
    let mut seen_nicknames: HashMap<String, u32> = HashMap::new();
    for row in rows {
        let mut check = RowCheck {
            row: row.number,
            columns,
            cells: &row.cells,
            problems: &mut problems,
        };
        let before = check.problems.len();
        let account = check.text(&Column::Account).and_then(|raw| {
            match rules::account("account", &columns::normalize(&raw)) {
                Ok(a) => Some(a),
                Err(e) => {
                    check.problem(&Column::Account, e.to_string());
                    None
                }
            }
        });
        if let Some(account) = &account {
            if let Some(other) = seen_accounts.insert(account.to_lowercase(), row.number) {
                check.problem(
                    &Column::Account,
                    format!("the account `{account}` is also on row {other}; accounts are unique"),
                );
            } else if existing_accounts.contains(&account.to_lowercase()) {
                check.problem(
                    &Column::Account,
                    format!(
                        "the account `{account}` already exists in this organization; change existing members with the batch-update template"
                    ),
                );
            }
        }
        let nickname_raw = check.text(&Column::Nickname).unwrap_or_default();
        let nickname = if nickname_raw.is_empty() {
            match &account {
                Some(a) => match rules::nickname("nickname", a) {
                    Ok(n) => Some(n),
                    Err(_) => {
                        check.problem(
                            &Column::Nickname,
                            format!(
                                "Nickname is empty and the account `{a}` is not a valid nickname; fill in Nickname (letters, digits and _ / \\ | ( ) [ ])"
                            ),
                        );
                        None
                    }
                },
                None => None,
            }
        } else {
            check.nickname(&nickname_raw)
        };
        if let Some(nickname) = &nickname {
            let key = nickname.to_lowercase();
            if let Some(other) = seen_nicknames.insert(key.clone(), row.number) {
                check.problem(
                    &Column::Nickname,
                    format!(
                        "the nickname `{nickname}` is also on row {other}; nicknames are unique"
                    ),
                );
            } else if lookup.nicknames.contains_key(&key) {
                check.problem(
                    &Column::Nickname,
                    format!(
                        "the nickname `{nickname}` is already used by another member; choose another"
                    ),
                );
            }
        }
        let name = check.text(&Column::Name).unwrap_or_default();
        let optional = |s: Option<String>| s.filter(|v| !v.is_empty());
        let employee_no = optional(
            check
                .text(&Column::EmployeeNumber)
                .map(|s| columns::normalize(&s)),
        );
        let position = optional(check.text(&Column::Position));
        let (email, phone) = check.contact();
        let departments = check.departments(lookup);
        let user_type = match check.text(&Column::UserType) {
            Some(raw) if !raw.is_empty() => check.user_type(&raw),
            _ => Some(UserType::Viewer),
        };
        let role = match check.text(&Column::OrganizationRole) {
            Some(raw) if !raw.is_empty() => check.role(lookup, &raw),
            _ => Some(default_role),
        };
        if let (Some(user_type), Some(role)) = (user_type, role) {
            if let Err(e) = rules::check_admin_role("roleId", user_type, role.is_admin, &role.name)
            {
                check.problem(&Column::OrganizationRole, e.to_string());
            } else if role.id != default_role.id && !lookup.may_change_roles {
                check.problem(
                    &Column::OrganizationRole,
                    "giving an organization role other than the default needs the permission `org.permissions.manage`",
                );
            } else if role.is_org_admin && !lookup.may_change_org_admin {
                check.problem(
                    &Column::OrganizationRole,
                    "giving the organization administrator role needs the permission `org.organization.manage`",
                );
            }
        }
        let tags = check.tags();
        if check.problems.len() != before {
            continue;
        }
        let (
            Some(account),
            Some(nickname),
            Some(email),
            Some(phone),
            Some(departments),
            Some(user_type),
            Some(role),
        ) = (
            account,
            nickname,
            email,
            phone,
            departments,
            user_type,
            role,
        )
        else {
            continue;
        };
        out.push(NewRow {
            row: row.number,
            name: if name.is_empty() {
                nickname.clone()
            } else {
                name
            },
            account,
            nickname,
            employee_no,
            email,
            phone,
            position,
            departments,
            user_type,
            role_id: role.id,
            tags: tags
                .into_iter()
                .filter(|(_, v)| !v.is_empty())
                .map(|(name, values)| TagSet { name, values })
                .collect(),
        });
    }
    if problems.is_empty() {
        Ok(out)
    } else {
        Err(problems)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(s: &str) -> Cell {
        if s.is_empty() {
            Cell::Empty
        } else {
            Cell::Text(s.into())
        }
    }

    fn lookup() -> Lookup {
        let role = |id, name: &str, is_admin, is_org_admin| RoleRef {
            id,
            name: name.into(),
            is_admin,
            is_org_admin,
        };
        Lookup {
            roles: [
                role(1, "Organization Administrator", true, true),
                role(3, "Standard User", false, false),
            ]
            .into_iter()
            .map(|r| (r.name.to_lowercase(), r))
            .collect(),
            departments: [("/Sales".to_string(), 10), ("/Sales/North".to_string(), 11)]
                .into_iter()
                .collect(),
            nicknames: [("taken".to_string(), 99), ("alice".to_string(), 7)]
                .into_iter()
                .collect(),
            may_change_roles: true,
            may_change_org_admin: false,
            actor: 1000,
        }
    }

    fn current(id: i64, nickname: &str) -> Current {
        Current {
            id,
            account: format!("acc{id}"),
            nickname: nickname.into(),
            user_type: UserType::Viewer,
            role_id: 3,
            status: MemberStatus::Active,
            email: None,
            phone: None,
            departments: BTreeSet::new(),
            tags: BTreeMap::new(),
        }
    }

    /// A batch-update row: User ID, Nickname, User Type, Organization Role, User Status, Email,
    /// Phone Number, User Group, tag_level (other columns empty).
    fn update_row(number: u32, values: [&str; 9]) -> Row {
        let columns = update_cols();
        let mut cells = vec![Cell::Empty; columns.len()];
        let set = [
            Column::UserId,
            Column::Nickname,
            Column::UserType,
            Column::OrganizationRole,
            Column::UserStatus,
            Column::Email,
            Column::PhoneNumber,
            Column::UserGroup,
            Column::Tag("level".into()),
        ];
        for (column, value) in set.iter().zip(values) {
            let i = columns.iter().position(|c| c == column).expect("column");
            cells[i] = text(value);
        }
        Row { number, cells }
    }

    fn update_cols() -> Vec<Column> {
        columns::update_columns(&["level".into()])
    }

    fn members() -> HashMap<i64, Current> {
        [current(7, "alice"), current(8, "bob")]
            .into_iter()
            .map(|m| (m.id, m))
            .collect()
    }

    #[test]
    fn headers_keep_the_template_order_but_tags_may_move() {
        let expected = update_cols();
        let mut headers: Vec<String> = expected.iter().map(|c| c.header().into_owned()).collect();
        headers.retain(|h| h != "tag_level");
        headers.insert(2, "tag_region".into());
        let mapped = map_headers(&headers, &expected).expect("mapped");
        assert_eq!(mapped[2], Column::Tag("region".into()));
        headers.swap(3, 4);
        let err = map_headers(&headers, &expected).expect_err("order");
        assert!(
            err.to_string().contains("should be `Account Type`"),
            "{err}"
        );
        let short: Vec<String> = headers[..3].to_vec();
        assert!(map_headers(&short, &expected).is_err());
        let dup = vec!["User ID".into(), "tag_a".into(), "tag_a".into()];
        assert!(
            map_headers(&dup, &expected)
                .expect_err("dup")
                .to_string()
                .contains("twice")
        );
    }

    #[test]
    fn a_clean_sheet_yields_only_the_changes() {
        let rows = [
            update_row(
                2,
                [
                    "7",
                    "alice",
                    "Viewer",
                    "Standard User",
                    "Active",
                    "",
                    "",
                    "",
                    "",
                ],
            ),
            update_row(
                3,
                [
                    "8",
                    "bobby",
                    "Analyst",
                    "standard user",
                    "Disabled",
                    "b@x.io",
                    "",
                    "/Sales/North; /Sales",
                    "gold",
                ],
            ),
        ];
        let updates = check_update(&update_cols(), &rows, &members(), &lookup()).expect("valid");
        assert_eq!(updates.len(), 1, "row 2 changes nothing");
        let u = &updates[0];
        assert_eq!(u.id, 8);
        assert_eq!(u.nickname.as_deref(), Some("bobby"));
        assert_eq!(u.user_type, Some(UserType::Analyst));
        assert_eq!(u.status, Some(MemberStatus::Disabled));
        assert_eq!(u.email, Some(Some("b@x.io".into())));
        assert_eq!(u.departments, Some(vec![11, 10]));
        assert_eq!(
            u.tags,
            [TagSet {
                name: "level".into(),
                values: vec!["gold".into()]
            }]
        );
    }

    #[test]
    fn every_rule_reports_row_column_and_message() {
        let rows = [
            update_row(
                2,
                ["", "x", "Viewer", "Standard User", "Active", "", "", "", ""],
            ),
            update_row(
                3,
                [
                    "555",
                    "x",
                    "Viewer",
                    "Standard User",
                    "Active",
                    "",
                    "",
                    "",
                    "",
                ],
            ),
            update_row(
                4,
                [
                    "7",
                    "bad nick!",
                    "Boss",
                    "Nobody",
                    "Sleeping",
                    "not-mail",
                    "12",
                    "/Nowhere",
                    "$ALL_MEMBERS$,a",
                ],
            ),
            update_row(
                5,
                [
                    "8",
                    "taken",
                    "Viewer",
                    "Organization Administrator",
                    "Resigned",
                    "",
                    "",
                    "",
                    "",
                ],
            ),
            update_row(
                6,
                [
                    "8",
                    "y",
                    "Viewer",
                    "Standard User",
                    "Active",
                    "",
                    "",
                    "",
                    "",
                ],
            ),
        ];
        let problems = check_update(&update_cols(), &rows, &members(), &lookup()).expect_err("bad");
        let has = |row: u32, column: &str, needle: &str| {
            assert!(
                problems
                    .iter()
                    .any(|p| p.row == row && p.column == column && p.message.contains(needle)),
                "row {row} {column} `{needle}` missing in {problems:#?}"
            );
        };
        has(2, "User ID", "import template");
        has(3, "User ID", "no member has User ID 555");
        has(4, "Nickname", "not allowed");
        has(4, "User Type", "not a user type");
        has(4, "Organization Role", "no organization role");
        has(4, "User Status", "not a status");
        has(4, "Email", "not an email");
        has(4, "Phone Number", "not a phone");
        has(4, "User Group", "/Nowhere");
        has(4, "tag_level", "stand alone");
        has(5, "Nickname", "already used");
        has(5, "Organization Role", "developers or analysts");
        has(5, "User Status", "resign action");
        has(6, "User ID", "also on row 5");
    }

    #[test]
    fn misaligned_accounts_resigned_members_and_self_disabling_are_refused() {
        let cols = update_cols();
        let account = cols
            .iter()
            .position(|c| *c == Column::Account)
            .expect("col");
        let mut misaligned = update_row(
            2,
            [
                "7",
                "alice",
                "Viewer",
                "Standard User",
                "Active",
                "",
                "",
                "",
                "",
            ],
        );
        misaligned.cells[account] = text("acc8");
        let mut all = members();
        all.get_mut(&8).expect("bob").status = MemberStatus::Resigned;
        let mut me = current(1000, "me");
        me.role_id = 3;
        all.insert(1000, me);
        let rows = [
            misaligned,
            update_row(
                3,
                [
                    "8",
                    "bob",
                    "Viewer",
                    "Standard User",
                    "Active",
                    "",
                    "",
                    "",
                    "",
                ],
            ),
            update_row(
                4,
                [
                    "1000",
                    "me",
                    "Viewer",
                    "Standard User",
                    "Disabled",
                    "",
                    "",
                    "",
                    "",
                ],
            ),
        ];
        let problems = check_update(&cols, &rows, &all, &lookup()).expect_err("bad");
        let found: Vec<(u32, &str)> = problems
            .iter()
            .map(|p| (p.row, p.column.as_str()))
            .collect();
        assert_eq!(
            found,
            [(2, "Account"), (3, "User ID"), (4, "User Status")],
            "{problems:#?}"
        );
        assert!(
            problems[0]
                .message
                .contains("belongs to the account `acc7`")
        );
        assert!(problems[1].message.contains("resigned"));
        assert!(problems[2].message.contains("disable yourself"));
    }

    #[test]
    fn nicknames_may_move_between_members_of_the_same_file() {
        let rows = [
            update_row(
                2,
                [
                    "7",
                    "bob",
                    "Viewer",
                    "Standard User",
                    "Active",
                    "",
                    "",
                    "",
                    "",
                ],
            ),
            update_row(
                3,
                [
                    "8",
                    "alice",
                    "Viewer",
                    "Standard User",
                    "Active",
                    "",
                    "",
                    "",
                    "",
                ],
            ),
        ];
        let mut l = lookup();
        l.nicknames.insert("bob".into(), 8);
        assert_eq!(
            check_update(&update_cols(), &rows, &members(), &l)
                .expect("swap")
                .len(),
            2
        );
    }

    #[test]
    fn formulas_errors_and_text_dates_are_refused_with_the_cell() {
        let cols = update_cols();
        let mut row = update_row(
            2,
            [
                "7",
                "alice",
                "Viewer",
                "Standard User",
                "Active",
                "",
                "",
                "",
                "",
            ],
        );
        let at = |c: &Column| cols.iter().position(|x| x == c).expect("col");
        row.cells[at(&Column::Nickname)] = Cell::Formula("A1".into());
        row.cells[at(&Column::Email)] = Cell::Error("#N/A".into());
        row.cells[at(&Column::JoinDate)] = Cell::Text("31/02/2026".into());
        let mut ok = row.clone();
        ok.cells[at(&Column::Nickname)] = text("alice");
        ok.cells[at(&Column::Email)] = Cell::Empty;
        ok.cells[at(&Column::JoinDate)] = Cell::Text("2026-01-31".into());
        let problems = check_update(&cols, &[row], &members(), &lookup()).expect_err("bad");
        assert_eq!(problems.len(), 3, "{problems:#?}");
        let about = |column: &str, needle: &str| {
            problems
                .iter()
                .any(|p| p.column == column && p.message.contains(needle))
        };
        assert!(about("Nickname", "formulas are not accepted"));
        assert!(about("Email", "#N/A"));
        assert!(about("Join Date", "31/02/2026"));
        assert!(check_update(&cols, &[ok], &members(), &lookup()).is_ok());
    }

    #[test]
    fn role_changes_follow_the_callers_permissions() {
        let rows = [update_row(
            2,
            [
                "8",
                "bob",
                "Developer",
                "Organization Administrator",
                "Active",
                "",
                "",
                "",
                "",
            ],
        )];
        let problems = check_update(&update_cols(), &rows, &members(), &lookup()).expect_err("no");
        assert!(problems[0].message.contains("org.organization.manage"));
        let mut l = lookup();
        l.may_change_org_admin = true;
        assert_eq!(
            check_update(&update_cols(), &rows, &members(), &l).expect("ok")[0].role_id,
            Some(1)
        );
    }

    #[test]
    fn import_rows_default_and_check_uniqueness() {
        let cols = columns::import_columns();
        let row = |n: u32, values: [&str; 10]| Row {
            number: n,
            cells: values.iter().map(|v| text(v)).collect(),
        };
        let default_role = lookup().roles["standard user"].clone();
        let rows = [
            row(
                2,
                [
                    "carol",
                    "",
                    "",
                    "E1",
                    "c@x.io",
                    "+86 138 0013 8000",
                    "PM",
                    "/Sales",
                    "",
                    "",
                ],
            ),
            row(3, ["dave.d", "", "", "", "", "", "", "", "Analyst", ""]),
            row(4, ["carol", "Carol2", "", "", "", "", "", "", "", ""]),
            row(5, ["eve", "taken", "", "", "", "", "", "", "", ""]),
            row(6, ["acc7", "frank", "", "", "", "", "", "", "", ""]),
        ];
        let existing: HashSet<String> = ["acc7".to_string()].into();
        let problems =
            check_import(&cols, &rows, &existing, &default_role, &lookup()).expect_err("bad");
        let rows_at_fault: Vec<u32> = problems.iter().map(|p| p.row).collect();
        assert_eq!(rows_at_fault, [3, 4, 5, 6], "{problems:#?}");
        let ok = check_import(&cols, &rows[..1], &existing, &default_role, &lookup()).expect("ok");
        assert_eq!(ok[0].nickname, "carol");
        assert_eq!(ok[0].name, "carol");
        assert_eq!(ok[0].user_type, UserType::Viewer);
        assert_eq!(ok[0].role_id, 3);
        assert_eq!(ok[0].departments, [10]);
    }
}
