//! Facts about the calling client taken from the HTTP request.

use actix_web::HttpRequest;

/// The client's address: the first `X-Forwarded-For` entry when proxies are trusted, else the peer.
pub fn client_ip(req: &HttpRequest, trust_forwarded_for: bool) -> Option<String> {
    if trust_forwarded_for
        && let Some(forwarded) = req
            .headers()
            .get("x-forwarded-for")
            .and_then(|v| v.to_str().ok())
        && let Some(first) = forwarded.split(',').map(str::trim).find(|s| !s.is_empty())
    {
        return Some(first.to_string());
    }
    req.peer_addr().map(|addr| addr.ip().to_string())
}
