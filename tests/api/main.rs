//! Integration tests: each test starts the real server on an ephemeral port against its own fresh
//! database (SQLite by default, PostgreSQL when `ROSTER_TEST_DATABASE_URL` names a server) and talks
//! HTTP, GraphQL and WebSocket to it like a client would.

mod common;

mod auth_login;
mod authz_matrix;
mod bootstrap;
mod cli;
mod excel;
mod graphql_http;
mod http_routes;
mod instances;
mod members;
mod one_time_passwords;
mod organization_structure;
mod push;
mod schema_sdl;
mod sso;
mod sync;
mod tokens;
