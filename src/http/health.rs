//! `/healthz` (the process is up) and `/readyz` (the database answers).

use crate::state::AppState;
use actix_web::{HttpResponse, get, web};
use serde_json::json;

/// Liveness: answers while the process runs.
#[get("/healthz")]
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({ "status": "ok" }))
}

/// Readiness: answers 200 when the database answers, 503 otherwise.
#[get("/readyz")]
pub async fn readyz(app: web::Data<AppState>) -> HttpResponse {
    match crate::db::ping(&app.db).await {
        Ok(()) => HttpResponse::Ok().json(json!({ "status": "ready", "database": "ok" })),
        Err(e) => {
            tracing::warn!(error = %e, "readiness check failed");
            HttpResponse::ServiceUnavailable()
                .json(json!({ "status": "unavailable", "database": "unreachable" }))
        }
    }
}
