//! Benchmark harness for the member list: seeds an organization of 100,000 members in 5,000
//! departments, starts the real server and measures `members` pages over HTTP (first and deep
//! pages, filters, sorts, keyword search) with 1 client (latency percentiles) and 32 concurrent
//! clients (pages per second). Prints a table; BENCHMARKS.md records the figures.
//!
//! `cargo bench --bench members` (SQLite), or with `ROSTER_BENCH_DATABASE_URL=postgres://…` for
//! PostgreSQL. `ROSTER_BENCH_MEMBERS` and `ROSTER_BENCH_SECONDS` change the size and duration;
//! `ROSTER_BENCH_ONLY` runs only the scenarios whose name contains its text.

use base64::{Engine, engine::general_purpose::STANDARD};
use roster::{Application, config::Settings};
mod common;

use anyhow::Context;
use common::{ADMIN_PASSWORD, admin_token, database, env_number, graphql, peak_rss_mb, seed};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

/// A members page of 50 rows with what an admin list shows; `$count` is `totalCount` or nothing.
macro_rules! page {
    ($count:literal) => {
        concat!(
            "query($f: MemberFilter, $o: MemberOrder, $after: String) {
  members(filter: $f, orderBy: $o, first: 50, after: $after) { ",
            $count,
            "
    edges { cursor node { id account nickname userType status joinedAt lastLoginAt
      role { name } departments { path } tags { name values } workspaces { name } } }
    pageInfo { hasNextPage endCursor } } }"
        )
    };
}
const PAGE: &str = page!("");
/// The same page with the count of all matches, as a list view's first page asks for it.
const COUNTED_PAGE: &str = page!("totalCount");

struct Scenario {
    name: &'static str,
    query: &'static str,
    vars: Value,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let (url, cleanup) = database().await?;
    // The database goes whether the run succeeds or not.
    let outcome = bench(url).await;
    cleanup().await;
    outcome
}

/// The run, on the database at `url`.
async fn bench(url: String) -> anyhow::Result<()> {
    let members = env_number("ROSTER_BENCH_MEMBERS", 100_000);
    let departments = env_number("ROSTER_BENCH_DEPARTMENTS", 5_000);
    let seconds = env_number("ROSTER_BENCH_SECONDS", 5);
    println!(
        "database: {}",
        if url.starts_with("sqlite") {
            "SQLite"
        } else {
            "PostgreSQL"
        }
    );

    let settings = Settings {
        listen: "127.0.0.1:0".parse()?,
        database_url: url.clone(),
        master_key: Some(roster::config::Secret::new(STANDARD.encode([9u8; 32]))),
        // The server's own `ROSTER_*` variables apply (e.g. `ROSTER_DATABASE_MAX_CONNECTIONS`).
        ..Settings::load()?
    };
    let mut settings = settings;
    settings.bootstrap.admin_password = Some(roster::config::Secret::new(ADMIN_PASSWORD));
    settings.login.max_failures_per_address = 1_000;
    let app = Application::build(settings).await?;
    let port = app.port();
    let db = app.state().db.clone();
    tokio::spawn(app.run_until_stopped());

    let started = Instant::now();
    seed(&db, members, departments).await?;
    println!(
        "seeded {members} members in {departments} departments in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(64)
        .build()?;
    let endpoint = format!("http://127.0.0.1:{port}/graphql");
    let token = admin_token(&client, &endpoint).await?;

    // A cursor 20 pages deep into the default ordering.
    let mut after = Value::Null;
    for _ in 0..20 {
        let data = graphql(
            &client,
            &endpoint,
            Some(&token),
            PAGE,
            json!({ "after": after }),
        )
        .await?;
        after = data["members"]["pageInfo"]["endCursor"].clone();
    }
    let deep_department = format!("{}", departments / 2);
    let scenarios = vec![
        Scenario {
            name: "first page, by nickname",
            query: PAGE,
            vars: json!({}),
        },
        Scenario {
            name: "page 21 (keyset cursor)",
            query: PAGE,
            vars: json!({ "after": after }),
        },
        Scenario {
            name: "analysts, newest first",
            query: PAGE,
            vars: json!({ "f": { "userTypes": ["ANALYST"] }, "o": { "field": "JOINED_AT", "direction": "DESC" } }),
        },
        Scenario {
            name: "active, by last login",
            query: PAGE,
            vars: json!({ "f": { "statuses": ["ACTIVE"] }, "o": { "field": "LAST_LOGIN_AT", "direction": "DESC" } }),
        },
        Scenario {
            name: "department with sub-departments",
            query: PAGE,
            vars: json!({ "f": { "departmentId": "1" } }),
        },
        Scenario {
            name: "department with sub-departments, newest first",
            query: PAGE,
            vars: json!({ "f": { "departmentId": "1" }, "o": { "field": "JOINED_AT", "direction": "DESC" } }),
        },
        Scenario {
            name: "one leaf department",
            query: PAGE,
            vars: json!({ "f": { "departmentId": deep_department, "includeSubDepartments": false } }),
        },
        Scenario {
            name: "keyword (account fragment)",
            query: PAGE,
            vars: json!({ "f": { "keyword": "user04217" } }),
        },
        Scenario {
            name: "keyword (Chinese, 2 chars)",
            query: PAGE,
            vars: json!({ "f": { "keyword": "明华" } }),
        },
        // Too short for a trigram, and matching nobody: on PostgreSQL every member is looked at.
        Scenario {
            name: "keyword (2 chars, matching none)",
            query: PAGE,
            vars: json!({ "f": { "keyword": "qx" } }),
        },
        Scenario {
            name: "keyword (1 char, matching none)",
            query: PAGE,
            vars: json!({ "f": { "keyword": "鑫" } }),
        },
        // A sign, which pg_trgm leaves out of its trigrams.
        Scenario {
            name: "keyword (1 sign, matching none)",
            query: PAGE,
            vars: json!({ "f": { "keyword": "#" } }),
        },
        // A letter no seeded member holds, as `v` in an organization of pinyin accounts.
        Scenario {
            name: "keyword (1 letter, matching none)",
            query: PAGE,
            vars: json!({ "f": { "keyword": "q" } }),
        },
        Scenario {
            name: "first page, with totalCount",
            query: COUNTED_PAGE,
            vars: json!({}),
        },
        Scenario {
            name: "department with sub-departments, with totalCount",
            query: COUNTED_PAGE,
            vars: json!({ "f": { "departmentId": "1" } }),
        },
        Scenario {
            name: "keyword (account fragment), with totalCount",
            query: COUNTED_PAGE,
            vars: json!({ "f": { "keyword": "user04217" } }),
        },
        Scenario {
            name: "searchDirectory",
            query: "query($k: String!) { searchDirectory(keyword: $k) { departments { path } members { account departments { path } } } }",
            vars: json!({ "k": "Dept 42" }),
        },
    ];

    println!(
        "\n| scenario | rows | 1 client p50 | 1 client p99 | 32 clients pages/s | 32 clients p99 | errors |"
    );
    println!("|---|---|---|---|---|---|---|");
    // `ROSTER_BENCH_ONLY=keyword` runs the scenarios whose name holds that text (for profiling).
    let only = std::env::var("ROSTER_BENCH_ONLY").unwrap_or_default();
    for s in scenarios.iter().filter(|s| s.name.contains(only.as_str())) {
        let data = graphql(&client, &endpoint, Some(&token), s.query, s.vars.clone())
            .await
            .with_context(|| s.name)?;
        let rows = data["members"]["edges"]
            .as_array()
            .map(Vec::len)
            .or_else(|| {
                let found = &data["searchDirectory"];
                let len = |list: &Value| list.as_array().map_or(0, Vec::len);
                found
                    .is_object()
                    .then(|| len(&found["departments"]) + len(&found["members"]))
            })
            .unwrap_or(0);
        let request = Request::new(&endpoint, &token, s)?;
        let mut single = Vec::new();
        let deadline = Instant::now() + Duration::from_secs(seconds.min(3));
        while Instant::now() < deadline || single.len() < 50 {
            let t = Instant::now();
            if !request.send(&client).await? {
                anyhow::bail!("{}: an answer with errors", s.name);
            }
            single.push(t.elapsed());
            if single.len() >= 2_000 {
                break;
            }
        }
        let (rate, concurrent, errors) =
            load(&client, &request, 32, Duration::from_secs(seconds)).await;
        println!(
            "| {} | {rows} | {:.2} ms | {:.2} ms | {:.0} | {:.2} ms | {errors} |",
            s.name,
            ms(percentile(&mut single, 50.0)),
            ms(percentile(&mut single, 99.0)),
            rate,
            ms(percentile(&mut concurrent.clone(), 99.0)),
        );
    }
    println!(
        "\npeak RSS of this process (server and load generator): {} MB",
        peak_rss_mb()
    );
    drop(db);
    Ok(())
}

/// One scenario's request, serialized once, as a client that sends it again and again would.
#[derive(Clone)]
struct Request {
    endpoint: String,
    authorization: String,
    body: String,
}

/// What the load generator reads of an answer: whether it has errors. The rest (`data`) is
/// checked to be well-formed JSON but not built into values, so that the generator, which shares
/// the two cores with the server, costs as little of them as it can.
#[derive(serde::Deserialize)]
struct Answer {
    errors: Option<serde::de::IgnoredAny>,
}

impl Request {
    fn new(endpoint: &str, token: &str, s: &Scenario) -> anyhow::Result<Self> {
        Ok(Self {
            endpoint: endpoint.to_string(),
            authorization: format!("Bearer {token}"),
            body: serde_json::to_string(&json!({ "query": s.query, "variables": s.vars }))?,
        })
    }

    /// Sends it; true when the answer is a 200 without errors.
    async fn send(&self, client: &reqwest::Client) -> anyhow::Result<bool> {
        let response = client
            .post(&self.endpoint)
            .header(reqwest::header::AUTHORIZATION, &self.authorization)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(self.body.clone())
            .send()
            .await?;
        let ok = response.status().is_success();
        let answer: Answer = serde_json::from_slice(&response.bytes().await?)?;
        Ok(ok && answer.errors.is_none())
    }
}

async fn load(
    client: &reqwest::Client,
    request: &Request,
    clients: usize,
    run: Duration,
) -> (f64, Vec<Duration>, usize) {
    let deadline = Instant::now() + run;
    let started = Instant::now();
    let tasks: Vec<_> = (0..clients)
        .map(|_| {
            let client = client.clone();
            let request = request.clone();
            tokio::spawn(async move {
                let mut times = Vec::new();
                let mut errors = 0;
                while Instant::now() < deadline {
                    let t = Instant::now();
                    match request.send(&client).await {
                        Ok(true) => times.push(t.elapsed()),
                        _ => errors += 1,
                    }
                }
                (times, errors)
            })
        })
        .collect();
    let mut all = Vec::new();
    let mut errors = 0;
    for task in tasks {
        if let Ok((times, e)) = task.await {
            all.extend(times);
            errors += e;
        }
    }
    let rate = all.len() as f64 / started.elapsed().as_secs_f64();
    (rate, all, errors)
}

fn percentile(samples: &mut [Duration], p: f64) -> Duration {
    if samples.is_empty() {
        return Duration::ZERO;
    }
    samples.sort_unstable();
    let idx = ((p / 100.0) * (samples.len() - 1) as f64).round() as usize;
    samples[idx.min(samples.len() - 1)]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}
