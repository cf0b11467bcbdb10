//! Microsoft Entra ID: authorization code with PKCE and nonce, id_token verification (RS256,
//! issuer, audience, nonce, expiry) against the tenant's JWKS, identity by tenant and object id;
//! Graph user reads (full and delta) for sync in `graph`, groups as departments in `groups`,
//! change-notification subscriptions in `subscriptions`.

pub mod client;
pub mod graph;
pub mod groups;
pub mod pkce;
pub mod subscriptions;

pub use client::{IdClaims, MicrosoftApp, MicrosoftClient};
