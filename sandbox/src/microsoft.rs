//! Microsoft Entra ID as Roster sees it: the v2.0 authorize endpoint with PKCE and nonce (and a
//! "phone" page to pick who signs in), the token endpoint answering with an RS256 id_token,
//! OpenID discovery, the JWKS, and Graph `/me`. Errors follow Entra's OAuth shape
//! (`{error, error_description, error_codes}`).
//!
//! The signing key is a fixed test key (`microsoft_signing_key.pem`), not a secret: it exists so
//! that tests need not generate an RSA key on every start.

use crate::{
    State,
    dingtalk::{encode, escape},
};
use actix_web::{HttpRequest, HttpResponse, get, post, web};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde::Deserialize;
use serde_json::json;
use sha2::{Digest, Sha256};
use std::time::{SystemTime, UNIX_EPOCH};

const SIGNING_KEY: &str = include_str!("microsoft_signing_key.pem");
const MODULUS: &str = include_str!("microsoft_signing_key.n");
const KID: &str = "sandbox-rs256-1";

/// A login in progress: who signed in and what the client promised.
#[derive(Debug, Clone)]
pub struct Pending {
    /// The person's object id.
    pub object_id: String,
    /// PKCE challenge.
    pub challenge: String,
    /// OIDC nonce.
    pub nonce: String,
    /// The redirect URI used.
    pub redirect_uri: String,
}

fn oauth_error(status: u16, error: &str, code: u64, text: &str) -> HttpResponse {
    HttpResponse::build(actix_web::http::StatusCode::from_u16(status).unwrap_or(actix_web::http::StatusCode::BAD_REQUEST)).json(json!({
        "error": error,
        "error_description": format!("AADSTS{code}: {text}\r\nTrace ID: {}\r\nCorrelation ID: {}", crate::random(8), crate::random(8)),
        "error_codes": [code],
    }))
}

fn issuer(req: &HttpRequest, tenant: &str) -> String {
    let info = req.connection_info();
    format!(
        "{}://{}/microsoft/login/{tenant}/v2.0",
        info.scheme(),
        info.host()
    )
}

/// Query of the authorize endpoint.
#[derive(Deserialize)]
pub struct Authorize {
    client_id: Option<String>,
    response_type: Option<String>,
    redirect_uri: Option<String>,
    scope: Option<String>,
    state: Option<String>,
    nonce: Option<String>,
    code_challenge: Option<String>,
    code_challenge_method: Option<String>,
}

/// The sign-in page: in the sandbox, the list of who can sign in.
#[get("/microsoft/login/{tenant}/oauth2/v2.0/authorize")]
pub async fn authorize(
    state: web::Data<State>,
    tenant: web::Path<String>,
    query: web::Query<Authorize>,
) -> HttpResponse {
    let entra = &state.company().entra;
    if tenant.as_str() != entra.tenant_id {
        return HttpResponse::BadRequest().body("AADSTS90002: tenant not found");
    }
    if query.client_id.as_deref() != Some(entra.client_id.as_str()) {
        return HttpResponse::BadRequest()
            .body("AADSTS700016: application not found in the directory");
    }
    if query.response_type.as_deref() != Some("code")
        || !query
            .scope
            .as_deref()
            .unwrap_or_default()
            .split(' ')
            .any(|s| s == "openid")
    {
        return HttpResponse::BadRequest()
            .body("invalid_request: response_type must be code and scope must include openid");
    }
    let (Some(redirect), Some(nonce), Some(challenge)) =
        (&query.redirect_uri, &query.nonce, &query.code_challenge)
    else {
        return HttpResponse::BadRequest()
            .body("invalid_request: redirect_uri, nonce and code_challenge are required");
    };
    if query.code_challenge_method.as_deref() != Some("S256") {
        return HttpResponse::BadRequest()
            .body("invalid_request: code_challenge_method must be S256");
    }
    let st = query.state.clone().unwrap_or_default();
    let rows: String = state
        .company()
        .people
        .iter()
        .take(200)
        .map(|p| {
            format!(
                "<li><a href=\"/microsoft/login/scan?oid={}&redirect_uri={}&state={}&nonce={}&challenge={}\">{} <small>(userid {})</small></a></li>",
                encode(&p.object_id),
                encode(redirect),
                encode(&st),
                encode(nonce),
                encode(challenge),
                escape(&p.name),
                escape(&p.userid)
            )
        })
        .collect();
    HttpResponse::Ok().content_type("text/html; charset=utf-8").body(format!(
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>Microsoft sandbox — sign in</title></head>\
         <body><h1>Microsoft sandbox</h1><p>Sign in to tenant <b>{}</b> as:</p><ul>{rows}</ul></body></html>",
        escape(&entra.tenant_id)
    ))
}

/// The picked person signs in.
#[derive(Deserialize)]
pub struct Scan {
    oid: String,
    redirect_uri: String,
    state: Option<String>,
    nonce: String,
    challenge: String,
}

/// Redirects back with a code (or `access_denied` for refused people).
#[get("/microsoft/login/scan")]
pub async fn scan(state: web::Data<State>, query: web::Query<Scan>) -> HttpResponse {
    let sep = if query.redirect_uri.contains('?') {
        '&'
    } else {
        '?'
    };
    let st = encode(query.state.as_deref().unwrap_or_default());
    let person = state
        .company()
        .people
        .iter()
        .find(|p| p.object_id == query.oid)
        .cloned();
    let Some(person) = person.filter(|p| !state.refused(&p.userid)) else {
        return HttpResponse::Found()
            .insert_header((
                "Location",
                format!(
                    "{}{sep}error=access_denied&error_description=AADSTS65004&state={st}",
                    query.redirect_uri
                ),
            ))
            .finish();
    };
    let code = crate::random(40);
    state
        .inner
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .ms_codes
        .insert(
            code.clone(),
            Pending {
                object_id: person.object_id,
                challenge: query.challenge.clone(),
                nonce: query.nonce.clone(),
                redirect_uri: query.redirect_uri.clone(),
            },
        );
    HttpResponse::Found()
        .insert_header((
            "Location",
            format!("{}{sep}code={code}&state={st}", query.redirect_uri),
        ))
        .finish()
}

/// Form of the token request.
#[derive(Deserialize)]
pub struct TokenForm {
    client_id: Option<String>,
    client_secret: Option<String>,
    grant_type: Option<String>,
    code: Option<String>,
    redirect_uri: Option<String>,
    code_verifier: Option<String>,
}

/// The token endpoint: a code (with its PKCE verifier) for tokens including a signed id_token.
#[post("/microsoft/login/{tenant}/oauth2/v2.0/token")]
pub async fn token(
    state: web::Data<State>,
    req: HttpRequest,
    tenant: web::Path<String>,
    form: web::Form<TokenForm>,
) -> HttpResponse {
    if let Some(fault) = state.take_fault() {
        return fault;
    }
    let entra = state.company().entra.clone();
    if tenant.as_str() != entra.tenant_id {
        return oauth_error(400, "invalid_request", 90002, "Tenant not found.");
    }
    if form.client_id.as_deref() != Some(entra.client_id.as_str())
        || form.client_secret.as_deref() != Some(entra.client_secret.as_str())
    {
        return oauth_error(
            401,
            "invalid_client",
            7000215,
            "Invalid client secret provided.",
        );
    }
    if form.grant_type.as_deref() == Some("client_credentials") {
        let app_token = crate::random(48);
        state
            .inner
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .graph_tokens
            .insert(
                app_token.clone(),
                std::time::Instant::now() + std::time::Duration::from_secs(3600),
            );
        return HttpResponse::Ok().json(
            json!({ "token_type": "Bearer", "expires_in": 3599, "access_token": app_token }),
        );
    }
    if form.grant_type.as_deref() != Some("authorization_code") {
        return oauth_error(
            400,
            "unsupported_grant_type",
            70003,
            "The grant type is not supported.",
        );
    }
    let pending = form.code.as_ref().and_then(|c| {
        state
            .inner
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .ms_codes
            .remove(c)
    });
    let Some(pending) = pending else {
        return oauth_error(
            400,
            "invalid_grant",
            70008,
            "The provided authorization code or refresh token has expired or was already redeemed.",
        );
    };
    if form.redirect_uri.as_deref() != Some(pending.redirect_uri.as_str()) {
        return oauth_error(
            400,
            "invalid_grant",
            50011,
            "The redirect URI does not match the one of the authorization request.",
        );
    }
    let verifier = form.code_verifier.clone().unwrap_or_default();
    if URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes())) != pending.challenge {
        return oauth_error(
            400,
            "invalid_grant",
            501481,
            "The Code_Verifier does not match the code_challenge supplied in the authorization request.",
        );
    }
    let company = state.company();
    let Some(person) = company
        .people
        .iter()
        .find(|p| p.object_id == pending.object_id)
    else {
        return oauth_error(
            400,
            "invalid_grant",
            50034,
            "The user account does not exist.",
        );
    };
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default();
    let mut claims = json!({
        "iss": issuer(&req, &entra.tenant_id), "aud": entra.client_id, "iat": now, "nbf": now, "exp": now + 3600,
        "oid": person.object_id, "tid": entra.tenant_id, "sub": format!("pairwise-{}", person.object_id),
        "name": person.name, "preferred_username": person.email, "email": person.email, "nonce": pending.nonce, "ver": "2.0",
    });
    let fault = state
        .inner
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .id_token_fault
        .take();
    match fault.as_deref() {
        Some("wrong_audience") => claims["aud"] = json!("00000000-0000-0000-0000-00000000beef"),
        Some("wrong_tenant") => claims["tid"] = json!("99999999-0000-4000-8000-000000000009"),
        _ => {}
    }
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some(KID.into());
    let id_token = match EncodingKey::from_rsa_pem(SIGNING_KEY.as_bytes())
        .and_then(|key| jsonwebtoken::encode(&header, &claims, &key))
    {
        Ok(t) => t,
        Err(e) => {
            return HttpResponse::InternalServerError()
                .body(format!("sandbox signing failed: {e}"));
        }
    };
    let id_token = if fault.as_deref() == Some("tampered") {
        // Swap the payload for another one; the signature no longer matches.
        let mut parts: Vec<String> = id_token.split('.').map(str::to_string).collect();
        if parts.len() == 3 {
            let mut forged = claims.clone();
            forged["oid"] = json!("00000000-0000-4000-8000-000000000000");
            parts[1] = URL_SAFE_NO_PAD.encode(forged.to_string());
        }
        parts.join(".")
    } else {
        id_token
    };
    let access_token = crate::random(48);
    state
        .inner
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .user_tokens
        .insert(
            access_token.clone(),
            (
                person.object_id.clone(),
                std::time::Instant::now() + std::time::Duration::from_secs(3600),
            ),
        );
    HttpResponse::Ok().json(json!({
        "token_type": "Bearer", "scope": "openid profile email User.Read", "expires_in": 3599, "ext_expires_in": 3599,
        "access_token": access_token, "id_token": id_token
    }))
}

/// The JSON Web Key Set.
#[get("/microsoft/login/{tenant}/discovery/v2.0/keys")]
pub async fn keys(req: HttpRequest, tenant: web::Path<String>) -> HttpResponse {
    HttpResponse::Ok().json(json!({ "keys": [{
        "kty": "RSA", "use": "sig", "kid": KID, "n": MODULUS.trim(), "e": "AQAB", "issuer": issuer(&req, &tenant)
    }]}))
}

/// OpenID discovery.
#[get("/microsoft/login/{tenant}/v2.0/.well-known/openid-configuration")]
pub async fn discovery(req: HttpRequest, tenant: web::Path<String>) -> HttpResponse {
    let info = req.connection_info();
    let base = format!(
        "{}://{}/microsoft/login/{}",
        info.scheme(),
        info.host(),
        tenant
    );
    HttpResponse::Ok().json(json!({
        "issuer": issuer(&req, &tenant),
        "authorization_endpoint": format!("{base}/oauth2/v2.0/authorize"),
        "token_endpoint": format!("{base}/oauth2/v2.0/token"),
        "jwks_uri": format!("{base}/discovery/v2.0/keys"),
        "response_types_supported": ["code", "id_token", "code id_token"],
        "response_modes_supported": ["query", "fragment", "form_post"],
        "subject_types_supported": ["pairwise"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "scopes_supported": ["openid", "profile", "email", "offline_access"],
        "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt", "client_secret_basic"],
    }))
}

/// The bearer token of a Graph call (empty when absent).
fn bearer(req: &HttpRequest) -> &str {
    req.headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default()
}

/// Graph `/me`.
#[get("/microsoft/graph/v1.0/me")]
pub async fn me(state: web::Data<State>, req: HttpRequest) -> HttpResponse {
    let bearer = bearer(&req);
    let oid = state
        .inner
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .user_tokens
        .get(bearer)
        .map(|(oid, _)| oid.clone());
    let company = state.company();
    match oid.and_then(|oid| company.people.iter().find(|p| p.object_id == oid)) {
        Some(p) => HttpResponse::Ok().json(json!({
            "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#users/$entity",
            "id": p.object_id, "displayName": p.name, "userPrincipalName": p.email, "mail": p.email,
            "jobTitle": p.title, "mobilePhone": p.mobile, "businessPhones": []
        })),
        None => HttpResponse::Unauthorized().json(json!({ "error": { "code": "InvalidAuthenticationToken", "message": "Access token is empty or invalid." } })),
    }
}

/// Registers the Microsoft routes.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(authorize)
        .service(scan)
        .service(token)
        .service(keys)
        .service(discovery)
        .service(me)
        .service(users)
        .service(users_delta)
        .service(groups_delta);
}

pub(crate) fn graph_error(status: u16, code: &str, message: &str) -> HttpResponse {
    HttpResponse::build(
        actix_web::http::StatusCode::from_u16(status)
            .unwrap_or(actix_web::http::StatusCode::BAD_REQUEST),
    )
    .json(json!({ "error": { "code": code, "message": message, "innerError": { "request-id": crate::random(12) } } }))
}

/// The fault queue, then the app token of a Graph call.
pub(crate) fn graph_call(state: &State, req: &HttpRequest) -> Option<HttpResponse> {
    if let Some(fault) = state.take_fault() {
        return Some(fault);
    }
    let bearer = bearer(req);
    let valid = state
        .inner
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .graph_tokens
        .get(bearer)
        .is_some_and(|expiry| *expiry > std::time::Instant::now());
    (!valid).then(|| {
        graph_error(
            401,
            "InvalidAuthenticationToken",
            "Access token has expired or is not yet valid.",
        )
    })
}

fn user_json(company: &crate::company::Company, p: &crate::company::Person) -> serde_json::Value {
    let department = p
        .dept_ids
        .first()
        .and_then(|d| company.department(*d))
        .map(|d| d.name.clone());
    json!({
        "id": p.object_id, "displayName": p.name, "userPrincipalName": p.email, "mail": p.email,
        "jobTitle": p.title, "mobilePhone": p.mobile, "businessPhones": [], "department": department,
        "employeeId": p.userid, "accountEnabled": true,
    })
}

/// A user as a delta round reports it, with the `manager` relationship as `manager@delta`.
fn delta_user_json(
    company: &crate::company::Company,
    p: &crate::company::Person,
) -> serde_json::Value {
    let mut user = user_json(company, p);
    if let Some(manager) = company.manager(p) {
        user["manager@delta"] =
            json!([{ "@odata.type": "#microsoft.graph.user", "id": manager.object_id }]);
    }
    user
}

/// Paging of Graph lists.
#[derive(Deserialize)]
pub struct Paging {
    #[serde(rename = "$top")]
    top: Option<usize>,
    #[serde(rename = "$skiptoken")]
    skiptoken: Option<String>,
    #[serde(rename = "$deltatoken")]
    deltatoken: Option<String>,
}

fn graph_base(req: &HttpRequest) -> String {
    let info = req.connection_info();
    format!("{}://{}/microsoft/graph/v1.0", info.scheme(), info.host())
}

/// `GET /v1.0/users`: every user, `$top` (≤ 999) at a time with `@odata.nextLink`.
#[get("/microsoft/graph/v1.0/users")]
pub async fn users(
    state: web::Data<State>,
    req: HttpRequest,
    query: web::Query<Paging>,
) -> HttpResponse {
    if let Some(refusal) = graph_call(&state, &req) {
        return refusal;
    }
    let top = query.top.unwrap_or(100);
    if !(1..=999).contains(&top) {
        return graph_error(
            400,
            "Request_UnsupportedQuery",
            "Invalid page size specified: '$top'. Must be between 1 and 999 inclusive.",
        );
    }
    let Ok(skip) = query.skiptoken.as_deref().unwrap_or("0").parse::<usize>() else {
        return graph_error(
            400,
            "Directory_InvalidSkipToken",
            "The skip token is not valid.",
        );
    };
    let company = state.company();
    let value: Vec<serde_json::Value> = company
        .people
        .iter()
        .skip(skip)
        .take(top)
        .map(|p| user_json(&company, p))
        .collect();
    let mut body = json!({ "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#users", "value": value });
    if skip + top < company.people.len() {
        body["@odata.nextLink"] = json!(format!(
            "{}/users?$top={top}&$skiptoken={}",
            graph_base(&req),
            skip + top
        ));
    }
    HttpResponse::Ok().json(body)
}

/// `GET /v1.0/users/delta`: the full state paged by `@odata.nextLink`, ending in an
/// `@odata.deltaLink`; the delta link later returns only what changed since, removals as
/// `@removed`. A delta token from the future (or not a number) is `syncStateNotFound` (410).
#[get("/microsoft/graph/v1.0/users/delta")]
pub async fn users_delta(
    state: web::Data<State>,
    req: HttpRequest,
    query: web::Query<Paging>,
) -> HttpResponse {
    if let Some(refusal) = graph_call(&state, &req) {
        return refusal;
    }
    let company = state.company();
    let (since, skip) = match delta_position(&company, &query) {
        Ok(position) => position,
        Err(refusal) => return *refusal,
    };
    let page = 200;
    let mut changes: Vec<serde_json::Value> = if since == 0 {
        company
            .people
            .iter()
            .map(|p| delta_user_json(&company, p))
            .collect()
    } else {
        company
            .people
            .iter()
            .filter(|p| p.version > since)
            .map(|p| delta_user_json(&company, p))
            .collect()
    };
    if since > 0 {
        changes.extend(
            company
                .removed
                .iter()
                .filter(|(_, v)| *v > since)
                .map(|(id, _)| json!({ "id": id, "@removed": { "reason": "deleted" } })),
        );
    }
    delta_page(&req, &query, &company, "users", &changes, skip, page)
}

/// Where a delta request starts: the version its token names (0 for a first round) and how far
/// into the round it is. A token from the future (or not a number) is `syncStateNotFound` (410).
fn delta_position(
    company: &crate::company::Company,
    query: &Paging,
) -> Result<(u64, usize), Box<HttpResponse>> {
    let since = match query.deltatoken.as_deref() {
        None => 0,
        Some("latest") => company.version,
        Some(t) => match t.parse::<u64>() {
            Ok(v) if v <= company.version => v,
            _ => {
                return Err(Box::new(graph_error(
                    410,
                    "syncStateNotFound",
                    "The sync state is not found or has expired; restart the sync.",
                )));
            }
        },
    };
    let Ok(skip) = query.skiptoken.as_deref().unwrap_or("0").parse::<usize>() else {
        return Err(Box::new(graph_error(
            400,
            "Directory_InvalidSkipToken",
            "The skip token is not valid.",
        )));
    };
    Ok((since, skip))
}

/// One page of a delta round over `changes`, with the next link or, at the end, the delta link.
fn delta_page(
    req: &HttpRequest,
    query: &Paging,
    company: &crate::company::Company,
    resource: &str,
    changes: &[serde_json::Value],
    skip: usize,
    page: usize,
) -> HttpResponse {
    let value: Vec<serde_json::Value> = changes.iter().skip(skip).take(page).cloned().collect();
    let mut body = json!({ "@odata.context": format!("https://graph.microsoft.com/v1.0/$metadata#{resource}"), "value": value });
    if skip + page < changes.len() {
        let resume = query
            .deltatoken
            .as_deref()
            .map(|t| format!("$deltatoken={t}&"))
            .unwrap_or_default();
        body["@odata.nextLink"] = json!(format!(
            "{}/{resource}/delta?{resume}$skiptoken={}",
            graph_base(req),
            skip + page
        ));
    } else {
        body["@odata.deltaLink"] = json!(format!(
            "{}/{resource}/delta?$deltatoken={}",
            graph_base(req),
            company.version
        ));
    }
    HttpResponse::Ok().json(body)
}

/// `GET /v1.0/groups/delta`: every department as a security group whose `members@delta` are its
/// people and its sub-departments' groups; later rounds report the groups changed since (their
/// current members, and those who left as `@removed`) and the groups deleted.
#[get("/microsoft/graph/v1.0/groups/delta")]
pub async fn groups_delta(
    state: web::Data<State>,
    req: HttpRequest,
    query: web::Query<Paging>,
) -> HttpResponse {
    if let Some(refusal) = graph_call(&state, &req) {
        return refusal;
    }
    let company = state.company();
    let (since, skip) = match delta_position(&company, &query) {
        Ok(position) => position,
        Err(refusal) => return *refusal,
    };
    let user = |object_id: &str| json!({ "@odata.type": "#microsoft.graph.user", "id": object_id });
    let mut changes: Vec<serde_json::Value> = company
        .departments
        .iter()
        .filter(|d| since == 0 || d.version > since)
        .map(|d| {
            let mut members: Vec<serde_json::Value> =
                company.members(d.id).map(|p| user(&p.object_id)).collect();
            members.extend(company.children(d.id).map(|c| {
                json!({ "@odata.type": "#microsoft.graph.group", "id": crate::company::Company::group_id(c.id) })
            }));
            if since > 0 {
                members.extend(
                    company
                        .left
                        .iter()
                        .filter(|(dept, _, v)| *dept == d.id && *v > since)
                        .map(|(_, object_id, _)| {
                            let mut gone = user(object_id);
                            gone["@removed"] = json!({ "reason": "deleted" });
                            gone
                        }),
                );
            }
            json!({
                "id": crate::company::Company::group_id(d.id), "displayName": d.name,
                "securityEnabled": true, "mailEnabled": false, "members@delta": members,
            })
        })
        .collect();
    if since > 0 {
        changes.extend(
            company
                .removed_departments
                .iter()
                .filter(|(_, v)| *v > since)
                .map(|(id, _)| json!({ "id": crate::company::Company::group_id(*id), "@removed": { "reason": "deleted" } })),
        );
    }
    delta_page(&req, &query, &company, "groups", &changes, skip, 100)
}
