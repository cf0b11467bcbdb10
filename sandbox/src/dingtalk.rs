//! DingTalk as Roster sees it: the new OAuth2 QR login (with a "phone" page to pick who scans),
//! user and app access tokens, the current user, unionId → userid, and user details, answering
//! with DingTalk's envelopes: the legacy `oapi` family with `errcode` on HTTP 200, the `v1.0`
//! family with HTTP errors and `{code, message, requestid}`. Two enterprises share the people
//! (the main one and a branch), so one person has one unionId and two userids.

use crate::State;
use actix_web::{HttpRequest, HttpResponse, get, post, web};
use serde::Deserialize;
use serde_json::{Value, json};
use std::time::{Duration, Instant};

/// How long tokens live, as in DingTalk.
const TOKEN_TTL: Duration = Duration::from_secs(7200);

/// Escapes text for HTML.
pub(crate) fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Percent-encodes text for a query string.
pub(crate) fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn v1_error(status: u16, code: &str, message: &str) -> HttpResponse {
    HttpResponse::build(
        actix_web::http::StatusCode::from_u16(status)
            .unwrap_or(actix_web::http::StatusCode::BAD_REQUEST),
    )
    .json(json!({ "code": code, "message": message, "requestid": crate::random(8) }))
}

pub(crate) fn oapi_error(errcode: i64, errmsg: &str) -> HttpResponse {
    HttpResponse::Ok()
        .json(json!({ "errcode": errcode, "errmsg": errmsg, "request_id": crate::random(8) }))
}

/// Query of the authorize page.
#[derive(Deserialize)]
pub struct Authorize {
    redirect_uri: Option<String>,
    client_id: Option<String>,
    state: Option<String>,
    response_type: Option<String>,
    scope: Option<String>,
}

/// The QR page: in the sandbox, the "phone" that lists who can scan.
#[get("/dingtalk/login/oauth2/auth")]
pub async fn authorize(state: web::Data<State>, query: web::Query<Authorize>) -> HttpResponse {
    let company = state.company();
    let (Some(redirect), Some(client_id)) = (&query.redirect_uri, &query.client_id) else {
        return HttpResponse::BadRequest().body("redirect_uri and client_id are required");
    };
    let Some((branch, corp_id, _)) = company.dingtalk_app(client_id) else {
        return HttpResponse::BadRequest().body("unknown client_id (AppKey)");
    };
    if query.response_type.as_deref() != Some("code")
        || !query
            .scope
            .as_deref()
            .unwrap_or_default()
            .contains("openid")
    {
        return HttpResponse::BadRequest()
            .body("response_type must be code and scope must include openid");
    }
    let st = query.state.clone().unwrap_or_default();
    let rows: String = company
        .people
        .iter()
        .take(200)
        .map(|p| {
            let userid = company.dingtalk_userid(p, branch);
            format!(
                "<li><a href=\"/dingtalk/login/scan?userid={}&client_id={}&redirect_uri={}&state={}\">{} <small>({}, userid {})</small></a></li>",
                encode(&userid),
                encode(client_id),
                encode(redirect),
                encode(&st),
                escape(&p.name),
                escape(&p.title),
                escape(&userid)
            )
        })
        .collect();
    HttpResponse::Ok().content_type("text/html; charset=utf-8").body(format!(
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>DingTalk sandbox — scan to log in</title></head>\
         <body><h1>DingTalk sandbox</h1><p>Scan the QR code of <b>{}</b> with the phone of:</p><ul>{rows}</ul></body></html>",
        escape(corp_id)
    ))
}

/// The picked person "scans": DingTalk redirects back with `authCode`.
#[derive(Deserialize)]
pub struct Scan {
    userid: String,
    client_id: String,
    redirect_uri: String,
    state: Option<String>,
    /// `sns` for the legacy QR login (answers with `code` instead of `authCode`).
    mode: Option<String>,
}

/// Confirms the scan and redirects to the app with an authorization code.
#[get("/dingtalk/login/scan")]
pub async fn scan(state: web::Data<State>, query: web::Query<Scan>) -> HttpResponse {
    let sep = if query.redirect_uri.contains('?') {
        '&'
    } else {
        '?'
    };
    let st = encode(query.state.as_deref().unwrap_or_default());
    let company = state.company();
    let person = company
        .dingtalk_app(&query.client_id)
        .and_then(|(branch, _, _)| company.dingtalk_person(&query.userid, branch));
    let Some(person) = person.filter(|p| !state.refused(&p.userid)) else {
        return HttpResponse::Found()
            .insert_header((
                "Location",
                format!("{}{sep}error=access_denied&state={st}", query.redirect_uri),
            ))
            .finish();
    };
    let code = crate::random(16);
    state
        .inner
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .dingtalk_codes
        .insert(
            code.clone(),
            (query.client_id.clone(), person.userid.clone()),
        );
    let name = if query.mode.as_deref() == Some("sns") {
        "code"
    } else {
        "authCode"
    };
    HttpResponse::Found()
        .insert_header((
            "Location",
            format!("{}{sep}{name}={code}&state={st}", query.redirect_uri),
        ))
        .finish()
}

/// Body of the user token request.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserTokenRequest {
    client_id: Option<String>,
    client_secret: Option<String>,
    code: Option<String>,
    grant_type: Option<String>,
}

/// `POST /v1.0/oauth2/userAccessToken`: an authorization code for a user token (codes work once,
/// for the app they were issued to).
#[post("/dingtalk/api/v1.0/oauth2/userAccessToken")]
pub async fn user_access_token(
    state: web::Data<State>,
    body: web::Json<UserTokenRequest>,
) -> HttpResponse {
    if let Some(fault) = state.take_fault() {
        return fault;
    }
    let company = state.company();
    let client_id = body.client_id.clone().unwrap_or_default();
    let Some((_, corp_id, _)) = company
        .dingtalk_app(&client_id)
        .filter(|(_, _, s)| body.client_secret.as_deref() == Some(*s))
    else {
        return v1_error(
            400,
            "invalidClientIdOrSecret",
            "无效的clientId或者clientSecret",
        );
    };
    if body.grant_type.as_deref() != Some("authorization_code") {
        return v1_error(
            400,
            "invalidParameter",
            "grantType must be authorization_code",
        );
    }
    let mut inner = state.inner.lock().unwrap_or_else(|e| e.into_inner());
    let issued = body
        .code
        .as_ref()
        .and_then(|c| inner.dingtalk_codes.remove(c));
    let Some((_, userid)) = issued.filter(|(app, _)| *app == client_id) else {
        return v1_error(
            400,
            "invalidAuthCode",
            "authCode is invalid or has been used",
        );
    };
    let token = crate::random(24);
    inner
        .user_tokens
        .insert(token.clone(), (userid, Instant::now() + TOKEN_TTL));
    HttpResponse::Ok().json(json!({ "accessToken": token, "refreshToken": crate::random(24), "expireIn": TOKEN_TTL.as_secs(), "corpId": corp_id }))
}

/// `GET /v1.0/contact/users/me` with a user token.
#[get("/dingtalk/api/v1.0/contact/users/me")]
pub async fn users_me(state: web::Data<State>, req: HttpRequest) -> HttpResponse {
    let Some(token) = req
        .headers()
        .get("x-acs-dingtalk-access-token")
        .and_then(|v| v.to_str().ok())
    else {
        return v1_error(
            400,
            "AuthenticationFailed.MissingParameter",
            "x-acs-dingtalk-access-token is missing",
        );
    };
    let userid = {
        let inner = state.inner.lock().unwrap_or_else(|e| e.into_inner());
        match inner.user_tokens.get(token) {
            Some((userid, expiry)) if *expiry > Instant::now() => userid.clone(),
            Some(_) => return v1_error(400, "accesstoken.expired", "access token expired"),
            None => return v1_error(400, "InvalidAuthentication", "不合法的access_token"),
        }
    };
    let company = state.company();
    let Some(p) = company.person(&userid) else {
        return v1_error(404, "invalidParameter.user.notFound", "user not found");
    };
    HttpResponse::Ok().json(json!({
        "nick": p.name, "avatarUrl": "", "mobile": p.mobile, "openId": p.open_id,
        "unionId": p.union_id, "email": p.email, "stateCode": "86"
    }))
}

/// Body of the new app token request.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AppTokenRequest {
    app_key: Option<String>,
    app_secret: Option<String>,
}

/// `POST /v1.0/oauth2/accessToken`: the app token (the same one while it is valid).
#[post("/dingtalk/api/v1.0/oauth2/accessToken")]
pub async fn app_access_token(
    state: web::Data<State>,
    body: web::Json<AppTokenRequest>,
) -> HttpResponse {
    if let Some(fault) = state.take_fault() {
        return fault;
    }
    let key = body.app_key.clone().unwrap_or_default();
    if state
        .company()
        .dingtalk_app(&key)
        .is_none_or(|(_, _, secret)| body.app_secret.as_deref() != Some(secret))
    {
        return v1_error(
            400,
            "invalidClientIdOrSecret",
            "无效的clientId或者clientSecret",
        );
    }
    let (token, left) = state.app_token(&key);
    HttpResponse::Ok().json(json!({ "accessToken": token, "expireIn": left }))
}

/// Query of the legacy token request.
#[derive(Deserialize)]
pub struct LegacyToken {
    appkey: Option<String>,
    appsecret: Option<String>,
}

/// `GET /gettoken` (legacy): the same app token, legacy envelope.
#[get("/dingtalk/oapi/gettoken")]
pub async fn gettoken(state: web::Data<State>, query: web::Query<LegacyToken>) -> HttpResponse {
    if let Some(fault) = state.take_fault() {
        return fault;
    }
    let key = query.appkey.clone().unwrap_or_default();
    if state
        .company()
        .dingtalk_app(&key)
        .is_none_or(|(_, _, secret)| query.appsecret.as_deref() != Some(secret))
    {
        return oapi_error(40096, "不合法的appKey或appSecret");
    }
    let (token, left) = state.app_token(&key);
    HttpResponse::Ok()
        .json(json!({ "errcode": 0, "errmsg": "ok", "access_token": token, "expires_in": left }))
}

/// The `access_token` query parameter of legacy calls.
#[derive(Deserialize)]
pub struct TokenQuery {
    pub(crate) access_token: Option<String>,
}

/// Which enterprise (branch or not) an app token is for, or the refusal DingTalk gives.
pub(crate) fn check_app_token(
    state: &State,
    token: Option<&str>,
) -> Result<bool, Box<HttpResponse>> {
    match token {
        None | Some("") => Err(Box::new(HttpResponse::Ok().json(json!({ "errcode": 88, "errmsg": "access_token is blank", "sub_code": "40000", "sub_msg": "access_token is blank" })))),
        Some(t) => match state.app_token_owner(t).and_then(|key| state.company().dingtalk_app(&key).map(|(branch, _, _)| branch)) {
            Some(branch) => Ok(branch),
            None => Err(Box::new(HttpResponse::Ok().json(json!({ "errcode": 88, "errmsg": "不合法的access_token", "sub_code": "40014", "sub_msg": "不合法的access_token" })))),
        },
    }
}

/// `POST /topapi/user/getbyunionid`: the enterprise's userid of a unionId.
#[post("/dingtalk/oapi/topapi/user/getbyunionid")]
pub async fn getbyunionid(
    state: web::Data<State>,
    query: web::Query<TokenQuery>,
    body: web::Json<Value>,
) -> HttpResponse {
    let branch = match check_app_token(&state, query.access_token.as_deref()) {
        Ok(branch) => branch,
        Err(refusal) => return *refusal,
    };
    let union = body
        .get("unionid")
        .or_else(|| body.get("unionId"))
        .and_then(Value::as_str)
        .unwrap_or_default();
    let company = state.company();
    match company.people.iter().find(|p| p.union_id == union) {
        Some(p) => HttpResponse::Ok().json(json!({
            "errcode": 0, "errmsg": "ok", "result": { "contact_type": 0, "userid": company.dingtalk_userid(p, branch) }, "request_id": crate::random(8)
        })),
        None => oapi_error(60121, "找不到该用户"),
    }
}

/// `POST /topapi/v2/user/get`: a user's details.
#[post("/dingtalk/oapi/topapi/v2/user/get")]
pub async fn user_get(
    state: web::Data<State>,
    query: web::Query<TokenQuery>,
    body: web::Json<Value>,
) -> HttpResponse {
    let branch = match check_app_token(&state, query.access_token.as_deref()) {
        Ok(branch) => branch,
        Err(refusal) => return *refusal,
    };
    let userid = body
        .get("userid")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let company = state.company();
    match company.dingtalk_person(userid, branch) {
        Some(p) if !company.person_visible(p) => oapi_error(50002, "员工不在权限范围内"),
        Some(p) => HttpResponse::Ok().json(json!({ "errcode": 0, "errmsg": "ok", "result": {
            "userid": userid, "unionid": p.union_id, "name": p.name, "email": p.email, "mobile": p.mobile,
            "title": p.title, "dept_id_list": p.dept_ids, "active": true, "admin": p.userid == "000000"
        }, "request_id": crate::random(8) })),
        None => oapi_error(60121, "找不到该用户"),
    }
}

/// Registers the DingTalk routes.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(authorize)
        .service(scan)
        .service(user_access_token)
        .service(users_me)
        .service(app_access_token)
        .service(gettoken)
        .service(getbyunionid)
        .service(user_get)
        .service(auth_scopes)
        .service(department_listsub)
        .service(department_get)
        .service(user_list)
        .service(role_list)
        .service(role_simplelist)
        .service(qrconnect)
        .service(sns_getuserinfo);
}

/// Query of the legacy QR page.
#[derive(Deserialize)]
pub struct QrConnect {
    appid: Option<String>,
    redirect_uri: Option<String>,
    state: Option<String>,
    scope: Option<String>,
}

/// The legacy "sns" QR page (`oapi.dingtalk.com/connect/qrconnect`).
#[get("/dingtalk/oapi/connect/qrconnect")]
pub async fn qrconnect(state: web::Data<State>, query: web::Query<QrConnect>) -> HttpResponse {
    let company = state.company();
    let (Some(redirect), Some(appid)) = (&query.redirect_uri, &query.appid) else {
        return HttpResponse::BadRequest().body("appid and redirect_uri are required");
    };
    let Some((branch, corp_id, _)) = company.dingtalk_app(appid) else {
        return HttpResponse::BadRequest().body("invalid appid");
    };
    if query.scope.as_deref() != Some("snsapi_login") {
        return HttpResponse::BadRequest().body("scope must be snsapi_login");
    }
    let st = query.state.clone().unwrap_or_default();
    let rows: String = company
        .people
        .iter()
        .take(200)
        .map(|p| {
            let userid = company.dingtalk_userid(p, branch);
            format!(
                "<li><a href=\"/dingtalk/login/scan?mode=sns&userid={}&client_id={}&redirect_uri={}&state={}\">{} <small>(userid {})</small></a></li>",
                encode(&userid),
                encode(appid),
                encode(redirect),
                encode(&st),
                escape(&p.name),
                escape(&userid)
            )
        })
        .collect();
    HttpResponse::Ok().content_type("text/html; charset=utf-8").body(format!(
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>DingTalk sandbox — legacy QR login</title></head>\
         <body><h1>DingTalk sandbox (sns)</h1><p>Scan the QR code of <b>{}</b> with the phone of:</p><ul>{rows}</ul></body></html>",
        escape(corp_id)
    ))
}

/// Query of the signed legacy exchange.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SnsQuery {
    access_key: Option<String>,
    timestamp: Option<String>,
    signature: Option<String>,
}

/// `POST /sns/getuserinfo_bycode`: checks the HMAC-SHA256 signature of the timestamp, then trades
/// the temporary code for the person's unionId and nick.
#[post("/dingtalk/oapi/sns/getuserinfo_bycode")]
pub async fn sns_getuserinfo(
    state: web::Data<State>,
    query: web::Query<SnsQuery>,
    body: web::Json<Value>,
) -> HttpResponse {
    use base64::{Engine, engine::general_purpose::STANDARD};
    use hmac::{Hmac, Mac};
    let company = state.company();
    let key = query.access_key.clone().unwrap_or_default();
    let Some((_, _, secret)) = company.dingtalk_app(&key) else {
        return oapi_error(40089, "invalid appid");
    };
    let timestamp = query.timestamp.clone().unwrap_or_default();
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or_default();
    if timestamp
        .parse::<i64>()
        .map_or(true, |t| (now_ms - t).abs() > 5 * 60 * 1000)
    {
        return oapi_error(853001, "request expired");
    }
    let Ok(mut mac) = <Hmac<sha2::Sha256> as Mac>::new_from_slice(secret.as_bytes()) else {
        return oapi_error(-1, "system busy");
    };
    mac.update(timestamp.as_bytes());
    if query.signature.as_deref() != Some(STANDARD.encode(mac.finalize().into_bytes()).as_str()) {
        return oapi_error(853002, "invalid signature");
    }
    let code = body
        .get("tmp_auth_code")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let issued = state
        .inner
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .dingtalk_codes
        .remove(code);
    let Some((_, userid)) = issued.filter(|(app, _)| *app == key) else {
        return oapi_error(40078, "不存在的临时授权码");
    };
    match company.person(&userid) {
        Some(p) => HttpResponse::Ok().json(json!({ "errcode": 0, "errmsg": "ok", "user_info": {
            "nick": p.name, "unionid": p.union_id, "openid": p.open_id, "main_org_auth_high_level": true
        }})),
        None => oapi_error(60121, "找不到该用户"),
    }
}

/// Checks the token and the fault queue of a contacts call: the enterprise (branch or not) or
/// the answer to give instead.
fn contacts_call(state: &State, token: Option<&str>) -> Result<bool, Box<HttpResponse>> {
    if let Some(fault) = state.take_fault() {
        return Err(Box::new(fault));
    }
    check_app_token(state, token)
}

fn ok(result: Value) -> HttpResponse {
    HttpResponse::Ok().json(
        json!({ "errcode": 0, "errmsg": "ok", "result": result, "request_id": crate::random(8) }),
    )
}

pub(crate) fn number(body: &Value, key: &str) -> Option<i64> {
    body.get(key).and_then(|v| {
        v.as_i64()
            .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
    })
}

/// `GET /auth/scopes`: the app's contacts authorization range.
#[get("/dingtalk/oapi/auth/scopes")]
pub async fn auth_scopes(state: web::Data<State>, query: web::Query<TokenQuery>) -> HttpResponse {
    let branch = match contacts_call(&state, query.access_token.as_deref()) {
        Ok(branch) => branch,
        Err(answer) => return *answer,
    };
    let company = state.company();
    let users: Vec<String> = company
        .scope_users
        .iter()
        .filter_map(|u| company.person(u))
        .map(|p| company.dingtalk_userid(p, branch))
        .collect();
    HttpResponse::Ok().json(json!({
        "errcode": 0, "errmsg": "ok",
        "auth_org_scopes": { "authed_dept": company.scope, "authed_user": users },
        "auth_user_field": ["name", "email", "mobile", "title", "dept_id_list"], "condition_field": []
    }))
}

/// `POST /topapi/v2/department/listsub`: the direct sub-departments.
#[post("/dingtalk/oapi/topapi/v2/department/listsub")]
pub async fn department_listsub(
    state: web::Data<State>,
    query: web::Query<TokenQuery>,
    body: web::Json<Value>,
) -> HttpResponse {
    if let Err(answer) = contacts_call(&state, query.access_token.as_deref()) {
        return *answer;
    }
    let id = number(&body, "dept_id").unwrap_or(1);
    let company = state.company();
    if company.department(id).is_none() {
        return oapi_error(60003, "部门不存在");
    }
    if !company.visible(id) {
        return oapi_error(50004, "请求的部门id不在授权范围内");
    }
    let children: Vec<Value> = company
        .children(id)
        .map(|d| json!({ "dept_id": d.id, "name": d.name, "parent_id": id, "create_dept_group": false, "auto_add_user": false }))
        .collect();
    ok(json!(children))
}

/// `POST /topapi/v2/department/get`: one department.
#[post("/dingtalk/oapi/topapi/v2/department/get")]
pub async fn department_get(
    state: web::Data<State>,
    query: web::Query<TokenQuery>,
    body: web::Json<Value>,
) -> HttpResponse {
    let branch = match contacts_call(&state, query.access_token.as_deref()) {
        Ok(branch) => branch,
        Err(answer) => return *answer,
    };
    let Some(id) = number(&body, "dept_id") else {
        return oapi_error(400002, "缺少参数 dept_id");
    };
    let company = state.company();
    let Some(d) = company.department(id) else {
        return oapi_error(60003, "部门不存在");
    };
    if !company.visible(id) {
        return oapi_error(50004, "请求的部门id不在授权范围内");
    }
    let leaders: Vec<String> = company
        .leader(id)
        .map(|p| company.dingtalk_userid(p, branch))
        .into_iter()
        .collect();
    ok(json!({
        "dept_id": d.id, "name": d.name, "parent_id": d.parent_id.unwrap_or(0), "order": d.order,
        "dept_manager_userid_list": leaders, "member_count": company.members(id).count(),
    }))
}

/// `POST /topapi/v2/user/list`: the people directly in a department, a page at a time.
#[post("/dingtalk/oapi/topapi/v2/user/list")]
pub async fn user_list(
    state: web::Data<State>,
    query: web::Query<TokenQuery>,
    body: web::Json<Value>,
) -> HttpResponse {
    let branch = match contacts_call(&state, query.access_token.as_deref()) {
        Ok(branch) => branch,
        Err(answer) => return *answer,
    };
    let (Some(id), Some(cursor), Some(size)) = (
        number(&body, "dept_id"),
        number(&body, "cursor"),
        number(&body, "size"),
    ) else {
        return oapi_error(400002, "缺少参数 dept_id、cursor 或 size");
    };
    if !(1..=100).contains(&size) || cursor < 0 {
        return oapi_error(40035, "不合法的参数 size 或 cursor");
    }
    let company = state.company();
    if company.department(id).is_none() {
        return oapi_error(60003, "部门不存在");
    }
    if !company.visible(id) {
        return oapi_error(50004, "请求的部门id不在授权范围内");
    }
    let (cursor, size) = (cursor as usize, size as usize);
    let all: Vec<&crate::company::Person> = company.members(id).collect();
    let leader = company.leader(id).map(|p| p.userid.clone());
    let list: Vec<Value> = all
        .iter()
        .skip(cursor)
        .take(size)
        .map(|p| {
            json!({
                "userid": company.dingtalk_userid(p, branch), "unionid": p.union_id, "name": p.name,
                "mobile": p.mobile, "email": p.email, "title": p.title, "job_number": "",
                "dept_id_list": p.dept_ids, "active": true, "admin": p.userid == "000000",
                "boss": false, "leader": leader.as_deref() == Some(p.userid.as_str()),
                "hired_date": 1_600_000_000_000_i64,
            })
        })
        .collect();
    let has_more = cursor + size < all.len();
    let mut result = json!({ "has_more": has_more, "list": list });
    if has_more {
        result["next_cursor"] = json!(cursor + size);
    }
    ok(result)
}

/// `POST /topapi/role/list`: role groups with their roles, paged by offset.
#[post("/dingtalk/oapi/topapi/role/list")]
pub async fn role_list(
    state: web::Data<State>,
    query: web::Query<TokenQuery>,
    body: web::Json<Value>,
) -> HttpResponse {
    if let Err(answer) = contacts_call(&state, query.access_token.as_deref()) {
        return *answer;
    }
    let size = number(&body, "size").unwrap_or(20);
    let offset = number(&body, "offset").unwrap_or(0);
    if !(1..=200).contains(&size) {
        return oapi_error(40069, "不合法的分页大小");
    }
    if offset < 0 {
        return oapi_error(40068, "不合法的偏移量");
    }
    let company = state.company();
    let groups = &company.role_groups;
    let list: Vec<Value> = groups
        .iter()
        .skip(offset as usize)
        .take(size as usize)
        .map(|g| json!({ "groupId": g.id, "name": g.name, "roles": g.roles.iter().map(|r| json!({ "id": r.id, "name": r.name })).collect::<Vec<_>>() }))
        .collect();
    ok(json!({ "hasMore": (offset + size) < groups.len() as i64, "list": list }))
}

/// `POST /topapi/role/simplelist`: the holders of a role, paged by offset.
#[post("/dingtalk/oapi/topapi/role/simplelist")]
pub async fn role_simplelist(
    state: web::Data<State>,
    query: web::Query<TokenQuery>,
    body: web::Json<Value>,
) -> HttpResponse {
    let branch = match contacts_call(&state, query.access_token.as_deref()) {
        Ok(branch) => branch,
        Err(answer) => return *answer,
    };
    let size = number(&body, "size").unwrap_or(20);
    let offset = number(&body, "offset").unwrap_or(0);
    if !(1..=100).contains(&size) {
        return oapi_error(40069, "不合法的分页大小");
    }
    let company = state.company();
    let Some(role) = number(&body, "role_id").and_then(|id| {
        company
            .role_groups
            .iter()
            .flat_map(|g| &g.roles)
            .find(|r| r.id == id)
    }) else {
        return oapi_error(33011, "无效的角色id");
    };
    let holders: Vec<&crate::company::Person> = role
        .holders
        .iter()
        .filter_map(|u| company.person(u))
        .filter(|p| company.person_visible(p))
        .collect();
    let list: Vec<Value> = holders
        .iter()
        .skip(offset.max(0) as usize)
        .take(size as usize)
        .map(|p| json!({ "userid": company.dingtalk_userid(p, branch), "name": p.name, "manageScopes": [] }))
        .collect();
    ok(json!({ "hasMore": (offset + size) < holders.len() as i64, "list": list }))
}
