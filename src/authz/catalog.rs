//! The permission catalog: every permission Roster knows, organization-level and workspace-level.
//! Roles (built-in and custom) are sets of these keys; an unknown key grants nothing.

/// One permission. Its [`key`](Permission::key) is what roles store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, async_graphql::Enum)]
pub enum Permission {
    /// Rename the organization, set its leader, seat limit and self-registration.
    ManageOrganization,
    /// Add, edit, disable, remove and resign members; manage departments and tags.
    ManageMembers,
    /// See members, departments and the directory.
    ViewMembers,
    /// Create and assign access roles (organization and workspace).
    ManagePermissions,
    /// Create, delete and staff any workspace.
    ManageWorkspaces,
    /// Add, change and test provider connections.
    ManageConnections,
    /// Start syncs and read sync records.
    ManageSync,
    /// Read the audit trail.
    ViewAudit,
    /// Assign and unassign agent seats.
    ManageAgents,
    /// Workspace: create and edit content of every module.
    WorkspaceEdit,
    /// Workspace: use content (run, export) of every module.
    WorkspaceUse,
    /// Workspace: view content of every module.
    WorkspaceView,
}

/// Whether a permission applies to a whole organization or to one workspace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PermissionScope {
    /// Organization-wide.
    Organization,
    /// Per workspace.
    Workspace,
}

impl Permission {
    /// Every permission, in catalog order.
    pub const ALL: [Permission; 12] = [
        Self::ManageOrganization,
        Self::ManageMembers,
        Self::ViewMembers,
        Self::ManagePermissions,
        Self::ManageWorkspaces,
        Self::ManageConnections,
        Self::ManageSync,
        Self::ViewAudit,
        Self::ManageAgents,
        Self::WorkspaceEdit,
        Self::WorkspaceUse,
        Self::WorkspaceView,
    ];

    /// The stable key stored in `role_permission.permission`.
    pub fn key(self) -> &'static str {
        match self {
            Self::ManageOrganization => "org.organization.manage",
            Self::ManageMembers => "org.members.manage",
            Self::ViewMembers => "org.members.view",
            Self::ManagePermissions => "org.permissions.manage",
            Self::ManageWorkspaces => "org.workspaces.manage",
            Self::ManageConnections => "org.connections.manage",
            Self::ManageSync => "org.sync.manage",
            Self::ViewAudit => "org.audit.view",
            Self::ManageAgents => "org.agents.manage",
            Self::WorkspaceEdit => "workspace.edit",
            Self::WorkspaceUse => "workspace.use",
            Self::WorkspaceView => "workspace.view",
        }
    }

    /// Parses a stored key; unknown keys (from a newer or older version) are `None` and grant nothing.
    pub fn from_key(key: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.key() == key)
    }

    /// Where the permission applies.
    pub fn scope(self) -> PermissionScope {
        match self {
            Self::WorkspaceEdit | Self::WorkspaceUse | Self::WorkspaceView => {
                PermissionScope::Workspace
            }
            _ => PermissionScope::Organization,
        }
    }

    /// A sentence for administrators and for error messages.
    pub fn description(self) -> &'static str {
        match self {
            Self::ManageOrganization => "manage the organization's settings",
            Self::ManageMembers => "manage members and departments",
            Self::ViewMembers => "view members and departments",
            Self::ManagePermissions => "manage roles and permissions",
            Self::ManageWorkspaces => "manage workspaces",
            Self::ManageConnections => "manage provider connections",
            Self::ManageSync => "run and review contact syncs",
            Self::ViewAudit => "read the audit trail",
            Self::ManageAgents => "assign agent seats",
            Self::WorkspaceEdit => "create and edit workspace content",
            Self::WorkspaceUse => "use workspace content",
            Self::WorkspaceView => "view workspace content",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_round_trip_and_are_unique() {
        let mut keys: Vec<_> = Permission::ALL.iter().map(|p| p.key()).collect();
        for p in Permission::ALL {
            assert_eq!(Permission::from_key(p.key()), Some(p));
        }
        keys.sort_unstable();
        keys.dedup();
        assert_eq!(keys.len(), Permission::ALL.len());
    }

    #[test]
    fn unknown_keys_grant_nothing() {
        assert_eq!(Permission::from_key("org.everything"), None);
    }
}
