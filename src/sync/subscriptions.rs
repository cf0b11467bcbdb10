//! Keeps each Teams connection's Graph change-notification subscriptions alive: one for `/users`,
//! one for `/groups` when groups are its departments, pointed at Roster's callback address with
//! the connection's callback token as client state. Created when missing, renewed a day before
//! they lapse, created again when Graph dropped them (a lifecycle `subscriptionRemoved`, or a
//! renewal Graph answers 404), and ended when no longer wanted. The subscriptions are kept in
//! the connection's settings (`graphSubscriptions`).

use crate::{
    error::{Result, error_chain},
    org::connections::{self, TeamsDepartments},
    providers::microsoft::subscriptions::{MAX_LIFETIME_MINUTES, Subscription},
    state::AppState,
};
use chrono::{Duration, Utc};
use entity::connection;
use sea_orm::{ActiveValue::Set, EntityTrait};
use serde_json::json;

const KEY: &str = "graphSubscriptions";

/// Renewed when less than this is left.
fn renew_within() -> Duration {
    Duration::days(1)
}

/// The subscriptions a connection holds.
pub fn held(conn: &connection::Model) -> Vec<Subscription> {
    conn.settings
        .get(KEY)
        .cloned()
        .and_then(|v| serde_json::from_value(v).ok())
        .unwrap_or_default()
}

/// The resources a connection wants notifications for.
fn wanted(conn: &connection::Model) -> Vec<&'static str> {
    match connections::teams_departments(conn) {
        TeamsDepartments::Attribute => vec!["/users"],
        TeamsDepartments::Groups => vec!["/users", "/groups"],
    }
}

/// Keeps the subscriptions of these Teams connections (those without a callback token have
/// none); one connection's trouble is logged and does not hold up the others.
pub async fn keep_all(app: &AppState, conns: &[connection::Model]) {
    for conn in conns {
        if let Err(e) = keep(app, conn, &[], &[]).await {
            tracing::warn!(connection = conn.id, error = %error_chain(&e), "keeping the Graph subscriptions failed; tried again later");
        }
    }
}

/// Brings one connection's subscriptions to what it wants; `dropped` names subscriptions Graph
/// said it removed (they are created again), `reauthorize` those Graph asked to have renewed
/// now. Returns whether anything changed.
pub async fn keep(
    app: &AppState,
    conn: &connection::Model,
    dropped: &[String],
    reauthorize: &[String],
) -> Result<bool> {
    let Some(client_state) = conn
        .callback_token_enc
        .as_deref()
        .and_then(|s| app.secrets.open_str(s).ok())
    else {
        // Without a client state notifications could not be told from forgeries.
        return Ok(false);
    };
    let ms = connections::microsoft_app(&app.secrets, conn)?;
    let graph = &app.providers.microsoft;
    let url = format!(
        "{}/callbacks/microsoft/{}",
        app.settings.public_url(),
        conn.id
    );
    let now = Utc::now();
    // A minute short of the maximum, so that clock skew never makes Graph refuse it.
    let until = now + Duration::minutes(MAX_LIFETIME_MINUTES - 1);
    let held = held(conn);
    let wanted = wanted(conn);
    let mut kept = Vec::new();
    for resource in &wanted {
        let current = held
            .iter()
            .find(|s| s.resource == *resource && !dropped.contains(&s.id));
        let next = match current {
            Some(s) if s.expires_at - now > renew_within() && !reauthorize.contains(&s.id) => {
                s.clone()
            }
            Some(s) => match graph.renew(&ms, s, until).await? {
                Some(renewed) => renewed,
                None => {
                    graph
                        .subscribe(&ms, resource, &url, &client_state, until)
                        .await?
                }
            },
            None => {
                graph
                    .subscribe(&ms, resource, &url, &client_state, until)
                    .await?
            }
        };
        kept.push(next);
    }
    for unwanted in held
        .iter()
        .filter(|s| !kept.iter().any(|k| k.id == s.id) && !dropped.contains(&s.id))
    {
        if let Err(e) = graph.unsubscribe(&ms, unwanted).await {
            tracing::warn!(connection = conn.id, subscription = %unwanted.id, error = %error_chain(&e), "ending an unwanted Graph subscription failed");
        }
    }
    if kept == held {
        return Ok(false);
    }
    // Written over the connection as it is now: a delta run may have stored new links meanwhile.
    let txn = crate::db::begin_write(&app.db).await?;
    if let Some(fresh) = connection::Entity::find_by_id(conn.id).one(&txn).await? {
        let mut settings = fresh.settings;
        settings[KEY] = json!(kept);
        connection::Entity::update(connection::ActiveModel {
            id: Set(conn.id),
            settings: Set(settings),
            ..Default::default()
        })
        .exec(&txn)
        .await?;
    }
    txn.commit().await?;
    tracing::info!(
        connection = conn.id,
        subscriptions = kept.len(),
        "Graph subscriptions created or renewed"
    );
    Ok(true)
}
