//! The root objects, merged from each domain's query, mutation and subscription objects.

use super::{
    agent, audit, auth, department, directory, documents::DocumentCache, excel, me, member,
    organization, provider, push, role, sync, workspace,
};
use crate::{config::GraphqlSettings, state::AppState};
use async_graphql::{Data, Executor, MergedObject, MergedSubscription, Request, Response, Schema};
use futures_util::stream::{self, BoxStream, StreamExt};
use std::sync::Arc;

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

/// The schema as async-graphql builds it.
type InnerSchema = Schema<QueryRoot, MutationRoot, SubscriptionRoot>;

/// The executable schema, with the document limits async-graphql lacks (see
/// [`limits`](super::limits)) checked before a request reaches it. They are checked here rather
/// than in a schema extension: with any extension registered, async-graphql looks every field
/// up in its registry and wraps it in the extension chain as it resolves it (two type names
/// formatted per list item), which a 50-member page pays about a thousand times.
#[derive(Clone)]
pub struct RosterSchema {
    schema: InnerSchema,
    max_root_fields: usize,
    documents: DocumentCache,
}

impl RosterSchema {
    /// The documents admitted so far, by their text.
    pub fn documents(&self) -> &DocumentCache {
        &self.documents
    }

    /// The SDL of this schema.
    pub fn sdl(&self) -> String {
        self.schema.sdl()
    }
}

impl Executor for RosterSchema {
    async fn execute(&self, mut request: Request) -> Response {
        match super::limits::admit(&mut request, self.max_root_fields, &self.documents) {
            Ok(()) => self.schema.execute(request).await,
            Err(refused) => Response::from_errors(vec![refused]),
        }
    }

    fn execute_stream(
        &self,
        mut request: Request,
        session_data: Option<Arc<Data>>,
    ) -> BoxStream<'static, Response> {
        match super::limits::admit(&mut request, self.max_root_fields, &self.documents) {
            Ok(()) => self
                .schema
                .execute_stream_with_session_data(request, session_data.unwrap_or_default()),
            Err(refused) => {
                stream::once(async move { Response::from_errors(vec![refused]) }).boxed()
            }
        }
    }
}

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
    .limit_directives(16);
    if let Some(state) = state {
        builder = builder.data(state);
    }
    RosterSchema {
        schema: builder.finish(),
        max_root_fields: limits.max_root_fields,
        documents: DocumentCache::default(),
    }
}

/// The SDL of the schema, as committed in `schema.graphql`.
pub fn sdl() -> String {
    build_schema(None, &crate::config::Settings::default().graphql).sdl()
}
