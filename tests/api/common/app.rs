//! `TestApp`: a running server with its own database, and helpers to speak GraphQL to it.

use super::db::TestDb;
use base64::{Engine, engine::general_purpose::STANDARD};
use roster::{Application, config::Settings, state::AppState};
use serde_json::{Value, json};

/// The bootstrap administrator's password in tests.
pub const ADMIN_PASSWORD: &str = "admin-password-1";

/// A server under test.
pub struct TestApp {
    /// `http://127.0.0.1:<port>`.
    pub address: String,
    /// The bound port.
    pub port: u16,
    /// HTTP client (no cookies, no redirects followed).
    pub client: reqwest::Client,
    /// The server's state, for direct database checks and fixtures.
    pub state: AppState,
    /// The settings it started with (a restart reuses them).
    settings: Settings,
    /// The serving task; aborting it stops the server's background work, as a killed process.
    server: tokio::task::JoinHandle<std::io::Result<()>>,
    /// Stops the server as a signal would.
    handle: actix_web::dev::ServerHandle,
    /// Keeps the database alive; dropped with the last app that uses it.
    db: std::sync::Arc<TestDb>,
}

impl TestApp {
    /// Starts a server with default test settings.
    pub async fn spawn() -> Self {
        Self::spawn_with(|_| {}).await
    }

    /// Default test settings for a database.
    pub fn settings(db: &TestDb) -> Settings {
        let mut settings = Settings {
            listen: "127.0.0.1:0".parse().expect("address"),
            database_url: db.url.clone(),
            database_max_connections: 5,
            master_key: Some(roster::config::Secret::new(STANDARD.encode([42u8; 32]))),
            public_url: Some("http://roster.test".into()),
            ..Settings::default()
        };
        settings.bootstrap.admin_password = Some(roster::config::Secret::new(ADMIN_PASSWORD));
        // Scheduled syncs would race the tests' own; the schedule test turns them on.
        settings.sync.interval_secs = 0;
        settings.sync.graph_interval_secs = 0;
        // The sandbox is local: pace calls far above DingTalk's real limit.
        settings.providers.calls_per_second = 10_000;
        // Pushes are delivered and retried quickly, and a killed instance's queue is taken over
        // soon.
        settings.push.poll_ms = 50;
        settings.push.retry_secs = 1;
        settings.push.lease_secs = 2;
        settings
    }

    /// Points every provider at a sandbox served at `base`.
    pub fn use_sandbox(settings: &mut Settings, base: &str) {
        let p = &mut settings.providers;
        p.dingtalk.login_url = format!("{base}/dingtalk/login");
        p.dingtalk.api_url = format!("{base}/dingtalk/api");
        p.dingtalk.oapi_url = format!("{base}/dingtalk/oapi");
        p.wecom.login_url = format!("{base}/wecom/login");
        p.wecom.api_url = format!("{base}/wecom/api");
        p.microsoft.login_url = format!("{base}/microsoft/login");
        p.microsoft.graph_url = format!("{base}/microsoft/graph");
    }

    /// Starts a server after letting the test adjust the settings.
    pub async fn spawn_with(adjust: impl FnOnce(&mut Settings)) -> Self {
        let db = TestDb::create().await;
        let mut settings = Self::settings(&db);
        adjust(&mut settings);
        Self::start(std::sync::Arc::new(db), settings).await
    }

    /// Starts a second instance of this server: same settings, same database, its own port,
    /// state, caches and background work, as another process of a deployment would be.
    #[allow(dead_code)]
    pub async fn another_instance(&self) -> Self {
        Self::start(self.db.clone(), self.settings.clone()).await
    }

    /// Stops this server as SIGTERM would (requests in flight finish) and waits until it is down.
    #[allow(dead_code)]
    pub async fn stop_gracefully(self) {
        self.handle.stop(true).await;
        let _ = self.server.await;
    }

    /// Starts a server on an existing database.
    pub async fn start(db: std::sync::Arc<TestDb>, settings: Settings) -> Self {
        if std::env::var_os("TEST_LOG").is_some() {
            roster::telemetry::init(&roster::config::LogSettings {
                filter: "info".into(),
                format: roster::config::LogFormat::Text,
            });
        }
        let app = Application::build(settings.clone())
            .await
            .expect("server builds");
        let port = app.port();
        let state = app.state().clone();
        let handle = app.handle();
        let server = tokio::spawn(app.run_until_stopped());
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client");
        Self {
            address: format!("http://127.0.0.1:{port}"),
            port,
            client,
            state,
            settings,
            server,
            handle,
            db,
        }
    }

    /// Stops this server as a crash would (its background work is dropped mid-flight) and
    /// starts a new one on the same database.
    pub async fn restart(self) -> Self {
        self.server.abort();
        let _ = self.server.await;
        Self::start(self.db, self.settings).await
    }

    /// POSTs a GraphQL operation; returns the HTTP status and the JSON body.
    pub async fn post(&self, query: &str, variables: Value, token: Option<&str>) -> (u16, Value) {
        let mut req = self
            .client
            .post(format!("{}/graphql", self.address))
            .json(&json!({ "query": query, "variables": variables }));
        if let Some(token) = token {
            req = req.bearer_auth(token);
        }
        let res = req.send().await.expect("request sent");
        let status = res.status().as_u16();
        (status, res.json().await.expect("JSON body"))
    }

    /// POSTs a GraphQL operation and returns the body.
    pub async fn gql(&self, query: &str, variables: Value, token: Option<&str>) -> Value {
        self.post(query, variables, token).await.1
    }

    /// Sends an operation with one file as the GraphQL multipart request spec describes: the file
    /// fills `variables.file`.
    pub async fn upload(
        &self,
        query: &str,
        mut variables: Value,
        file: Vec<u8>,
        token: Option<&str>,
    ) -> Value {
        variables["file"] = Value::Null;
        let part = reqwest::multipart::Part::bytes(file)
            .file_name("members.xlsx")
            .mime_str("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
            .expect("mime");
        let form = reqwest::multipart::Form::new()
            .text(
                "operations",
                json!({ "query": query, "variables": variables }).to_string(),
            )
            .text("map", json!({ "0": ["variables.file"] }).to_string())
            .part("0", part);
        let mut req = self
            .client
            .post(format!("{}/graphql", self.address))
            .multipart(form);
        if let Some(token) = token {
            req = req.bearer_auth(token);
        }
        let res = req.send().await.expect("request sent");
        res.json().await.expect("JSON body")
    }

    /// GETs a link the API returned (made for `public_url`) from this server; returns the status
    /// and the body.
    pub async fn fetch(&self, url: &str) -> (u16, Vec<u8>) {
        let path = url
            .strip_prefix("http://roster.test")
            .expect("links use the public URL");
        let res = self
            .client
            .get(format!("{}{path}", self.address))
            .send()
            .await
            .expect("request sent");
        let status = res.status().as_u16();
        let length = res.content_length();
        let body = res.bytes().await.expect("body").to_vec();
        if let Some(length) = length {
            assert_eq!(length, body.len() as u64, "Content-Length matches the body");
        }
        (status, body)
    }

    /// Sends the `login` mutation and returns the whole response, refused or not.
    pub async fn try_login(&self, account: &str, password: &str) -> Value {
        self.gql(
            LOGIN,
            json!({ "account": account, "password": password }),
            None,
        )
        .await
    }

    /// Logs in and returns the `login` payload (panics on failure).
    pub async fn login(&self, account: &str, password: &str) -> Value {
        let body = self.try_login(account, password).await;
        assert!(body["errors"].is_null(), "login failed: {body}");
        body["data"]["login"].clone()
    }

    /// Logs in as the bootstrap administrator and returns the access token.
    pub async fn admin_token(&self) -> String {
        self.login("admin", ADMIN_PASSWORD).await["accessToken"]
            .as_str()
            .expect("token")
            .to_string()
    }
}

/// The login mutation used by tests.
pub const LOGIN: &str = "mutation($account: String!, $password: String!, $organization: ID) {
  login(account: $account, password: $password, organization: $organization) {
    accessToken tokenType expiresIn refreshToken passwordChangeRequired member { id account nickname }
  }
}";

/// The `extensions.code` of the first error.
pub fn error_code(body: &Value) -> &str {
    body["errors"][0]["extensions"]["code"]
        .as_str()
        .unwrap_or("<no error>")
}

/// The answer is UNAUTHENTICATED, and its message says `why`.
pub fn assert_unauthenticated(body: &Value, why: &str) {
    assert_eq!(error_code(body), "UNAUTHENTICATED", "{body}");
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .is_some_and(|m| m.contains(why)),
        "{body}"
    );
}
