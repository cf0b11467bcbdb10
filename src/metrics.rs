//! Prometheus metrics, served at `/metrics` in the text exposition format (version 0.0.4).
//!
//! One registry per process (like the Prometheus client libraries' default registry): counters
//! and latency histograms keyed by a few labels whose values are bounded by the code (route
//! patterns, GraphQL root fields, provider names, run triggers), never by what a caller sends.
//! Gauges that describe the database (the push outbox) are read when scraped.

use std::{
    collections::BTreeMap,
    fmt::Write as _,
    sync::{LazyLock, Mutex},
    time::Duration,
};

/// Upper bounds (seconds) of the latency histograms' buckets.
const BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
];

/// Label values of one series, in the order of the family's label names.
type Labels = Vec<String>;

#[derive(Default, Clone)]
struct Histogram {
    buckets: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

impl Histogram {
    fn observe(&mut self, seconds: f64) {
        for (bucket, bound) in self.buckets.iter_mut().zip(BUCKETS) {
            if seconds <= bound {
                *bucket += 1;
            }
        }
        self.count += 1;
        self.sum += seconds;
    }
}

struct Family<T> {
    name: &'static str,
    help: &'static str,
    labels: &'static [&'static str],
    series: Mutex<BTreeMap<Labels, T>>,
}

impl<T: Default + Clone> Family<T> {
    const fn new(name: &'static str, help: &'static str, labels: &'static [&'static str]) -> Self {
        Self {
            name,
            help,
            labels,
            series: Mutex::new(BTreeMap::new()),
        }
    }

    fn update(&self, labels: &[&str], f: impl FnOnce(&mut T)) {
        debug_assert_eq!(labels.len(), self.labels.len(), "{}", self.name);
        let mut series = self.series.lock().unwrap_or_else(|e| e.into_inner());
        let key: Labels = labels.iter().map(|l| (*l).to_string()).collect();
        f(series.entry(key).or_default());
    }

    fn snapshot(&self) -> Vec<(Labels, T)> {
        let series = self.series.lock().unwrap_or_else(|e| e.into_inner());
        series.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
    }

    fn label_text(&self, values: &[String], extra: Option<(&str, &str)>) -> String {
        let mut pairs: Vec<String> = self
            .labels
            .iter()
            .zip(values)
            .map(|(name, value)| format!("{name}=\"{}\"", escape(value)))
            .collect();
        if let Some((name, value)) = extra {
            pairs.push(format!("{name}=\"{value}\""));
        }
        if pairs.is_empty() {
            String::new()
        } else {
            format!("{{{}}}", pairs.join(","))
        }
    }
}

impl Family<u64> {
    fn render(&self, out: &mut String) {
        let _ = writeln!(out, "# HELP {} {}", self.name, self.help);
        let _ = writeln!(out, "# TYPE {} counter", self.name);
        for (labels, value) in self.snapshot() {
            let _ = writeln!(
                out,
                "{}{} {value}",
                self.name,
                self.label_text(&labels, None)
            );
        }
    }
}

impl Family<Histogram> {
    fn render(&self, out: &mut String) {
        let _ = writeln!(out, "# HELP {} {}", self.name, self.help);
        let _ = writeln!(out, "# TYPE {} histogram", self.name);
        for (labels, h) in self.snapshot() {
            for (count, bound) in h.buckets.iter().zip(BUCKETS) {
                let le = bound.to_string();
                let _ = writeln!(
                    out,
                    "{}_bucket{} {count}",
                    self.name,
                    self.label_text(&labels, Some(("le", &le)))
                );
            }
            let all = self.label_text(&labels, Some(("le", "+Inf")));
            let plain = self.label_text(&labels, None);
            let _ = writeln!(out, "{}_bucket{all} {}", self.name, h.count);
            let _ = writeln!(out, "{}_sum{plain} {}", self.name, h.sum);
            let _ = writeln!(out, "{}_count{plain} {}", self.name, h.count);
        }
    }
}

fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// The process's metrics.
pub struct Metrics {
    http_requests: Family<u64>,
    http_duration: Family<Histogram>,
    graphql_operations: Family<u64>,
    graphql_duration: Family<Histogram>,
    sync_runs: Family<u64>,
    sync_duration: Family<Histogram>,
    provider_calls: Family<u64>,
    provider_duration: Family<Histogram>,
    provider_errors: Family<u64>,
}

static METRICS: LazyLock<Metrics> = LazyLock::new(Metrics::new);

impl Metrics {
    /// Every family, empty.
    fn new() -> Self {
        Self {
            http_requests: Family::new(
                "roster_http_requests_total",
                "HTTP requests answered, by route pattern, method and status.",
                &["route", "method", "status"],
            ),
            http_duration: Family::new(
                "roster_http_request_duration_seconds",
                "Time to answer an HTTP request, by route pattern.",
                &["route"],
            ),
            graphql_operations: Family::new(
                "roster_graphql_operations_total",
                "GraphQL operations executed, by root field (`multiple` when an operation selects several, `invalid` when it was refused before execution) and outcome (ok or the first error's code).",
                &["operation", "outcome"],
            ),
            graphql_duration: Family::new(
                "roster_graphql_operation_duration_seconds",
                "Time to execute a GraphQL operation, by root field.",
                &["operation"],
            ),
            sync_runs: Family::new(
                "roster_sync_runs_total",
                "Contacts sync runs finished, by trigger and final status.",
                &["trigger", "status"],
            ),
            sync_duration: Family::new(
                "roster_sync_run_duration_seconds",
                "Duration of finished contacts sync runs, by trigger.",
                &["trigger"],
            ),
            provider_calls: Family::new(
                "roster_provider_calls_total",
                "HTTP calls to the identity providers, by provider and outcome (the HTTP status class, or unreachable).",
                &["provider", "outcome"],
            ),
            provider_duration: Family::new(
                "roster_provider_call_duration_seconds",
                "Time of one HTTP call to a provider (each retry counted on its own).",
                &["provider"],
            ),
            provider_errors: Family::new(
                "roster_provider_errors_total",
                "Provider failures reported to a caller or a sync run, by provider and the provider's error code (`none` when it gave none).",
                &["provider", "errcode"],
            ),
        }
    }
}

/// The process's metrics.
pub fn metrics() -> &'static Metrics {
    &METRICS
}

/// What the database says at scrape time.
#[derive(Debug, Clone, Copy, Default)]
pub struct DatabaseGauges {
    /// Push messages waiting in the outbox (not yet delivered or given up).
    pub outbox_depth: u64,
    /// Sync runs recorded as running.
    pub sync_runs_running: u64,
}

impl Metrics {
    /// An answered HTTP request.
    pub fn http_request(&self, route: &str, method: &str, status: u16, took: Duration) {
        let status = status.to_string();
        self.http_requests
            .update(&[route, method, &status], |n| *n += 1);
        self.http_duration
            .update(&[route], |h| h.observe(took.as_secs_f64()));
    }

    /// An executed GraphQL operation.
    pub fn graphql_operation(&self, operation: &str, outcome: &str, took: Duration) {
        self.graphql_operations
            .update(&[operation, outcome], |n| *n += 1);
        self.graphql_duration
            .update(&[operation], |h| h.observe(took.as_secs_f64()));
    }

    /// A finished sync run.
    pub fn sync_run(&self, trigger: &str, status: &str, took: Duration) {
        self.sync_runs.update(&[trigger, status], |n| *n += 1);
        self.sync_duration
            .update(&[trigger], |h| h.observe(took.as_secs_f64()));
    }

    /// One HTTP call to a provider: its status, or `None` when it could not be made.
    pub fn provider_call(&self, provider: &str, status: Option<u16>, took: Duration) {
        let outcome = match status {
            Some(s) => format!("{}xx", s / 100),
            None => "unreachable".to_string(),
        };
        self.provider_calls
            .update(&[provider, &outcome], |n| *n += 1);
        self.provider_duration
            .update(&[provider], |h| h.observe(took.as_secs_f64()));
    }

    /// A provider failure (an error envelope, a refused permission, an unreachable server).
    pub fn provider_error(&self, provider: &str, errcode: Option<&str>) {
        // Provider codes are short tokens; anything else is folded so the label set stays small.
        let code = match errcode {
            Some(c) if c.len() <= 24 => c,
            Some(_) => "other",
            None => "none",
        };
        self.provider_errors.update(&[provider, code], |n| *n += 1);
    }

    /// The text exposition of every metric.
    pub fn render(&self, db: DatabaseGauges) -> String {
        let mut out = String::with_capacity(16 * 1024);
        self.http_requests.render(&mut out);
        self.http_duration.render(&mut out);
        self.graphql_operations.render(&mut out);
        self.graphql_duration.render(&mut out);
        self.sync_runs.render(&mut out);
        self.sync_duration.render(&mut out);
        self.provider_calls.render(&mut out);
        self.provider_duration.render(&mut out);
        self.provider_errors.render(&mut out);
        for (name, help, value) in [
            (
                "roster_outbox_depth",
                "Push messages waiting in the outbox.",
                db.outbox_depth,
            ),
            (
                "roster_sync_runs_running",
                "Sync runs recorded as running (across every instance sharing the database).",
                db.sync_runs_running,
            ),
        ] {
            let _ = writeln!(out, "# HELP {name} {help}");
            let _ = writeln!(out, "# TYPE {name} gauge");
            let _ = writeln!(out, "{name} {value}");
        }
        let name = "roster_sqlite_busy_waits_total";
        let _ = writeln!(
            out,
            "# HELP {name} Times a SQLite writer found the write lock taken by another connection and waited (always 0 on PostgreSQL); a steady rise means writers queue, and PostgreSQL would serve them side by side."
        );
        let _ = writeln!(out, "# TYPE {name} counter");
        let _ = writeln!(out, "{name} {}", crate::db::busy::waits());
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_and_histograms_render_in_the_text_format() {
        let m = Metrics::new();
        m.http_request("/graphql", "POST", 200, Duration::from_millis(3));
        m.http_request("/graphql", "POST", 200, Duration::from_millis(30));
        m.provider_call("dingtalk", Some(503), Duration::from_millis(1));
        m.provider_call("dingtalk", None, Duration::from_millis(1));
        m.provider_error("wecom", Some("60011"));
        m.provider_error("wecom", Some(&"x".repeat(100)));
        let text = m.render(DatabaseGauges {
            outbox_depth: 7,
            sync_runs_running: 1,
        });
        assert!(text.contains("# TYPE roster_http_requests_total counter\n"));
        assert!(text.contains(
            "roster_http_requests_total{route=\"/graphql\",method=\"POST\",status=\"200\"} 2\n"
        ));
        // 3 ms falls in the 5 ms bucket, 30 ms does not; +Inf holds both.
        assert!(text.contains(
            "roster_http_request_duration_seconds_bucket{route=\"/graphql\",le=\"0.0025\"} 0\n"
        ));
        assert!(text.contains(
            "roster_http_request_duration_seconds_bucket{route=\"/graphql\",le=\"0.005\"} 1\n"
        ));
        assert!(text.contains(
            "roster_http_request_duration_seconds_bucket{route=\"/graphql\",le=\"0.05\"} 2\n"
        ));
        assert!(text.contains(
            "roster_http_request_duration_seconds_bucket{route=\"/graphql\",le=\"+Inf\"} 2\n"
        ));
        assert!(
            text.contains("roster_http_request_duration_seconds_count{route=\"/graphql\"} 2\n")
        );
        assert!(
            text.contains("roster_provider_calls_total{provider=\"dingtalk\",outcome=\"5xx\"} 1\n")
        );
        assert!(text.contains(
            "roster_provider_calls_total{provider=\"dingtalk\",outcome=\"unreachable\"} 1\n"
        ));
        assert!(
            text.contains("roster_provider_errors_total{provider=\"wecom\",errcode=\"60011\"} 1\n")
        );
        assert!(
            text.contains("roster_provider_errors_total{provider=\"wecom\",errcode=\"other\"} 1\n")
        );
        assert!(text.contains("roster_outbox_depth 7\n"));
        assert!(text.contains("roster_sync_runs_running 1\n"));
        assert!(text.contains("# TYPE roster_sqlite_busy_waits_total counter\n"));
    }

    #[test]
    fn label_values_are_escaped() {
        let m = Metrics::new();
        m.graphql_operation("a\"b\\c\nd", "ok", Duration::ZERO);
        let text = m.render(DatabaseGauges::default());
        assert!(text.contains(
            "roster_graphql_operations_total{operation=\"a\\\"b\\\\c\\nd\",outcome=\"ok\"} 1\n"
        ));
    }
}
