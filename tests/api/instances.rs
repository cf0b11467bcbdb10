//! Several Roster instances on one database behave as one service: tokens, signing-key
//! rotation, syncs and scheduled jobs, and a graceful stop. (The login that starts on one
//! instance and completes on another is in `sso.rs`, beside the other QR logins.) Each instance
//! has its own state, caches, pools and background work, as separate processes would; on
//! PostgreSQL (`ROSTER_TEST_DATABASE_URL`) this is the deployment the issue describes.

use crate::{
    common::{TestApp, actors::admin_ok, error_code, jwt::kid},
    sync::{dingtalk_connection, faults, wait},
    tokens::jwks,
};
use sandbox::{Sandbox, company::Company};
use serde_json::{Value, json};
use std::time::Duration;

const ME: &str = "{ me { member { account } } }";
const RUN: &str = "id status trigger startedAt finishedAt added errors";

async fn published_kids(app: &TestApp) -> Vec<String> {
    jwks(app).await["keys"]
        .as_array()
        .expect("keys")
        .iter()
        .filter_map(|k| k["kid"].as_str().map(str::to_string))
        .collect()
}

/// A sandbox enterprise, two instances on one database (settings adjusted for both), the
/// administrator's token and a DingTalk connection.
async fn two_instances(
    corp: &str,
    people: usize,
    departments: usize,
    adjust: impl FnOnce(&mut roster::config::Settings),
) -> (Sandbox, TestApp, TestApp, String, String) {
    let sandbox = Sandbox::start(Company::generate(corp, people, departments), "127.0.0.1:0")
        .expect("sandbox starts");
    let base = sandbox.base_url();
    let a = TestApp::spawn_with(|s| {
        TestApp::use_sandbox(s, &base);
        adjust(s);
    })
    .await;
    let b = a.another_instance().await;
    let admin = a.admin_token().await;
    let conn = dingtalk_connection(&a, &admin, &sandbox).await;
    (sandbox, a, b, admin, conn)
}

#[tokio::test]
async fn tokens_and_key_rotation_reach_every_instance() {
    let a = TestApp::spawn().await;
    let b = a.another_instance().await;
    let from_a = a.admin_token().await;
    assert!(b.gql(ME, json!({}), Some(&from_a)).await["errors"].is_null());
    let from_b = b.admin_token().await;
    assert!(a.gql(ME, json!({}), Some(&from_b)).await["errors"].is_null());

    // A rotates the signing key: B publishes the new key and signs with it, and tokens signed
    // by either key work on both.
    let rotated = a.state.keys.rotate().await.expect("rotate");
    let kids = published_kids(&b).await;
    assert!(kids.contains(&rotated), "B publishes A's new key: {kids:?}");
    assert!(kids.contains(&kid(&from_a)), "the old key stays published");
    let fresh_b = b.admin_token().await;
    assert_eq!(kid(&fresh_b), rotated, "B signs with the rotated key");
    let fresh_a = a.admin_token().await;
    for (token, on) in [(&fresh_b, &a), (&fresh_a, &b), (&from_a, &b), (&from_b, &a)] {
        let body = on.gql(ME, json!({}), Some(token)).await;
        assert!(body["errors"].is_null(), "{body}");
    }

    // Logging out on B revokes the refresh token for A too.
    let login = a.login("admin", crate::common::app::ADMIN_PASSWORD).await;
    let refresh = login["refreshToken"].as_str().expect("refresh token");
    let access = login["accessToken"].as_str().expect("access token");
    let out = b
        .gql(
            "mutation($r: String!) { logout(refreshToken: $r) }",
            json!({ "r": refresh }),
            Some(access),
        )
        .await;
    assert!(out["errors"].is_null(), "{out}");
    let again = a
        .gql(
            "mutation($r: String!) { refreshToken(refreshToken: $r) { accessToken } }",
            json!({ "r": refresh }),
            None,
        )
        .await;
    assert_eq!(error_code(&again), "UNAUTHENTICATED", "{again}");
}

#[tokio::test]
async fn a_sync_started_on_two_instances_at_once_runs_once() {
    let (sandbox, a, b, admin, conn) = two_instances("dingtwo", 30, 3, |_| {}).await;
    // Slow provider: the first run is still reading when the second asks.
    faults(&sandbox, json!({ "latency_ms": 20 })).await;
    let start = "mutation($c: ID!) { startSync(connectionId: $c) { id } }";
    let vars = json!({ "c": conn });
    let (on_a, on_b) = tokio::join!(
        a.gql(start, vars.clone(), Some(&admin)),
        b.gql(start, vars.clone(), Some(&admin)),
    );
    let started: Vec<&Value> = [&on_a, &on_b]
        .into_iter()
        .filter(|r| r["errors"].is_null())
        .collect();
    assert_eq!(started.len(), 1, "exactly one starts: {on_a} / {on_b}");
    let refused = if on_a["errors"].is_null() {
        &on_b
    } else {
        &on_a
    };
    assert_eq!(error_code(refused), "CONFLICT", "{refused}");
    assert!(
        refused["errors"][0]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("already running")
    );
    let run = started[0]["data"]["startSync"]["id"].as_str().expect("id");
    let finished = wait(&a, &admin, run).await;
    assert_eq!(finished["status"], "SUCCEEDED", "{finished}");
    let runs = runs(&a, &admin).await;
    assert_eq!(runs.len(), 1, "{runs:?}");
}

/// Every sync run, newest first.
async fn runs(app: &TestApp, admin: &str) -> Vec<Value> {
    admin_ok(
        app,
        admin,
        &format!("{{ syncRuns {{ {RUN} }} }}"),
        json!({}),
    )
    .await["syncRuns"]
        .as_array()
        .expect("runs")
        .clone()
}

fn at(run: &Value, field: &str) -> chrono::DateTime<chrono::Utc> {
    run[field]
        .as_str()
        .and_then(|t| t.parse().ok())
        .unwrap_or_else(|| panic!("{field} of {run}"))
}

#[tokio::test]
async fn scheduled_syncs_run_once_across_instances() {
    let (_sandbox, a, b, admin, _conn) = two_instances("dingtick", 6, 1, |s| {
        s.sync.interval_secs = 1;
    })
    .await;
    // Both schedulers tick every second for about four seconds.
    tokio::time::sleep(Duration::from_millis(4200)).await;
    drop(b);
    let mut runs: Vec<Value> = runs(&a, &admin)
        .await
        .into_iter()
        .filter(|r| r["trigger"] == "SCHEDULE" && r["status"] != "RUNNING")
        .collect();
    runs.sort_by_key(|r| at(r, "startedAt"));
    assert!(runs.len() >= 2, "the schedule ran: {runs:?}");
    for pair in runs.windows(2) {
        let (earlier, later) = (&pair[0], &pair[1]);
        assert!(
            at(later, "startedAt") >= at(earlier, "finishedAt"),
            "scheduled runs never overlap: {runs:?}"
        );
        assert!(
            at(later, "startedAt") - at(earlier, "startedAt")
                >= chrono::Duration::milliseconds(900),
            "one run per interval, not one per instance: {runs:?}"
        );
    }
}

#[tokio::test]
async fn a_graceful_stop_finishes_requests_and_interrupts_its_sync() {
    let (sandbox, a, b, admin, conn) = two_instances("dingstop", 40, 4, |_| {}).await;
    // Every provider call takes 300 ms: B's sync is reading for seconds.
    faults(&sandbox, json!({ "latency_ms": 300 })).await;
    let started = admin_ok(
        &b,
        &admin,
        "mutation($c: ID!) { startSync(connectionId: $c) { id } }",
        json!({ "c": conn }),
    )
    .await;
    let run = started["startSync"]["id"].as_str().expect("id").to_string();
    // A request in flight on B when the stop comes (it calls the slow provider).
    let in_flight = {
        let (client, url, admin, conn) = (
            b.client.clone(),
            format!("{}/graphql", b.address),
            admin.clone(),
            conn.clone(),
        );
        tokio::spawn(async move {
            client
                .post(url)
                .bearer_auth(admin)
                .json(&json!({ "query": "mutation($c: ID!) { testConnection(id: $c) { ok message } }", "variables": { "c": conn } }))
                .send()
                .await
        })
    };
    tokio::time::sleep(Duration::from_millis(100)).await;
    b.stop_gracefully().await;
    let answered = in_flight
        .await
        .expect("task")
        .expect("the request in flight got its answer");
    assert_eq!(answered.status(), 200);
    let body: Value = answered.json().await.expect("json");
    assert!(body["errors"].is_null(), "{body}");

    let stopped = wait(&a, &admin, &run).await;
    assert_eq!(stopped["status"], "INTERRUPTED", "{stopped}");
    assert_eq!(stopped["added"], 0);
    assert!(
        stopped["errors"][0]
            .as_str()
            .unwrap_or_default()
            .contains("nothing was applied")
    );
    let members = admin_ok(
        &a,
        &admin,
        "{ members(filter: { accountTypes: [DINGTALK] }) { totalCount } }",
        json!({}),
    )
    .await;
    assert_eq!(members["members"]["totalCount"], 0, "nothing half-applied");
    // B gave the lease up on its way out: A syncs at once, without waiting for it to lapse.
    faults(&sandbox, json!({ "latency_ms": 0 })).await;
    let again = admin_ok(
        &a,
        &admin,
        "mutation($c: ID!) { startSync(connectionId: $c) { id } }",
        json!({ "c": conn }),
    )
    .await;
    let done = wait(&a, &admin, again["startSync"]["id"].as_str().expect("id")).await;
    assert_eq!(done["status"], "SUCCEEDED", "{done}");
}
