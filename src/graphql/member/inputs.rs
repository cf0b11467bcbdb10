//! Inputs of the member list and member changes.

use crate::graphql::enums::{AccountType, MemberStatus, UserType};
use async_graphql::{Enum, ID, InputObject};

/// Filters of `members`; every given filter must match.
#[derive(InputObject, Default)]
pub struct MemberFilter {
    /// Partial, case-insensitive match on nickname, account, name, email or phone.
    pub keyword: Option<String>,
    /// Any of these user types.
    pub user_types: Option<Vec<UserType>>,
    /// Any of these account types.
    pub account_types: Option<Vec<AccountType>>,
    /// Bound to a provider identity (true) or not (false).
    pub bound: Option<bool>,
    /// Any of these statuses.
    pub statuses: Option<Vec<MemberStatus>>,
    /// In this department…
    pub department_id: Option<ID>,
    /// …including its sub-departments (default true).
    pub include_sub_departments: Option<bool>,
    /// Holding this organization role.
    pub role_id: Option<ID>,
    /// Member of this workspace.
    pub workspace_id: Option<ID>,
    /// Carrying this tag (with or without `tag_`)…
    pub tag_name: Option<String>,
    /// …with this value (members tagged `$ALL_MEMBERS$` match any value).
    pub tag_value: Option<String>,
    /// Holding a one-time password in any of these states: for instance the members of an
    /// import who have not logged in yet, or those whose password expired unused.
    pub one_time_passwords: Option<Vec<OneTimePasswordState>>,
    /// Flagged `nameChanged` by a sync (true): the provider renamed them since the last review
    /// (`acknowledgeRenames` clears the flag). False: not flagged.
    pub name_changed: Option<bool>,
    /// Flagged `toBeDeleted` by a sync (true): they are gone from the provider, to be resigned
    /// or removed. False: not flagged.
    pub to_be_deleted: Option<bool>,
}

/// Where a member's one-time password stands (people who chose their own hold none).
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "crate::org::members::OneTimePasswordState")]
pub enum OneTimePasswordState {
    /// It still lets them in: they have yet to log in and choose their own.
    Pending,
    /// It expired unused (`passwordExpiresAt` has passed): they need a new one
    /// (`resetMemberPasswords`).
    Expired,
}

/// Columns `members` sorts by.
#[derive(Enum, Clone, Copy, PartialEq, Eq, Default)]
pub enum MemberSortField {
    /// Nickname, regardless of letter case (`alice`, `Bob`, `carol`).
    #[default]
    Nickname,
    /// Account.
    Account,
    /// Join date.
    JoinedAt,
    /// Last login (never-logged-in members come last).
    LastLoginAt,
    /// User type.
    UserType,
    /// Organization role.
    OrganizationRole,
    /// Status.
    Status,
}

/// Sort direction.
#[derive(Enum, Clone, Copy, PartialEq, Eq, Default)]
pub enum SortDirection {
    /// Ascending.
    #[default]
    Asc,
    /// Descending.
    Desc,
}

/// The ordering of `members`; ties are broken by id so pages are stable.
#[derive(InputObject, Default)]
pub struct MemberOrder {
    /// Column.
    #[graphql(default)]
    pub field: MemberSortField,
    /// Direction.
    #[graphql(default)]
    pub direction: SortDirection,
}

/// A tag to set: `tag_<name>` with comma-separated values or `$ALL_MEMBERS$`.
#[derive(InputObject)]
pub struct TagInput {
    /// Tag name, with or without `tag_`.
    pub name: String,
    /// Comma-separated values, or `$ALL_MEMBERS$`; empty removes the tag.
    pub values: String,
}

/// A new local member (generic organizations).
#[derive(InputObject)]
pub struct CreateMemberInput {
    /// Login account, unique in the organization.
    pub account: String,
    /// Nickname (defaults to the account).
    pub nickname: Option<String>,
    /// Real name.
    pub name: Option<String>,
    /// Initial password; generated and returned when absent.
    pub password: Option<String>,
    /// Whether the member must replace the first password with their own at the first login
    /// (`PASSWORD_CHANGE_REQUIRED` until they do). Default true: you know the password you give.
    /// A generated password is always one-time, so `false` needs `password`. A one-time
    /// password also expires unused (`Member.passwordExpiresAt`).
    pub password_change_required: Option<bool>,
    /// User type (default viewer).
    pub user_type: Option<UserType>,
    /// Organization role (default standard user).
    pub role_id: Option<ID>,
    /// Email.
    pub email: Option<String>,
    /// Phone.
    pub phone: Option<String>,
    /// Employee number.
    pub employee_no: Option<String>,
    /// Position.
    pub position: Option<String>,
    /// Departments.
    pub department_ids: Option<Vec<ID>>,
    /// Tags.
    pub tags: Option<Vec<TagInput>>,
}

/// Changes to a member; absent fields stay as they are, an empty email or phone clears it.
#[derive(InputObject, Default)]
pub struct UpdateMemberInput {
    /// Nickname.
    pub nickname: Option<String>,
    /// Real name.
    pub name: Option<String>,
    /// Email.
    pub email: Option<String>,
    /// Phone.
    pub phone: Option<String>,
    /// Employee number.
    pub employee_no: Option<String>,
    /// Position.
    pub position: Option<String>,
    /// User type.
    pub user_type: Option<UserType>,
    /// Organization role.
    pub role_id: Option<ID>,
    /// Replaces the departments.
    pub department_ids: Option<Vec<ID>>,
    /// Replaces the tags.
    pub tags: Option<Vec<TagInput>>,
}
