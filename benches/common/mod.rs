//! What the benchmark harnesses share: a throw-away database (SQLite file, or a PostgreSQL
//! database when `ROSTER_BENCH_DATABASE_URL` is set), seeding a 100,000-member organization with
//! plain multi-row INSERTs, and reading the process's peak memory. `ROSTER_BENCH_KEEP_DATABASE=1`
//! keeps the database after the run.

#![allow(dead_code)]

use calamine::Reader as _;
use sea_orm::{ConnectionTrait, Database, DatabaseConnection, DbBackend, TransactionTrait};

pub fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

pub fn peak_rss_mb() -> u64 {
    peak_rss_mb_of("self")
}

/// The peak memory of a process (`self`, or a pid: the server the load harness started).
pub fn peak_rss_mb_of(process: &str) -> u64 {
    status_mb(process, "VmHWM:")
}

/// The process's resident memory now.
pub fn rss_mb() -> u64 {
    status_mb("self", "VmRSS:")
}

fn status_mb(process: &str, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{process}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
        })
        .map(|kb| kb / 1024)
        .unwrap_or(0)
}

pub type Cleanup = Box<dyn FnOnce() -> std::pin::Pin<Box<dyn std::future::Future<Output = ()>>>>;

/// A fresh database for one run, and what drops it afterwards. With
/// `ROSTER_BENCH_KEEP_DATABASE=1` it is kept (and its address printed), to read query plans on
/// the data the run left.
pub async fn database() -> anyhow::Result<(String, Cleanup)> {
    let (url, remove) = throw_away_database().await?;
    if std::env::var("ROSTER_BENCH_KEEP_DATABASE").is_ok_and(|v| v == "1") {
        let shown = url.clone();
        let cleanup: Cleanup = Box::new(move || {
            Box::pin(async move {
                println!("kept the database: {url}");
            })
        });
        return Ok((shown, cleanup));
    }
    Ok((url, remove))
}

async fn throw_away_database() -> anyhow::Result<(String, Cleanup)> {
    let name = format!("roster_bench_{}", uuid::Uuid::new_v4().simple());
    match std::env::var("ROSTER_BENCH_DATABASE_URL") {
        Ok(admin) if !admin.is_empty() => {
            // The server's address, optionally with connection parameters (`?sslmode=disable`),
            // which are kept on both the administrative and the throw-away database's address.
            let (server, params) = match admin.split_once('?') {
                Some((server, params)) => (server, format!("?{params}")),
                None => (admin.as_str(), String::new()),
            };
            let server = server.trim_end_matches('/');
            let conn = Database::connect(format!("{server}/postgres{params}")).await?;
            conn.execute_unprepared(&format!("CREATE DATABASE {name}"))
                .await?;
            let url = format!("{server}/{name}{params}");
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

/// Bulk-inserts departments and members with plain multi-row INSERTs (setup, not the code under
/// test), then gathers statistics.
pub async fn seed(db: &DatabaseConnection, members: u64, departments: u64) -> anyhow::Result<()> {
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
    // What autovacuum does soon after a load like this one: statistics, and on PostgreSQL the
    // visibility map that index-only scans need. The CI machine's server runs with autovacuum
    // off (`/etc/postgresql/*/main/conf.d/90-ci.conf`), so a freshly seeded bench would not get
    // it on its own.
    db.execute_unprepared(if backend == DbBackend::Postgres {
        "VACUUM ANALYZE"
    } else {
        "ANALYZE"
    })
    .await?;
    // On SQLite every pooled connection plans with them from its next statement, as after the
    // server's own refresh (`roster::db::refresh_statistics`); otherwise only the connection
    // that ran ANALYZE would.
    if backend == DbBackend::Sqlite {
        roster::db::reload_statistics(db).await?;
    }
    Ok(())
}

pub async fn exec<C: ConnectionTrait>(
    db: &C,
    _backend: DbBackend,
    sql: &str,
) -> anyhow::Result<()> {
    db.execute_unprepared(sql).await?;
    Ok(())
}

/// Resets the peak-memory mark (Linux `clear_refs`), so that the next [`peak_rss_mb`] measures
/// only what follows.
pub fn reset_peak_rss() {
    reset_peak_rss_of("self");
}

/// Resets another process's peak-memory mark (`self`, or a pid).
pub fn reset_peak_rss_of(process: &str) {
    let _ = std::fs::write(format!("/proc/{process}/clear_refs"), "5");
}

/// The `Members` sheet of a workbook as text rows (dates as `YYYY-MM-DD HH:MM:SS`).
pub fn read_rows(bytes: &[u8]) -> anyhow::Result<Vec<Vec<String>>> {
    let mut wb: calamine::Xlsx<_> = calamine::Xlsx::new(std::io::Cursor::new(bytes.to_vec()))?;
    let range = wb.worksheet_range("Members")?;
    Ok(range
        .rows()
        .map(|r| {
            r.iter()
                .map(|d| match d {
                    calamine::Data::Empty => String::new(),
                    calamine::Data::Float(f) if f.fract() == 0.0 => format!("{}", *f as i64),
                    calamine::Data::DateTime(t) => t
                        .as_datetime()
                        .map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string())
                        .unwrap_or_default(),
                    other => other.to_string(),
                })
                .collect()
        })
        .collect())
}

/// A `Members` sheet of text cells.
pub fn write_rows(rows: &[Vec<String>]) -> anyhow::Result<Vec<u8>> {
    let mut wb = rust_xlsxwriter::Workbook::new();
    let ws = wb.add_worksheet();
    ws.set_name("Members")?;
    for (r, row) in rows.iter().enumerate() {
        for (c, value) in row.iter().enumerate() {
            if !value.is_empty() {
                ws.write_string(r as u32, c as u16, value)?;
            }
        }
    }
    Ok(wb.save_to_buffer()?)
}

/// The bootstrap administrator's password in every harness.
pub const ADMIN_PASSWORD: &str = "bench-password-1";

/// A GraphQL request to `endpoint` (`…/graphql`), as the holder of `token` when there is one: the
/// answer's `data`, or an error with the whole answer when it has `errors`.
pub async fn graphql(
    client: &reqwest::Client,
    endpoint: &str,
    token: Option<&str>,
    query: &str,
    variables: serde_json::Value,
) -> anyhow::Result<serde_json::Value> {
    let mut request = client.post(endpoint);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let mut body: serde_json::Value = request
        .json(&serde_json::json!({ "query": query, "variables": variables }))
        .send()
        .await?
        .json()
        .await?;
    if !body["errors"].is_null() {
        anyhow::bail!("GraphQL errors: {body}");
    }
    Ok(body["data"].take())
}

/// Logs in as the bootstrap administrator: their access token.
pub async fn admin_token(client: &reqwest::Client, endpoint: &str) -> anyhow::Result<String> {
    let data = graphql(
        client,
        endpoint,
        None,
        "mutation($p: String!) { login(account: \"admin\", password: $p) { accessToken } }",
        serde_json::json!({ "p": ADMIN_PASSWORD }),
    )
    .await?;
    data["login"]["accessToken"]
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| anyhow::anyhow!("login failed: {data}"))
}
