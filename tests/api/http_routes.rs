//! Routes that are not GraphQL: health, readiness, JWKS, GraphiQL, CORS, request ids.

use crate::common::TestApp;

#[tokio::test]
async fn health_and_readiness_answer() {
    let app = TestApp::spawn().await;
    let res = app
        .client
        .get(format!("{}/healthz", app.address))
        .send()
        .await
        .expect("healthz");
    assert_eq!(res.status(), 200);
    assert!(
        res.headers().contains_key("x-request-id"),
        "every response carries its request id"
    );
    let res = app
        .client
        .get(format!("{}/readyz", app.address))
        .send()
        .await
        .expect("readyz");
    assert_eq!(res.status(), 200);
    let body: serde_json::Value = res.json().await.expect("json");
    assert_eq!(body["database"], "ok");
}

#[tokio::test]
async fn readiness_fails_when_the_database_is_gone() {
    let app = TestApp::spawn().await;
    app.state.db.clone().close().await.expect("close pool");
    let res = app
        .client
        .get(format!("{}/readyz", app.address))
        .send()
        .await
        .expect("readyz");
    assert_eq!(res.status(), 503);
    let res = app
        .client
        .get(format!("{}/healthz", app.address))
        .send()
        .await
        .expect("healthz");
    assert_eq!(
        res.status(),
        200,
        "liveness does not depend on the database"
    );
}

#[tokio::test]
async fn graphiql_is_served_from_the_server_only() {
    let app = TestApp::spawn().await;
    let res = app
        .client
        .get(format!("{}/graphiql", app.address))
        .send()
        .await
        .expect("graphiql");
    assert_eq!(res.status(), 200);
    let html = res.text().await.expect("html");
    assert!(html.contains("/graphiql/assets/graphiql.min.js"));
    for needle in ["https://", "http://", "unpkg", "jsdelivr", "cdn"] {
        assert!(
            !html.contains(needle),
            "the page must not load anything from elsewhere ({needle})"
        );
    }
    for (asset, marker) in [
        ("react.production.min.js", "React"),
        ("react-dom.production.min.js", "ReactDOM"),
        ("graphiql.min.js", "GraphiQL"),
        ("graphiql.min.css", "graphiql"),
        ("roster.js", "createFetcher"),
    ] {
        let res = app
            .client
            .get(format!("{}/graphiql/assets/{asset}", app.address))
            .send()
            .await
            .expect("asset");
        assert_eq!(res.status(), 200, "{asset}");
        let body = res.text().await.expect("asset body");
        assert!(
            body.len() > 20 && body.contains(marker),
            "{asset} looks wrong"
        );
    }
    let res = app
        .client
        .get(format!("{}/graphiql/assets/nope.js", app.address))
        .send()
        .await
        .expect("asset");
    assert_eq!(res.status(), 404);
}

#[tokio::test]
async fn jwks_publishes_the_signing_key() {
    let app = TestApp::spawn().await;
    let jwks: serde_json::Value = app
        .client
        .get(format!("{}/.well-known/jwks.json", app.address))
        .send()
        .await
        .expect("jwks")
        .json()
        .await
        .expect("json");
    let keys = jwks["keys"].as_array().expect("keys");
    assert_eq!(keys.len(), 1);
    assert_eq!(keys[0]["kty"], "OKP");
    assert_eq!(keys[0]["crv"], "Ed25519");
    assert_eq!(keys[0]["alg"], "EdDSA");
    assert!(keys[0]["kid"].as_str().is_some_and(|k| !k.is_empty()));
    assert!(
        keys[0].get("d").is_none(),
        "the private key is never published"
    );
}

#[tokio::test]
async fn cors_allows_only_configured_origins() {
    let app =
        TestApp::spawn_with(|s| s.cors_allowed_origins = vec!["https://spa.example".into()]).await;
    let preflight = |origin: &'static str| {
        app.client
            .request(reqwest::Method::OPTIONS, format!("{}/graphql", app.address))
            .header("Origin", origin)
            .header("Access-Control-Request-Method", "POST")
            .header(
                "Access-Control-Request-Headers",
                "authorization, content-type",
            )
            .send()
    };
    let ok = preflight("https://spa.example").await.expect("preflight");
    assert_eq!(
        ok.headers()
            .get("access-control-allow-origin")
            .and_then(|v| v.to_str().ok()),
        Some("https://spa.example")
    );
    let other = preflight("https://evil.example").await.expect("preflight");
    assert!(other.headers().get("access-control-allow-origin").is_none());
}
