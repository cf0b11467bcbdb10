//! Benchmark harness for spreadsheets: seeds an organization of 100,000 members in 5,000
//! departments, starts the real server, and measures over HTTP
//! - the export of every member with every column group (mutation + download of the file), with
//!   the process's peak memory during it, and the same members exported through their
//!   departments (`departmentIds`: the top-level ones with their sub-departments) and through a
//!   keyword they all match;
//! - a batch update of 5,000 rows that change nickname, user type and a tag (dry run, then applied
//!   with a new file per run), the same file again (no change), and such files sorted by User Group
//!   instead of User ID;
//! - a batch update of 5,000 other rows that change only the user type (no searchable text);
//! - an import of 5,000 new members (dry run, then applied), each with a generated password.
//!
//! `cargo bench --bench excel` (SQLite), or with `ROSTER_BENCH_DATABASE_URL=postgres://…` for
//! PostgreSQL. `ROSTER_BENCH_MEMBERS` changes the size; `ROSTER_BENCH_RUNS` the repetitions.

mod common;

use base64::{Engine, engine::general_purpose::STANDARD};
use common::{
    ADMIN_PASSWORD, admin_token, database, env_number, graphql, peak_rss_mb, read_rows,
    reset_peak_rss, rss_mb, seed, write_rows,
};
use roster::{Application, config::Settings};
use serde_json::{Value, json};
use std::{
    io::{Read, Seek, Write},
    time::{Duration, Instant},
};

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
    let members = env_number("ROSTER_BENCH_MEMBERS", 100_000);
    let runs = env_number("ROSTER_BENCH_RUNS", 3);
    roster::telemetry::init(&roster::config::LogSettings {
        filter: "warn,roster::excel=info".into(),
        format: roster::config::LogFormat::Text,
    });
    let backend = if url.starts_with("sqlite") {
        "SQLite"
    } else {
        "PostgreSQL"
    };
    println!("database: {backend}");
    let mut settings = Settings {
        listen: "127.0.0.1:0".parse()?,
        database_url: url.clone(),
        master_key: Some(roster::config::Secret::new(STANDARD.encode([9u8; 32]))),
        // The server's own `ROSTER_*` variables apply (e.g. `ROSTER_DATABASE_MAX_CONNECTIONS`).
        ..Settings::load()?
    };
    settings.bootstrap.admin_password = Some(roster::config::Secret::new(ADMIN_PASSWORD));
    let app = Application::build(settings).await?;
    let port = app.port();
    let db = app.state().db.clone();
    tokio::spawn(app.run_until_stopped());
    let started = Instant::now();
    seed(&db, members, 5_000).await?;
    println!(
        "seeded {members} members in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    let client = reqwest::Client::new();
    let endpoint = format!("http://127.0.0.1:{port}/graphql");
    let token = admin_token(&client, &endpoint).await?;

    // Export: mutation, then the download, end to end.
    let mut export_times = Vec::new();
    let mut peak = 0;
    let mut downloaded = None;
    let baseline = rss_mb();
    for _ in 0..runs {
        reset_peak_rss();
        let start = Instant::now();
        let out = export(&client, &endpoint, &token, json!(null)).await?;
        export_times.push(start.elapsed());
        peak = peak.max(peak_rss_mb());
        downloaded = Some(out);
    }
    let mut file = Vec::new();
    if let Some(mut out) = downloaded {
        out.rewind()?;
        out.read_to_end(&mut file)?;
    }
    let rows = read_rows(&file)?;
    println!(
        "export: {} data rows, {:.1} MB file",
        rows.len() - 1,
        file.len() as f64 / 1e6
    );

    // A department export of every member: the top-level departments with their sub-departments.
    let tops = graphql(
        &client,
        &endpoint,
        Some(&token),
        "{ departments { id } }",
        json!({}),
    )
    .await?;
    let tops: Vec<Value> = tops["departments"]
        .as_array()
        .ok_or_else(|| anyhow::anyhow!("no departments: {tops}"))?
        .iter()
        .map(|d| d["id"].clone())
        .collect();
    let (department_rows, mut department_times) = timed_exports(
        &client,
        &endpoint,
        &token,
        json!({ "departmentIds": tops, "includeSubDepartments": true }),
        runs,
    )
    .await?;
    // …and through a keyword every seeded member matches (the domain of their email).
    let (keyword_rows, mut keyword_times) = timed_exports(
        &client,
        &endpoint,
        &token,
        json!({ "filter": { "keyword": "example.com" } }),
        runs,
    )
    .await?;

    // Batch update: 5,000 rows from the export, each changing nickname, user type and tag_region;
    // every run its own file (a new nickname suffix, the user type flipped back and forth).
    let header = rows[0].clone();
    let col = |name: &str| header.iter().position(|h| h == name).unwrap_or(usize::MAX);
    let (nick, user_type, group) = (col("Nickname"), col("User Type"), col("User Group"));
    let tag = header.iter().position(|h| h == "tag_region");
    let edit = |source: &[Vec<String>], run: u64| -> Vec<Vec<String>> {
        let mut edited = vec![header.clone()];
        for row in source {
            let mut row = row.clone();
            row[nick] = format!("{}_{run}", row[nick]);
            let viewer = row[user_type] == "Viewer";
            row[user_type] = if viewer == run.is_multiple_of(2) {
                "Analyst".into()
            } else {
                "Viewer".into()
            };
            if let Some(tag) = tag {
                row[tag] = if run.is_multiple_of(2) {
                    "Central"
                } else {
                    "North"
                }
                .into();
            }
            edited.push(row);
        }
        edited
    };
    let first: Vec<Vec<String>> = rows.iter().skip(2).take(5_000).cloned().collect();
    // The same kind of file sorted by User Group, as an administrator might before editing it:
    // its rows no longer follow User ID.
    let mut by_group: Vec<Vec<String>> = rows.iter().skip(10_002).take(5_000).cloned().collect();
    by_group.sort_by(|a, b| (&a[group], &a[nick]).cmp(&(&b[group], &b[nick])));
    // A batch that changes no searchable text: the user type of 5,000 other members.
    let mut types_only = vec![header.clone()];
    for row in rows.iter().skip(5_002).take(5_000) {
        let mut row = row.clone();
        row[user_type] = if row[user_type] == "Viewer" {
            "Analyst".into()
        } else {
            "Viewer".into()
        };
        types_only.push(row);
    }
    let types_only = write_rows(&types_only)?;
    let batch = "mutation($file: Upload!, $dry: Boolean) { batchUpdateMembers(file: $file, dryRun: $dry) { applied changedMemberIds problems { row column message } } }";
    // One file per run, written before any is timed; the last applied file is sent again.
    let files = |source: &[Vec<String>]| -> anyhow::Result<Vec<Vec<u8>>> {
        (0..runs)
            .map(|run| write_rows(&edit(source, run)))
            .collect()
    };
    let (first_files, group_files) = (files(&first)?, files(&by_group)?);
    let (Some(first_file), Some(last_file)) = (first_files.first(), first_files.last()) else {
        anyhow::bail!("ROSTER_BENCH_RUNS must be at least 1");
    };
    let dry = timed_upload(&client, &endpoint, &token, batch, true, first_file).await?;
    let (mut applied_times, applied) =
        timed_uploads(&client, &endpoint, &token, batch, &first_files).await?;
    let again = timed_upload(&client, &endpoint, &token, batch, false, last_file).await?;
    let (mut grouped_times, grouped) =
        timed_uploads(&client, &endpoint, &token, batch, &group_files).await?;
    let types = timed_upload(&client, &endpoint, &token, batch, false, &types_only).await?;

    // Import: 5,000 new members in the departments of the first exported row, nicknames taken
    // from their accounts; every one gets a generated one-time password.
    let department = rows[2][group].clone();
    let mut new_members = vec![
        roster::excel::columns::import_columns()
            .iter()
            .map(|c| c.header().into_owned())
            .collect::<Vec<_>>(),
    ];
    for i in 0..5_000 {
        new_members.push(vec![
            format!("import{i:05}"),
            String::new(),
            format!("新成员{i}"),
            format!("E{i:05}"),
            format!("import{i:05}@example.com"),
            format!("139{i:08}"),
            "Engineer".into(),
            department.clone(),
            "Viewer".into(),
            String::new(),
        ]);
    }
    let new_members = write_rows(&new_members)?;
    let import = "mutation($file: Upload!, $dry: Boolean) { importMembers(file: $file, dryRun: $dry) { applied created { memberId } problems { row column message } } }";
    let import_dry = timed_upload(&client, &endpoint, &token, import, true, &new_members).await?;
    let imported = timed_upload(&client, &endpoint, &token, import, false, &new_members).await?;

    println!();
    println!("| scenario | {backend} |");
    println!("|---|---|");
    println!(
        "| export {} members, all columns (mutation + download), median of {runs} | {:.2} s |",
        rows.len() - 1,
        median(&mut export_times).as_secs_f64()
    );
    println!(
        "| export {department_rows} members through the {} top-level departments with sub-departments, median of {runs} | {:.2} s |",
        tops.len(),
        median(&mut department_times).as_secs_f64()
    );
    println!(
        "| export {keyword_rows} members filtered by a keyword they all match, median of {runs} | {:.2} s |",
        median(&mut keyword_times).as_secs_f64()
    );
    println!(
        "| peak RSS of the process during the exports (before: {baseline} MB) | {peak} MB (+{} MB) |",
        peak.saturating_sub(baseline)
    );
    println!(
        "| batch update 5,000 rows, dry run ({} would change) | {:.3} s |",
        dry.1,
        dry.0.as_secs_f64()
    );
    println!(
        "| batch update 5,000 rows, applied ({} changed), median of {runs} | {:.3} s |",
        applied,
        median(&mut applied_times).as_secs_f64()
    );
    println!(
        "| same file again ({} changed) | {:.3} s |",
        again.1,
        again.0.as_secs_f64()
    );
    println!(
        "| the same kind of batch sorted by User Group ({} changed), median of {runs} | {:.3} s |",
        grouped,
        median(&mut grouped_times).as_secs_f64()
    );
    println!(
        "| batch update 5,000 other rows, user type only, applied ({} changed) | {:.3} s |",
        types.1,
        types.0.as_secs_f64()
    );
    println!(
        "| import 5,000 new members, dry run | {:.3} s |",
        import_dry.0.as_secs_f64()
    );
    println!(
        "| import 5,000 new members, applied ({} created) | {:.3} s |",
        imported.1,
        imported.0.as_secs_f64()
    );
    Ok(())
}

/// `exportMembers` with `input`, then the download, written to a temporary file as it arrives
/// (like a browser saving it, so that a peak of memory is the server's, not the harness's).
async fn export(
    client: &reqwest::Client,
    endpoint: &str,
    token: &str,
    input: Value,
) -> anyhow::Result<std::fs::File> {
    let data = graphql(
        client,
        endpoint,
        Some(token),
        "mutation($i: ExportMembersInput) { exportMembers(input: $i) { url } }",
        json!({ "i": input }),
    )
    .await?;
    let link = data["exportMembers"]["url"]
        .as_str()
        .ok_or_else(|| anyhow::anyhow!("export failed: {data}"))?
        .to_string();
    let mut response = client.get(link).send().await?.error_for_status()?;
    let mut out = tempfile::tempfile()?;
    while let Some(chunk) = response.chunk().await? {
        out.write_all(&chunk)?;
    }
    Ok(out)
}

/// [`export`] with `input` `runs` times: how many members the last file held, and each time.
async fn timed_exports(
    client: &reqwest::Client,
    endpoint: &str,
    token: &str,
    input: Value,
    runs: u64,
) -> anyhow::Result<(usize, Vec<Duration>)> {
    let mut times = Vec::new();
    let mut rows = 0;
    for _ in 0..runs {
        let start = Instant::now();
        let mut out = export(client, endpoint, token, input.clone()).await?;
        times.push(start.elapsed());
        let mut file = Vec::new();
        out.rewind()?;
        out.read_to_end(&mut file)?;
        rows = read_rows(&file)?.len().saturating_sub(1);
    }
    Ok((rows, times))
}

fn median(samples: &mut [Duration]) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

/// Applies each file in turn: the time of each, and how many members the last one changed.
async fn timed_uploads(
    client: &reqwest::Client,
    endpoint: &str,
    token: &str,
    query: &str,
    files: &[Vec<u8>],
) -> anyhow::Result<(Vec<Duration>, usize)> {
    let mut times = Vec::with_capacity(files.len());
    let mut changed = 0;
    for file in files {
        let (time, count) = timed_upload(client, endpoint, token, query, false, file).await?;
        times.push(time);
        changed = count;
    }
    Ok((times, changed))
}

async fn timed_upload(
    client: &reqwest::Client,
    endpoint: &str,
    token: &str,
    query: &str,
    dry_run: bool,
    file: &[u8],
) -> anyhow::Result<(Duration, usize)> {
    let form = reqwest::multipart::Form::new()
        .text(
            "operations",
            json!({ "query": query, "variables": { "file": null, "dry": dry_run } }).to_string(),
        )
        .text("map", json!({ "0": ["variables.file"] }).to_string())
        .part(
            "0",
            reqwest::multipart::Part::bytes(file.to_vec()).file_name("members.xlsx"),
        );
    let start = Instant::now();
    let body: Value = client
        .post(endpoint)
        .bearer_auth(token)
        .multipart(form)
        .send()
        .await?
        .json()
        .await?;
    let elapsed = start.elapsed();
    // The one field the mutation answers: `batchUpdateMembers` or `importMembers`.
    let report = body["data"]
        .as_object()
        .and_then(|data| data.values().next())
        .unwrap_or(&Value::Null);
    let problems = report["problems"].as_array().map_or(0, Vec::len);
    if report.is_null() || problems > 0 {
        anyhow::bail!(
            "upload failed: {}",
            body.to_string().chars().take(2000).collect::<String>()
        );
    }
    let members = report["changedMemberIds"]
        .as_array()
        .or_else(|| report["created"].as_array());
    Ok((elapsed, members.map_or(0, Vec::len)))
}
