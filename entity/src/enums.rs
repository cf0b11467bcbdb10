//! Enums stored in columns, as short lowercase strings so that both SQLite and PostgreSQL
//! store the same readable values.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// Where an organization's people come from.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
#[serde(rename_all = "lowercase")]
pub enum OrgKind {
    /// People are kept in Roster itself and log in with a password.
    #[sea_orm(string_value = "generic")]
    Generic,
    /// Mirrors a DingTalk enterprise.
    #[sea_orm(string_value = "dingtalk")]
    Dingtalk,
    /// Mirrors a WeCom corporation.
    #[sea_orm(string_value = "wecom")]
    Wecom,
    /// Mirrors a Microsoft Entra tenant used with Teams.
    #[sea_orm(string_value = "teams")]
    Teams,
}

/// An identity provider Roster can connect to.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
#[serde(rename_all = "lowercase")]
pub enum Provider {
    /// DingTalk (钉钉).
    #[sea_orm(string_value = "dingtalk")]
    Dingtalk,
    /// WeCom / WeChat Work (企业微信).
    #[sea_orm(string_value = "wecom")]
    Wecom,
    /// Microsoft Entra ID and Graph, for Teams.
    #[sea_orm(string_value = "teams")]
    Teams,
}

/// How a member's account was created and how it logs in.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
#[serde(rename_all = "lowercase")]
pub enum AccountType {
    /// A Roster account with a password.
    #[sea_orm(string_value = "local")]
    Local,
    /// Added from DingTalk.
    #[sea_orm(string_value = "dingtalk")]
    Dingtalk,
    /// Added from WeCom.
    #[sea_orm(string_value = "wecom")]
    Wecom,
    /// Added from Microsoft Teams.
    #[sea_orm(string_value = "teams")]
    Teams,
}

/// The licence class of a member; it bounds which roles and seats they may hold.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
#[serde(rename_all = "lowercase")]
pub enum UserType {
    /// Builds content; may hold administrator roles.
    #[sea_orm(string_value = "developer")]
    Developer,
    /// Analyses data; may hold administrator roles.
    #[sea_orm(string_value = "analyst")]
    Analyst,
    /// Only views content.
    #[sea_orm(string_value = "viewer")]
    Viewer,
}

/// Whether a member may use Roster.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
#[serde(rename_all = "lowercase")]
pub enum MemberStatus {
    /// May log in.
    #[sea_orm(string_value = "active")]
    Active,
    /// Refused at login and on every request.
    #[sea_orm(string_value = "disabled")]
    Disabled,
    /// Left the organization; kept for the record.
    #[sea_orm(string_value = "resigned")]
    Resigned,
}

/// Where an access role applies.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
#[serde(rename_all = "lowercase")]
pub enum RoleScope {
    /// Held once per member, for the whole organization.
    #[sea_orm(string_value = "organization")]
    Organization,
    /// Held per workspace membership.
    #[sea_orm(string_value = "workspace")]
    Workspace,
}

/// Shared or personal workspace.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
#[serde(rename_all = "lowercase")]
pub enum WorkspaceKind {
    /// A team workspace with an owner and members.
    #[sea_orm(string_value = "group")]
    Group,
    /// One member's own workspace.
    #[sea_orm(string_value = "personal")]
    Personal,
}

/// Whether visible provider contacts become members on their own.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
#[serde(rename_all = "lowercase")]
pub enum AutoAddPolicy {
    /// Administrators choose whom to add from the mirror.
    #[sea_orm(string_value = "manual")]
    Manual,
    /// Members follow the visible contacts automatically.
    #[sea_orm(string_value = "auto")]
    Auto,
}

/// What started a sync run.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
#[serde(rename_all = "lowercase")]
pub enum SyncTrigger {
    /// An administrator.
    #[sea_orm(string_value = "manual")]
    Manual,
    /// The scheduler.
    #[sea_orm(string_value = "schedule")]
    Schedule,
    /// A provider callback or change notification.
    #[sea_orm(string_value = "event")]
    Event,
}

/// Where a sync run stands.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
#[serde(rename_all = "lowercase")]
pub enum SyncStatus {
    /// Still reading or applying.
    #[sea_orm(string_value = "running")]
    Running,
    /// Applied in full.
    #[sea_orm(string_value = "succeeded")]
    Succeeded,
    /// Stopped by an error; nothing was applied.
    #[sea_orm(string_value = "failed")]
    Failed,
    /// Stopped by a shutdown; nothing was applied.
    #[sea_orm(string_value = "interrupted")]
    Interrupted,
}

/// The kind of object an outbox item pushes.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
#[serde(rename_all = "snake_case")]
pub enum OutboxObject {
    /// A department.
    #[sea_orm(string_value = "department")]
    Department,
    /// A role group.
    #[sea_orm(string_value = "role_group")]
    RoleGroup,
    /// A directory role (a position).
    #[sea_orm(string_value = "role")]
    Role,
    /// A member.
    #[sea_orm(string_value = "member")]
    Member,
}

/// What happened to the object of an outbox item.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
#[serde(rename_all = "lowercase")]
pub enum OutboxAction {
    /// Created in Roster.
    #[sea_orm(string_value = "create")]
    Create,
    /// Changed in Roster (name, place, departments, contact details).
    #[sea_orm(string_value = "update")]
    Update,
    /// Deleted, removed or resigned in Roster.
    #[sea_orm(string_value = "delete")]
    Delete,
}

/// Where the delivery of an outbox item stands.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
#[serde(rename_all = "lowercase")]
pub enum OutboxStatus {
    /// Waiting for its turn or for a retry.
    #[sea_orm(string_value = "pending")]
    Pending,
    /// Accepted by the provider.
    #[sea_orm(string_value = "delivered")]
    Delivered,
    /// Refused by the provider for a reason a retry does not fix; waits for an administrator.
    #[sea_orm(string_value = "failed")]
    Failed,
    /// Given up by an administrator.
    #[sea_orm(string_value = "discarded")]
    Discarded,
}
