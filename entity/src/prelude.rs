//! Entity type aliases, for `use entity::prelude::*`.

pub use crate::agent::Entity as Agent;
pub use crate::agent_seat::Entity as AgentSeat;
pub use crate::audit_event::Entity as AuditEvent;
pub use crate::connection::Entity as Connection;
pub use crate::department::Entity as Department;
pub use crate::department_member::Entity as DepartmentMember;
pub use crate::directory_contact::Entity as DirectoryContact;
pub use crate::directory_department::Entity as DirectoryDepartment;
pub use crate::directory_role::Entity as DirectoryRole;
pub use crate::directory_role_member::Entity as DirectoryRoleMember;
pub use crate::identity::Entity as Identity;
pub use crate::lease::Entity as Lease;
pub use crate::login_state::Entity as LoginState;
pub use crate::login_ticket::Entity as LoginTicket;
pub use crate::member::Entity as Member;
pub use crate::member_tag::Entity as MemberTag;
pub use crate::organization::Entity as Organization;
pub use crate::refresh_token::Entity as RefreshToken;
pub use crate::role::Entity as Role;
pub use crate::role_group::Entity as RoleGroup;
pub use crate::role_permission::Entity as RolePermission;
pub use crate::signing_key::Entity as SigningKey;
pub use crate::sync_run::Entity as SyncRun;
pub use crate::user::Entity as User;
pub use crate::workspace::Entity as Workspace;
pub use crate::workspace_member::Entity as WorkspaceMember;
