//! The checks behind every guard. [`require`] is the only way to obtain an [`OrgAccess`], and
//! services that change organization data take one, so a missing check does not compile.

use super::Permission;
use crate::{
    auth::Principal,
    error::{Error, Result},
};

/// Proof that the caller holds a permission in an organization; scopes every query to it.
#[derive(Debug, Clone, Copy)]
pub struct OrgAccess {
    organization_id: i64,
    member_id: i64,
    permission: Permission,
}

impl OrgAccess {
    /// The organization every query must be scoped to.
    pub fn org_id(&self) -> i64 {
        self.organization_id
    }

    /// The member acting.
    pub fn actor(&self) -> i64 {
        self.member_id
    }

    /// The permission that was proven.
    pub fn permission(&self) -> Permission {
        self.permission
    }
}

/// Checks that the principal's organization role grants `permission`.
pub fn require(principal: &Principal, permission: Permission) -> Result<OrgAccess> {
    if principal.has(permission) {
        Ok(OrgAccess {
            organization_id: principal.organization_id,
            member_id: principal.member_id,
            permission,
        })
    } else {
        Err(Error::Forbidden(format!(
            "your organization role does not allow you to {} (permission `{}`); ask an organization administrator",
            permission.description(),
            permission.key()
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use entity::enums::UserType;

    fn principal(perms: &[Permission]) -> Principal {
        Principal {
            member_id: 7,
            organization_id: 3,
            user_id: 9,
            user_type: UserType::Developer,
            role_id: 1,
            permissions: perms.iter().copied().collect(),
        }
    }

    #[test]
    fn granted_permission_gives_scoped_access() {
        let access =
            require(&principal(&[Permission::ViewAudit]), Permission::ViewAudit).expect("granted");
        assert_eq!(access.org_id(), 3);
        assert_eq!(access.actor(), 7);
    }

    #[test]
    fn missing_permission_is_forbidden_and_named() {
        let err = require(
            &principal(&[Permission::ViewMembers]),
            Permission::ManageMembers,
        )
        .unwrap_err();
        assert_eq!(err.code(), crate::error::ErrorCode::Forbidden);
        assert!(err.to_string().contains("org.members.manage"));
    }
}
