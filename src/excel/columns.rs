//! The columns of Roster's member spreadsheets — one name per concept, shared by the export, the
//! templates, batch update and import — and the text forms of the values they hold.

use entity::enums::{AccountType, MemberStatus, UserType};
use std::borrow::Cow;

/// Name of the sheet holding members in every workbook Roster writes or reads first.
pub const MEMBERS_SHEET: &str = "Members";
/// Most data rows a batch update or import may hold.
pub const MAX_ROWS: usize = 5_000;
/// Prefix of tag columns (`tag_region`).
pub const TAG_PREFIX: &str = "tag_";

/// Optional groups of export columns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum FieldGroup {
    /// User Group: the member's department paths.
    UserGroups,
    /// Email and Phone Number.
    ContactInformation,
    /// One `tag_<name>` column per tag.
    Tags,
}

/// One column of a member spreadsheet.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Column {
    /// The member's id in Roster; batch update matches rows by it.
    UserId,
    /// Login account.
    Account,
    /// Local, DingTalk, WeCom or Teams.
    AccountType,
    /// Display nickname.
    Nickname,
    /// Real name (import).
    Name,
    /// Employee number (import).
    EmployeeNumber,
    /// Position (import).
    Position,
    /// When the member joined.
    JoinDate,
    /// Last login.
    LastLogonTime,
    /// Developer, Analyst or Viewer.
    UserType,
    /// Name of the organization role.
    OrganizationRole,
    /// Active, Disabled or Resigned.
    UserStatus,
    /// `tag_<name>`: the tag's values, comma-separated, or `$ALL_MEMBERS$`.
    Tag(String),
    /// Email address.
    Email,
    /// Phone number.
    PhoneNumber,
    /// Department paths such as `/Sales/North`, separated by `;` or line breaks.
    UserGroup,
}

impl Column {
    /// The header text.
    pub fn header(&self) -> Cow<'static, str> {
        Cow::Borrowed(match self {
            Self::UserId => "User ID",
            Self::Account => "Account",
            Self::AccountType => "Account Type",
            Self::Nickname => "Nickname",
            Self::Name => "Name",
            Self::EmployeeNumber => "Employee Number",
            Self::Position => "Position",
            Self::JoinDate => "Join Date",
            Self::LastLogonTime => "Last Logon Time",
            Self::UserType => "User Type",
            Self::OrganizationRole => "Organization Role",
            Self::UserStatus => "User Status",
            Self::Email => "Email",
            Self::PhoneNumber => "Phone Number",
            Self::UserGroup => "User Group",
            Self::Tag(name) => return Cow::Owned(format!("{TAG_PREFIX}{name}")),
        })
    }

    /// Column width in characters.
    pub fn width(&self) -> f64 {
        match self {
            Self::UserId | Self::AccountType | Self::UserType | Self::UserStatus => 14.0,
            Self::JoinDate | Self::LastLogonTime | Self::PhoneNumber | Self::EmployeeNumber => 20.0,
            Self::UserGroup => 40.0,
            Self::Email => 30.0,
            _ => 22.0,
        }
    }

    /// What the column holds and the rules it follows, for the instructions sheet.
    pub fn explanation(&self) -> &'static str {
        match self {
            Self::UserId => {
                "The member's id in Roster. Batch update finds members by it; do not change it. Members must already exist."
            }
            Self::Account => {
                "Login account: 1–100 characters without spaces, unique in the organization. Read-only in batch update; required on import."
            }
            Self::AccountType => {
                "Local, DingTalk, WeCom or Teams: how the account was created. Read-only."
            }
            Self::Nickname => {
                "1–50 characters: letters, digits and _ / \\ | ( ) [ ]. Unique in the organization (and in the file). On import, empty means the account."
            }
            Self::Name => "The person's real name. Empty means the nickname.",
            Self::EmployeeNumber => "Optional employee number.",
            Self::Position => "Optional job title.",
            Self::JoinDate => "When the member joined (UTC). Read-only.",
            Self::LastLogonTime => {
                "The member's last login (UTC); empty if they never logged in. Read-only."
            }
            Self::UserType => {
                "Developer, Analyst or Viewer. Administrator roles need Developer or Analyst; viewers hold no agent seats."
            }
            Self::OrganizationRole => {
                "The name of an organization role (see the Lists sheet). Organization Administrator and Permission Administrator need user type Developer or Analyst."
            }
            Self::UserStatus => {
                "Active or Disabled. A disabled member cannot log in. Resigned members are a record and cannot be changed here."
            }
            Self::Tag(_) => {
                "Columns named tag_<name>: the tag's values separated by commas, or $ALL_MEMBERS$ for every row. Empty removes the tag. Tag columns may be added, removed or reordered."
            }
            Self::Email => "Optional email address such as name@example.com.",
            Self::PhoneNumber => {
                "Optional phone number: digits, an optional leading +, spaces or dashes."
            }
            Self::UserGroup => {
                "Department paths such as /Sales/North, separated by ; or line breaks. Each must exist. Empty removes the member from every department."
            }
        }
    }
}

/// The export's columns for the chosen field groups and the organization's tags, in the fixed
/// order: User ID, Account, Account Type, Nickname, Join Date, Last Logon Time, User Type,
/// Organization Role, User Status, `tag_*`, Email, Phone Number, User Group.
pub fn export_columns(groups: &[FieldGroup], tags: &[String]) -> Vec<Column> {
    let mut columns = vec![
        Column::UserId,
        Column::Account,
        Column::AccountType,
        Column::Nickname,
        Column::JoinDate,
        Column::LastLogonTime,
        Column::UserType,
        Column::OrganizationRole,
        Column::UserStatus,
    ];
    if groups.contains(&FieldGroup::Tags) {
        columns.extend(tags.iter().map(|t| Column::Tag(t.clone())));
    }
    if groups.contains(&FieldGroup::ContactInformation) {
        columns.extend([Column::Email, Column::PhoneNumber]);
    }
    if groups.contains(&FieldGroup::UserGroups) {
        columns.push(Column::UserGroup);
    }
    columns
}

/// Every field group.
pub const ALL_GROUPS: [FieldGroup; 3] = [
    FieldGroup::UserGroups,
    FieldGroup::ContactInformation,
    FieldGroup::Tags,
];

/// The batch-update template's columns: the full export.
pub fn update_columns(tags: &[String]) -> Vec<Column> {
    export_columns(&ALL_GROUPS, tags)
}

/// The import template's columns.
pub fn import_columns() -> Vec<Column> {
    vec![
        Column::Account,
        Column::Nickname,
        Column::Name,
        Column::EmployeeNumber,
        Column::Email,
        Column::PhoneNumber,
        Column::Position,
        Column::UserGroup,
        Column::UserType,
        Column::OrganizationRole,
    ]
}

/// Trims text and turns full-width ASCII forms (`Ａｃｔｉｖｅ`, `１２３`, `＠`) and the ideographic
/// space into their ASCII equivalents, for values with a fixed vocabulary.
pub fn normalize(raw: &str) -> String {
    raw.chars()
        .map(|c| match c {
            '\u{3000}' => ' ',
            '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
            other => other,
        })
        .collect::<String>()
        .trim()
        .to_string()
}

/// Compares header text leniently: case, surrounding and repeated spaces and full-width forms
/// do not matter.
pub fn same_header(found: &str, expected: &str) -> bool {
    let squash = |s: &str| {
        normalize(s)
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
            .to_lowercase()
    };
    squash(found) == squash(expected)
}

/// The text of a user type.
pub fn user_type_label(t: UserType) -> &'static str {
    match t {
        UserType::Developer => "Developer",
        UserType::Analyst => "Analyst",
        UserType::Viewer => "Viewer",
    }
}

/// Parses a user type, any case.
pub fn parse_user_type(raw: &str) -> Option<UserType> {
    match normalize(raw).to_lowercase().as_str() {
        "developer" => Some(UserType::Developer),
        "analyst" => Some(UserType::Analyst),
        "viewer" => Some(UserType::Viewer),
        _ => None,
    }
}

/// The text of a status.
pub fn status_label(s: MemberStatus) -> &'static str {
    match s {
        MemberStatus::Active => "Active",
        MemberStatus::Disabled => "Disabled",
        MemberStatus::Resigned => "Resigned",
    }
}

/// Parses a status, any case.
pub fn parse_status(raw: &str) -> Option<MemberStatus> {
    match normalize(raw).to_lowercase().as_str() {
        "active" => Some(MemberStatus::Active),
        "disabled" => Some(MemberStatus::Disabled),
        "resigned" => Some(MemberStatus::Resigned),
        _ => None,
    }
}

/// The text of an account type.
pub fn account_type_label(t: AccountType) -> &'static str {
    match t {
        AccountType::Local => "Local",
        AccountType::Dingtalk => "DingTalk",
        AccountType::Wecom => "WeCom",
        AccountType::Teams => "Teams",
    }
}

/// Splits a User Group cell into department paths (`;`, full-width `；` or line breaks).
pub fn split_paths(raw: &str) -> Vec<String> {
    raw.split([';', '；', '\n', '\r'])
        .map(|p| p.trim().replace('／', "/"))
        .filter(|p| !p.is_empty())
        .collect()
}

/// Joins department paths for a User Group cell.
pub fn join_paths<'a>(paths: impl IntoIterator<Item = &'a str>) -> String {
    paths.into_iter().collect::<Vec<_>>().join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn export_columns_follow_the_fixed_order() {
        let headers: Vec<_> = export_columns(&ALL_GROUPS, &["region".into(), "level".into()])
            .iter()
            .map(|c| c.header().into_owned())
            .collect();
        assert_eq!(
            headers,
            [
                "User ID",
                "Account",
                "Account Type",
                "Nickname",
                "Join Date",
                "Last Logon Time",
                "User Type",
                "Organization Role",
                "User Status",
                "tag_region",
                "tag_level",
                "Email",
                "Phone Number",
                "User Group"
            ]
        );
        assert_eq!(export_columns(&[], &["x".into()]).len(), 9);
    }

    #[test]
    fn full_width_and_case_are_forgiven_in_fixed_vocabularies() {
        assert_eq!(normalize("　Ａｃｔｉｖｅ "), "Active");
        assert_eq!(normalize("１２３"), "123");
        assert_eq!(
            parse_status("ＤＩＳＡＢＬＥＤ"),
            Some(MemberStatus::Disabled)
        );
        assert_eq!(parse_user_type(" analyst "), Some(UserType::Analyst));
        assert_eq!(parse_user_type("admin"), None);
        assert!(same_header("  user   id ", "User ID"));
        assert!(!same_header("UserID", "User ID"));
    }

    #[test]
    fn department_paths_split_on_semicolons_and_line_breaks() {
        assert_eq!(
            split_paths("/Sales/North; /R&D\n／Ops；/HR"),
            ["/Sales/North", "/R&D", "/Ops", "/HR"]
        );
        assert!(split_paths("  ").is_empty());
        assert_eq!(join_paths(["/A", "/B/C"]), "/A; /B/C");
    }
}
