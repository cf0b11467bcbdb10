//! `GET /auth/{connection}/authorize` and `GET /auth/{connection}/callback`: the browser side of
//! provider login (see `auth::sso`). Errors after the state is checked go back to the SPA as
//! `?error=<code>&error_description=<text>`; the SPA never receives a token in a URL, only a
//! one-time `ticket` for `redeemLoginTicket`.

use super::client::client_ip;
use crate::{auth::sso, error::Error, state::AppState};
use actix_web::{HttpRequest, HttpResponse, get, http::header, web};
use serde::Deserialize;

/// Query of the authorize route.
#[derive(Deserialize)]
pub struct AuthorizeQuery {
    redirect_uri: Option<String>,
}

fn with_params(uri: &str, params: &[(&str, &str)]) -> String {
    let sep = if uri.contains('?') { '&' } else { '?' };
    format!(
        "{uri}{sep}{}",
        serde_urlencoded::to_string(params).unwrap_or_default()
    )
}

/// Sends the browser to the provider's QR / sign-in page.
#[get("/auth/{connection}/authorize")]
pub async fn authorize(
    app: web::Data<AppState>,
    path: web::Path<i64>,
    query: web::Query<AuthorizeQuery>,
) -> Result<HttpResponse, Error> {
    let redirect = query
        .redirect_uri
        .as_deref()
        .filter(|r| !r.is_empty())
        .ok_or_else(|| {
            Error::validation(
                "redirect_uri",
                "pass redirect_uri: where the browser returns after login",
            )
        })?;
    let target = sso::start(&app, path.into_inner(), redirect).await?;
    Ok(HttpResponse::Found()
        .insert_header((header::LOCATION, target))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .finish())
}

/// Query of the callback route (DingTalk names the code `authCode`).
#[derive(Deserialize)]
pub struct CallbackQuery {
    code: Option<String>,
    #[serde(rename = "authCode")]
    auth_code: Option<String>,
    state: Option<String>,
    error: Option<String>,
}

/// Receives the provider's redirect and sends the browser back to the SPA with a login ticket.
#[get("/auth/{connection}/callback")]
pub async fn callback(
    app: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<i64>,
    query: web::Query<CallbackQuery>,
) -> Result<HttpResponse, Error> {
    let state = query
        .state
        .as_deref()
        .filter(|s| !s.is_empty())
        .ok_or_else(|| {
            Error::Unauthenticated(
                "the provider's answer has no state; start the login again".into(),
            )
        })?;
    let code = if query.error.is_some() {
        None
    } else {
        query.auth_code.as_deref().or(query.code.as_deref())
    };
    let finished = sso::finish(
        &app,
        path.into_inner(),
        code,
        state,
        client_ip(&req, app.settings.trust_forwarded_for),
    )
    .await?;
    let location = match (finished.result, &query.error) {
        (_, Some(provider_error)) => with_params(
            &finished.redirect_uri,
            &[
                ("error", "PROVIDER"),
                (
                    "error_description",
                    &format!("the provider refused the login: {provider_error}"),
                ),
            ],
        ),
        (Ok(ticket), None) => with_params(&finished.redirect_uri, &[("ticket", &ticket)]),
        (Err(e), None) => with_params(
            &finished.redirect_uri,
            &[
                ("error", e.code().as_str()),
                ("error_description", &e.public_message()),
            ],
        ),
    };
    Ok(HttpResponse::Found()
        .insert_header((header::LOCATION, location))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .finish())
}
