//! Benchmark harness for contacts sync: an in-process sandbox serving a DingTalk enterprise of
//! 100,000 people in 5,000 departments, the real server, and over HTTP
//! - a first full sync (every department, every page of 100 people, role groups) with the
//!   process's peak memory during it;
//! - a re-sync with no change (must write nothing: its counts are printed);
//! - a re-sync after 100 renames and 100 departures in the provider;
//! - 20 DingTalk `user_modify_org` events, one at a time: from posting the encrypted callback to
//!   the event's run showing as succeeded in GraphQL (`syncRuns`).
//!
//! `cargo bench --bench sync` (SQLite), or with `ROSTER_BENCH_DATABASE_URL=postgres://…` for
//! PostgreSQL. `ROSTER_BENCH_MEMBERS` / `ROSTER_BENCH_DEPARTMENTS` change the size;
//! `ROSTER_BENCH_CALLS_PER_SECOND` the pacing (the sandbox is local, so by default it is far
//! above DingTalk's real ~20/s, at which 5,000 departments alone take minutes);
//! `ROSTER_BENCH_CONCURRENCY` the calls in flight. The sandbox runs in a child process (this
//! binary again, with `ROSTER_BENCH_SANDBOX` set), so the peak memory printed is Roster's and the
//! harness's, not the provider's.

mod common;

use base64::{Engine, engine::general_purpose::STANDARD};
use common::{
    ADMIN_PASSWORD, admin_token, database, env_number, graphql, peak_rss_mb, reset_peak_rss, rss_mb,
};
use roster::{Application, config::Settings};
use sandbox::{Sandbox, company::Company};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

const CALLBACK_TOKEN: &str = "benchtoken";
const CALLBACK_AES_KEY: &str = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG";

const CORP: &str = "dingbench";

/// The child process: serves the sandbox and prints its address, until its input closes.
async fn serve_sandbox(people: usize, departments: usize) -> anyhow::Result<()> {
    let sandbox = Sandbox::start(Company::generate(CORP, people, departments), "127.0.0.1:0")?;
    println!("{}", sandbox.base_url());
    tokio::task::spawn_blocking(|| {
        let mut line = String::new();
        let _ = std::io::stdin().read_line(&mut line);
    })
    .await?;
    Ok(())
}

/// Starts the sandbox in a child process; returns it and its base address.
fn start_sandbox(
    people: usize,
    departments: usize,
) -> anyhow::Result<(std::process::Child, String)> {
    use std::io::BufRead;
    let mut child = std::process::Command::new(std::env::current_exe()?)
        .env("ROSTER_BENCH_SANDBOX", "1")
        .env("ROSTER_BENCH_MEMBERS", people.to_string())
        .env("ROSTER_BENCH_DEPARTMENTS", departments.to_string())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()?;
    let stdout = child
        .stdout
        .take()
        .ok_or_else(|| anyhow::anyhow!("the sandbox's output"))?;
    let mut base = String::new();
    std::io::BufReader::new(stdout).read_line(&mut base)?;
    Ok((child, base.trim().to_string()))
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let (url, cleanup) = database().await?;
    // The database goes whether the run succeeds or not.
    let outcome = bench(url).await;
    cleanup().await;
    outcome
}

/// The run, on the database at `url`.
async fn bench(url: String) -> anyhow::Result<()> {
    let people = env_number("ROSTER_BENCH_MEMBERS", 100_000) as usize;
    let departments = env_number("ROSTER_BENCH_DEPARTMENTS", 5_000) as usize;
    if std::env::var_os("ROSTER_BENCH_SANDBOX").is_some() {
        return serve_sandbox(people, departments).await;
    }
    roster::telemetry::init(&roster::config::LogSettings {
        filter: "warn,roster::sync=info".into(),
        format: roster::config::LogFormat::Text,
    });
    // Dropping the child's input ends it.
    let (_sandbox, base) = start_sandbox(people, departments)?;
    let client = reqwest::Client::new();
    let edit = |changes: Value| {
        let (client, url) = (client.clone(), format!("{base}/sandbox/directory"));
        async move {
            let status = client.post(url).json(&changes).send().await?.status();
            anyhow::ensure!(
                status.is_success(),
                "the sandbox refused the change: {status}"
            );
            Ok::<(), anyhow::Error>(())
        }
    };
    println!(
        "database: {}",
        if url.starts_with("sqlite") {
            "SQLite"
        } else {
            "PostgreSQL"
        }
    );
    let mut settings = Settings {
        listen: "127.0.0.1:0".parse()?,
        database_url: url.clone(),
        master_key: Some(roster::config::Secret::new(STANDARD.encode([9u8; 32]))),
        ..Settings::default()
    };
    settings.bootstrap.admin_password = Some(roster::config::Secret::new(ADMIN_PASSWORD));
    settings.sync.interval_secs = 0;
    settings.sync.concurrency = env_number("ROSTER_BENCH_CONCURRENCY", 8) as usize;
    settings.providers.calls_per_second =
        env_number("ROSTER_BENCH_CALLS_PER_SECOND", 100_000) as u32;
    settings.providers.dingtalk.api_url = format!("{base}/dingtalk/api");
    settings.providers.dingtalk.oapi_url = format!("{base}/dingtalk/oapi");
    settings.providers.dingtalk.login_url = format!("{base}/dingtalk/login");
    println!(
        "provider: sandbox DingTalk, {people} people in {departments} departments; {} calls/s, {} in flight",
        settings.providers.calls_per_second, settings.sync.concurrency
    );
    let app = Application::build(settings).await?;
    let port = app.port();
    tokio::spawn(app.run_until_stopped());

    let endpoint = format!("http://127.0.0.1:{port}/graphql");
    let token = admin_token(&client, &endpoint).await?;
    let gql = {
        let (client, endpoint, token) = (&client, endpoint.as_str(), token.as_str());
        move |query: &'static str, variables: Value| {
            graphql(client, endpoint, Some(token), query, variables)
        }
    };
    // The sandbox's credentials follow from its corp id (`Company::generate`).
    let app_key = format!("{CORP}-appkey");
    let conn = gql(
        "mutation($i: ConnectionFields!) { addConnection(provider: DINGTALK, input: $i) { id } }",
        json!({ "i": { "corpId": CORP, "clientId": app_key, "clientSecret": format!("{CORP}-secret"),
                       "callbackToken": CALLBACK_TOKEN, "callbackAesKey": CALLBACK_AES_KEY } }),
    )
    .await?["addConnection"]["id"]
        .clone();

    let run_sync = |label: &'static str| {
        let (gql, conn) = (&gql, conn.clone());
        async move {
            let baseline = rss_mb();
            reset_peak_rss();
            let started = Instant::now();
            let run = gql(
                "mutation($c: ID!) { startSync(connectionId: $c) { id } }",
                json!({ "c": conn }),
            )
            .await?["startSync"]["id"]
                .clone();
            loop {
                let r = gql(
                    "query($r: ID!) { syncRun(id: $r) { status added updated flagged removed errors } }",
                    json!({ "r": run }),
                )
                .await?["syncRun"]
                    .clone();
                if r["status"] != "RUNNING" {
                    println!(
                        "{label}: {:.2} s, {} — added {} updated {} flagged {} removed {}; RSS before {baseline} MB, peak {} MB",
                        started.elapsed().as_secs_f64(),
                        r["status"].as_str().unwrap_or_default(),
                        r["added"],
                        r["updated"],
                        r["flagged"],
                        r["removed"],
                        peak_rss_mb()
                    );
                    if r["status"] != "SUCCEEDED" {
                        anyhow::bail!("{label} failed: {r}");
                    }
                    return Ok::<(), anyhow::Error>(());
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    };
    run_sync("first full sync").await?;
    run_sync("re-sync, no change").await?;
    let changes: Vec<Value> = (0..100)
        .map(|i| json!({ "op": "rename_person", "userid": format!("0{:05}", i * 7), "name": format!("Renamed {i}") }))
        .chain((0..100).map(|i| {
            json!({ "op": "remove_person", "userid": format!("0{:05}", 50_000.min(people - 200) + i) })
        }))
        .collect();
    edit(json!(changes)).await?;
    run_sync("re-sync, 100 renamed + 100 gone").await?;

    // Events: the provider renames someone and tells Roster; how long until GraphQL shows the
    // event applied.
    let crypto = roster::providers::callback_crypto::CallbackCrypto::new(
        CALLBACK_TOKEN,
        CALLBACK_AES_KEY,
        &app_key,
    )?;
    let mut latencies = Vec::new();
    for i in 0..20 {
        let userid = format!("0{:05}", 1_000 + i);
        edit(json!([{ "op": "rename_person", "userid": userid, "name": format!("Event Rename {i}") }]))
            .await?;
        let event = json!({ "EventType": "user_modify_org", "userId": [userid], "eventId": format!("bench-{i}") });
        let encrypt = crypto.encrypt(&event.to_string());
        let (ts, nonce) = ("1700000000000", "benchnonce");
        let signature = crypto.signature(ts, nonce, &encrypt);
        let started = Instant::now();
        let status = client
            .post(format!(
                "http://127.0.0.1:{port}/callbacks/dingtalk/{}?msg_signature={signature}&timestamp={ts}&nonce={nonce}",
                conn.as_str().unwrap_or_default()
            ))
            .json(&json!({ "encrypt": encrypt }))
            .send()
            .await?
            .status();
        if !status.is_success() {
            anyhow::bail!("the callback was refused: {status}");
        }
        loop {
            let runs = gql(
                "{ syncRuns(first: 1) { trigger status added updated } }",
                json!({}),
            )
            .await?;
            let run = &runs["syncRuns"][0];
            if run["trigger"] == "EVENT" && run["status"] != "RUNNING" && latencies.len() == i {
                let seen =
                    gql("{ syncRuns(first: 200) { trigger } }", json!({})).await?["syncRuns"]
                        .as_array()
                        .map(|r| r.iter().filter(|r| r["trigger"] == "EVENT").count())
                        .unwrap_or(0);
                if seen == i + 1 {
                    latencies.push(started.elapsed());
                    if run["status"] != "SUCCEEDED" {
                        anyhow::bail!("event run failed: {run}");
                    }
                    break;
                }
            }
            if started.elapsed() > Duration::from_secs(10) {
                anyhow::bail!("event {i} was not applied within 10 s");
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }
    latencies.sort();
    println!(
        "event → visible in GraphQL (20 user_modify_org events, one at a time): median {:.1} ms, max {:.1} ms",
        latencies[latencies.len() / 2].as_secs_f64() * 1e3,
        latencies[latencies.len() - 1].as_secs_f64() * 1e3,
    );
    Ok(())
}
