//! App access tokens cached per application until shortly before they expire.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

/// Tokens by application key.
#[derive(Clone, Default)]
pub struct TokenCache {
    tokens: Arc<Mutex<HashMap<String, (String, Instant)>>>,
}

/// Tokens are renewed this long before the provider says they expire.
const MARGIN: Duration = Duration::from_secs(300);

impl TokenCache {
    /// The cached token of an application, if still fresh.
    pub fn get(&self, app: &str) -> Option<String> {
        let tokens = self.tokens.lock().unwrap_or_else(|e| e.into_inner());
        tokens
            .get(app)
            .filter(|(_, until)| *until > Instant::now())
            .map(|(t, _)| t.clone())
    }

    /// Stores a token that lives `expires_in` seconds.
    pub fn put(&self, app: &str, token: String, expires_in: u64) {
        let until = Instant::now() + Duration::from_secs(expires_in).saturating_sub(MARGIN);
        self.tokens
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(app.to_string(), (token, until));
    }

    /// Drops a token the provider refused.
    pub fn forget(&self, app: &str) {
        self.tokens
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(app);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caches_until_the_margin() {
        let cache = TokenCache::default();
        cache.put("app", "t1".into(), 7200);
        assert_eq!(cache.get("app").as_deref(), Some("t1"));
        cache.put("short", "t2".into(), 100);
        assert_eq!(
            cache.get("short"),
            None,
            "a token within the margin is not served"
        );
        cache.forget("app");
        assert_eq!(cache.get("app"), None);
    }
}
