//! The actix-web application: routes, CORS, request ids and request logging.

use super::{auth_routes, callbacks, downloads, graphiql, graphql, health, jwks, metrics};
use crate::{graphql::RosterSchema, state::AppState};
use actix_web::{guard, web};

/// Registers every route on an actix-web app or scope.
pub fn configure(state: AppState, schema: RosterSchema) -> impl FnOnce(&mut web::ServiceConfig) {
    move |cfg: &mut web::ServiceConfig| {
        cfg.app_data(web::Data::new(state))
            .app_data(web::Data::new(schema))
            .service(
                web::resource("/graphql")
                    .route(
                        web::get()
                            .guard(guard::fn_guard(|ctx| {
                                ctx.head()
                                    .headers()
                                    .get("upgrade")
                                    .and_then(|v| v.to_str().ok())
                                    .is_some_and(|v| v.eq_ignore_ascii_case("websocket"))
                            }))
                            .to(graphql::subscriptions),
                    )
                    .route(web::post().to(graphql::handle))
                    .route(web::get().to(graphql::handle)),
            )
            .service(auth_routes::authorize)
            .service(auth_routes::callback)
            .service(graphiql::page)
            .service(graphiql::asset)
            .service(jwks::jwks)
            .service(downloads::serve)
            .service(callbacks::dingtalk)
            .service(callbacks::wecom_verify)
            .service(callbacks::wecom_event)
            .service(callbacks::microsoft)
            .service(health::healthz)
            .service(health::readyz)
            .service(metrics::serve);
    }
}

/// CORS for the configured browser origins (none by default).
pub fn cors(origins: &[String]) -> actix_cors::Cors {
    let mut cors = actix_cors::Cors::default()
        .allowed_methods(["GET", "POST", "OPTIONS"])
        .allowed_headers(["authorization", "content-type", "accept"])
        .max_age(3600);
    for origin in origins {
        cors = cors.allowed_origin(origin);
    }
    cors
}
