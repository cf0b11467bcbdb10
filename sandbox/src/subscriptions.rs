//! Graph change notifications: `POST /v1.0/subscriptions` validates the subscriber's address
//! (a `validationToken` POST that must be echoed as text within 10 s) before it creates the
//! subscription; `PATCH` renews one (at most 41,760 minutes ahead), `DELETE` ends it. After a
//! directory change every `/users` and `/groups` subscriber gets a notification carrying its
//! client state, as Graph would send it.

use crate::{
    State,
    directory::Change,
    microsoft::{graph_call, graph_error},
};
use actix_web::{HttpRequest, HttpResponse, delete, patch, post, web};
use serde_json::{Value, json};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A subscription Graph holds.
#[derive(Debug, Clone)]
pub struct Subscription {
    /// Its id.
    pub id: String,
    /// `/users` or `/groups`.
    pub resource: String,
    /// Where notifications go.
    pub notification_url: String,
    /// The subscriber's secret, echoed in every notification.
    pub client_state: String,
    /// When it lapses (RFC 3339).
    pub expires: String,
}

/// The longest lifetime of a users or groups subscription, in seconds.
const MAX_LIFETIME_SECS: u64 = 41_760 * 60;

/// Seconds from now to an RFC 3339 instant (`None` when unreadable).
fn seconds_until(instant: &str) -> Option<i64> {
    let at = time_of(instant)?;
    let now = SystemTime::now().duration_since(UNIX_EPOCH).ok()?.as_secs() as i64;
    Some(at - now)
}

/// Reads `YYYY-MM-DDTHH:MM:SS[.fff]Z` as Unix seconds.
fn time_of(instant: &str) -> Option<i64> {
    let t = instant.trim_end_matches('Z');
    let (date, time) = t.split_once('T')?;
    let mut d = date.split('-').map(|p| p.parse::<i64>().ok());
    let (y, m, day) = (d.next()??, d.next()??, d.next()??);
    let time = time.split('.').next()?;
    let mut h = time.split(':').map(|p| p.parse::<i64>().ok());
    let (hh, mm, ss) = (h.next()??, h.next()??, h.next()??);
    // Days from the civil date (Howard Hinnant's algorithm).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(days * 86_400 + hh * 3600 + mm * 60 + ss)
}

/// The refusal of an expiration outside what Graph allows.
fn bad_expiry(expires: &str) -> Option<HttpResponse> {
    match seconds_until(expires) {
        Some(s) if s > 0 && s as u64 <= MAX_LIFETIME_SECS => None,
        _ => Some(graph_error(
            400,
            "InvalidRequest",
            "Subscription expiration can only be 41760 minutes in the future.",
        )),
    }
}

/// `POST /v1.0/subscriptions`.
#[post("/microsoft/graph/v1.0/subscriptions")]
pub async fn create(
    state: web::Data<State>,
    req: HttpRequest,
    body: web::Json<Value>,
) -> HttpResponse {
    if let Some(refusal) = graph_call(&state, &req) {
        return refusal;
    }
    let field = |k: &str| body.get(k).and_then(Value::as_str).map(str::to_string);
    let (Some(resource), Some(url), Some(expires)) = (
        field("resource"),
        field("notificationUrl"),
        field("expirationDateTime"),
    ) else {
        return graph_error(
            400,
            "InvalidRequest",
            "resource, notificationUrl and expirationDateTime are required.",
        );
    };
    if !matches!(resource.as_str(), "/users" | "users" | "/groups" | "groups") {
        return graph_error(400, "InvalidRequest", "Unsupported resource.");
    }
    if let Some(refusal) = bad_expiry(&expires) {
        return refusal;
    }
    let client_state = field("clientState").unwrap_or_default();
    if client_state.len() > 128 {
        return graph_error(
            400,
            "InvalidRequest",
            "clientState is longer than 128 characters.",
        );
    }
    for address in [Some(url.clone()), field("lifecycleNotificationUrl")]
        .into_iter()
        .flatten()
    {
        if !validated(&address).await {
            return graph_error(
                400,
                "InvalidRequest",
                "Subscription validation request failed. Notification endpoint must respond with 200 OK to validation request.",
            );
        }
    }
    let subscription = Subscription {
        id: format!("5b{}", crate::random(30).to_lowercase()),
        resource: format!("/{}", resource.trim_start_matches('/')),
        notification_url: url,
        client_state,
        expires,
    };
    let answer = json!({
        "id": subscription.id, "resource": subscription.resource,
        "changeType": body.get("changeType"), "notificationUrl": subscription.notification_url,
        "expirationDateTime": subscription.expires, "clientState": subscription.client_state,
        "applicationId": state.company().entra.client_id,
    });
    state
        .inner
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .subscriptions
        .push(subscription);
    HttpResponse::Created().json(answer)
}

/// Graph's handshake: the address must echo the token as text within 10 s.
async fn validated(address: &str) -> bool {
    let token = format!("Validation: {}", crate::random(12));
    let Ok(client) = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
    else {
        return false;
    };
    let Ok(response) = client
        .post(address)
        .query(&[("validationToken", token.as_str())])
        .header("content-type", "text/plain; charset=utf-8")
        .send()
        .await
    else {
        return false;
    };
    response.status().as_u16() == 200 && response.text().await.is_ok_and(|t| t == token)
}

/// `PATCH /v1.0/subscriptions/{id}`: a new expiration.
#[patch("/microsoft/graph/v1.0/subscriptions/{id}")]
pub async fn renew(
    state: web::Data<State>,
    req: HttpRequest,
    id: web::Path<String>,
    body: web::Json<Value>,
) -> HttpResponse {
    if let Some(refusal) = graph_call(&state, &req) {
        return refusal;
    }
    let Some(expires) = body.get("expirationDateTime").and_then(Value::as_str) else {
        return graph_error(400, "InvalidRequest", "expirationDateTime is required.");
    };
    if let Some(refusal) = bad_expiry(expires) {
        return refusal;
    }
    let mut inner = state.inner.lock().unwrap_or_else(|e| e.into_inner());
    let Some(s) = inner.subscriptions.iter_mut().find(|s| s.id == *id) else {
        return graph_error(404, "ResourceNotFound", "The object was not found.");
    };
    s.expires = expires.to_string();
    HttpResponse::Ok()
        .json(json!({ "id": s.id, "resource": s.resource, "expirationDateTime": s.expires }))
}

/// `DELETE /v1.0/subscriptions/{id}`.
#[delete("/microsoft/graph/v1.0/subscriptions/{id}")]
pub async fn remove(
    state: web::Data<State>,
    req: HttpRequest,
    id: web::Path<String>,
) -> HttpResponse {
    if let Some(refusal) = graph_call(&state, &req) {
        return refusal;
    }
    let mut inner = state.inner.lock().unwrap_or_else(|e| e.into_inner());
    let before = inner.subscriptions.len();
    inner.subscriptions.retain(|s| s.id != *id);
    if inner.subscriptions.len() == before {
        return graph_error(404, "ResourceNotFound", "The object was not found.");
    }
    HttpResponse::NoContent().finish()
}

/// Notifies every subscriber of a resource the changes touch (in the background; a subscriber
/// that does not answer is not retried).
pub fn notify(state: &State, changes: &[Change]) {
    let people = changes.iter().any(|c| {
        matches!(
            c,
            Change::AddPerson { .. }
                | Change::RenamePerson { .. }
                | Change::MovePerson { .. }
                | Change::RemovePerson { .. }
        )
    });
    let groups = changes
        .iter()
        .any(|c| !matches!(c, Change::RenamePerson { .. } | Change::Scope { .. }));
    let tenant = state.company().entra.tenant_id.clone();
    let due: Vec<Subscription> = state
        .inner
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .subscriptions
        .iter()
        .filter(|s| (s.resource == "/users" && people) || (s.resource == "/groups" && groups))
        .cloned()
        .collect();
    let Ok(runtime) = tokio::runtime::Handle::try_current() else {
        return;
    };
    for s in due {
        let kind = if s.resource == "/users" {
            "Users"
        } else {
            "Groups"
        };
        let note = json!({ "value": [{
            "id": crate::random(16), "subscriptionId": s.id, "subscriptionExpirationDateTime": s.expires,
            "clientState": s.client_state, "changeType": "updated", "resource": kind, "tenantId": tenant,
            "resourceData": { "@odata.type": format!("#Microsoft.Graph.{}", kind.trim_end_matches('s')) },
        }] });
        runtime.spawn(async move {
            let _ = reqwest::Client::new()
                .post(&s.notification_url)
                .json(&note)
                .timeout(Duration::from_secs(3))
                .send()
                .await;
        });
    }
}

/// Registers the subscription routes.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(create).service(renew).service(remove);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instants_read_as_unix_seconds() {
        assert_eq!(time_of("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(time_of("2024-01-01T00:00:00.0000000Z"), Some(1_704_067_200));
        assert_eq!(time_of("not a time"), None);
    }
}
