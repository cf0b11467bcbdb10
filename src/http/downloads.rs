//! `GET /downloads/{id}?expires=…&signature=…`: serves exports, templates and problem reports
//! behind the signed, short-lived links the GraphQL mutations return (see
//! [`crate::excel::download`]). Refusals are JSON errors with the usual codes: FORBIDDEN for an
//! altered or expired link, NOT_FOUND once it was purged.

use crate::{
    error::Error,
    excel::download::{self, Rendered},
    state::AppState,
};
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
    let rendered = download::render(&app.db, row).await?;
    let mut response = HttpResponse::Ok();
    response
        .content_type("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
        .insert_header((header::CACHE_CONTROL, "private, no-store"))
        .insert_header(header::ContentDisposition::attachment(file_name));
    Ok(match rendered {
        Rendered::Stored(bytes) => response.body(bytes),
        Rendered::Generated(workbook) => response
            .no_chunking(workbook.len)
            .streaming(chunks(tokio::fs::File::from_std(workbook.file))),
    })
}

/// A file's content in chunks of up to 64 KiB; the stream ends after a read error.
fn chunks(
    file: tokio::fs::File,
) -> impl futures_util::Stream<Item = std::io::Result<web::Bytes>> + 'static {
    use tokio::io::AsyncReadExt;
    futures_util::stream::unfold(Some(file), |file| async move {
        let mut file = file?;
        let mut buf = vec![0u8; 64 * 1024];
        match file.read(&mut buf).await {
            Ok(0) => None,
            Ok(n) => {
                buf.truncate(n);
                Some((Ok(web::Bytes::from(buf)), Some(file)))
            }
            Err(e) => Some((Err(e), None)),
        }
    })
}
