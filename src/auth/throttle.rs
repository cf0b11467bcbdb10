//! Login throttling: failures are counted per account and per client address in a sliding window;
//! when either count reaches its limit, further attempts are refused until the oldest failure
//! leaves the window. An attempt counts from the moment it starts (a guessing loop sending many
//! at once gets no more than the limit checked), and a success takes its own count back and
//! clears the account's (not the address's other failures).

use crate::{
    config::LoginSettings,
    error::{Error, Result},
};
use std::{
    collections::{HashMap, VecDeque},
    sync::Mutex,
    time::{Duration, Instant},
};

/// Counts failed logins. Kept in memory per instance.
#[derive(Debug)]
pub struct LoginThrottle {
    per_account: u32,
    per_address: u32,
    window: Duration,
    failures: Mutex<HashMap<String, VecDeque<Instant>>>,
}

const MAX_KEYS: usize = 100_000;

impl LoginThrottle {
    /// A throttle with the configured limits.
    pub fn new(settings: &LoginSettings) -> Self {
        Self {
            per_account: settings.max_failures_per_account,
            per_address: settings.max_failures_per_address,
            window: Duration::from_secs(settings.window_secs),
            failures: Mutex::new(HashMap::new()),
        }
    }

    fn account_key(account: &str) -> String {
        format!("a:{}", account.trim().to_lowercase())
    }

    fn address_key(address: &str) -> String {
        format!("i:{address}")
    }

    /// Starts a login attempt, or refuses it when the account or the address is at its limit.
    /// The attempt counts as a failure from now on, so that guesses sent side by side cannot
    /// all pass the check before the first of them is found wrong; [`Self::succeeded`] takes it
    /// back when the password was right.
    pub fn begin(&self, account: &str, address: Option<&str>) -> Result<Attempt> {
        let now = Instant::now();
        let mut map = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() >= MAX_KEYS {
            map.retain(|_, v| {
                v.back()
                    .is_some_and(|t| now.duration_since(*t) < self.window)
            });
        }
        let attempt = Attempt {
            account: Self::account_key(account),
            address: address.map(Self::address_key),
            at: now,
        };
        let mut wait = |key: &str, limit: u32| -> Option<Duration> {
            let entries = map.get_mut(key)?;
            while entries
                .front()
                .is_some_and(|t| now.duration_since(*t) >= self.window)
            {
                entries.pop_front();
            }
            (entries.len() >= limit as usize).then(|| {
                let oldest = entries.front().copied().unwrap_or(now);
                self.window.saturating_sub(now.duration_since(oldest))
            })
        };
        if let Some(d) = wait(&attempt.account, self.per_account) {
            return Err(limited("this account", d));
        }
        if let Some(key) = &attempt.address
            && let Some(d) = wait(key, self.per_address)
        {
            return Err(limited("your address", d));
        }
        for key in std::iter::once(&attempt.account).chain(&attempt.address) {
            map.entry(key.clone()).or_default().push_back(now);
        }
        Ok(attempt)
    }

    /// The attempt's password was right: the account's failures are cleared, and the attempt
    /// no longer counts against the address.
    pub fn succeeded(&self, attempt: &Attempt) {
        let mut map = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        map.remove(&attempt.account);
        if let Some(entries) = attempt.address.as_ref().and_then(|k| map.get_mut(k))
            && let Some(i) = entries.iter().position(|t| *t == attempt.at)
        {
            entries.remove(i);
        }
    }
}

/// A login attempt under way, counted as a failure until it succeeds.
#[derive(Debug)]
pub struct Attempt {
    account: String,
    address: Option<String>,
    at: Instant,
}

fn limited(what: &str, wait: Duration) -> Error {
    let secs = wait.as_secs().max(1);
    Error::RateLimited {
        message: format!("too many failed logins from {what}; try again in {secs} seconds"),
        retry_after_secs: secs,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn throttle(account: u32, address: u32) -> LoginThrottle {
        LoginThrottle::new(&LoginSettings {
            max_failures_per_account: account,
            max_failures_per_address: address,
            window_secs: 60,
            one_time_password_ttl_secs: 0,
        })
    }

    #[test]
    fn account_limit() {
        let t = throttle(3, 100);
        for _ in 0..3 {
            t.begin("Alice", Some("1.1.1.1")).expect("allowed");
        }
        let err = t.begin("alice", Some("2.2.2.2")).unwrap_err();
        assert!(err.to_string().contains("this account"), "{err}");
        t.begin("bob", Some("1.1.1.1"))
            .expect("other accounts unaffected");
    }

    #[test]
    fn address_limit_spans_accounts() {
        let t = throttle(100, 4);
        for i in 0..4 {
            t.begin(&format!("user{i}"), Some("9.9.9.9"))
                .expect("allowed");
        }
        let err = t.begin("someone-else", Some("9.9.9.9")).unwrap_err();
        assert!(err.to_string().contains("your address"), "{err}");
        t.begin("someone-else", Some("8.8.8.8"))
            .expect("other address allowed");
    }

    #[test]
    fn attempts_under_way_count_before_they_fail() {
        let t = throttle(3, 100);
        let pending: Vec<Attempt> = (0..3)
            .map(|_| t.begin("dave", Some("1.1.1.1")).expect("allowed"))
            .collect();
        assert!(
            t.begin("dave", Some("1.1.1.1")).is_err(),
            "a fourth guess sent alongside the first three is refused"
        );
        drop(pending);
    }

    #[test]
    fn success_clears_the_account_and_its_own_address_entry() {
        let t = throttle(2, 2);
        t.begin("carol", Some("5.5.5.5")).expect("first");
        let right = t.begin("carol", Some("5.5.5.5")).expect("second");
        t.succeeded(&right);
        t.begin("carol", Some("5.5.5.5"))
            .expect("the account is clear and the address holds one failure");
        assert!(
            t.begin("erin", Some("5.5.5.5")).is_err(),
            "the address keeps its two failures"
        );
    }
}
