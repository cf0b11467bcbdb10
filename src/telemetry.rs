//! Logging: `tracing` with a text or JSON formatter, the request span every line of a request
//! carries, and the `x-request-id` response header that matches its `request_id` field.

use crate::config::{LogFormat, LogSettings};
use actix_web::{
    HttpMessage,
    body::MessageBody,
    dev::{ServiceRequest, ServiceResponse},
    http::header::{HeaderName, HeaderValue},
    middleware::Next,
};
use tracing::Span;
use tracing_actix_web::{DefaultRootSpanBuilder, RequestId, RootSpanBuilder};
use tracing_subscriber::{EnvFilter, fmt};

/// Installs the global subscriber (once; later calls are ignored).
pub fn init(settings: &LogSettings) {
    let filter = EnvFilter::try_new(&settings.filter).unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = fmt().with_env_filter(filter).with_writer(std::io::stderr);
    let _ = match settings.format {
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
        LogFormat::Text => builder.try_init(),
    };
}

/// Copies the request id into the `x-request-id` response header.
pub async fn request_id_header(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let id = req.extensions().get::<RequestId>().map(|id| id.to_string());
    let mut response = next.call(req).await?;
    if let Some(id) = id.and_then(|id| HeaderValue::from_str(&id).ok()) {
        response
            .headers_mut()
            .insert(HeaderName::from_static("x-request-id"), id);
    }
    Ok(response)
}

/// The span of one HTTP request. Like tracing-actix-web's default span, without the query
/// string: queries carry one-time codes and states (`/auth/…/callback`), download signatures
/// and GraphQL variables, none of which belong in a log.
pub struct RequestSpan;

impl RootSpanBuilder for RequestSpan {
    fn on_request_start(request: &ServiceRequest) -> Span {
        let route = request.match_pattern().unwrap_or_else(|| "default".into());
        let request_id = request
            .extensions()
            .get::<RequestId>()
            .map(ToString::to_string)
            .unwrap_or_default();
        let peer = request
            .peer_addr()
            .map(|a| a.ip().to_string())
            .unwrap_or_default();
        tracing::info_span!(
            "HTTP request",
            http.method = %request.method(),
            http.route = %route,
            http.target = %request.path(),
            http.client_ip = %peer,
            http.status_code = tracing::field::Empty,
            otel.name = %format!("{} {route}", request.method()),
            otel.kind = "server",
            otel.status_code = tracing::field::Empty,
            request_id = %request_id,
            exception.message = tracing::field::Empty,
            exception.details = tracing::field::Empty,
        )
    }

    fn on_request_end<B: MessageBody>(
        span: Span,
        outcome: &Result<ServiceResponse<B>, actix_web::Error>,
    ) {
        DefaultRootSpanBuilder::on_request_end(span, outcome);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::{App, HttpResponse, test, web};
    use std::sync::{Arc, Mutex};
    use tracing_actix_web::TracingLogger;

    /// Log output kept in memory.
    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Captured {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .extend_from_slice(bytes);
            Ok(bytes.len())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[actix_web::test]
    async fn request_lines_carry_route_and_id_but_never_the_query() {
        let captured = Captured::default();
        let writer = captured.clone();
        let subscriber = fmt()
            .json()
            .flatten_event(true)
            .with_writer(move || writer.clone())
            .finish();
        let _guard = tracing::subscriber::set_default(subscriber);
        let app = test::init_service(
            App::new()
                .wrap(actix_web::middleware::from_fn(request_id_header))
                .wrap(TracingLogger::<RequestSpan>::new())
                .route(
                    "/auth/{connection}/callback",
                    web::get().to(|| async {
                        tracing::info!(login = "abc", "inside the handler");
                        HttpResponse::Ok().finish()
                    }),
                ),
        )
        .await;
        let res = test::call_service(
            &app,
            test::TestRequest::get()
                .uri("/auth/7/callback?state=s3cret-state&authCode=c0de-123")
                .to_request(),
        )
        .await;
        assert!(res.status().is_success());
        let id = res
            .headers()
            .get("x-request-id")
            .and_then(|v| v.to_str().ok())
            .expect("x-request-id")
            .to_string();
        let text = String::from_utf8(captured.0.lock().expect("log").clone()).expect("utf-8");
        let line = text
            .lines()
            .find(|l| l.contains("inside the handler"))
            .expect("the handler's line");
        assert!(
            line.contains(r#""http.target":"/auth/7/callback""#),
            "{line}"
        );
        assert!(
            line.contains(r#""http.route":"/auth/{connection}/callback""#),
            "{line}"
        );
        assert!(
            line.contains(&id),
            "the line carries the request id: {line}"
        );
        assert!(line.contains(r#""login":"abc""#), "{line}");
        assert!(
            !text.contains("s3cret") && !text.contains("c0de"),
            "no query value reaches the log: {text}"
        );
    }
}
