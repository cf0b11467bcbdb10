//! The GraphQL API: schema assembly, guards, shared types and one module per domain.
//!
//! Resolvers are thin: they read the [`AuthState`](crate::auth::AuthState) and request info from the
//! context, obtain an access proof from `authz`, call one service function and map the result.

pub mod agent;
pub mod audit;
pub mod auth;
pub mod connection;
pub mod department;
pub mod directory;
pub mod documents;
pub mod enums;
pub mod excel;
pub mod guard;
pub mod limits;
pub mod loaders;
pub mod me;
pub mod member;
pub mod organization;
pub mod provider;
pub mod push;
pub mod role;
pub mod schema;
pub mod sync;
pub mod workspace;

pub use schema::{RosterSchema, build_schema, sdl};

/// Per-request facts other than credentials.
#[derive(Debug, Clone, Default)]
pub struct RequestInfo {
    /// The client's address as configured to be trusted.
    pub client_ip: Option<String>,
}

/// Parses a GraphQL `ID` holding one of our numeric ids; anything else is NOT_FOUND.
pub fn parse_id(id: &async_graphql::ID, what: &'static str) -> crate::error::Result<i64> {
    id.parse::<i64>()
        .map_err(|_| crate::error::Error::NotFound(what))
}

/// The server state from the schema data.
pub fn state<'a>(
    ctx: &async_graphql::Context<'a>,
) -> crate::error::Result<&'a crate::state::AppState> {
    ctx.data::<crate::state::AppState>()
        .map_err(|_| crate::error::Error::internal("schema built without state"))
}

/// The request info from the request data (absent in tests that execute the schema directly).
pub fn client_ip(ctx: &async_graphql::Context<'_>) -> Option<String> {
    ctx.data_opt::<RequestInfo>()
        .and_then(|info| info.client_ip.clone())
}

/// The change context of a mutation: client address and the audit feed.
pub fn change(ctx: &async_graphql::Context<'_>) -> crate::error::Result<crate::org::audit::Change> {
    Ok(crate::org::audit::Change {
        client_ip: client_ip(ctx),
        audit: state(ctx)?.audit.clone(),
    })
}

/// How long the one-time passwords a mutation hands out last (`login.one_time_password_ttl_secs`).
pub fn one_time_lifetime(
    ctx: &async_graphql::Context<'_>,
) -> crate::error::Result<crate::auth::password::OneTimeLifetime> {
    Ok(crate::auth::password::OneTimeLifetime::from_secs(
        state(ctx)?.settings.login.one_time_password_ttl_secs,
    ))
}

/// The most ids one list argument may hold: as many as the rows of a batch-update workbook. A
/// batch action checks and writes each member it names in one transaction, and a request body
/// has room for a hundred thousand ids.
pub const MAX_IDS: usize = crate::excel::columns::MAX_ROWS;

/// Parses a list of ids, at most [`MAX_IDS`] of them.
pub fn parse_ids(ids: &[async_graphql::ID], what: &'static str) -> crate::error::Result<Vec<i64>> {
    if ids.len() > MAX_IDS {
        return Err(crate::error::Error::Validation {
            field: None,
            message: format!(
                "a list holds at most {MAX_IDS} {what} ids and this one has {}; split it into several calls",
                ids.len()
            ),
        });
    }
    ids.iter().map(|id| parse_id(id, what)).collect()
}
