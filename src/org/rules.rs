//! Input rules shared by every way of changing a member (GraphQL, spreadsheets, sync): parse once
//! into clean values, naming the field at fault.

use crate::error::{Error, Result};
use entity::enums::UserType;

/// Longest nickname.
pub const NICKNAME_MAX: usize = 50;
/// The value of a tag that grants every row.
pub const ALL_MEMBERS: &str = "$ALL_MEMBERS$";

/// Trims a nickname and checks it: 1–50 characters of letters, digits and `_ / \ | ( ) [ ]`.
pub fn nickname(field: &str, raw: &str) -> Result<String> {
    let value = raw.trim();
    let len = value.chars().count();
    if len == 0 {
        return Err(Error::validation(field, "the nickname must not be empty"));
    }
    if len > NICKNAME_MAX {
        return Err(Error::validation(
            field,
            format!("the nickname has {len} characters; at most {NICKNAME_MAX} are allowed"),
        ));
    }
    if let Some(bad) = value
        .chars()
        .find(|c| !(c.is_alphanumeric() || "_/\\|()[]".contains(*c)))
    {
        return Err(Error::validation(
            field,
            format!(
                "the nickname may hold letters, digits and _ / \\ | ( ) [ ] only; `{bad}` is not allowed"
            ),
        ));
    }
    Ok(value.to_string())
}

/// Trims an account and checks it: 1–100 characters, no whitespace or control characters.
pub fn account(field: &str, raw: &str) -> Result<String> {
    let value = raw.trim();
    if value.is_empty() || value.chars().count() > 100 {
        return Err(Error::validation(
            field,
            "the account must have 1 to 100 characters",
        ));
    }
    if value.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(Error::validation(
            field,
            "the account must not contain spaces or control characters",
        ));
    }
    Ok(value.to_string())
}

/// Trims an optional email and checks its shape; empty means none.
pub fn email(field: &str, raw: Option<&str>) -> Result<Option<String>> {
    let Some(value) = raw.map(str::trim).filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    let valid = value.len() <= 254
        && value.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !domain.contains("..")
        })
        && !value.chars().any(|c| c.is_whitespace() || c.is_control())
        && value.matches('@').count() == 1;
    if !valid {
        return Err(Error::validation(
            field,
            format!("`{value}` is not an email address such as name@example.com"),
        ));
    }
    Ok(Some(value.to_string()))
}

/// Trims an optional phone number and checks it: digits with an optional leading `+`, and
/// spaces or dashes between groups; 5–20 digits. Empty means none.
pub fn phone(field: &str, raw: Option<&str>) -> Result<Option<String>> {
    let Some(value) = raw.map(str::trim).filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    let body = value.strip_prefix('+').unwrap_or(value);
    let digits = body.chars().filter(char::is_ascii_digit).count();
    let valid = body
        .chars()
        .all(|c| c.is_ascii_digit() || c == ' ' || c == '-')
        && (5..=20).contains(&digits);
    if !valid {
        return Err(Error::validation(
            field,
            format!("`{value}` is not a phone number such as +86 138 0013 8000"),
        ));
    }
    Ok(Some(value.to_string()))
}

/// A `LIKE` pattern matching text that contains `keyword`, lower-cased, with `\`, `%` and `_`
/// escaped by `\` (use with `LikeExpr::escape('\\')` against a lower-cased column).
pub fn like_pattern(keyword: &str) -> String {
    let escaped = keyword
        .to_lowercase()
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    format!("%{escaped}%")
}

/// Whether a user type may hold an administrator role (organization or permission administrator).
pub fn may_administer(user_type: UserType) -> bool {
    matches!(user_type, UserType::Developer | UserType::Analyst)
}

/// Refuses an administrator role for a viewer.
pub fn check_admin_role(
    field: &str,
    user_type: UserType,
    role_is_admin: bool,
    role_name: &str,
) -> Result<()> {
    if role_is_admin && !may_administer(user_type) {
        return Err(Error::validation(
            field,
            format!(
                "the role `{role_name}` may only be held by developers or analysts; change the user type first"
            ),
        ));
    }
    Ok(())
}

/// Whether a new member's first password is one-time (to be replaced at the first login). A
/// generated password always is; a password an administrator gives is too unless they say
/// otherwise, since they know it.
pub fn password_one_time(
    field: &str,
    password_given: bool,
    requested: Option<bool>,
) -> Result<bool> {
    match (password_given, requested) {
        (false, Some(false)) => Err(Error::validation(
            field,
            "a generated password is always one-time; give `password` as well to let the member keep it",
        )),
        (false, _) => Ok(true),
        (true, requested) => Ok(requested.unwrap_or(true)),
    }
}

/// Parses a tag name (`tag_` prefix optional): 1–64 letters, digits or `_`.
pub fn tag_name(field: &str, raw: &str) -> Result<String> {
    let name = raw.trim();
    let name = name.strip_prefix("tag_").unwrap_or(name);
    if name.is_empty() || name.len() > 64 || !name.chars().all(|c| c.is_alphanumeric() || c == '_')
    {
        return Err(Error::validation(
            field,
            format!("`{raw}` is not a tag name: use letters, digits and _ (up to 64)"),
        ));
    }
    Ok(name.to_string())
}

/// Parses tag values: `$ALL_MEMBERS$` alone, or comma-separated values (full-width commas too).
pub fn tag_values(field: &str, raw: &str) -> Result<Vec<String>> {
    let raw = raw.trim();
    if raw == ALL_MEMBERS {
        return Ok(vec![ALL_MEMBERS.to_string()]);
    }
    let mut values: Vec<String> = Vec::new();
    for part in raw
        .split([',', '，'])
        .map(str::trim)
        .filter(|p| !p.is_empty())
    {
        if part == ALL_MEMBERS {
            return Err(Error::validation(
                field,
                format!("{ALL_MEMBERS} must stand alone, not among other values"),
            ));
        }
        if part.chars().count() > 200 {
            return Err(Error::validation(
                field,
                "a tag value has at most 200 characters",
            ));
        }
        if !values.iter().any(|v| v == part) {
            values.push(part.to_string());
        }
    }
    Ok(values)
}

/// Parses a department name: 1–100 characters, without `/` (it separates path segments).
pub fn department_name(field: &str, raw: &str) -> Result<String> {
    let name = raw.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(Error::validation(
            field,
            "a department name has 1 to 100 characters",
        ));
    }
    if name.contains('/') {
        return Err(Error::validation(
            field,
            "a department name must not contain `/` (it separates the levels of a path)",
        ));
    }
    Ok(name.to_string())
}

/// Parses a plain name (organization, workspace, role, agent…): 1–100 characters after trimming.
pub fn name(field: &str, raw: &str) -> Result<String> {
    let name = raw.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(Error::validation(
            field,
            "the name must have 1 to 100 characters",
        ));
    }
    Ok(name.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_first_password_is_one_time_unless_given_and_said_otherwise() {
        assert!(password_one_time("f", false, None).expect("generated"));
        assert!(password_one_time("f", false, Some(true)).expect("generated"));
        let refused = password_one_time("f", false, Some(false)).expect_err("refused");
        assert!(refused.to_string().contains("give `password`"), "{refused}");
        assert!(password_one_time("f", true, None).expect("given"));
        assert!(password_one_time("f", true, Some(true)).expect("given"));
        assert!(!password_one_time("f", true, Some(false)).expect("given"));
    }

    #[test]
    fn like_patterns_escape_wildcards() {
        assert_eq!(like_pattern("A_b%"), "%a\\_b\\%%");
    }

    #[test]
    fn nicknames() {
        assert_eq!(
            nickname("n", "  Ana_1(x)[y]/z\\w|v ").unwrap(),
            "Ana_1(x)[y]/z\\w|v"
        );
        assert_eq!(nickname("n", "张三").unwrap(), "张三");
        assert!(nickname("n", "").is_err());
        assert!(nickname("n", "a b").is_err());
        assert!(nickname("n", "a@b").is_err());
        assert!(nickname("n", &"x".repeat(51)).is_err());
        assert!(nickname("n", &"x".repeat(50)).is_ok());
    }

    #[test]
    fn emails_and_phones() {
        assert_eq!(
            email("e", Some(" a@b.co ")).unwrap().as_deref(),
            Some("a@b.co")
        );
        assert_eq!(email("e", Some("")).unwrap(), None);
        for bad in [
            "a", "a@b", "@b.co", "a@.co", "a@b..co", "a b@c.co", "a@b@c.co",
        ] {
            assert!(email("e", Some(bad)).is_err(), "{bad}");
        }
        assert!(phone("p", Some("+86 138-0013-8000")).unwrap().is_some());
        for bad in ["12", "phone", "+86 (138)", "1234567890123456789012"] {
            assert!(phone("p", Some(bad)).is_err(), "{bad}");
        }
    }

    #[test]
    fn admin_roles_need_developer_or_analyst() {
        assert!(
            check_admin_role("r", UserType::Viewer, true, "Organization administrator").is_err()
        );
        assert!(check_admin_role("r", UserType::Analyst, true, "x").is_ok());
        assert!(check_admin_role("r", UserType::Viewer, false, "x").is_ok());
    }

    #[test]
    fn tags() {
        assert_eq!(tag_name("t", "tag_region").unwrap(), "region");
        assert!(tag_name("t", "tag_").is_err());
        assert!(tag_name("t", "re gion").is_err());
        assert_eq!(
            tag_values("v", "North, South，North").unwrap(),
            vec!["North", "South"]
        );
        assert_eq!(tag_values("v", "$ALL_MEMBERS$").unwrap(), vec![ALL_MEMBERS]);
        assert!(tag_values("v", "a,$ALL_MEMBERS$").is_err());
    }

    #[test]
    fn department_names() {
        assert!(department_name("d", "Sales/North").is_err());
        assert_eq!(department_name("d", " North ").unwrap(), "North");
    }
}
