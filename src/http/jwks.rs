//! `GET /.well-known/jwks.json`: the public keys that verify Roster's access tokens.

use crate::state::AppState;
use actix_web::{HttpResponse, get, web};

/// The JSON Web Key Set, cacheable for five minutes.
#[get("/.well-known/jwks.json")]
pub async fn jwks(app: web::Data<AppState>) -> HttpResponse {
    // Another instance may have rotated the key: publish what the database holds now.
    if let Err(e) = app.keys.reload().await {
        tracing::warn!(error = %crate::error::error_chain(&e), "re-reading the signing keys failed; serving the loaded ones");
    }
    HttpResponse::Ok()
        .insert_header(("Cache-Control", "public, max-age=300"))
        .content_type("application/jwk-set+json")
        .json(app.keys.jwks())
}
