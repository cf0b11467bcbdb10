//! The authenticated caller of a request, resolved from a bearer token on every request: the
//! token is verified, then the member is re-read so that a disabled, resigned or removed member is
//! refused at once rather than when the token expires.

use super::jwt::TokenIssuer;
use super::keys::KeyStore;
use crate::authz::Permission;
use crate::error::{Error, Result};
use entity::{
    enums::{MemberStatus, UserType},
    member, role_permission, user,
};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, JoinType, QueryFilter, QuerySelect};
use std::collections::{BTreeSet, HashMap};

/// An authenticated member, as far as this request is concerned.
#[derive(Debug, Clone)]
pub struct Principal {
    /// Member id (token `sub`).
    pub member_id: i64,
    /// Organization id (token `org`); every query is scoped by it.
    pub organization_id: i64,
    /// User id (token `uid`).
    pub user_id: i64,
    /// Current user type.
    pub user_type: UserType,
    /// Current organization role.
    pub role_id: i64,
    /// Organization permissions granted by that role.
    pub permissions: BTreeSet<Permission>,
    /// The person still holds a password Roster generated: until they choose their own, only
    /// `me`, `changePassword` and `logout` are allowed.
    pub password_change_required: bool,
}

impl Principal {
    /// Whether the caller's organization role grants a permission.
    pub fn has(&self, permission: Permission) -> bool {
        self.permissions.contains(&permission)
    }
}

/// What the request's credentials amount to.
#[derive(Debug, Clone)]
pub enum AuthState {
    /// No credentials were sent.
    Anonymous,
    /// Credentials were sent but refused; the message says why.
    Refused(String),
    /// A valid, current member.
    Authenticated(Box<Principal>),
}

impl AuthState {
    /// The principal, or UNAUTHENTICATED explaining what is missing, or PASSWORD_CHANGE_REQUIRED
    /// while the member still holds a generated password.
    pub fn principal(&self) -> Result<&Principal> {
        let principal = self.principal_before_password_change()?;
        if principal.password_change_required {
            return Err(Error::PasswordChangeRequired(
                "this account still has the one-time password it was given: choose your own with `changePassword(currentPassword, newPassword)` first".into(),
            ));
        }
        Ok(principal)
    }

    /// The principal even while a password change is required: only for `me`, `changePassword`
    /// and `logout`, which a member must be able to reach to leave that state.
    pub fn principal_before_password_change(&self) -> Result<&Principal> {
        match self {
            Self::Authenticated(p) => Ok(p),
            Self::Anonymous => Err(Error::Unauthenticated(
                "authentication required: send `Authorization: Bearer <access token>` (log in with the `login` mutation)".into(),
            )),
            Self::Refused(why) => Err(Error::Unauthenticated(why.clone())),
        }
    }
}

/// Loads the organization permissions of a role.
pub async fn role_permissions<C: ConnectionTrait>(
    db: &C,
    role_id: i64,
) -> Result<BTreeSet<Permission>> {
    let keys: Vec<String> = role_permission::Entity::find()
        .select_only()
        .column(role_permission::Column::Permission)
        .filter(role_permission::Column::RoleId.eq(role_id))
        .into_tuple()
        .all(db)
        .await?;
    Ok(permissions_of(&keys))
}

/// The permissions of each of several roles (one query).
pub async fn permissions_of_roles<C: ConnectionTrait>(
    db: &C,
    role_ids: &[i64],
) -> Result<HashMap<i64, BTreeSet<Permission>>> {
    let rows: Vec<(i64, String)> = role_permission::Entity::find()
        .select_only()
        .column(role_permission::Column::RoleId)
        .column(role_permission::Column::Permission)
        .filter(role_permission::Column::RoleId.is_in(role_ids.iter().copied()))
        .into_tuple()
        .all(db)
        .await?;
    Ok(crate::db::grouped(role_ids, rows)
        .into_iter()
        .map(|(role, keys)| (role, permissions_of(&keys)))
        .collect())
}

/// The permissions named by stored keys (keys this build does not know are ignored).
fn permissions_of(keys: &[String]) -> BTreeSet<Permission> {
    keys.iter()
        .filter_map(|k| Permission::from_key(k))
        .collect()
}

/// Member id, organization, user, user type, role, status, whether the person must change their
/// password, and one permission of the role.
type MemberPermissionRow = (
    i64,
    i64,
    i64,
    UserType,
    i64,
    MemberStatus,
    bool,
    Option<String>,
);

/// Resolves the `Authorization` header value (if any) into an [`AuthState`].
pub async fn authenticate<C: ConnectionTrait>(
    db: &C,
    keys: &KeyStore,
    issuer: &TokenIssuer,
    authorization: Option<&str>,
) -> Result<AuthState> {
    let Some(header) = authorization else {
        return Ok(AuthState::Anonymous);
    };
    let Some(token) = header
        .strip_prefix("Bearer ")
        .or_else(|| header.strip_prefix("bearer "))
    else {
        return Ok(AuthState::Refused(
            "the Authorization header must be `Bearer <access token>`".into(),
        ));
    };
    let claims = match issuer.verify(keys, token.trim()).await {
        Ok(claims) => claims,
        Err(Error::Unauthenticated(why)) => return Ok(AuthState::Refused(why)),
        Err(other) => return Err(other),
    };
    let Ok(member_id) = claims.sub.parse::<i64>() else {
        return Ok(AuthState::Refused(
            "the access token is not valid (subject); log in again".into(),
        ));
    };
    // The member, its person's password flag and its role's permissions in one statement: one
    // row per permission (one row with no permission for a role that grants none), no row when
    // the member is gone.
    let rows: Vec<MemberPermissionRow> = member::Entity::find_by_id(member_id)
        .select_only()
        .columns([
            member::Column::Id,
            member::Column::OrganizationId,
            member::Column::UserId,
            member::Column::UserType,
            member::Column::RoleId,
            member::Column::Status,
        ])
        .column(user::Column::PasswordChangeRequired)
        .column(role_permission::Column::Permission)
        .join(JoinType::InnerJoin, crate::org::members::person_of_member())
        .join(
            JoinType::LeftJoin,
            member::Entity::belongs_to(role_permission::Entity)
                .from(member::Column::RoleId)
                .to(role_permission::Column::RoleId)
                .into(),
        )
        .into_tuple()
        .all(db)
        .await?;
    let Some(&(
        id,
        organization_id,
        user_id,
        user_type,
        role_id,
        status,
        password_change_required,
        _,
    )) = rows.first()
    else {
        return Ok(AuthState::Refused(
            "this member no longer exists; log in again".into(),
        ));
    };
    let keys: Vec<String> = rows.into_iter().filter_map(|row| row.7).collect();
    if organization_id != claims.org || user_id != claims.uid {
        return Ok(AuthState::Refused(
            "the access token is not valid (organization); log in again".into(),
        ));
    }
    match status {
        MemberStatus::Active => {}
        MemberStatus::Disabled => {
            return Ok(AuthState::Refused(
                "this member is disabled; ask an organization administrator".into(),
            ));
        }
        MemberStatus::Resigned => {
            return Ok(AuthState::Refused(
                "this member has left the organization".into(),
            ));
        }
    }
    let permissions = permissions_of(&keys);
    Ok(AuthState::Authenticated(Box::new(Principal {
        member_id: id,
        organization_id,
        user_id,
        user_type,
        role_id,
        permissions,
        password_change_required,
    })))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorCode;

    fn authenticated(password_change_required: bool) -> AuthState {
        AuthState::Authenticated(Box::new(Principal {
            member_id: 7,
            organization_id: 3,
            user_id: 9,
            user_type: UserType::Analyst,
            role_id: 1,
            permissions: BTreeSet::from([Permission::ViewMembers]),
            password_change_required,
        }))
    }

    #[test]
    fn a_one_time_password_holder_reaches_only_the_password_change() {
        let pending = authenticated(true);
        let refused = pending.principal().expect_err("refused");
        assert_eq!(refused.code(), ErrorCode::PasswordChangeRequired);
        assert!(refused.to_string().contains("changePassword"), "{refused}");
        assert_eq!(
            pending
                .principal_before_password_change()
                .expect("reachable")
                .member_id,
            7
        );
        let settled = authenticated(false);
        assert_eq!(settled.principal().expect("allowed").member_id, 7);
    }

    #[test]
    fn without_credentials_both_ways_are_unauthenticated() {
        for state in [AuthState::Anonymous, AuthState::Refused("revoked".into())] {
            for result in [state.principal(), state.principal_before_password_change()] {
                assert_eq!(
                    result.expect_err("refused").code(),
                    ErrorCode::Unauthenticated
                );
            }
        }
    }
}
