//! Provider callbacks for incremental sync, one address per connection:
//!
//! - `POST /callbacks/dingtalk/{connection}`: DingTalk's encrypted HTTP push. The `check_url`
//!   handshake and every event are answered with the encrypted `success` DingTalk expects.
//! - `GET /callbacks/wecom/{connection}`: WeCom's URL verification (the decrypted `echostr`, bare).
//! - `POST /callbacks/wecom/{connection}`: WeCom's encrypted XML `change_contact` events.
//! - `POST /callbacks/microsoft/{connection}`: Graph change notifications, and their
//!   `validationToken` handshake; a notification runs the stored delta query.
//!
//! A bad signature is refused with 403 and changes nothing; a redelivered event is acknowledged
//! and not applied again. Events are applied after the reply (providers want an answer within a
//! second or two).

use crate::{
    error::{Error, Result},
    providers::callback_crypto::{CallbackCrypto, CallbackError},
    state::AppState,
    sync::events,
};
use actix_web::{HttpResponse, get, post, web};
use entity::{connection, enums::Provider};
use sea_orm::EntityTrait;
use serde::Deserialize;
use serde_json::{Value, json};

/// The signature parameters of a callback.
#[derive(Debug, Deserialize)]
pub struct Signed {
    signature: Option<String>,
    msg_signature: Option<String>,
    timestamp: Option<String>,
    nonce: Option<String>,
    echostr: Option<String>,
}

async fn connection_of(app: &AppState, id: i64, provider: Provider) -> Result<connection::Model> {
    connection::Entity::find_by_id(id)
        .one(&app.db)
        .await?
        .filter(|c| c.provider == provider)
        .ok_or(Error::NotFound("connection"))
}

/// The callback crypto of a connection for an owner (AppKey, CorpId).
fn crypto(app: &AppState, conn: &connection::Model, owner: &str) -> Result<CallbackCrypto> {
    let open = |sealed: &Option<String>, what: &str| -> Result<String> {
        sealed
            .as_deref()
            .and_then(|s| app.secrets.open_str(s).ok())
            .ok_or_else(|| {
                Error::Forbidden(format!(
                    "this connection has no callback {what}; set callbackToken and callbackAesKey with updateConnection"
                ))
            })
    };
    let token = open(&conn.callback_token_enc, "token")?;
    let key = open(&conn.callback_aes_key_enc, "EncodingAESKey")?;
    CallbackCrypto::new(&token, &key, owner).map_err(|e| {
        Error::validation(
            "callbackAesKey",
            format!("the connection's EncodingAESKey is not usable ({e}); it must be 43 letters and digits"),
        )
    })
}

fn refused(e: CallbackError) -> Error {
    match e {
        CallbackError::Signature => Error::Forbidden(
            "the callback signature does not match; check the callback token".into(),
        ),
        other => Error::Forbidden(format!("the callback could not be decrypted ({other})")),
    }
}

fn required<'a>(value: &'a Option<String>, name: &str) -> Result<&'a str> {
    value
        .as_deref()
        .ok_or_else(|| Error::validation(name, format!("the `{name}` query parameter is missing")))
}

/// Applies an event after the reply; failures are logged and recorded as a failed run.
fn apply_later(app: &AppState, conn: connection::Model, refresh: events::Refresh) {
    let app = app.clone();
    tokio::spawn(async move {
        let _ = events::apply(&app, &conn, refresh).await;
    });
}

/// DingTalk's HTTP push.
#[post("/callbacks/dingtalk/{connection}")]
pub async fn dingtalk(
    app: web::Data<AppState>,
    path: web::Path<i64>,
    query: web::Query<Signed>,
    body: web::Json<Value>,
) -> Result<HttpResponse> {
    let conn = connection_of(&app, *path, Provider::Dingtalk).await?;
    let encrypt = body
        .get("encrypt")
        .and_then(Value::as_str)
        .ok_or_else(|| Error::validation("encrypt", "the body has no `encrypt` field"))?;
    let signature = query
        .msg_signature
        .as_ref()
        .or(query.signature.as_ref())
        .ok_or_else(|| {
            Error::validation("signature", "the `signature` query parameter is missing")
        })?;
    let (timestamp, nonce) = (
        required(&query.timestamp, "timestamp")?,
        required(&query.nonce, "nonce")?,
    );
    let owners = [
        conn.client_id.clone().unwrap_or_default(),
        conn.corp_id.clone(),
    ];
    let by_app = crypto(&app, &conn, &owners[0])?;
    by_app
        .verify(signature, timestamp, nonce, encrypt)
        .map_err(refused)?;
    let (plain, replier) = match by_app.decrypt(encrypt) {
        Ok(plain) => (plain, by_app),
        Err(CallbackError::Owner(_)) => {
            // Events registered through the legacy API are addressed to the CorpId.
            let by_corp = crypto(&app, &conn, &owners[1])?;
            (by_corp.decrypt(encrypt).map_err(refused)?, by_corp)
        }
        Err(e) => return Err(refused(e)),
    };
    let refresh = events::dingtalk_event(&plain)?;
    if !refresh.is_empty() && events::first_delivery(&app.db, conn.id, &refresh).await? {
        apply_later(&app, conn, refresh);
    }
    let ts = chrono::Utc::now().timestamp_millis().to_string();
    let reply_nonce = crate::auth::random_token(8);
    let encrypted = replier.encrypt("success");
    Ok(HttpResponse::Ok().json(json!({
        "msg_signature": replier.signature(&ts, &reply_nonce, &encrypted),
        "timeStamp": ts,
        "nonce": reply_nonce,
        "encrypt": encrypted,
    })))
}

/// WeCom's URL verification.
#[get("/callbacks/wecom/{connection}")]
pub async fn wecom_verify(
    app: web::Data<AppState>,
    path: web::Path<i64>,
    query: web::Query<Signed>,
) -> Result<HttpResponse> {
    let conn = connection_of(&app, *path, Provider::Wecom).await?;
    let c = crypto(&app, &conn, &conn.corp_id)?;
    let echostr = required(&query.echostr, "echostr")?;
    c.verify(
        required(&query.msg_signature, "msg_signature")?,
        required(&query.timestamp, "timestamp")?,
        required(&query.nonce, "nonce")?,
        echostr,
    )
    .map_err(refused)?;
    let plain = c.decrypt(echostr).map_err(refused)?;
    Ok(HttpResponse::Ok().content_type("text/plain").body(plain))
}

/// WeCom's encrypted events.
#[post("/callbacks/wecom/{connection}")]
pub async fn wecom_event(
    app: web::Data<AppState>,
    path: web::Path<i64>,
    query: web::Query<Signed>,
    body: String,
) -> Result<HttpResponse> {
    let conn = connection_of(&app, *path, Provider::Wecom).await?;
    let c = crypto(&app, &conn, &conn.corp_id)?;
    let encrypt = events::xml_field(&body, "Encrypt")
        .ok_or_else(|| Error::validation("Encrypt", "the body has no <Encrypt> element"))?;
    c.verify(
        required(&query.msg_signature, "msg_signature")?,
        required(&query.timestamp, "timestamp")?,
        required(&query.nonce, "nonce")?,
        &encrypt,
    )
    .map_err(refused)?;
    let plain = c.decrypt(&encrypt).map_err(refused)?;
    let refresh = events::wecom_event(&plain)?;
    if !refresh.is_empty() && events::first_delivery(&app.db, conn.id, &refresh).await? {
        apply_later(&app, conn, refresh);
    }
    Ok(HttpResponse::Ok().finish())
}

/// The Graph validation handshake.
#[derive(Debug, Deserialize)]
pub struct Validation {
    #[serde(rename = "validationToken")]
    validation_token: Option<String>,
}

/// Microsoft Graph change notifications: the handshake echoes the token; a notification whose
/// `clientState` matches the connection's callback token runs the stored delta query.
#[post("/callbacks/microsoft/{connection}")]
pub async fn microsoft(
    app: web::Data<AppState>,
    path: web::Path<i64>,
    query: web::Query<Validation>,
    body: web::Bytes,
) -> Result<HttpResponse> {
    let conn = connection_of(&app, *path, Provider::Teams).await?;
    if let Some(token) = &query.validation_token {
        return Ok(HttpResponse::Ok()
            .content_type("text/plain; charset=utf-8")
            .body(token.clone()));
    }
    let expected = conn
        .callback_token_enc
        .as_deref()
        .and_then(|s| app.secrets.open_str(s).ok())
        .ok_or_else(|| {
            Error::Forbidden("this connection has no callback token to check clientState".into())
        })?;
    let notes: Value = serde_json::from_slice(&body)
        .map_err(|e| Error::validation("value", format!("the notification is not JSON: {e}")))?;
    let all_ours = notes
        .get("value")
        .and_then(Value::as_array)
        .is_some_and(|v| {
            !v.is_empty()
                && v.iter().all(|n| {
                    n.get("clientState").and_then(Value::as_str) == Some(expected.as_str())
                })
        });
    if !all_ours {
        return Err(Error::Forbidden(
            "the notification's clientState does not match this connection".into(),
        ));
    }
    // Lifecycle notifications: a subscription Graph removed is created again (one needing
    // reauthorization is renewed the same way), and missed notifications are caught up by the
    // delta query like any change.
    let lifecycle = |event: &str| -> Vec<String> {
        notes["value"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|n| n.get("lifecycleEvent").and_then(Value::as_str) == Some(event))
            .filter_map(|n| n.get("subscriptionId").and_then(Value::as_str))
            .map(str::to_string)
            .collect()
    };
    let dropped = lifecycle("subscriptionRemoved");
    let reauthorize = lifecycle("reauthorizationRequired");
    let app = app.get_ref().clone();
    tokio::spawn(async move {
        if !(dropped.is_empty() && reauthorize.is_empty())
            && let Err(e) =
                crate::sync::subscriptions::keep(&app, &conn, &dropped, &reauthorize).await
        {
            tracing::warn!(connection = conn.id, error = %crate::error::error_chain(&e), "renewing Graph subscriptions after a lifecycle notification failed");
        }
        if let Err(e) = crate::sync::runner::delta(&app, &conn).await {
            tracing::warn!(connection = conn.id, error = %crate::error::error_chain(&e), "the Graph delta query after a notification failed");
        }
    });
    Ok(HttpResponse::Accepted().finish())
}
