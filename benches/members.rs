//! Benchmark harness for the member list: seeds an organization of 100,000 members in 5,000
//! departments, starts the real server and measures `members` pages over HTTP (first and deep
//! pages, filters, sorts, keyword search) with 1 client (latency percentiles) and 32 concurrent
//! clients (pages per second). Prints a table; BENCHMARKS.md records the figures.
//!
//! `cargo bench --bench members` (SQLite), or with `ROSTER_BENCH_DATABASE_URL=postgres://…` for
//! PostgreSQL. `ROSTER_BENCH_MEMBERS` and `ROSTER_BENCH_SECONDS` change the size and duration.

use base64::{Engine, engine::general_purpose::STANDARD};
use roster::{Application, config::Settings};
use sea_orm::{ConnectionTrait, Database, DatabaseConnection, DbBackend, TransactionTrait};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

const PAGE: &str = "query($f: MemberFilter, $o: MemberOrder, $after: String) {
  members(filter: $f, orderBy: $o, first: 50, after: $after) {
    edges { cursor node { id account nickname userType status joinedAt lastLoginAt
      role { name } departments { path } tags { name values } workspaces { name } } }
    pageInfo { hasNextPage endCursor } } }";

struct Scenario {
    name: &'static str,
    query: &'static str,
    vars: Value,
}

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let members = env_number("ROSTER_BENCH_MEMBERS", 100_000);
    let departments = env_number("ROSTER_BENCH_DEPARTMENTS", 5_000);
    let seconds = env_number("ROSTER_BENCH_SECONDS", 5);
    let (url, cleanup) = database().await?;
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
        ..Settings::default()
    };
    let mut settings = settings;
    settings.bootstrap.admin_password = Some(roster::config::Secret::new("bench-password-1"));
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
    let login: Value = client
        .post(&endpoint)
        .json(&json!({ "query": "mutation { login(account: \"admin\", password: \"bench-password-1\") { accessToken } }" }))
        .send()
        .await?
        .json()
        .await?;
    let token = login["data"]["login"]["accessToken"]
        .as_str()
        .ok_or_else(|| anyhow::anyhow!("login failed: {login}"))?
        .to_string();

    // A cursor 20 pages deep into the default ordering.
    let mut after = Value::Null;
    for _ in 0..20 {
        let body = post(&client, &endpoint, &token, PAGE, json!({ "after": after })).await?;
        after = body["data"]["members"]["pageInfo"]["endCursor"].clone();
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
    for s in &scenarios {
        let body = post(&client, &endpoint, &token, s.query, s.vars.clone()).await?;
        if !body["errors"].is_null() {
            anyhow::bail!("{}: {}", s.name, body["errors"]);
        }
        let rows = body["data"]["members"]["edges"]
            .as_array()
            .map(Vec::len)
            .or_else(|| {
                body["data"]["searchDirectory"]["members"]
                    .as_array()
                    .map(Vec::len)
            })
            .unwrap_or(0);
        let mut single = Vec::new();
        let deadline = Instant::now() + Duration::from_secs(seconds.min(3));
        while Instant::now() < deadline || single.len() < 50 {
            let t = Instant::now();
            post(&client, &endpoint, &token, s.query, s.vars.clone()).await?;
            single.push(t.elapsed());
            if single.len() >= 2_000 {
                break;
            }
        }
        let (rate, concurrent, errors) = load(
            &client,
            &endpoint,
            &token,
            s,
            32,
            Duration::from_secs(seconds),
        )
        .await;
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
    cleanup().await;
    Ok(())
}

async fn post(
    client: &reqwest::Client,
    endpoint: &str,
    token: &str,
    query: &str,
    vars: Value,
) -> anyhow::Result<Value> {
    Ok(client
        .post(endpoint)
        .bearer_auth(token)
        .json(&json!({ "query": query, "variables": vars }))
        .send()
        .await?
        .json()
        .await?)
}

async fn load(
    client: &reqwest::Client,
    endpoint: &str,
    token: &str,
    s: &Scenario,
    clients: usize,
    run: Duration,
) -> (f64, Vec<Duration>, usize) {
    let deadline = Instant::now() + run;
    let started = Instant::now();
    let tasks: Vec<_> = (0..clients)
        .map(|_| {
            let client = client.clone();
            let endpoint = endpoint.to_string();
            let token = token.to_string();
            let query = s.query.to_string();
            let vars = s.vars.clone();
            tokio::spawn(async move {
                let mut times = Vec::new();
                let mut errors = 0;
                while Instant::now() < deadline {
                    let t = Instant::now();
                    match post(&client, &endpoint, &token, &query, vars.clone()).await {
                        Ok(body) if body["errors"].is_null() => times.push(t.elapsed()),
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

fn peak_rss_mb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
        })
        .map(|kb| kb / 1024)
        .unwrap_or(0)
}

type Cleanup = Box<dyn FnOnce() -> std::pin::Pin<Box<dyn std::future::Future<Output = ()>>>>;

async fn database() -> anyhow::Result<(String, Cleanup)> {
    let name = format!("roster_bench_{}", uuid::Uuid::new_v4().simple());
    match std::env::var("ROSTER_BENCH_DATABASE_URL") {
        Ok(admin) if !admin.is_empty() => {
            let admin = admin.trim_end_matches('/').to_string();
            let conn = Database::connect(format!("{admin}/postgres")).await?;
            conn.execute_unprepared(&format!("CREATE DATABASE {name}"))
                .await?;
            let url = format!("{admin}/{name}");
            let cleanup: Cleanup = Box::new(move || {
                Box::pin(async move {
                    let _ = conn
                        .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                        .await;
                })
            });
            Ok((url, cleanup))
        }
        _ => {
            let path = std::env::temp_dir().join(format!("{name}.db"));
            let url = format!("sqlite://{}?mode=rwc", path.display());
            let cleanup: Cleanup = Box::new(move || {
                Box::pin(async move {
                    for suffix in ["", "-wal", "-shm"] {
                        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
                    }
                })
            });
            Ok((url, cleanup))
        }
    }
}

/// Bulk-inserts departments and members with plain multi-row INSERTs (setup, not the code under test).
async fn seed(db: &DatabaseConnection, members: u64, departments: u64) -> anyhow::Result<()> {
    let backend = db.get_database_backend();
    let org: i64 = 1;
    let roles = roster::authz::roles::builtin_role_ids(db)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let standard = roles[&roster::authz::roles::BuiltinRole::StandardUser];
    let ws_viewer = roles[&roster::authz::roles::BuiltinRole::WorkspaceViewer];
    let now = "2026-01-01T00:00:00+00:00";
    let txn = db.begin().await?;
    // Departments: 50 top-level, the rest spread below them (ids start at 1).
    let top = 50.min(departments);
    let mut rows = Vec::new();
    for id in 1..=departments {
        let (parent, path) = if id <= top {
            ("NULL".to_string(), format!("/{id}/"))
        } else {
            let p = (id % top) + 1;
            (p.to_string(), format!("/{p}/{id}/"))
        };
        rows.push(format!(
            "({id}, {org}, {parent}, 'Dept {id}', '{path}', 0, false, false, '{now}')"
        ));
        if rows.len() == 1000 || id == departments {
            exec(&txn, backend, &format!("INSERT INTO department (id, organization_id, parent_id, name, path, sort_order, name_changed, to_be_deleted, created_at) VALUES {}", rows.join(","))).await?;
            rows.clear();
        }
    }
    let ws_id = 1000;
    exec(&txn, backend, &format!("INSERT INTO workspace (id, organization_id, name, kind, owner_member_id, created_at) VALUES ({ws_id}, {org}, 'Shared', 'group', 1, '{now}')")).await?;
    let given = ["明华", "伟", "芳", "Li", "Anna", "Mark", "静", "强"];
    let types = ["developer", "analyst", "viewer"];
    let first_id: u64 = 1000;
    let mut users = Vec::new();
    let mut mems = Vec::new();
    let mut links = Vec::new();
    let mut tags = Vec::new();
    let mut spaces = Vec::new();
    for i in 0..members {
        let id = first_id + i;
        let name = format!("{}{}", given[(i % 8) as usize], i);
        let utype = types[(i % 3) as usize];
        let status = if i % 50 == 0 { "disabled" } else { "active" };
        let login = if i % 4 == 0 {
            "NULL".to_string()
        } else {
            format!("'2026-02-{:02}T{:02}:00:00+00:00'", 1 + i % 27, i % 24)
        };
        users.push(format!("({id}, '{name}', NULL, NULL, '{now}', '{now}')"));
        mems.push(format!(
            "({id}, {org}, {id}, 'user{i:06}', 'nick{i:06}', '{name}', '{utype}', {standard}, '{status}', 'user{i:06}@example.com', '138{i:08}', 'local', '2025-{:02}-{:02}T08:00:00+00:00', {login}, false, false, '{now}')",
            1 + i % 12,
            1 + i % 28
        ));
        links.push(format!("({}, {id}, {org})", 1 + i % departments));
        if i % 10 == 0 {
            tags.push(format!(
                "({org}, {id}, 'region', '{}')",
                ["North", "South", "East", "West"][(i % 4) as usize]
            ));
        }
        if i % 20 == 0 {
            spaces.push(format!("({ws_id}, {id}, {org}, {ws_viewer}, '{now}')"));
        }
        if users.len() == 1000 || i + 1 == members {
            exec(&txn, backend, &format!("INSERT INTO \"user\" (id, name, avatar_url, password_hash, created_at, updated_at) VALUES {}", users.join(","))).await?;
            exec(&txn, backend, &format!("INSERT INTO member (id, organization_id, user_id, account, nickname, name, user_type, role_id, status, email, phone, account_type, joined_at, last_login_at, name_changed, to_be_deleted, updated_at) VALUES {}", mems.join(","))).await?;
            exec(&txn, backend, &format!("INSERT INTO department_member (department_id, member_id, organization_id) VALUES {}", links.join(","))).await?;
            if !tags.is_empty() {
                exec(&txn, backend, &format!("INSERT INTO member_tag (organization_id, member_id, name, value) VALUES {}", tags.join(","))).await?;
            }
            if !spaces.is_empty() {
                exec(&txn, backend, &format!("INSERT INTO workspace_member (workspace_id, member_id, organization_id, role_id, created_at) VALUES {}", spaces.join(","))).await?;
            }
            users.clear();
            mems.clear();
            links.clear();
            tags.clear();
            spaces.clear();
        }
    }
    if backend == DbBackend::Postgres {
        for table in ["department", "user", "member", "workspace", "member_tag"] {
            exec(&txn, backend, &format!("SELECT setval(pg_get_serial_sequence('\"{table}\"', 'id'), (SELECT MAX(id) FROM \"{table}\"))")).await?;
        }
    }
    txn.commit().await?;
    db.execute_unprepared("ANALYZE").await?;
    Ok(())
}

async fn exec<C: ConnectionTrait>(db: &C, _backend: DbBackend, sql: &str) -> anyhow::Result<()> {
    db.execute_unprepared(sql).await?;
    Ok(())
}
