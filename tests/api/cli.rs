//! The `roster` command line.

use std::process::Command;

fn roster() -> Command {
    Command::new(env!("CARGO_BIN_EXE_roster"))
}

#[test]
fn help_lists_the_commands() {
    let out = roster().arg("--help").output().expect("runs");
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    for command in ["serve", "migrate", "schema"] {
        assert!(text.contains(command), "--help mentions {command}: {text}");
    }
}

#[test]
fn schema_command_prints_the_sdl() {
    let out = roster().arg("schema").output().expect("runs");
    assert!(out.status.success());
    assert_eq!(String::from_utf8_lossy(&out.stdout), roster::graphql::sdl());
}

#[test]
fn invalid_setting_stops_startup_naming_it() {
    let dir = std::env::temp_dir().join(format!("roster-cli-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).expect("dir");
    let out = roster()
        .current_dir(&dir)
        .env("ROSTER_LISTEN", "not-an-address")
        .output()
        .expect("runs");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr).to_lowercase();
    assert!(err.contains("listen"), "the error names the setting: {err}");

    let out = roster()
        .current_dir(&dir)
        .env("ROSTER_JWT__ACCESS_TTL_SECS", "forever")
        .output()
        .expect("runs");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr).to_lowercase();
    assert!(
        err.contains("access_ttl_secs"),
        "the error names the setting: {err}"
    );

    std::fs::write(dir.join("roster.toml"), "listen = 8080\n").expect("write toml");
    let out = roster()
        .current_dir(&dir)
        .arg("migrate")
        .output()
        .expect("runs");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr).to_lowercase();
    assert!(
        err.contains("listen") && err.contains("roster.toml"),
        "the error names the setting and file: {err}"
    );
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn migrate_command_applies_migrations() {
    let dir = std::env::temp_dir().join(format!("roster-cli-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).expect("dir");
    let out = roster()
        .current_dir(&dir)
        .env_remove("DATABASE_URL")
        // Variables of the benchmarks and of CI share the prefix but are not settings.
        .env("ROSTER_BENCH_SECONDS", "3")
        .env(
            "ROSTER_CI_POSTGRES_URL",
            "postgres://postgres@127.0.0.1:5432",
        )
        .arg("migrate")
        .output()
        .expect("runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        dir.join("roster.db").exists(),
        "the default database is roster.db in the working directory"
    );
    let _ = std::fs::remove_dir_all(dir);
}
