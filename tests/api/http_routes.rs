//! Routes that are not GraphQL: health, readiness, JWKS, GraphiQL, CORS, request ids.

use crate::common::TestApp;
use serde_json::json;

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

/// The value of one series in a Prometheus text exposition (0 when absent).
fn series(text: &str, name_and_labels: &str) -> f64 {
    text.lines()
        .find_map(|line| line.strip_prefix(name_and_labels)?.strip_prefix(' '))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0)
}

#[tokio::test]
async fn metrics_count_requests_operations_and_report_the_outbox() {
    let app = TestApp::spawn().await;
    let scrape = || async {
        let res = app
            .client
            .get(format!("{}/metrics", app.address))
            .send()
            .await
            .expect("metrics");
        assert_eq!(res.status(), 200);
        assert!(
            res.headers()["content-type"]
                .to_str()
                .expect("ascii")
                .starts_with("text/plain; version=0.0.4")
        );
        res.text().await.expect("text")
    };
    let token = app.admin_token().await;
    let ops = "roster_graphql_operations_total{operation=\"me\",outcome=\"ok\"}";
    let requests = "roster_http_requests_total{route=\"/graphql\",method=\"POST\",status=\"200\"}";
    let refused = "roster_graphql_operations_total{operation=\"me\",outcome=\"UNAUTHENTICATED\"}";
    let before = scrape().await;
    for _ in 0..3 {
        let me = app
            .gql("{ me { member { id } } }", json!({}), Some(&token))
            .await;
        assert!(me["errors"].is_null(), "{me}");
    }
    let anonymous = app.gql("{ me { member { id } } }", json!({}), None).await;
    assert!(!anonymous["errors"].is_null());
    // A refused document is counted as `invalid`, never under the field name it made up.
    let bogus = app
        .gql("{ aFieldNobodyDeclared }", json!({}), Some(&token))
        .await;
    assert!(!bogus["errors"].is_null());
    let after = scrape().await;

    // Other tests share the process's registry, so counts grow by at least what this test did.
    assert!(series(&after, ops) >= series(&before, ops) + 3.0, "{after}");
    assert!(series(&after, refused) >= series(&before, refused) + 1.0);
    assert!(series(&after, requests) >= series(&before, requests) + 5.0);
    assert!(
        series(
            &after,
            "roster_graphql_operation_duration_seconds_count{operation=\"me\"}"
        ) >= series(
            &before,
            "roster_graphql_operation_duration_seconds_count{operation=\"me\"}"
        ) + 4.0
    );
    assert!(
        !after.contains("aFieldNobodyDeclared"),
        "labels come from the schema only"
    );
    assert!(after.contains("operation=\"invalid\""));
    for family in [
        "# TYPE roster_http_request_duration_seconds histogram",
        "# TYPE roster_sync_runs_total counter",
        "# TYPE roster_provider_calls_total counter",
        "# TYPE roster_provider_errors_total counter",
        "# TYPE roster_outbox_depth gauge",
    ] {
        assert!(after.contains(family), "{family} missing");
    }
    assert_eq!(
        series(&after, "roster_outbox_depth"),
        0.0,
        "nothing waits in a new database's outbox"
    );
}

#[tokio::test]
async fn metrics_can_require_a_token() {
    let app = TestApp::spawn_with(|s| {
        s.metrics.token = Some(roster::config::Secret::new("scrape-me"));
    })
    .await;
    let url = format!("{}/metrics", app.address);
    let res = app.client.get(&url).send().await.expect("metrics");
    assert_eq!(res.status(), 401);
    assert!(res.text().await.expect("text").contains("metrics token"));
    let res = app
        .client
        .get(&url)
        .bearer_auth("wrong")
        .send()
        .await
        .expect("metrics");
    assert_eq!(res.status(), 401);
    let res = app
        .client
        .get(&url)
        .bearer_auth("scrape-me")
        .send()
        .await
        .expect("metrics");
    assert_eq!(res.status(), 200);
}
