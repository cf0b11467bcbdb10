//! Typed settings: built-in defaults, then an optional `roster.toml`, then `ROSTER_*` environment
//! variables (`__` separates nested keys, e.g. `ROSTER_JWT__ACCESS_TTL_SECS`). `DATABASE_URL` is also
//! honoured without the prefix. An invalid value stops start-up with an error naming the setting.

use figment::{
    Figment,
    providers::{Env, Format, Serialized, Toml},
};
use serde::{Deserialize, Serialize};
use std::{fmt, net::SocketAddr, path::PathBuf};

/// A configuration value that must never be printed: `Debug` and `Display` show `[redacted]`.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret itself; call only where it is used, never to log it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// All settings of a Roster process.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// Address and port to listen on (`ROSTER_LISTEN`).
    pub listen: SocketAddr,
    /// Database address: `sqlite://roster.db?mode=rwc` by default, or `postgres://…` (`DATABASE_URL`).
    pub database_url: String,
    /// Largest number of pooled database connections (`ROSTER_DATABASE_MAX_CONNECTIONS`).
    pub database_max_connections: u32,
    /// Public base address of this server, used in links and as the default token issuer
    /// (`ROSTER_PUBLIC_URL`); defaults to `http://<listen>`.
    pub public_url: Option<String>,
    /// Base64 of 32 random bytes that encrypts secrets at rest (`ROSTER_MASTER_KEY`).
    pub master_key: Option<Secret>,
    /// Where the generated master key is kept when `master_key` is not set
    /// (`ROSTER_MASTER_KEY_FILE`); defaults to `roster.key` beside the SQLite file.
    pub master_key_file: Option<PathBuf>,
    /// First administrator created on an empty database.
    pub bootstrap: BootstrapSettings,
    /// Access and refresh tokens.
    pub jwt: JwtSettings,
    /// GraphQL limits.
    pub graphql: GraphqlSettings,
    /// Password login throttling.
    pub login: LoginSettings,
    /// Origins allowed to call the API from a browser (`ROSTER_CORS_ALLOWED_ORIGINS`, JSON list
    /// or comma-separated); empty allows none.
    pub cors_allowed_origins: Vec<String>,
    /// Whether to take the client address from `X-Forwarded-For` (only behind a trusted proxy).
    pub trust_forwarded_for: bool,
    /// Logging.
    pub log: LogSettings,
    /// Where the identity providers are (tests and local development point them at the sandbox).
    pub providers: ProviderSettings,
    /// Contacts sync.
    pub sync: SyncSettings,
    /// Pushing local changes to DingTalk.
    pub push: PushSettings,
    /// The Prometheus endpoint `/metrics`.
    pub metrics: MetricsSettings,
}

/// The Prometheus endpoint `/metrics`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricsSettings {
    /// A bearer token scrapers must send; unset, `/metrics` is open to whoever reaches the
    /// port (`ROSTER_METRICS__TOKEN`).
    pub token: Option<Secret>,
}

/// Pushing local changes to DingTalk through the outbox.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PushSettings {
    /// Milliseconds between looks at the outbox for due items (`ROSTER_PUSH__POLL_MS`).
    pub poll_ms: u64,
    /// Seconds before the first retry of a failed delivery; doubled on each further failure up
    /// to five minutes (`ROSTER_PUSH__RETRY_SECS`).
    pub retry_secs: u64,
    /// Seconds an instance holds a connection's delivery lease without renewing it; after a
    /// crash, another instance (or the restarted one) takes over after this long
    /// (`ROSTER_PUSH__LEASE_SECS`).
    pub lease_secs: u64,
}

/// Base addresses of the identity providers.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProviderSettings {
    /// DingTalk.
    pub dingtalk: DingtalkSettings,
    /// WeCom.
    pub wecom: WecomSettings,
    /// Microsoft Entra ID and Graph.
    pub microsoft: MicrosoftSettings,
    /// Seconds before a provider call is abandoned (`ROSTER_PROVIDERS__TIMEOUT_SECS`).
    pub timeout_secs: u64,
    /// Calls per second Roster allows itself per provider app
    /// (`ROSTER_PROVIDERS__CALLS_PER_SECOND`); DingTalk allows about 20 per app.
    pub calls_per_second: u32,
}

/// Contacts sync.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SyncSettings {
    /// Seconds between scheduled full syncs of each enabled connection; 0 turns the schedule
    /// off (`ROSTER_SYNC__INTERVAL_SECS`).
    pub interval_secs: u64,
    /// Provider calls a sync keeps in flight at once (`ROSTER_SYNC__CONCURRENCY`).
    pub concurrency: usize,
    /// Seconds between the rounds that run each Teams connection's Graph delta queries and
    /// keep its change-notification subscriptions alive; 0 turns them off
    /// (`ROSTER_SYNC__GRAPH_INTERVAL_SECS`).
    #[serde(default = "default_graph_interval")]
    pub graph_interval_secs: u64,
}

fn default_graph_interval() -> u64 {
    300
}

/// Microsoft's two hosts.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MicrosoftSettings {
    /// Entra ID (`ROSTER_PROVIDERS__MICROSOFT__LOGIN_URL`); id_tokens must be issued by
    /// `<login_url>/<tenant>/v2.0`.
    pub login_url: String,
    /// Microsoft Graph (`ROSTER_PROVIDERS__MICROSOFT__GRAPH_URL`).
    pub graph_url: String,
}

/// WeCom's two hosts.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WecomSettings {
    /// QR login pages (`ROSTER_PROVIDERS__WECOM__LOGIN_URL`).
    pub login_url: String,
    /// The server API, without `/cgi-bin` (`ROSTER_PROVIDERS__WECOM__API_URL`).
    pub api_url: String,
}

/// DingTalk's three hosts.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DingtalkSettings {
    /// QR login pages (`ROSTER_PROVIDERS__DINGTALK__LOGIN_URL`).
    pub login_url: String,
    /// The `v1.0` API (`ROSTER_PROVIDERS__DINGTALK__API_URL`).
    pub api_url: String,
    /// The legacy `oapi` API (`ROSTER_PROVIDERS__DINGTALK__OAPI_URL`).
    pub oapi_url: String,
}

/// The organization and administrator created when the database is empty.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BootstrapSettings {
    /// Name of the default organization (`ROSTER_BOOTSTRAP__ORGANIZATION`).
    pub organization: String,
    /// Account of the first administrator (`ROSTER_BOOTSTRAP__ADMIN_ACCOUNT`).
    pub admin_account: String,
    /// Password of the first administrator (`ROSTER_ADMIN_PASSWORD`); when absent a one-time
    /// password is generated and printed once.
    pub admin_password: Option<Secret>,
}

/// Token lifetimes and claims.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JwtSettings {
    /// `iss` claim; defaults to the public URL.
    pub issuer: Option<String>,
    /// `aud` claim (`ROSTER_JWT__AUDIENCE`).
    pub audience: String,
    /// Access token lifetime in seconds (`ROSTER_JWT__ACCESS_TTL_SECS`).
    pub access_ttl_secs: u64,
    /// Refresh token lifetime in seconds (`ROSTER_JWT__REFRESH_TTL_SECS`).
    pub refresh_ttl_secs: u64,
}

/// Limits that keep hostile queries cheap.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GraphqlSettings {
    /// Deepest selection allowed (`ROSTER_GRAPHQL__MAX_DEPTH`).
    pub max_depth: usize,
    /// Highest complexity allowed (`ROSTER_GRAPHQL__MAX_COMPLEXITY`).
    pub max_complexity: usize,
    /// Largest JSON request body in bytes (`ROSTER_GRAPHQL__MAX_BODY_BYTES`).
    pub max_body_bytes: usize,
    /// Largest uploaded file in bytes (`ROSTER_GRAPHQL__MAX_UPLOAD_BYTES`).
    pub max_upload_bytes: usize,
    /// Most operations in one batched request (`ROSTER_GRAPHQL__MAX_BATCH`).
    pub max_batch: usize,
    /// Most fields an operation selects at its root, aliases and fragments included
    /// (`ROSTER_GRAPHQL__MAX_ROOT_FIELDS`).
    pub max_root_fields: usize,
}

/// Password login: defences against guessing, and how long one-time passwords last.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoginSettings {
    /// Failed logins allowed per account within the window (`ROSTER_LOGIN__MAX_FAILURES_PER_ACCOUNT`).
    pub max_failures_per_account: u32,
    /// Failed logins allowed per client address within the window
    /// (`ROSTER_LOGIN__MAX_FAILURES_PER_ADDRESS`).
    pub max_failures_per_address: u32,
    /// Window in seconds (`ROSTER_LOGIN__WINDOW_SECS`).
    pub window_secs: u64,
    /// Seconds a one-time password (generated, imported, reset, or given by an administrator)
    /// lets its holder in before they must ask for a new one; `0` keeps them valid until used
    /// (`ROSTER_LOGIN__ONE_TIME_PASSWORD_TTL_SECS`). The first administrator's never expires.
    pub one_time_password_ttl_secs: u64,
}

/// Log output.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogSettings {
    /// `tracing` filter such as `info` or `roster=debug` (`ROSTER_LOG__FILTER`, or `RUST_LOG`).
    pub filter: String,
    /// `text` or `json` (`ROSTER_LOG__FORMAT`).
    pub format: LogFormat,
}

/// Log line format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            database_url: "sqlite://roster.db?mode=rwc".into(),
            database_max_connections: 16,
            public_url: None,
            master_key: None,
            master_key_file: None,
            bootstrap: BootstrapSettings {
                organization: "Default".into(),
                admin_account: "admin".into(),
                admin_password: None,
            },
            jwt: JwtSettings {
                issuer: None,
                audience: "roster".into(),
                access_ttl_secs: 15 * 60,
                refresh_ttl_secs: 30 * 24 * 3600,
            },
            graphql: GraphqlSettings {
                max_depth: 16,
                max_complexity: 5_000,
                max_body_bytes: 1 << 20,
                max_upload_bytes: 10 << 20,
                max_batch: 10,
                max_root_fields: 32,
            },
            login: LoginSettings {
                max_failures_per_account: 5,
                max_failures_per_address: 30,
                window_secs: 15 * 60,
                one_time_password_ttl_secs: 7 * 24 * 60 * 60,
            },
            cors_allowed_origins: Vec::new(),
            trust_forwarded_for: false,
            log: LogSettings {
                filter: "info".into(),
                format: LogFormat::Text,
            },
            providers: ProviderSettings {
                dingtalk: DingtalkSettings {
                    login_url: "https://login.dingtalk.com".into(),
                    api_url: "https://api.dingtalk.com".into(),
                    oapi_url: "https://oapi.dingtalk.com".into(),
                },
                wecom: WecomSettings {
                    login_url: "https://login.work.weixin.qq.com".into(),
                    api_url: "https://qyapi.weixin.qq.com".into(),
                },
                microsoft: MicrosoftSettings {
                    login_url: "https://login.microsoftonline.com".into(),
                    graph_url: "https://graph.microsoft.com".into(),
                },
                timeout_secs: 10,
                calls_per_second: 20,
            },
            sync: SyncSettings {
                interval_secs: 6 * 3600,
                concurrency: 4,
                graph_interval_secs: default_graph_interval(),
            },
            push: PushSettings {
                poll_ms: 1000,
                retry_secs: 2,
                lease_secs: 30,
            },
            metrics: MetricsSettings::default(),
        }
    }
}

/// Why the settings could not be loaded; the message names the setting at fault.
#[derive(Debug, thiserror::Error)]
#[error("invalid configuration: {0}")]
pub struct ConfigError(String);

impl Settings {
    /// Loads defaults, then `roster.toml` (or the file in `ROSTER_CONFIG`), then the environment.
    pub fn load() -> Result<Self, ConfigError> {
        let file = std::env::var("ROSTER_CONFIG").unwrap_or_else(|_| "roster.toml".into());
        let mut figment = Figment::from(Serialized::defaults(Settings::default()))
            .merge(Toml::file(file))
            .merge(
                Env::raw()
                    .only(&["DATABASE_URL"])
                    .map(|_| "database_url".into()),
            )
            .merge(
                Env::raw()
                    .only(&["ROSTER_ADMIN_PASSWORD"])
                    .map(|_| "bootstrap.admin_password".into()),
            )
            .merge(Env::raw().only(&["RUST_LOG"]).map(|_| "log.filter".into()))
            .merge(
                Env::prefixed("ROSTER_")
                    .ignore(&["CONFIG", "ADMIN_PASSWORD", "CORS_ALLOWED_ORIGINS"])
                    // The variables of the tests, the benchmarks and CI (`ROSTER_TEST_DATABASE_URL`,
                    // `ROSTER_BENCH_SECONDS`, `ROSTER_CI_POSTGRES_URL`, …) are not settings.
                    .filter(|key| {
                        !["test_", "bench_", "ci_"]
                            .iter()
                            .any(|p| key.starts_with(p))
                    })
                    .split("__"),
            );
        if let Ok(raw) = std::env::var("ROSTER_CORS_ALLOWED_ORIGINS") {
            let origins: Vec<String> = if raw.trim_start().starts_with('[') {
                serde_json::from_str(&raw).map_err(|e| {
                    ConfigError(format!("setting `cors_allowed_origins` is not a JSON list of strings: {e} (ROSTER_CORS_ALLOWED_ORIGINS)"))
                })?
            } else {
                raw.split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(String::from)
                    .collect()
            };
            figment = figment.merge(Serialized::default("cors_allowed_origins", origins));
        }
        Self::from_figment(figment)
    }

    /// Extracts and checks settings from any figment (tests build their own).
    pub fn from_figment(figment: Figment) -> Result<Self, ConfigError> {
        let settings: Settings = figment.extract().map_err(|e| ConfigError(e.to_string()))?;
        settings.validate()?;
        Ok(settings)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        let bad = |key: &str, why: &str| Err(ConfigError(format!("setting `{key}` {why}")));
        if !(self.database_url.starts_with("sqlite:")
            || self.database_url.starts_with("postgres://")
            || self.database_url.starts_with("postgresql://"))
        {
            return bad(
                "database_url",
                "must start with sqlite:, postgres:// or postgresql:// (DATABASE_URL)",
            );
        }
        if self.database_max_connections == 0 {
            return bad(
                "database_max_connections",
                "must be at least 1 (ROSTER_DATABASE_MAX_CONNECTIONS)",
            );
        }
        if let Some(url) = &self.public_url
            && !(url.starts_with("http://") || url.starts_with("https://"))
        {
            return bad(
                "public_url",
                "must start with http:// or https:// (ROSTER_PUBLIC_URL)",
            );
        }
        if self.jwt.access_ttl_secs < 30 || self.jwt.access_ttl_secs > 24 * 3600 {
            return bad(
                "jwt.access_ttl_secs",
                "must be between 30 and 86400 (ROSTER_JWT__ACCESS_TTL_SECS)",
            );
        }
        if self.jwt.refresh_ttl_secs < self.jwt.access_ttl_secs {
            return bad(
                "jwt.refresh_ttl_secs",
                "must not be shorter than jwt.access_ttl_secs (ROSTER_JWT__REFRESH_TTL_SECS)",
            );
        }
        if self.jwt.audience.is_empty() {
            return bad("jwt.audience", "must not be empty (ROSTER_JWT__AUDIENCE)");
        }
        if self.graphql.max_depth == 0
            || self.graphql.max_complexity == 0
            || self.graphql.max_batch == 0
            || self.graphql.max_root_fields == 0
        {
            return bad("graphql", "limits must be at least 1 (ROSTER_GRAPHQL__*)");
        }
        if self.login.max_failures_per_account == 0 || self.login.max_failures_per_address == 0 {
            return bad(
                "login",
                "failure limits must be at least 1 (ROSTER_LOGIN__*)",
            );
        }
        for origin in &self.cors_allowed_origins {
            if !(origin.starts_with("http://") || origin.starts_with("https://"))
                || origin.ends_with('/')
            {
                return bad(
                    "cors_allowed_origins",
                    &format!(
                        "has `{origin}`; each origin is scheme://host[:port] with no path (ROSTER_CORS_ALLOWED_ORIGINS)"
                    ),
                );
            }
        }
        for (key, url) in [
            (
                "providers.dingtalk.login_url",
                &self.providers.dingtalk.login_url,
            ),
            (
                "providers.dingtalk.api_url",
                &self.providers.dingtalk.api_url,
            ),
            (
                "providers.dingtalk.oapi_url",
                &self.providers.dingtalk.oapi_url,
            ),
            ("providers.wecom.login_url", &self.providers.wecom.login_url),
            ("providers.wecom.api_url", &self.providers.wecom.api_url),
            (
                "providers.microsoft.login_url",
                &self.providers.microsoft.login_url,
            ),
            (
                "providers.microsoft.graph_url",
                &self.providers.microsoft.graph_url,
            ),
        ] {
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                return bad(key, "must be an http(s) address");
            }
        }
        if self.providers.calls_per_second == 0 {
            return bad(
                "providers.calls_per_second",
                "must be at least 1 (ROSTER_PROVIDERS__CALLS_PER_SECOND)",
            );
        }
        if self.push.poll_ms == 0 || self.push.lease_secs == 0 {
            return bad(
                "push.poll_ms",
                "push.poll_ms and push.lease_secs must be at least 1 (ROSTER_PUSH__POLL_MS, ROSTER_PUSH__LEASE_SECS)",
            );
        }
        if self.sync.concurrency == 0 {
            return bad(
                "sync.concurrency",
                "must be at least 1 (ROSTER_SYNC__CONCURRENCY)",
            );
        }
        if self.providers.timeout_secs == 0 {
            return bad(
                "providers.timeout_secs",
                "must be at least 1 (ROSTER_PROVIDERS__TIMEOUT_SECS)",
            );
        }
        if self.bootstrap.admin_account.trim().is_empty() {
            return bad(
                "bootstrap.admin_account",
                "must not be empty (ROSTER_BOOTSTRAP__ADMIN_ACCOUNT)",
            );
        }
        if let Some(password) = &self.bootstrap.admin_password
            && password.expose().chars().count() < 8
        {
            return bad(
                "bootstrap.admin_password",
                "must be at least 8 characters (ROSTER_ADMIN_PASSWORD)",
            );
        }
        Ok(())
    }

    /// The base address clients use to reach this server.
    pub fn public_url(&self) -> String {
        match &self.public_url {
            Some(url) => url.trim_end_matches('/').to_string(),
            None => format!("http://{}", self.listen),
        }
    }

    /// The `iss` claim of issued tokens.
    pub fn issuer(&self) -> String {
        self.jwt.issuer.clone().unwrap_or_else(|| self.public_url())
    }

    /// Whether the database is SQLite.
    pub fn is_sqlite(&self) -> bool {
        self.database_url.starts_with("sqlite:")
    }

    /// Where the master key file lives when no key is configured.
    pub fn master_key_path(&self) -> PathBuf {
        if let Some(path) = &self.master_key_file {
            return path.clone();
        }
        if self.is_sqlite() {
            let path = self
                .database_url
                .trim_start_matches("sqlite:")
                .trim_start_matches("//");
            let path = path.split('?').next().unwrap_or_default();
            if !path.is_empty() && path != ":memory:" {
                return PathBuf::from(path).with_extension("key");
            }
        }
        PathBuf::from("roster.key")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn figment() -> Figment {
        Figment::from(Serialized::defaults(Settings::default()))
    }

    #[test]
    fn defaults_are_valid() {
        let settings = Settings::from_figment(figment()).expect("defaults load");
        assert_eq!(settings.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(settings.public_url(), "http://127.0.0.1:8080");
        assert_eq!(settings.master_key_path(), PathBuf::from("roster.key"));
    }

    #[test]
    fn invalid_value_names_the_setting() {
        let err =
            Settings::from_figment(figment().merge(("listen", "not-an-address"))).unwrap_err();
        assert!(err.to_string().contains("listen"), "{err}");
        let err = Settings::from_figment(figment().merge(("jwt.access_ttl_secs", 5))).unwrap_err();
        assert!(err.to_string().contains("jwt.access_ttl_secs"), "{err}");
        let err =
            Settings::from_figment(figment().merge(("database_url", "mysql://x"))).unwrap_err();
        assert!(err.to_string().contains("database_url"), "{err}");
        let err = Settings::from_figment(figment().merge(("no_such_setting", 1))).unwrap_err();
        assert!(err.to_string().contains("no_such_setting"), "{err}");
    }

    #[test]
    fn secrets_are_redacted() {
        let s = Secret::new("hunter22");
        assert_eq!(format!("{s:?}"), "[redacted]");
    }

    #[test]
    fn key_file_sits_beside_sqlite_file() {
        let settings = Settings::from_figment(
            figment().merge(("database_url", "sqlite:///var/lib/roster/data.db?mode=rwc")),
        )
        .expect("valid");
        assert_eq!(
            settings.master_key_path(),
            PathBuf::from("/var/lib/roster/data.key")
        );
    }
}
