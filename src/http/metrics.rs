//! `/metrics` (Prometheus text format) and the middleware that counts and times every request.

use crate::{
    error::Result,
    metrics::{DatabaseGauges, metrics},
    state::AppState,
};
use actix_web::{
    HttpRequest, HttpResponse,
    body::MessageBody,
    dev::{ServiceRequest, ServiceResponse},
    get,
    http::header,
    middleware::Next,
    web,
};
use entity::{
    enums::{OutboxStatus, SyncStatus},
    outbox_item, sync_run,
};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use std::time::Instant;

/// Counts and times each request by its route pattern (`/download/{token}`, never the concrete
/// path, so the label set stays small); paths no route matches count as `unmatched`.
pub async fn track(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> std::result::Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let started = Instant::now();
    let route = req
        .match_pattern()
        .unwrap_or_else(|| "unmatched".to_string());
    let method = req.method().clone();
    let response = next.call(req).await?;
    metrics().http_request(
        &route,
        method.as_str(),
        response.status().as_u16(),
        started.elapsed(),
    );
    Ok(response)
}

/// The metrics. When `metrics.token` is configured, scrapers must send it as a bearer token.
#[get("/metrics")]
pub async fn serve(req: HttpRequest, app: web::Data<AppState>) -> Result<HttpResponse> {
    if let Some(expected) = &app.settings.metrics.token {
        let sent = req
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "));
        if !sent.is_some_and(|s| same_secret(s, expected.expose())) {
            return Ok(HttpResponse::Unauthorized()
                .insert_header((header::WWW_AUTHENTICATE, "Bearer"))
                .content_type("text/plain; charset=utf-8")
                .body(
                    "send the configured metrics token: `Authorization: Bearer <metrics.token>`\n",
                ));
        }
    }
    let (outbox_depth, sync_runs_running) = futures_util::try_join!(
        outbox_item::Entity::find()
            .filter(outbox_item::Column::Status.eq(OutboxStatus::Pending))
            .count(&app.db),
        sync_run::Entity::find()
            .filter(sync_run::Column::Status.eq(SyncStatus::Running))
            .count(&app.db),
    )?;
    let text = metrics().render(DatabaseGauges {
        outbox_depth,
        sync_runs_running,
    });
    Ok(HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(text))
}

/// Compares a sent token with the configured one without an early exit on the first differing
/// byte (both are hashed first, so the lengths do not leak either).
fn same_secret(sent: &str, expected: &str) -> bool {
    use sha2::{Digest, Sha256};
    let (a, b) = (Sha256::digest(sent), Sha256::digest(expected));
    a.iter()
        .zip(b.iter())
        .fold(0u8, |acc, (x, y)| acc | (x ^ y))
        == 0
}

#[cfg(test)]
mod tests {
    #[test]
    fn tokens_compare_by_content() {
        assert!(super::same_secret("s3cret", "s3cret"));
        assert!(!super::same_secret("s3cret", "s3creT"));
        assert!(!super::same_secret("", "s3cret"));
    }
}
