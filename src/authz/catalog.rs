//! The permission catalog: every permission Roster knows, organization-level and workspace-level.
//! Roles (built-in and custom) are sets of these keys; an unknown key grants nothing.

/// The content modules of a workspace, each with create/edit, use and view permissions.
pub const MODULES: [(&str, &str); 10] = [
    ("portal", "portals"),
    ("dashboard", "dashboards"),
    ("screen", "screens"),
    ("spreadsheet", "spreadsheets"),
    ("ad_hoc", "ad hoc analysis"),
    ("self_service", "self-service retrieval"),
    ("data_preparation", "data preparation"),
    ("data_entry", "data entry"),
    ("data_source", "data sources"),
    ("dataset", "datasets"),
];

macro_rules! catalog {
    ($( $(#[$doc:meta])* $variant:ident = $key:literal, $scope:ident, $text:literal; )+) => {
        /// One permission. Its [`key`](Permission::key) is what roles store.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, async_graphql::Enum)]
        pub enum Permission {
            $( $(#[$doc])* $variant, )+
        }

        impl Permission {
            /// Every permission, in catalog order.
            pub const ALL: &'static [Permission] = &[ $( Self::$variant, )+ ];

            /// The stable key stored in `role_permission.permission`.
            pub fn key(self) -> &'static str {
                match self { $( Self::$variant => $key, )+ }
            }

            /// Where the permission applies.
            pub fn scope(self) -> PermissionScope {
                match self { $( Self::$variant => PermissionScope::$scope, )+ }
            }

            /// A phrase for administrators and for error messages ("… to `<description>`").
            pub fn description(self) -> &'static str {
                match self { $( Self::$variant => $text, )+ }
            }
        }
    };
}

catalog! {
    /// Rename the organization, set its leader, seat limit and self-registration.
    ManageOrganization = "org.organization.manage", Organization, "manage the organization's settings and its administrators";
    /// Add, edit, disable, remove and resign members; manage departments, positions and tags.
    ManageMembers = "org.members.manage", Organization, "manage members and departments";
    /// See members, departments and the directory.
    ViewMembers = "org.members.view", Organization, "view members and departments";
    /// Create access roles and assign organization roles.
    ManagePermissions = "org.permissions.manage", Organization, "manage roles and permissions";
    /// Create, delete and staff any workspace.
    ManageWorkspaces = "org.workspaces.manage", Organization, "manage workspaces";
    /// Add, change and test provider connections.
    ManageConnections = "org.connections.manage", Organization, "manage provider connections";
    /// Start syncs and read sync records.
    ManageSync = "org.sync.manage", Organization, "run and review contact syncs";
    /// Read the audit trail.
    ViewAudit = "org.audit.view", Organization, "read the audit trail";
    /// Create agents and assign their seats.
    ManageAgents = "org.agents.manage", Organization, "manage agents and their seats";
    /// Workspace: add and remove members, change their roles, rename the workspace.
    WorkspaceManage = "ws.manage", Workspace, "manage this workspace";
    /// Create and edit portals.
    PortalEdit = "ws.portal.edit", Workspace, "create and edit portals";
    /// Use portals.
    PortalUse = "ws.portal.use", Workspace, "use portals";
    /// View portals.
    PortalView = "ws.portal.view", Workspace, "view portals";
    /// Create and edit dashboards.
    DashboardEdit = "ws.dashboard.edit", Workspace, "create and edit dashboards";
    /// Use dashboards.
    DashboardUse = "ws.dashboard.use", Workspace, "use dashboards";
    /// View dashboards.
    DashboardView = "ws.dashboard.view", Workspace, "view dashboards";
    /// Create and edit screens.
    ScreenEdit = "ws.screen.edit", Workspace, "create and edit screens";
    /// Use screens.
    ScreenUse = "ws.screen.use", Workspace, "use screens";
    /// View screens.
    ScreenView = "ws.screen.view", Workspace, "view screens";
    /// Create and edit spreadsheets.
    SpreadsheetEdit = "ws.spreadsheet.edit", Workspace, "create and edit spreadsheets";
    /// Use spreadsheets.
    SpreadsheetUse = "ws.spreadsheet.use", Workspace, "use spreadsheets";
    /// View spreadsheets.
    SpreadsheetView = "ws.spreadsheet.view", Workspace, "view spreadsheets";
    /// Create and edit ad hoc analyses.
    AdHocEdit = "ws.ad_hoc.edit", Workspace, "create and edit ad hoc analyses";
    /// Use ad hoc analyses.
    AdHocUse = "ws.ad_hoc.use", Workspace, "use ad hoc analyses";
    /// View ad hoc analyses.
    AdHocView = "ws.ad_hoc.view", Workspace, "view ad hoc analyses";
    /// Create and edit self-service retrievals.
    SelfServiceEdit = "ws.self_service.edit", Workspace, "create and edit self-service retrievals";
    /// Use self-service retrievals.
    SelfServiceUse = "ws.self_service.use", Workspace, "use self-service retrievals";
    /// View self-service retrievals.
    SelfServiceView = "ws.self_service.view", Workspace, "view self-service retrievals";
    /// Create and edit data preparations.
    DataPreparationEdit = "ws.data_preparation.edit", Workspace, "create and edit data preparations";
    /// Use data preparations.
    DataPreparationUse = "ws.data_preparation.use", Workspace, "use data preparations";
    /// View data preparations.
    DataPreparationView = "ws.data_preparation.view", Workspace, "view data preparations";
    /// Create and edit data entry forms.
    DataEntryEdit = "ws.data_entry.edit", Workspace, "create and edit data entry forms";
    /// Use data entry forms.
    DataEntryUse = "ws.data_entry.use", Workspace, "use data entry forms";
    /// View data entry forms.
    DataEntryView = "ws.data_entry.view", Workspace, "view data entry forms";
    /// Create and edit data sources.
    DataSourceEdit = "ws.data_source.edit", Workspace, "create and edit data sources";
    /// Use data sources.
    DataSourceUse = "ws.data_source.use", Workspace, "use data sources";
    /// View data sources.
    DataSourceView = "ws.data_source.view", Workspace, "view data sources";
    /// Create and edit datasets.
    DatasetEdit = "ws.dataset.edit", Workspace, "create and edit datasets";
    /// Use datasets.
    DatasetUse = "ws.dataset.use", Workspace, "use datasets";
    /// View datasets.
    DatasetView = "ws.dataset.view", Workspace, "view datasets";
}

/// Whether a permission applies to a whole organization or to one workspace.
#[derive(Debug, Clone, Copy, PartialEq, Eq, async_graphql::Enum)]
pub enum PermissionScope {
    /// Organization-wide.
    Organization,
    /// Per workspace.
    Workspace,
}

impl Permission {
    /// Parses a stored key; unknown keys (from a newer or older version) are `None` and grant nothing.
    pub fn from_key(key: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|p| p.key() == key)
    }

    /// The workspace module permission for `module` (a [`MODULES`] key) and `action` (edit, use, view).
    pub fn module(module: &str, action: &str) -> Option<Self> {
        Self::from_key(&format!("ws.{module}.{action}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_round_trip_and_are_unique() {
        let mut keys: Vec<_> = Permission::ALL.iter().map(|p| p.key()).collect();
        for &p in Permission::ALL {
            assert_eq!(Permission::from_key(p.key()), Some(p));
        }
        keys.sort_unstable();
        keys.dedup();
        assert_eq!(keys.len(), Permission::ALL.len());
    }

    #[test]
    fn every_module_has_three_actions() {
        for (module, _) in MODULES {
            for action in ["edit", "use", "view"] {
                assert!(
                    Permission::module(module, action).is_some(),
                    "{module}.{action}"
                );
            }
        }
    }

    #[test]
    fn unknown_keys_grant_nothing() {
        assert_eq!(Permission::from_key("org.everything"), None);
    }
}
