//! Login throttling: failures are counted per account and per client address in a sliding window;
//! when either count reaches its limit, further attempts are refused until the oldest failure
//! leaves the window. A success clears the account's count (not the address's).

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

    /// Refuses the attempt when the account or the address is over its limit.
    pub fn check(&self, account: &str, address: Option<&str>) -> Result<()> {
        let now = Instant::now();
        let mut map = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        let mut wait = |key: String, limit: u32| -> Option<Duration> {
            let entries = map.get_mut(&key)?;
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
        if let Some(d) = wait(Self::account_key(account), self.per_account) {
            return Err(limited("this account", d));
        }
        if let Some(address) = address
            && let Some(d) = wait(Self::address_key(address), self.per_address)
        {
            return Err(limited("your address", d));
        }
        Ok(())
    }

    /// Records a failed attempt.
    pub fn record_failure(&self, account: &str, address: Option<&str>) {
        let now = Instant::now();
        let mut map = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() >= MAX_KEYS {
            map.retain(|_, v| {
                v.back()
                    .is_some_and(|t| now.duration_since(*t) < self.window)
            });
        }
        map.entry(Self::account_key(account))
            .or_default()
            .push_back(now);
        if let Some(address) = address {
            map.entry(Self::address_key(address))
                .or_default()
                .push_back(now);
        }
    }

    /// Clears the account's failures after a successful login.
    pub fn record_success(&self, account: &str) {
        self.failures
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&Self::account_key(account));
    }
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
        })
    }

    #[test]
    fn account_limit() {
        let t = throttle(3, 100);
        for _ in 0..3 {
            t.check("Alice", Some("1.1.1.1")).expect("allowed");
            t.record_failure("Alice", Some("1.1.1.1"));
        }
        let err = t.check("alice", Some("2.2.2.2")).unwrap_err();
        assert!(err.to_string().contains("this account"), "{err}");
        t.check("bob", Some("1.1.1.1"))
            .expect("other accounts unaffected");
    }

    #[test]
    fn address_limit_spans_accounts() {
        let t = throttle(100, 4);
        for i in 0..4 {
            t.record_failure(&format!("user{i}"), Some("9.9.9.9"));
        }
        let err = t.check("someone-else", Some("9.9.9.9")).unwrap_err();
        assert!(err.to_string().contains("your address"), "{err}");
        t.check("someone-else", Some("8.8.8.8"))
            .expect("other address allowed");
    }

    #[test]
    fn success_clears_account() {
        let t = throttle(2, 100);
        t.record_failure("carol", None);
        t.record_success("carol");
        t.record_failure("carol", None);
        t.check("carol", None).expect("one failure left");
    }
}
