//! Load harness: the release server as its own process, driven by `wrk` (Debian package `wrk`)
//! over loopback with the Lua scripts in `benches/wrk/`, against a seeded organization of
//! 100,000 members and the sandbox (in this process) as DingTalk:
//!
//! - `members` first page, `searchDirectory`, `me` (32 connections);
//! - provider login: the provider's redirect to `/auth/{connection}/callback` with a fresh code,
//!   then `redeemLoginTicket` (16 connections; codes are prepared by scanning in the sandbox);
//! - concurrent batch updates: 4 clients uploading workbooks that each change 25 members, then a
//!   check in the database that every answered upload is applied exactly once, nothing is half
//!   applied, and no upload wrote twice (audit events).
//!
//! Prints requests/s, latency p50/p99, failures and the server's peak memory per scenario;
//! BENCHMARKS.md records them. `cargo bench --bench load` (SQLite), or with
//! `ROSTER_BENCH_DATABASE_URL=postgres://…` for PostgreSQL. `ROSTER_LOAD_SECONDS` (10) bounds
//! each scenario, `ROSTER_BENCH_MEMBERS` (100,000) sizes the organization.

mod common;

use base64::{Engine, engine::general_purpose::STANDARD};
use common::{
    database, env_number, peak_rss_mb_of, read_rows, reset_peak_rss_of, seed, write_rows,
};
use entity::{audit_event, member, member_tag};
use futures_util::{StreamExt, stream};
use sandbox::{Sandbox, company::Company};
use sea_orm::{ColumnTrait, Database, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::{Value, json};
use std::{
    collections::{HashMap, HashSet},
    path::{Path, PathBuf},
    process::{Child, Command},
    time::{Duration, Instant},
};

const SPA: &str = "http://localhost:3000/login";
const PASSWORD: &str = "load-password-1";
const PEOPLE: usize = 200;
/// Workbooks for the batch-update scenario, and members each one changes.
const FILES: usize = 400;
const ROWS_PER_FILE: usize = 25;
const BOUNDARY: &str = "roster-load-boundary-7f3a";

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
    let seconds = env_number("ROSTER_LOAD_SECONDS", 10);
    let members = env_number("ROSTER_BENCH_MEMBERS", 100_000);
    let logins = env_number("ROSTER_LOAD_LOGINS", 6_000) as usize;
    Command::new("wrk").arg("--version").output().map_err(|_| {
        anyhow::anyhow!("wrk is not installed: `apt-get install wrk` (Debian) and run again")
    })?;
    let backend = if url.starts_with("sqlite") {
        "SQLite"
    } else {
        "PostgreSQL"
    };
    let work = std::env::temp_dir().join(format!("roster-load-{}", std::process::id()));
    std::fs::create_dir_all(&work)?;

    let sandbox = Sandbox::start(Company::generate("dingload", PEOPLE, 5), "127.0.0.1:0")?;
    let server = Server::start(&url, &sandbox.base_url(), &work).await?;
    let started = Instant::now();
    let db = Database::connect(&url).await?;
    seed(&db, members, 5_000).await?;
    println!(
        "database: {backend}; seeded {members} members in {:.1} s; server pid {}, log {}",
        started.elapsed().as_secs_f64(),
        server.pid(),
        work.join("roster.log").display()
    );
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    let token = server.admin_token(&client).await?;
    let run = Runner {
        server: &server,
        seconds,
        token: &token,
    };

    println!(
        "\n| scenario ({backend}) | connections | requests/s | p50 | p99 | failures | peak server RSS |"
    );
    println!("|---|---|---|---|---|---|---|");
    let reads = [
        (
            "members, first page of 50",
            "query { members(first: 50) { totalCount edges { cursor node { id account nickname userType status joinedAt lastLoginAt role { name } departments { path } tags { name values } workspaces { name } } } pageInfo { hasNextPage endCursor } } }",
        ),
        (
            "searchDirectory",
            "query { searchDirectory(keyword: \"Dept 42\") { departments { path } members { account departments { path } } } }",
        ),
        (
            "me",
            "query { me { member { id nickname } organization { id name } role { name } permissions } }",
        ),
    ];
    for (name, query) in reads {
        let body = json!({ "query": query }).to_string();
        let check = graphql(&client, &server.base, &token, &body).await?;
        if !check["errors"].is_null() {
            anyhow::bail!("{name}: {check}");
        }
        let out = run
            .wrk("graphql.lua", 2, 32, &[("ROSTER_LOAD_BODY", body)])
            .await?;
        out.row(name, 32, out.rate(), out.failures());
    }

    // Provider login.
    let connection = run.prepare_login(&client, &sandbox).await?;
    let started = Instant::now();
    let callbacks = scan_codes(&client, &server.base, &connection, logins).await?;
    println!(
        "(prepared {} scanned codes in {:.1} s)",
        callbacks.len(),
        started.elapsed().as_secs_f64()
    );
    let file = work.join("callbacks.txt");
    std::fs::write(&file, callbacks.join("\n"))?;
    let out = run
        .wrk(
            "login.lua",
            2,
            16,
            &[("ROSTER_LOAD_FILE", file.display().to_string())],
        )
        .await?;
    let done = out.total("logins");
    out.row(
        "login: callback + redeemLoginTicket (logins/s)",
        16,
        done as f64 / out.seconds(),
        out.failures(),
    );
    if out.total("exhausted") > 0 {
        println!(
            "(the prepared codes ran out before the end: raise ROSTER_LOAD_LOGINS for a full-length run)"
        );
    }

    // Concurrent batch updates.
    let files = run.prepare_batches(&client, &work).await?;
    let threads = 4;
    let out = run
        .wrk(
            "batch.lua",
            threads,
            threads,
            &[
                ("ROSTER_LOAD_DIR", work.display().to_string()),
                ("ROSTER_LOAD_FILES", FILES.to_string()),
                ("ROSTER_LOAD_BOUNDARY", BOUNDARY.into()),
            ],
        )
        .await?;
    out.row(
        "batch update, 25 rows per upload",
        threads,
        out.rate(),
        out.failures(),
    );
    // Uploads on the way when wrk stopped still finish on the server: wait until the audit log
    // stops growing before reading the outcome.
    let mut last = u64::MAX;
    loop {
        let now = audit_event::Entity::find()
            .filter(audit_event::Column::Action.eq("member.batch_update"))
            .count(&db)
            .await?;
        if now == last {
            break;
        }
        last = now;
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    let verdict = check_batches(&db, &files, &out, &work).await?;
    println!("\nbatch updates checked in the database: {verdict}");
    let failures_total = out.failures();

    drop(server);
    drop(db);
    let _ = std::fs::remove_dir_all(&work);
    if failures_total > 0 {
        anyhow::bail!("{failures_total} batch uploads failed");
    }
    Ok(())
}

/// The release server as a child process.
struct Server {
    child: Child,
    base: String,
}

impl Server {
    async fn start(database_url: &str, sandbox: &str, work: &Path) -> anyhow::Result<Self> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let base = format!("http://127.0.0.1:{port}");
        let log = std::fs::File::create(work.join("roster.log"))?;
        let mut command = Command::new(env!("CARGO_BIN_EXE_roster"));
        // The server refuses ROSTER_ variables it does not know (this harness's own among them).
        for (name, _) in std::env::vars().filter(|(k, _)| k.starts_with("ROSTER_")) {
            command.env_remove(name);
        }
        let child = command
            .env("DATABASE_URL", database_url)
            .env("ROSTER_LISTEN", format!("127.0.0.1:{port}"))
            .env("ROSTER_PUBLIC_URL", &base)
            .env("ROSTER_MASTER_KEY", STANDARD.encode([7u8; 32]))
            .env("ROSTER_ADMIN_PASSWORD", PASSWORD)
            .env("ROSTER_LOG__FORMAT", "json")
            // The sandbox is not DingTalk: its per-app limit of about 20 calls/s would measure
            // the pacing, not the server.
            .env("ROSTER_PROVIDERS__CALLS_PER_SECOND", "100000")
            .env(
                "ROSTER_PROVIDERS__DINGTALK__LOGIN_URL",
                format!("{sandbox}/dingtalk/login"),
            )
            .env(
                "ROSTER_PROVIDERS__DINGTALK__API_URL",
                format!("{sandbox}/dingtalk/api"),
            )
            .env(
                "ROSTER_PROVIDERS__DINGTALK__OAPI_URL",
                format!("{sandbox}/dingtalk/oapi"),
            )
            .current_dir(work)
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()?;
        let mut server = Self { child, base };
        let client = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            if let Some(status) = server.child.try_wait()? {
                anyhow::bail!(
                    "the server exited ({status}); see {}",
                    work.join("roster.log").display()
                );
            }
            if let Ok(res) = client.get(format!("{}/readyz", server.base)).send().await
                && res.status().is_success()
            {
                return Ok(server);
            }
            if Instant::now() > deadline {
                anyhow::bail!(
                    "the server did not become ready; see {}",
                    work.join("roster.log").display()
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Starts a new peak-memory measurement of the server process.
    fn reset_peak(&self) {
        reset_peak_rss_of(&self.pid().to_string());
    }

    fn peak_mb(&self) -> u64 {
        peak_rss_mb_of(&self.pid().to_string())
    }

    async fn admin_token(&self, client: &reqwest::Client) -> anyhow::Result<String> {
        let body = json!({ "query": format!("mutation {{ login(account: \"admin\", password: \"{PASSWORD}\") {{ accessToken }} }}") });
        let login = graphql(client, &self.base, "", &body.to_string()).await?;
        Ok(login["data"]["login"]["accessToken"]
            .as_str()
            .ok_or_else(|| anyhow::anyhow!("login failed: {login}"))?
            .to_string())
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn graphql(
    client: &reqwest::Client,
    base: &str,
    token: &str,
    body: &str,
) -> anyhow::Result<Value> {
    let mut req = client
        .post(format!("{base}/graphql"))
        .header("content-type", "application/json")
        .body(body.to_string());
    if !token.is_empty() {
        req = req.bearer_auth(token);
    }
    Ok(req.send().await?.json().await?)
}

struct Runner<'a> {
    server: &'a Server,
    seconds: u64,
    token: &'a str,
}

impl Runner<'_> {
    /// Runs wrk with a script of `benches/wrk/` and reads its summary line.
    async fn wrk(
        &self,
        script: &str,
        threads: usize,
        connections: usize,
        env: &[(&str, String)],
    ) -> anyhow::Result<WrkOut> {
        let lua = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("benches/wrk");
        self.server.reset_peak();
        let mut cmd = Command::new("wrk");
        cmd.args([
            "-t",
            &threads.to_string(),
            "-c",
            &connections.to_string(),
            "-d",
            &format!("{}s", self.seconds),
            "--timeout",
            "10s",
            "-s",
        ])
        .arg(lua.join(script))
        .arg(&self.server.base)
        .env("ROSTER_LOAD_LUA", &lua)
        .env("ROSTER_LOAD_THREADS", threads.to_string())
        .env("ROSTER_LOAD_TOKEN", self.token);
        for (k, v) in env {
            cmd.env(k, v);
        }
        let out = tokio::task::spawn_blocking(move || cmd.output()).await??;
        let text = String::from_utf8_lossy(&out.stdout);
        let line = text
            .lines()
            .find_map(|l| l.strip_prefix("ROSTER_LOAD "))
            .ok_or_else(|| {
                anyhow::anyhow!(
                    "wrk printed no summary:\n{text}\n{}",
                    String::from_utf8_lossy(&out.stderr)
                )
            })?;
        Ok(WrkOut {
            summary: serde_json::from_str(line)?,
            peak_mb: self.server.peak_mb(),
        })
    }

    /// A DingTalk connection (new people are admitted) and the SPA on the allow-list.
    async fn prepare_login(
        &self,
        client: &reqwest::Client,
        sandbox: &Sandbox,
    ) -> anyhow::Result<String> {
        let company = sandbox.state.company().clone();
        let base = &self.server.base;
        let body = json!({
            "query": "mutation($l: [String!], $i: ConnectionFields!) { updateOrganization(redirectAllowList: $l) { id } addConnection(provider: DINGTALK, input: $i) { id } }",
            "variables": { "l": [SPA], "i": { "corpId": company.corp_id, "clientId": company.app_key, "clientSecret": company.app_secret, "autoAddPolicy": "AUTO" } },
        });
        let answer = graphql(client, base, self.token, &body.to_string()).await?;
        Ok(answer["data"]["addConnection"]["id"]
            .as_str()
            .ok_or_else(|| anyhow::anyhow!("addConnection failed: {answer}"))?
            .to_string())
    }

    /// Exports the first members, then writes one upload per file that changes each member's
    /// nickname and sets `tag_load` to the file's name. Returns each file's member ids.
    async fn prepare_batches(
        &self,
        client: &reqwest::Client,
        work: &Path,
    ) -> anyhow::Result<Vec<Vec<i64>>> {
        let base = &self.server.base;
        let ids: Vec<String> = (0..FILES * ROWS_PER_FILE)
            .map(|i| (1_000 + i).to_string())
            .collect();
        // A list of ids holds at most `MAX_IDS`: one export per share, their rows joined.
        let mut rows: Vec<Vec<String>> = Vec::new();
        for share in ids.chunks(roster::graphql::MAX_IDS) {
            let body = json!({ "query": "mutation($ids: [ID!]) { exportMembers(input: { memberIds: $ids }) { url } }", "variables": { "ids": share } });
            let answer = graphql(client, base, self.token, &body.to_string()).await?;
            let link = answer["data"]["exportMembers"]["url"]
                .as_str()
                .ok_or_else(|| anyhow::anyhow!("export failed: {answer}"))?;
            let sheet = read_rows(&client.get(link).send().await?.bytes().await?)?;
            let skip = if rows.is_empty() { 0 } else { 1 };
            rows.extend(sheet.into_iter().skip(skip));
        }
        let mut header = rows
            .first()
            .cloned()
            .ok_or_else(|| anyhow::anyhow!("the export is empty"))?;
        let position = |name: &str| {
            header
                .iter()
                .position(|h| h == name)
                .ok_or_else(|| anyhow::anyhow!("the export has no {name} column"))
        };
        let (id_at, nick_at) = (position("User ID")?, position("Nickname")?);
        header.push("tag_load".into());
        let mut files = Vec::with_capacity(FILES);
        for (k, chunk) in rows[1..].chunks(ROWS_PER_FILE).take(FILES).enumerate() {
            // The alias tells the script which file an answer is for.
            let query = format!(
                "mutation($file: Upload!) {{ f{k}: batchUpdateMembers(file: $file) {{ applied changedMemberIds problems {{ row column message }} }} }}"
            );
            let operations = json!({ "query": query, "variables": { "file": null } }).to_string();
            let mut sheet = vec![header.clone()];
            let mut members = Vec::new();
            for row in chunk {
                let mut row = row.clone();
                members.push(row[id_at].parse::<i64>()?);
                row[nick_at] = format!("{}_f{k}", row[nick_at]);
                row.push(format!("f{k}"));
                sheet.push(row);
            }
            let mut body = Vec::new();
            for (name, value) in [
                ("operations", operations.as_str()),
                ("map", r#"{"0":["variables.file"]}"#),
            ] {
                body.extend_from_slice(
                    format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n").as_bytes(),
                );
            }
            body.extend_from_slice(format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"0\"; filename=\"members.xlsx\"\r\nContent-Type: application/vnd.openxmlformats-officedocument.spreadsheetml.sheet\r\n\r\n").as_bytes());
            body.extend_from_slice(&write_rows(&sheet)?);
            body.extend_from_slice(format!("\r\n--{BOUNDARY}--\r\n").as_bytes());
            std::fs::write(work.join(format!("{k}.body")), body)?;
            files.push(members);
        }
        if files.len() < FILES {
            anyhow::bail!("the organization has too few members for {FILES} files");
        }
        Ok(files)
    }
}

/// Scans `count` codes in the sandbox: each is a login started at `/auth/{connection}/authorize`
/// and confirmed on the provider's page; returns the callback paths the browser would follow.
async fn scan_codes(
    client: &reqwest::Client,
    base: &str,
    connection: &str,
    count: usize,
) -> anyhow::Result<Vec<String>> {
    let location = |res: &reqwest::Response| -> anyhow::Result<String> {
        Ok(res
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| anyhow::anyhow!("expected a redirect, got {}", res.status()))?
            .to_string())
    };
    let scan = |i: usize| async move {
        let res = client
            .get(format!("{base}/auth/{connection}/authorize"))
            .query(&[("redirect_uri", SPA)])
            .send()
            .await?;
        let page_url = location(&res)?;
        let page = client.get(&page_url).send().await?.text().await?;
        let marker = format!("userid={:06}&", i % PEOPLE);
        let at = page
            .find(&marker)
            .ok_or_else(|| anyhow::anyhow!("the sandbox page does not list {marker}"))?;
        let start = page[..at]
            .rfind("href=\"")
            .ok_or_else(|| anyhow::anyhow!("no link"))?
            + 6;
        let end = at
            + page[at..]
                .find('"')
                .ok_or_else(|| anyhow::anyhow!("no link end"))?;
        let sandbox = page_url
            .find("/dingtalk/")
            .map_or(page_url.as_str(), |i| &page_url[..i]);
        let res = client
            .get(format!(
                "{sandbox}{}",
                page[start..end].replace("&amp;", "&")
            ))
            .send()
            .await?;
        let callback = location(&res)?;
        Ok::<_, anyhow::Error>(callback.trim_start_matches(base).to_string())
    };
    stream::iter(0..count)
        .map(scan)
        .buffer_unordered(16)
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect()
}

struct WrkOut {
    summary: Value,
    peak_mb: u64,
}

impl WrkOut {
    fn seconds(&self) -> f64 {
        self.summary["duration_us"].as_f64().unwrap_or(1.0) / 1e6
    }

    fn rate(&self) -> f64 {
        self.summary["requests"].as_f64().unwrap_or(0.0) / self.seconds()
    }

    /// A per-thread counter of the script.
    fn per_thread(&self, name: &str) -> Vec<u64> {
        self.summary[name]
            .as_array()
            .map(|v| v.iter().filter_map(Value::as_u64).collect())
            .unwrap_or_default()
    }

    fn total(&self, name: &str) -> u64 {
        self.per_thread(name).iter().sum()
    }

    /// Answers the script refused, plus socket errors and timeouts.
    fn failures(&self) -> u64 {
        self.total("failures")
            + self.summary["socket_errors"].as_u64().unwrap_or(0)
            + self.summary["timeouts"].as_u64().unwrap_or(0)
    }

    fn row(&self, name: &str, connections: usize, rate: f64, failures: u64) {
        let ms = |key: &str| self.summary[key].as_f64().unwrap_or(0.0) / 1000.0;
        println!(
            "| {name} | {connections} | {rate:.0} | {:.2} ms | {:.2} ms | {failures} | {} MB |",
            ms("p50_us"),
            ms("p99_us"),
            self.peak_mb
        );
    }
}

/// The file numbers the batch script wrote to `<prefix>-<thread>` files.
fn logged_files(work: &Path, prefix: &str) -> anyhow::Result<HashSet<usize>> {
    let mut files = HashSet::new();
    for entry in std::fs::read_dir(work)? {
        let path = entry?.path();
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        if name.starts_with(&format!("{prefix}-")) {
            for line in std::fs::read_to_string(&path)?.lines() {
                files.insert(line.trim().parse()?);
            }
        }
    }
    Ok(files)
}

/// Checks the batch updates against the database: a file answered is applied, a file never
/// sent is not, no file is half applied, and each applied file wrote exactly one audit event.
async fn check_batches(
    db: &sea_orm::DatabaseConnection,
    files: &[Vec<i64>],
    out: &WrkOut,
    work: &Path,
) -> anyhow::Result<String> {
    let (sent, answered) = (logged_files(work, "sent")?, logged_files(work, "answered")?);
    let all: Vec<i64> = files.iter().flatten().copied().collect();
    let tags: HashMap<i64, String> = member_tag::Entity::find()
        .filter(member_tag::Column::Name.eq("load"))
        .all(db)
        .await?
        .into_iter()
        .map(|t| (t.member_id, t.value))
        .collect();
    let mut nicknames: HashMap<i64, String> = HashMap::new();
    for chunk in all.chunks(1_000) {
        for m in member::Entity::find()
            .filter(member::Column::Id.is_in(chunk.to_vec()))
            .all(db)
            .await?
        {
            nicknames.insert(m.id, m.nickname);
        }
    }
    let events = audit_event::Entity::find()
        .filter(audit_event::Column::Action.eq("member.batch_update"))
        .all(db)
        .await?;
    let mut written: HashMap<Vec<i64>, usize> = HashMap::new();
    for e in &events {
        let mut ids: Vec<i64> = e.summary["memberIds"]
            .as_array()
            .map(|v| v.iter().filter_map(Value::as_i64).collect())
            .unwrap_or_default();
        ids.sort_unstable();
        *written.entry(ids).or_default() += 1;
    }
    let mut problems = Vec::new();
    let (mut applied, mut in_flight) = (0, 0);
    let mut expected_events = HashSet::new();
    for (k, members) in files.iter().enumerate() {
        let value = format!("f{k}");
        let done = members
            .iter()
            .filter(|id| {
                tags.get(id) == Some(&value)
                    && nicknames
                        .get(id)
                        .is_some_and(|n| n.ends_with(&format!("_{value}")))
            })
            .count();
        match done {
            0 if answered.contains(&k) => {
                problems.push(format!("file {k} was answered but is not applied"))
            }
            0 => {}
            n if n == members.len() => {
                applied += 1;
                if !answered.contains(&k) {
                    in_flight += 1;
                }
                if !sent.contains(&k) {
                    problems.push(format!("file {k} was never sent but is applied"));
                }
                let mut ids = members.clone();
                ids.sort_unstable();
                match written.get(&ids).copied().unwrap_or(0) {
                    1 => {}
                    n => problems.push(format!("file {k} wrote {n} audit events")),
                }
                expected_events.insert(ids);
            }
            n => problems.push(format!(
                "file {k} is half applied ({n} of {})",
                members.len()
            )),
        }
    }
    let stray = written
        .keys()
        .filter(|k| !expected_events.contains(*k))
        .count();
    if stray > 0 {
        problems.push(format!(
            "{stray} audit events match no applied file (a write that did not land?)"
        ));
    }
    if out.total("applied") > applied {
        problems.push(format!(
            "{} answers said applied, but {applied} files are (a file applied twice?)",
            out.total("applied")
        ));
    }
    if !problems.is_empty() {
        anyhow::bail!("batch updates lost or duplicated:\n{}", problems.join("\n"));
    }
    Ok(format!(
        "{} uploads answered ({} of them applied changes, the rest found nothing left to change), {applied} of {} files applied ({in_flight} on the way when wrk stopped), none half applied, one audit event each; no lost or duplicated writes",
        out.total("answered"),
        out.total("applied"),
        files.len()
    ))
}
