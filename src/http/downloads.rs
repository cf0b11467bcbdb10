//! `GET /downloads/{id}?expires=…&signature=…`: serves exports, templates and problem reports
//! behind the signed, short-lived links the GraphQL mutations return (see
//! [`crate::excel::download`]). Refusals are JSON errors with the usual codes: FORBIDDEN for an
//! altered or expired link, NOT_FOUND once it was purged.

use crate::{error::Error, excel::download, state::AppState};
use actix_web::{HttpResponse, get, http::header, web};
use serde::Deserialize;

/// The signature part of a link.
#[derive(Debug, Deserialize)]
pub struct LinkQuery {
    expires: Option<String>,
    signature: Option<String>,
}

/// Serves one download as an attachment.
#[get("/downloads/{id}")]
pub async fn serve(
    app: web::Data<AppState>,
    id: web::Path<String>,
    query: web::Query<LinkQuery>,
) -> Result<HttpResponse, Error> {
    let row = download::open(
        &app.db,
        &app.secrets,
        &id,
        query.expires.as_deref(),
        query.signature.as_deref(),
    )
    .await?;
    let file_name = row.file_name.clone();
    let bytes = download::render(&app.db, row).await?;
    Ok(HttpResponse::Ok()
        .content_type("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
        .insert_header((header::CACHE_CONTROL, "private, no-store"))
        .insert_header(header::ContentDisposition::attachment(file_name))
        .body(bytes))
}
