//! `/graphql` as the GraphQL-over-HTTP spec describes it, plus limits and subscriptions.

use crate::common::{ADMIN_PASSWORD, TestApp, error_code};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::{Message, client::IntoClientRequest};

const GRAPHQL_RESPONSE: &str = "application/graphql-response+json";

#[tokio::test]
async fn get_runs_queries_and_refuses_mutations() {
    let app = TestApp::spawn().await;
    let res = app
        .client
        .get(format!("{}/graphql", app.address))
        .query(&[("query", "{ __typename }")])
        .send()
        .await
        .expect("get");
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.expect("json");
    assert_eq!(body["data"]["__typename"], "QueryRoot");

    let res = app
        .client
        .get(format!("{}/graphql", app.address))
        .query(&[("query", "mutation { logout(everywhere: true) }")])
        .send()
        .await
        .expect("get");
    assert_eq!(res.status(), 405);
    assert_eq!(
        res.headers().get("allow").and_then(|v| v.to_str().ok()),
        Some("POST")
    );

    let res = app
        .client
        .get(format!("{}/graphql", app.address))
        .query(&[
            (
                "query",
                "query A { __typename } mutation B { logout(everywhere: true) }",
            ),
            ("operationName", "B"),
        ])
        .send()
        .await
        .expect("get");
    assert_eq!(res.status(), 405, "the selected operation decides");

    let res = app
        .client
        .get(format!("{}/graphql", app.address))
        .query(&[
            (
                "query",
                "query A { __typename } query B($n: String!) { __type(name: $n) { name } }",
            ),
            ("operationName", "B"),
            ("variables", "{\"n\": \"QueryRoot\"}"),
        ])
        .send()
        .await
        .expect("get");
    let body: Value = res.json().await.expect("json");
    assert_eq!(
        body["data"]["__type"]["name"], "QueryRoot",
        "operationName and variables are honoured: {body}"
    );

    let res = app
        .client
        .get(format!("{}/graphql", app.address))
        .query(&[("query", "{ __typename }"), ("variables", "[1")])
        .send()
        .await
        .expect("get");
    assert_eq!(res.status(), 400);
}

#[tokio::test]
async fn media_types_and_request_errors() {
    let app = TestApp::spawn().await;
    let url = format!("{}/graphql", app.address);
    let send = |accept: &'static str, body: Value| {
        app.client
            .post(&url)
            .header("accept", accept)
            .json(&body)
            .send()
    };

    let res = send(GRAPHQL_RESPONSE, json!({ "query": "{ __typename }" }))
        .await
        .expect("post");
    assert_eq!(res.status(), 200);
    assert!(
        res.headers()["content-type"]
            .to_str()
            .expect("ct")
            .starts_with(GRAPHQL_RESPONSE)
    );

    let res = send("application/json", json!({ "query": "{ __typename }" }))
        .await
        .expect("post");
    assert!(
        res.headers()["content-type"]
            .to_str()
            .expect("ct")
            .starts_with("application/json")
    );

    // A document that does not parse: 400 with graphql-response+json, 200 with legacy JSON.
    let res = send(GRAPHQL_RESPONSE, json!({ "query": "{ __typename" }))
        .await
        .expect("post");
    assert_eq!(res.status(), 400);
    let body: Value = res.json().await.expect("json");
    assert!(body["errors"][0]["message"].is_string());
    let res = send("application/json", json!({ "query": "{ __typename" }))
        .await
        .expect("post");
    assert_eq!(res.status(), 200);

    // A document that fails validation is a request error too.
    let res = send(GRAPHQL_RESPONSE, json!({ "query": "{ noSuchField }" }))
        .await
        .expect("post");
    assert_eq!(res.status(), 400);

    // A body that is not JSON at all.
    let res = app
        .client
        .post(&url)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .expect("post");
    assert_eq!(res.status(), 400);

    // An Accept header we cannot satisfy.
    let res = app
        .client
        .post(&url)
        .header("accept", "text/html")
        .json(&json!({ "query": "{ __typename }" }))
        .send()
        .await
        .expect("post");
    assert_eq!(res.status(), 406);

    // A field error is not a request error: 200 even with graphql-response+json.
    let res = send(
        GRAPHQL_RESPONSE,
        json!({ "query": "{ me { member { id } } }" }),
    )
    .await
    .expect("post");
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.expect("json");
    assert_eq!(error_code(&body), "UNAUTHENTICATED");
}

#[tokio::test]
async fn batches_and_size_limits() {
    let app = TestApp::spawn_with(|s| {
        s.graphql.max_body_bytes = 2048;
        s.graphql.max_batch = 3;
    })
    .await;
    let url = format!("{}/graphql", app.address);
    let batch: Vec<Value> = (0..3)
        .map(|_| json!({ "query": "{ __typename }" }))
        .collect();
    let res = app
        .client
        .post(&url)
        .json(&batch)
        .send()
        .await
        .expect("post");
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.expect("json");
    assert_eq!(body.as_array().map(Vec::len), Some(3));

    let batch: Vec<Value> = (0..4)
        .map(|_| json!({ "query": "{ __typename }" }))
        .collect();
    let res = app
        .client
        .post(&url)
        .json(&batch)
        .send()
        .await
        .expect("post");
    assert_eq!(res.status(), 400);
    let body: Value = res.json().await.expect("json");
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("between 1 and 3")),
        "{body}"
    );
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "VALIDATION",
        "request errors use the API's codes"
    );

    let huge = "x".repeat(4096);
    let res = app
        .client
        .post(&url)
        .json(&json!({ "query": "{ __typename }", "variables": { "pad": huge } }))
        .send()
        .await
        .expect("post");
    assert_eq!(res.status(), 413);
}

#[tokio::test]
async fn depth_and_complexity_limits_refuse_expensive_queries() {
    let app = TestApp::spawn_with(|s| {
        s.graphql.max_depth = 3;
        s.graphql.max_complexity = 10;
    })
    .await;
    let token = app.admin_token().await;
    let body = app
        .gql("{ me { member { id } } }", json!({}), Some(&token))
        .await;
    assert!(body["errors"].is_null(), "depth 3 is allowed: {body}");
    let body = app
        .gql("{ me { role { id name builtinKey scope } member { id account nickname name status } organization { id name } } }", json!({}), Some(&token))
        .await;
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("complex")),
        "{body}"
    );
    let body = app
        .gql(
            "{ __schema { types { fields { type { name } } } } }",
            json!({}),
            Some(&token),
        )
        .await;
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("nested")),
        "{body}"
    );
}

#[tokio::test]
async fn multipart_requests_are_accepted() {
    let app = TestApp::spawn().await;
    let form = reqwest::multipart::Form::new()
        .text(
            "operations",
            json!({ "query": "{ __typename }", "variables": {} }).to_string(),
        )
        .text("map", "{}");
    let res = app
        .client
        .post(format!("{}/graphql", app.address))
        .multipart(form)
        .send()
        .await
        .expect("post");
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.expect("json");
    assert_eq!(body["data"]["__typename"], "QueryRoot");
}

#[tokio::test]
async fn subscriptions_over_graphql_transport_ws() {
    let app = TestApp::spawn().await;
    let token = app.admin_token().await;
    let (mut ws, response) = open_ws(&app).await;
    assert_eq!(
        response
            .headers()
            .get("sec-websocket-protocol")
            .and_then(|v| v.to_str().ok()),
        Some("graphql-transport-ws")
    );
    let send = |v: Value| Message::Text(v.to_string().into());
    ws.send(send(json!({ "type": "connection_init", "payload": { "Authorization": format!("Bearer {token}") } })))
        .await
        .expect("init");
    let ack = next_json(&mut ws).await;
    assert_eq!(ack["type"], "connection_ack");
    ws.send(send(json!({
        "id": "1", "type": "subscribe",
        "payload": { "query": "subscription { auditEventAdded { action targetType actorMemberId } }" }
    })))
    .await
    .expect("subscribe");
    // Give the server a moment to register the subscription, then cause an event.
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    // A login is an audited event.
    app.login("admin", ADMIN_PASSWORD).await;
    let next = next_json(&mut ws).await;
    assert_eq!(next["type"], "next", "{next}");
    assert_eq!(next["id"], "1");
    assert_eq!(
        next["payload"]["data"]["auditEventAdded"]["action"],
        "auth.login"
    );
}

#[tokio::test]
async fn subscriptions_refuse_anonymous_and_unprivileged_callers() {
    let app = TestApp::spawn().await;
    let (mut ws, _) = open_ws(&app).await;
    ws.send(Message::Text(
        json!({ "type": "connection_init", "payload": {} })
            .to_string()
            .into(),
    ))
    .await
    .expect("init");
    assert_eq!(next_json(&mut ws).await["type"], "connection_ack");
    ws.send(Message::Text(
        json!({ "id": "1", "type": "subscribe", "payload": { "query": "subscription { auditEventAdded { action } }" } })
            .to_string()
            .into(),
    ))
    .await
    .expect("subscribe");
    let reply = next_json(&mut ws).await;
    assert!(
        reply["type"] == "error" || reply["payload"]["errors"].is_array(),
        "{reply}"
    );
    let text = reply.to_string();
    assert!(text.contains("UNAUTHENTICATED"), "{text}");
}

/// The document limits hold over WebSocket as over HTTP: a subscription whose document nests too
/// deeply, or that asks for too many root fields, is refused with the limit's reason and the
/// connection goes on serving.
#[tokio::test]
async fn subscriptions_are_held_to_the_document_limits() {
    let app = TestApp::spawn().await;
    let token = app.admin_token().await;
    let (mut ws, _) = open_ws(&app).await;
    let send = |v: Value| Message::Text(v.to_string().into());
    ws.send(send(json!({ "type": "connection_init", "payload": { "Authorization": format!("Bearer {token}") } })))
        .await
        .expect("init");
    assert_eq!(next_json(&mut ws).await["type"], "connection_ack");
    let aliases: String = (0..100)
        .map(|i| format!("a{i}: auditEventAdded {{ action }} "))
        .collect();
    let nested = format!(
        "subscription {{ auditEventAdded {} }}",
        "{ action ".repeat(100) + &"}".repeat(100)
    );
    for (id, query, expected) in [
        ("1", format!("subscription {{ {aliases} }}"), "at its root"),
        ("2", nested, "nests brackets"),
    ] {
        ws.send(send(
            json!({ "id": id, "type": "subscribe", "payload": { "query": query } }),
        ))
        .await
        .expect("subscribe");
        let reply = next_json(&mut ws).await;
        assert_eq!(reply["id"], id, "{reply}");
        assert!(reply.to_string().contains(expected), "{id}: {reply}");
        assert!(reply["payload"]["data"].is_null(), "nothing runs: {reply}");
        let done = next_json(&mut ws).await;
        assert_eq!(
            (&done["id"], &done["type"]),
            (&json!(id), &json!("complete"))
        );
    }
    ws.send(send(json!({
        "id": "3", "type": "subscribe",
        "payload": { "query": "subscription { auditEventAdded { action } }" }
    })))
    .await
    .expect("subscribe");
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    // A login is an audited event.
    app.login("admin", ADMIN_PASSWORD).await;
    let next = next_json(&mut ws).await;
    assert_eq!(next["id"], "3", "{next}");
    assert_eq!(
        next["payload"]["data"]["auditEventAdded"]["action"],
        "auth.login"
    );
}

/// Opens a `graphql-transport-ws` connection to the app's `/graphql`.
pub(crate) async fn open_ws(
    app: &TestApp,
) -> (
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>,
    tokio_tungstenite::tungstenite::handshake::client::Response,
) {
    let mut request = format!("ws://127.0.0.1:{}/graphql", app.port)
        .into_client_request()
        .expect("request");
    request.headers_mut().insert(
        "Sec-WebSocket-Protocol",
        "graphql-transport-ws".parse().expect("header"),
    );
    tokio_tungstenite::connect_async(request)
        .await
        .expect("websocket connects")
}

pub(crate) async fn next_json<S>(ws: &mut S) -> Value
where
    S: futures_util::Stream<Item = Result<Message, tokio_tungstenite::tungstenite::Error>> + Unpin,
{
    let deadline = std::time::Duration::from_secs(10);
    loop {
        let msg = tokio::time::timeout(deadline, ws.next())
            .await
            .expect("message in time")
            .expect("open")
            .expect("ok");
        if let Message::Text(text) = msg {
            let value: Value = serde_json::from_str(&text).expect("json");
            if value["type"] == "ping" || value["type"] == "pong" || value["type"] == "ka" {
                continue;
            }
            return value;
        }
    }
}

/// The introspection query GraphiQL sends (graphql-js `getIntrospectionQuery` with every option on).
const INTROSPECTION: &str = r#"
query IntrospectionQuery {
  __schema {
    description
    queryType { name }
    mutationType { name }
    subscriptionType { name }
    types { ...FullType }
    directives { name description isRepeatable locations args(includeDeprecated: true) { ...InputValue } }
  }
}
fragment FullType on __Type {
  kind name description specifiedByURL
  fields(includeDeprecated: true) { name description args(includeDeprecated: true) { ...InputValue } type { ...TypeRef } isDeprecated deprecationReason }
  inputFields(includeDeprecated: true) { ...InputValue }
  interfaces { ...TypeRef }
  enumValues(includeDeprecated: true) { name description isDeprecated deprecationReason }
  possibleTypes { ...TypeRef }
}
fragment InputValue on __InputValue { name description type { ...TypeRef } defaultValue isDeprecated deprecationReason }
fragment TypeRef on __Type {
  kind name
  ofType { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name
    ofType { kind name ofType { kind name ofType { kind name ofType { kind name } } } } } } } } }
}
"#;

#[tokio::test]
async fn graphiql_introspection_fits_the_default_limits() {
    let app = TestApp::spawn().await;
    let body = app.gql(INTROSPECTION, json!({}), None).await;
    assert!(
        body["errors"].is_null(),
        "GraphiQL's introspection must pass the default limits: {}",
        body["errors"]
    );
    assert_eq!(body["data"]["__schema"]["queryType"]["name"], "QueryRoot");
}

/// Posts a raw JSON body; answers the status and the parsed answer.
async fn post_raw(app: &TestApp, token: &str, body: String) -> (u16, Value) {
    let res = app
        .client
        .post(format!("{}/graphql", app.address))
        .bearer_auth(token)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .expect("post");
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

/// The first error's message, lower-cased.
fn message(body: &Value) -> String {
    body["errors"][0]["message"]
        .as_str()
        .unwrap_or_default()
        .to_lowercase()
}

/// Hostile documents with the default limits: each is refused with an error that names the
/// limit, nothing runs, and the server answers the next ordinary request at once. The whole
/// sweep is bounded in time so that a document that would hang the server fails the test
/// instead of hanging it.
#[tokio::test]
async fn abusive_documents_are_refused_and_the_server_stays_responsive() {
    let app = TestApp::spawn().await;
    let token = app.admin_token().await;
    let sweep = async {
        let mut cases: Vec<(&str, String, &str)> = Vec::new();
        // Aliases: one cheap field asked a thousand times.
        let aliases: String = (0..1000)
            .map(|i| format!("a{i}: me {{ member {{ nickname }} }} "))
            .collect();
        cases.push(("alias bomb", format!("{{ {aliases} }}"), "at its root"));
        // Fragments that double at each level: 2^n fields if expanded; 20 levels stay within
        // the recursion limit (32), 40 do not.
        let doubling = |levels: usize| {
            let mut document =
                format!("{{ me {{ ...F{levels} }} }} fragment F0 on Me {{ member {{ id }} }} ");
            for i in 1..=levels {
                document.push_str(&format!(
                    "fragment F{i} on Me {{ ...F{p} ...F{p} }} ",
                    p = i - 1
                ));
            }
            document
        };
        cases.push(("fragment bomb", doubling(20), "complex"));
        cases.push(("deep fragment bomb", doubling(40), "recursion depth"));
        cases.push((
            "fragment cycle",
            "{ me { ...A } } fragment A on Me { ...B } fragment B on Me { ...A }".into(),
            "recursion depth",
        ));
        // Nesting far below any real document: lists inside lists in an argument, and
        // selections inside selections.
        let lists = format!(
            "{{ members(first: 1, filter: {{ keyword: {}\"x\"{} }}) {{ totalCount }} }}",
            "[".repeat(5_000),
            "]".repeat(5_000)
        );
        cases.push(("deeply nested value", lists, "nests brackets"));
        let selections = format!(
            "{{ me {} }}",
            "{ member ".repeat(2_000) + &"}".repeat(2_000)
        );
        cases.push(("deeply nested selection", selections, "nests brackets"));
        let directives = "@include(if: true) ".repeat(200);
        cases.push((
            "directive pile",
            format!("{{ me {{ member {{ id {directives} }} }} }}"),
            "directives",
        ));
        for (name, query, expected) in cases {
            let (status, body) =
                post_raw(&app, &token, json!({ "query": query }).to_string()).await;
            assert!(
                body["data"].is_null() || body["data"]["me"].is_null(),
                "{name}: nothing runs: {body}"
            );
            assert!(
                message(&body).contains(expected),
                "{name}: expected an error about `{expected}`, got {status} {body}"
            );
            let ok = app
                .gql("{ me { member { id } } }", json!({}), Some(&token))
                .await;
            assert!(ok["errors"].is_null(), "after {name}: {ok}");
        }

        // Variables: nested past the JSON parser's depth, and values of the wrong shape.
        let nested = format!(
            "{{\"query\":\"query($f: MemberFilter) {{ members(first: 1, filter: $f) {{ totalCount }} }}\",\"variables\":{{\"f\":{}{}}}}}",
            "[".repeat(10_000),
            "]".repeat(10_000)
        );
        let (status, body) = post_raw(&app, &token, nested).await;
        assert_eq!(status, 400, "nested variables: {body}");
        assert!(!message(&body).is_empty(), "a reason is given: {body}");
        let (status, body) = post_raw(
            &app,
            &token,
            json!({ "query": "query($f: MemberFilter) { members(first: 1, filter: $f) { totalCount } }", "variables": { "f": { "keyword": { "$gt": "" } } } }).to_string(),
        )
        .await;
        assert_eq!(status, 200);
        assert!(
            message(&body).contains("keyword"),
            "a variable of the wrong shape names the field: {body}"
        );
        // A page size far beyond what a page may hold is refused, not served.
        let body = app
            .gql(
                "{ members(first: 100000000) { totalCount } }",
                json!({}),
                Some(&token),
            )
            .await;
        assert!(!body["errors"].is_null(), "oversized page: {body}");
        assert!(body["data"].is_null() || body["data"]["members"].is_null());
    };
    tokio::time::timeout(std::time::Duration::from_secs(60), sweep)
        .await
        .expect("every hostile document is answered promptly");
}
