//! HTTP: the actix-web application, the GraphQL endpoint and the routes that are not GraphQL
//! (GraphiQL, JWKS, health).

pub mod app;
pub mod auth_routes;
pub mod callbacks;
pub mod client;
pub mod downloads;
pub mod graphiql;
pub mod graphql;
pub mod health;
pub mod jwks;
pub mod metrics;

pub use app::configure;
