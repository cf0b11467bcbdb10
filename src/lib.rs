//! Roster: an organization and SSO backend for companies on DingTalk, WeCom and Microsoft Teams.
//!
//! [`Application::build`] prepares a server from [`config::Settings`] (database, migrations,
//! bootstrap, keys) and binds its port; [`Application::run_until_stopped`] serves it. Tests build it
//! on port 0 and read the bound port from [`Application::port`].

pub mod auth;
pub mod authz;
pub mod config;
pub mod db;
pub mod error;
pub mod excel;
pub mod graphql;
pub mod http;
pub mod metrics;
pub mod org;
pub mod providers;
pub mod push;
pub mod secrets;
pub mod state;
pub mod sync;
pub mod telemetry;

use crate::{
    auth::{jwt::TokenIssuer, keys::KeyStore, throttle::LoginThrottle},
    config::Settings,
    org::{audit::AuditBus, bootstrap::Bootstrap},
    secrets::SecretBox,
    state::AppState,
};
use actix_web::{App, HttpServer, dev::Server};
use anyhow::Context as _;
use std::{net::TcpListener, sync::Arc};
use tracing_actix_web::TracingLogger;

/// jemalloc instead of the system allocator, for every program built on Roster (the server, its
/// tests and benches). In an A/B against glibc's allocator on the same machine (BENCHMARKS.md) it
/// was as fast or faster everywhere measured — member pages ~30 % quicker at the median, the
/// first full sync of 100,000 contacts 2.3 s instead of 2.8 s — and smaller: 95–127 MB instead
/// of 129–139 MB for three syncs in a row, +89 MB instead of +98 MB for the 100,000-member
/// export. glibc keeps freed memory in per-thread arenas (SQLite's connection threads, the export
/// writer, the tokio workers). mimalloc, tried before, made the export slower and bigger.
/// Unprefixed (Cargo.toml), jemalloc also serves SQLite's own `malloc` calls, which went to glibc
/// (~10 % of all CPU in glibc's allocator during the member pages before).
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// A server ready to run, bound to its port.
pub struct Application {
    port: u16,
    server: Server,
    state: AppState,
    bootstrap: Bootstrap,
}

impl Application {
    /// Connects, migrates, bootstraps, loads keys and binds the listener.
    pub async fn build(mut settings: Settings) -> anyhow::Result<Self> {
        let listener = TcpListener::bind(settings.listen).with_context(|| {
            format!(
                "cannot listen on {} (setting `listen`, ROSTER_LISTEN)",
                settings.listen
            )
        })?;
        // With port 0 the system picks one; links and issuers must name the real one.
        settings.listen = listener.local_addr()?;
        let port = settings.listen.port();
        let state = prepare(settings).await?;
        let interrupted = sync::runner::recover_interrupted(&state.db)
            .await
            .map_err(|e| anyhow::anyhow!(error::error_chain(&e)))?;
        if interrupted > 0 {
            tracing::warn!(
                runs = interrupted,
                "marked sync runs left running by a stopped server as interrupted"
            );
        }
        let bootstrap = org::bootstrap::run(&state.db, &state.settings)
            .await
            .map_err(|e| anyhow::anyhow!(error::error_chain(&e)))
            .context("creating the default organization")?;
        let schema = graphql::build_schema(Some(state.clone()), &state.settings.graphql);
        let server_state = state.clone();
        let server = HttpServer::new(move || {
            App::new()
                .wrap(http::app::cors(&server_state.settings.cors_allowed_origins))
                .wrap(actix_web::middleware::from_fn(telemetry::request_id_header))
                .wrap(TracingLogger::<telemetry::RequestSpan>::new())
                .wrap(actix_web::middleware::from_fn(http::metrics::track))
                .configure(http::configure(server_state.clone(), schema.clone()))
        })
        .listen(listener)?
        .shutdown_timeout(30)
        .run();
        Ok(Self {
            port,
            server,
            state,
            bootstrap,
        })
    }

    /// A handle that stops the server: `stop(true)` is the graceful stop a SIGTERM starts.
    pub fn handle(&self) -> actix_web::dev::ServerHandle {
        self.server.handle()
    }

    /// The bound port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The shared state (tests use it to reach the database).
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// What bootstrapping did on this start.
    pub fn bootstrap(&self) -> &Bootstrap {
        &self.bootstrap
    }

    /// Serves until the process is asked to stop; meanwhile runs [`housekeeping`] every ten
    /// minutes, and keeps SQLite's planner statistics current (checked every minute and after
    /// large additions, [`AppState::tables_grew`]; [`prepare`] checked them at the start).
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let _statistics = {
            let db = self.state.db.clone();
            let due = self.state.statistics_due.clone();
            AbortOnDrop(tokio::spawn(async move {
                let mut every = tokio::time::interval(std::time::Duration::from_secs(60));
                every.tick().await;
                // A failed refresh may have analyzed without telling the other connections (the
                // write lock held past the busy timeout): tell them at the next tick.
                let mut reload_owed = false;
                loop {
                    tokio::select! {
                        _ = every.tick() => {}
                        () = due.notified() => {}
                    }
                    let started = std::time::Instant::now();
                    let refreshed = match db::refresh_statistics(&db).await {
                        Ok(false) if reload_owed => db::reload_statistics(&db).await.map(|()| true),
                        other => other,
                    };
                    reload_owed = refreshed.is_err();
                    match refreshed {
                        Ok(true) => {
                            tracing::debug!(elapsed = ?started.elapsed(), "planner statistics refreshed")
                        }
                        Ok(false) => {}
                        Err(e) => {
                            tracing::warn!(error = %error::error_chain(&e), "refreshing the planner statistics failed; trying again in a minute")
                        }
                    }
                }
            }))
        };
        let db = self.state.db.clone();
        let janitor = tokio::spawn(async move {
            let mut every = tokio::time::interval(std::time::Duration::from_secs(600));
            loop {
                every.tick().await;
                housekeeping(&db).await;
            }
        });
        let scheduler = (self.state.settings.sync.interval_secs > 0).then(|| {
            let app = self.state.clone();
            let interval = std::time::Duration::from_secs(app.settings.sync.interval_secs);
            tokio::spawn(async move {
                let mut every = tokio::time::interval(interval.min(std::time::Duration::from_secs(60)));
                loop {
                    every.tick().await;
                    if let Err(e) = sync::runner::start_due(&app, interval).await {
                        tracing::warn!(error = %error::error_chain(&e), "starting scheduled syncs failed");
                    }
                }
            })
        });
        let graph = (self.state.settings.sync.graph_interval_secs > 0).then(|| {
            let app = self.state.clone();
            let every = std::time::Duration::from_secs(app.settings.sync.graph_interval_secs);
            AbortOnDrop(tokio::spawn(async move {
                let mut every = tokio::time::interval(every);
                loop {
                    every.tick().await;
                    sync::runner::graph_round(&app).await;
                }
            }))
        });
        // Dropped with this future: a stopped (or aborted) server stops delivering too.
        let _pusher = AbortOnDrop(tokio::spawn(push::deliver::run(self.state.clone())));
        // Other instances may rotate the signing key: re-read the keys well within the grace
        // period during which a retired key stays published.
        let _keys = {
            let keys = self.state.keys.clone();
            AbortOnDrop(tokio::spawn(async move {
                let mut every = tokio::time::interval(std::time::Duration::from_secs(30));
                every.tick().await;
                loop {
                    every.tick().await;
                    if let Err(e) = keys.reload().await {
                        tracing::warn!(error = %error::error_chain(&e), "re-reading the signing keys failed");
                    }
                }
            }))
        };
        // A graceful stop (SIGTERM, SIGINT) lets requests in flight finish (up to 30 s); then the
        // syncs this instance runs are cancelled and recorded as interrupted.
        let result = self.server.await;
        match sync::runner::interrupt_running(&self.state).await {
            Ok(0) => {}
            Ok(n) => tracing::warn!(
                runs = n,
                "stopping: sync runs interrupted, nothing of them applied"
            ),
            Err(e) => {
                tracing::error!(error = %error::error_chain(&e), "stopping: recording interrupted sync runs failed")
            }
        }
        janitor.abort();
        if let Some(s) = scheduler {
            s.abort();
        }
        drop(graph);
        result
    }
}

/// What the server tidies every ten minutes; each part's failure is logged, and the next round
/// tries again: expired login states, tickets, refresh tokens and downloads are purged, and the
/// member tallies that writers piled up are folded ([`org::members::fold_tallies`]).
pub async fn housekeeping(db: &sea_orm::DatabaseConnection) {
    let purged = match auth::purge_expired(db).await {
        Ok(n) => excel::download::purge_expired(db).await.map(|d| n + d),
        Err(e) => Err(e),
    };
    match purged {
        Ok(0) => {}
        Ok(n) => tracing::debug!(
            removed = n,
            "purged expired login states, tokens and downloads"
        ),
        Err(e) => {
            tracing::warn!(error = %error::error_chain(&e), "purging expired login states failed")
        }
    }
    match org::members::fold_tallies(db, None).await {
        Ok(0) => {}
        Ok(n) => tracing::debug!(organizations = n, "folded the member tallies"),
        Err(e) => {
            tracing::warn!(error = %error::error_chain(&e), "folding the member tallies failed")
        }
    }
}

/// Aborts a background task when dropped.
pub(crate) struct AbortOnDrop(pub(crate) tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Opens the database, applies migrations and builds the state (no bootstrap, no listener).
pub async fn prepare(settings: Settings) -> anyhow::Result<AppState> {
    let db::Pools {
        db,
        planned,
        statements,
    } = db::connect_counted(&settings).await.with_context(|| {
        format!(
            "cannot open the database (setting `database_url`, DATABASE_URL = {})",
            redact_url(&settings.database_url)
        )
    })?;
    db::migrate(&db)
        .await
        .context("applying database migrations")?;
    db::refresh_statistics(&db)
        .await
        .context("refreshing SQLite's planner statistics")?;
    let (secrets, created) =
        SecretBox::from_settings(&settings).context("loading the master key")?;
    if let Some(path) = created {
        tracing::warn!(
            path = %path.display(),
            "generated a new master key file (mode 0600); back it up, or set ROSTER_MASTER_KEY: secrets stored in the database cannot be read without it"
        );
    }
    let keys = KeyStore::open(db.clone(), secrets.clone(), settings.jwt.access_ttl_secs)
        .await
        .map_err(|e| anyhow::anyhow!(error::error_chain(&e)))
        .context("loading token signing keys (is ROSTER_MASTER_KEY the key this database was created with?)")?;
    let tokens = TokenIssuer::new(
        settings.issuer(),
        settings.jwt.audience.clone(),
        settings.jwt.access_ttl_secs,
    );
    let providers = providers::Providers::new(&settings.providers)
        .map_err(|e| anyhow::anyhow!(error::error_chain(&e)))?;
    Ok(AppState {
        providers,
        throttle: Arc::new(LoginThrottle::new(&settings.login)),
        settings: Arc::new(settings),
        db,
        planned,
        keys: Arc::new(keys),
        tokens,
        secrets,
        audit: AuditBus::default(),
        sync: sync::SyncHub::default(),
        statements,
        plan_hints: Arc::default(),
        statistics_due: Arc::default(),
    })
}

/// A database URL with any password replaced, for messages.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let creds = &url[scheme + 3..at];
            match creds.find(':') {
                Some(colon) => format!(
                    "{}{}:***{}",
                    &url[..scheme + 3],
                    &creds[..colon],
                    &url[at..]
                ),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}
