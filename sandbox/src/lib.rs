//! A loopback stand-in for the identity providers Roster talks to, serving a seeded company.
//!
//! DingTalk is served under `/dingtalk/login` (the QR login pages), `/dingtalk/api` (the `v1.0`
//! API) and `/dingtalk/oapi` (the legacy API); WeCom under `/wecom/login` and `/wecom/api`;
//! Microsoft under `/microsoft/login` (Entra v2.0) and `/microsoft/graph`. Point Roster's provider
//! base URLs at those. Tests
//! start it in-process with [`Sandbox::start`]; developers run the `roster-sandbox` binary.
//! Fault controls at `POST /sandbox/faults` make the next calls fail as the real service can.

pub mod company;
pub mod dingtalk;
pub mod dingtalk_write;
pub mod directory;
pub mod microsoft;
pub mod subscriptions;
pub mod wecom;

use actix_web::{App, HttpResponse, HttpServer, post, web};
use company::Company;
use rand::Rng;
use serde::Deserialize;
use std::{
    collections::{HashMap, HashSet, VecDeque},
    net::TcpListener,
    sync::{Arc, Mutex, RwLock, RwLockReadGuard},
    time::{Duration, Instant},
};

/// A random token of `len` alphanumeric characters.
pub fn random(len: usize) -> String {
    rand::thread_rng()
        .sample_iter(&rand::distributions::Alphanumeric)
        .take(len)
        .map(char::from)
        .collect()
}

/// Mutable state: codes, tokens, faults.
#[derive(Default)]
pub struct Inner {
    /// Authorization codes → userid (each works once).
    pub codes: HashMap<String, String>,
    /// DingTalk authorization codes → (AppKey, person's main userid).
    pub dingtalk_codes: HashMap<String, (String, String)>,
    /// User tokens → (userid, expiry).
    pub user_tokens: HashMap<String, (String, Instant)>,
    /// DingTalk app tokens by AppKey, with their expiry.
    pub app_tokens: HashMap<String, (String, Instant)>,
    /// Microsoft authorization codes → the pending login.
    pub ms_codes: HashMap<String, microsoft::Pending>,
    /// The WeCom app token and its expiry.
    pub wecom_token: Option<(String, Instant)>,
    /// People whose scans are refused.
    pub refused: HashSet<String>,
    /// Canned failures for the next API calls.
    pub faults: VecDeque<Fault>,
    /// Delay added to every provider call, in milliseconds.
    pub latency_ms: u64,
    /// How to spoil the next Microsoft id_token: `wrong_audience`, `wrong_tenant` or `tampered`.
    pub id_token_fault: Option<String>,
    /// Graph app tokens (client credentials) and their expiry.
    pub graph_tokens: HashMap<String, Instant>,
    /// Provider calls answered so far, by path (tests count them).
    pub calls: HashMap<String, u64>,
    /// Graph change-notification subscriptions.
    pub subscriptions: Vec<subscriptions::Subscription>,
}

/// A canned failure.
#[derive(Debug, Clone, Deserialize)]
pub struct Fault {
    /// HTTP status to answer with (200 for legacy `errcode` failures).
    pub status: u16,
    /// JSON body.
    pub body: serde_json::Value,
    /// Seconds for a `Retry-After` header (throttling).
    pub retry_after: Option<u64>,
    /// Carry out a write first and answer with this failure after it (the answer is lost on
    /// the way back); reads and other calls ignore it and fail at once.
    #[serde(default)]
    pub after: bool,
}

/// The sandbox's shared state.
#[derive(Clone)]
pub struct State {
    company: Arc<RwLock<Company>>,
    /// Mutable parts.
    pub inner: Arc<Mutex<Inner>>,
}

impl State {
    /// A state serving `company`.
    pub fn new(company: Company) -> Self {
        Self {
            company: Arc::new(RwLock::new(company)),
            inner: Arc::default(),
        }
    }

    /// The company as it stands.
    pub fn company(&self) -> RwLockReadGuard<'_, Company> {
        self.company.read().unwrap_or_else(|e| e.into_inner())
    }

    /// Changes the company (a new directory version; lookups rebuilt).
    pub fn edit<T>(&self, change: impl FnOnce(&mut Company) -> T) -> T {
        let mut company = self.company.write().unwrap_or_else(|e| e.into_inner());
        company.version += 1;
        let out = change(&mut company);
        company.reindex();
        out
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// How many times a provider path was called.
    pub fn calls(&self, path: &str) -> u64 {
        self.lock().calls.get(path).copied().unwrap_or(0)
    }

    /// Whether a person's scans are refused.
    pub fn refused(&self, userid: &str) -> bool {
        self.lock().refused.contains(userid)
    }

    /// The next canned failure, if any.
    pub fn take_fault(&self) -> Option<HttpResponse> {
        let fault = self.lock().faults.pop_front()?;
        Some(Self::answer(fault))
    }

    /// The next canned failure of a write: to answer instead of writing, or to answer after
    /// writing (`after`).
    pub fn take_write_fault(&self) -> (Option<HttpResponse>, Option<HttpResponse>) {
        match self.lock().faults.pop_front() {
            None => (None, None),
            Some(fault) if fault.after => (None, Some(Self::answer(fault))),
            Some(fault) => (Some(Self::answer(fault)), None),
        }
    }

    fn answer(fault: Fault) -> HttpResponse {
        let status = actix_web::http::StatusCode::from_u16(fault.status)
            .unwrap_or(actix_web::http::StatusCode::INTERNAL_SERVER_ERROR);
        let mut response = HttpResponse::build(status);
        if let Some(secs) = fault.retry_after {
            response.insert_header(("Retry-After", secs.to_string()));
        }
        response.json(fault.body)
    }

    /// The DingTalk app token of an AppKey (the same while valid) and its remaining seconds.
    pub fn app_token(&self, app_key: &str) -> (String, u64) {
        let mut inner = self.lock();
        let now = Instant::now();
        match inner.app_tokens.get(app_key) {
            Some((token, expiry)) if *expiry > now => (token.clone(), (*expiry - now).as_secs()),
            _ => {
                let token = random(32);
                inner.app_tokens.insert(
                    app_key.to_string(),
                    (token.clone(), now + Duration::from_secs(7200)),
                );
                (token, 7200)
            }
        }
    }

    /// The WeCom app token (the same while valid) and its remaining seconds.
    pub fn wecom_token(&self) -> (String, u64) {
        let mut inner = self.lock();
        let now = Instant::now();
        match &inner.wecom_token {
            Some((token, expiry)) if *expiry > now => (token.clone(), (*expiry - now).as_secs()),
            _ => {
                let token = random(40);
                inner.wecom_token = Some((token.clone(), now + Duration::from_secs(7200)));
                (token, 7200)
            }
        }
    }

    /// Whether a WeCom token is the current, unexpired one.
    pub fn wecom_token_valid(&self, token: &str) -> bool {
        matches!(&self.lock().wecom_token, Some((t, expiry)) if t == token && *expiry > Instant::now())
    }

    /// The AppKey whose current, unexpired DingTalk app token this is.
    pub fn app_token_owner(&self, token: &str) -> Option<String> {
        let now = Instant::now();
        self.lock()
            .app_tokens
            .iter()
            .find(|(_, (t, expiry))| t == token && *expiry > now)
            .map(|(key, _)| key.clone())
    }
}

/// Fault controls.
#[derive(Debug, Default, Deserialize)]
pub struct Faults {
    /// Answer the next API calls with these failures, in order.
    #[serde(default)]
    pub next: Vec<Fault>,
    /// Expire every token now.
    #[serde(default)]
    pub expire_tokens: bool,
    /// Refuse the scans of this person.
    pub refuse_user: Option<String>,
    /// Spoil the next Microsoft id_token: `wrong_audience`, `wrong_tenant` or `tampered`.
    pub id_token: Option<String>,
    /// Delay every provider call by this many milliseconds (0 removes the delay).
    pub latency_ms: Option<u64>,
}

#[post("/sandbox/faults")]
async fn faults(state: web::Data<State>, body: web::Json<Faults>) -> HttpResponse {
    let mut inner = state.lock();
    inner.faults.extend(body.next.iter().cloned());
    if body.expire_tokens {
        inner.app_tokens.clear();
        inner.wecom_token = None;
        inner.user_tokens.clear();
        inner.graph_tokens.clear();
    }
    if let Some(userid) = &body.refuse_user {
        inner.refused.insert(userid.clone());
    }
    if let Some(ms) = body.latency_ms {
        inner.latency_ms = ms;
    }
    if let Some(kind) = &body.id_token {
        inner.id_token_fault = Some(kind.clone());
    }
    HttpResponse::NoContent().finish()
}

/// Applies the configured latency to every call except the fault controls.
async fn latency(
    req: actix_web::dev::ServiceRequest,
    next: actix_web::middleware::Next<impl actix_web::body::MessageBody>,
) -> Result<actix_web::dev::ServiceResponse<impl actix_web::body::MessageBody>, actix_web::Error> {
    let delay = match req.app_data::<web::Data<State>>() {
        Some(state) if !req.path().starts_with("/sandbox/") => {
            let mut inner = state.lock();
            *inner.calls.entry(req.path().to_string()).or_default() += 1;
            inner.latency_ms
        }
        _ => 0,
    };
    if delay > 0 {
        tokio::time::sleep(Duration::from_millis(delay)).await;
    }
    next.call(req).await
}

/// A running sandbox.
pub struct Sandbox {
    /// The bound port.
    pub port: u16,
    /// Its state (tests inspect and steer it).
    pub state: State,
}

impl Sandbox {
    /// Starts the sandbox on `listen` (use port 0 for any free port) in the current runtime.
    pub fn start(company: Company, listen: &str) -> std::io::Result<Self> {
        let state = State::new(company);
        let listener = TcpListener::bind(listen)?;
        let port = listener.local_addr()?.port();
        let data = web::Data::new(state.clone());
        let server = HttpServer::new(move || {
            App::new()
                .app_data(data.clone())
                .wrap(actix_web::middleware::from_fn(latency))
                .service(faults)
                .configure(directory::configure)
                .configure(dingtalk::configure)
                .configure(dingtalk_write::configure)
                .configure(wecom::configure)
                .configure(microsoft::configure)
                .configure(subscriptions::configure)
        })
        .workers(1)
        .listen(listener)?
        .run();
        tokio::spawn(server);
        Ok(Self { port, state })
    }

    /// `http://127.0.0.1:<port>`.
    pub fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}
