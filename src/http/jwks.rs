//! `GET /.well-known/jwks.json`: the public keys that verify Roster's access tokens.

use crate::state::AppState;
use actix_web::{HttpResponse, get, web};

/// The JSON Web Key Set, cacheable for five minutes.
#[get("/.well-known/jwks.json")]
pub async fn jwks(app: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header(("Cache-Control", "public, max-age=300"))
        .content_type("application/jwk-set+json")
        .json(app.keys.jwks())
}
