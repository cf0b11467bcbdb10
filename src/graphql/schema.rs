//! The root objects, merged from each domain's query, mutation and subscription objects.

use super::{
    agent, audit, auth, department, directory, excel, me, member, organization, provider, push,
    role, sync, workspace,
};
use crate::{config::GraphqlSettings, state::AppState};
use async_graphql::{MergedObject, MergedSubscription, Schema};

/// Every query of the API.
#[derive(MergedObject, Default)]
pub struct QueryRoot(
    me::MeQuery,
    organization::OrganizationQuery,
    member::MemberQuery,
    department::DepartmentQuery,
    directory::DirectoryQuery,
    role::RoleQuery,
    workspace::WorkspaceQuery,
    agent::AgentQuery,
    provider::ConnectionQuery,
    audit::AuditQuery,
    sync::SyncQuery,
    push::PushQuery,
);

/// Every mutation of the API.
#[derive(MergedObject, Default)]
pub struct MutationRoot(
    auth::AuthMutation,
    organization::OrganizationMutation,
    member::MemberMutation,
    department::DepartmentMutation,
    directory::DirectoryMutation,
    role::RoleMutation,
    workspace::WorkspaceMutation,
    agent::AgentMutation,
    provider::ConnectionMutation,
    excel::ExcelMutation,
    sync::SyncMutation,
    push::PushMutation,
);

/// Every subscription of the API.
#[derive(MergedSubscription, Default)]
pub struct SubscriptionRoot(audit::AuditSubscription, sync::SyncSubscription);

/// The executable schema.
pub type RosterSchema = Schema<QueryRoot, MutationRoot, SubscriptionRoot>;

/// Builds the schema with the server state and the configured limits.
pub fn build_schema(state: Option<AppState>, limits: &GraphqlSettings) -> RosterSchema {
    let mut builder = Schema::build(
        QueryRoot::default(),
        MutationRoot::default(),
        SubscriptionRoot::default(),
    )
    .limit_depth(limits.max_depth)
    .limit_complexity(limits.max_complexity)
    .limit_recursive_depth(32)
    .limit_directives(16)
    .extension(super::limits::DocumentLimits {
        max: limits.max_root_fields,
    });
    if let Some(state) = state {
        builder = builder.data(state);
    }
    builder.finish()
}

/// The SDL of the schema, as committed in `schema.graphql`.
pub fn sdl() -> String {
    build_schema(None, &crate::config::Settings::default().graphql).sdl()
}
