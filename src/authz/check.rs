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

/// Everything the caller's organization role grants, for services whose checks depend on the input
/// (assigning an administrator role needs more than editing a nickname). Built only from a principal.
#[derive(Debug, Clone)]
pub struct Grants {
    organization_id: i64,
    member_id: i64,
    permissions: std::collections::BTreeSet<Permission>,
}

impl Grants {
    /// The grants of an authenticated principal.
    pub fn of(principal: &Principal) -> Self {
        Self {
            organization_id: principal.organization_id,
            member_id: principal.member_id,
            permissions: principal.permissions.clone(),
        }
    }

    /// Proof of one permission, or FORBIDDEN naming it.
    pub fn require(&self, permission: Permission) -> Result<OrgAccess> {
        if self.permissions.contains(&permission) {
            Ok(OrgAccess {
                organization_id: self.organization_id,
                member_id: self.member_id,
                permission,
            })
        } else {
            Err(forbidden(permission))
        }
    }

    /// Whether the permission is granted.
    pub fn has(&self, permission: Permission) -> bool {
        self.permissions.contains(&permission)
    }
}

fn forbidden(permission: Permission) -> Error {
    Error::Forbidden(format!(
        "your role does not allow you to {} (permission `{}`); ask an organization administrator",
        permission.description(),
        permission.key()
    ))
}

/// Proof that the caller may act on one workspace: through the workspace role they hold there, or
/// through the organization permission to manage every workspace.
#[derive(Debug, Clone, Copy)]
pub struct WorkspaceAccess {
    organization_id: i64,
    workspace_id: i64,
    member_id: i64,
}

impl WorkspaceAccess {
    /// The organization.
    pub fn org_id(&self) -> i64 {
        self.organization_id
    }

    /// The workspace.
    pub fn workspace_id(&self) -> i64 {
        self.workspace_id
    }

    /// The member acting.
    pub fn actor(&self) -> i64 {
        self.member_id
    }
}

/// Checks a workspace permission: `ManageWorkspaces` in the organization grants it everywhere,
/// otherwise the caller's workspace role must include it. A workspace of another organization is
/// NOT_FOUND.
pub async fn require_workspace<C: sea_orm::ConnectionTrait>(
    db: &C,
    principal: &Principal,
    workspace_id: i64,
    permission: Permission,
) -> Result<WorkspaceAccess> {
    use entity::{role_permission, workspace, workspace_member};
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    let ws = workspace::Entity::find_by_id(workspace_id)
        .filter(workspace::Column::OrganizationId.eq(principal.organization_id))
        .one(db)
        .await?
        .ok_or(Error::NotFound("workspace"))?;
    let access = WorkspaceAccess {
        organization_id: ws.organization_id,
        workspace_id,
        member_id: principal.member_id,
    };
    if principal.has(Permission::ManageWorkspaces) {
        return Ok(access);
    }
    let membership = workspace_member::Entity::find_by_id((workspace_id, principal.member_id))
        .one(db)
        .await?;
    if let Some(membership) = membership {
        let granted =
            role_permission::Entity::find_by_id((membership.role_id, permission.key().to_string()))
                .one(db)
                .await?
                .is_some();
        if granted {
            return Ok(access);
        }
    }
    Err(Error::Forbidden(format!(
        "your role in workspace `{}` does not allow you to {} (permission `{}`); ask its administrator",
        ws.name,
        permission.description(),
        permission.key()
    )))
}

/// The access of a member who has just created an organization and is its administrator, for the
/// setup done in the same request (its first connection).
pub fn founder_access(organization_id: i64, member_id: i64, permission: Permission) -> OrgAccess {
    OrgAccess {
        organization_id,
        member_id,
        permission,
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
        Err(forbidden(permission))
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
            password_change_required: false,
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
