//! WeCom as Roster sees it: the web QR login (with the "phone" page), `gettoken`, code → userid
//! (`auth/getuserinfo`, and the legacy `user/getuserinfo` with capitalised fields) and `user/get`.
//! Every answer is HTTP 200 with `errcode`/`errmsg`, as WeCom does.

use crate::{
    State,
    dingtalk::{encode, escape},
};
use actix_web::{HttpResponse, get, web};
use serde::Deserialize;
use serde_json::json;

fn failure(errcode: i64, errmsg: &str) -> HttpResponse {
    HttpResponse::Ok().json(json!({ "errcode": errcode, "errmsg": errmsg }))
}

/// Query of the login page.
#[derive(Deserialize)]
pub struct Login {
    login_type: Option<String>,
    appid: Option<String>,
    agentid: Option<String>,
    redirect_uri: Option<String>,
    state: Option<String>,
}

/// The QR page: the "phone" listing who can scan.
#[get("/wecom/login/wwlogin/sso/login")]
pub async fn login(state: web::Data<State>, query: web::Query<Login>) -> HttpResponse {
    let wecom = &state.company().wecom;
    if query.login_type.as_deref() != Some("CorpApp") {
        return HttpResponse::BadRequest().body("login_type must be CorpApp");
    }
    if query.appid.as_deref() != Some(wecom.corp_id.as_str())
        || query.agentid.as_deref() != Some(wecom.agent_id.as_str())
    {
        return HttpResponse::BadRequest().body("unknown appid (corpid) or agentid");
    }
    let Some(redirect) = &query.redirect_uri else {
        return HttpResponse::BadRequest().body("redirect_uri is required");
    };
    let st = query.state.clone().unwrap_or_default();
    let rows: String = state
        .company()
        .people
        .iter()
        .take(200)
        .map(|p| {
            format!(
                "<li><a href=\"/wecom/login/scan?userid={}&redirect_uri={}&state={}\">{} <small>(userid {})</small></a></li>",
                encode(&p.userid),
                encode(redirect),
                encode(&st),
                escape(&p.name),
                escape(&p.userid)
            )
        })
        .collect();
    HttpResponse::Ok().content_type("text/html; charset=utf-8").body(format!(
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>WeCom sandbox — scan to log in</title></head>\
         <body><h1>WeCom sandbox</h1><p>Scan the QR code of <b>{}</b> with the phone of:</p><ul>{rows}</ul></body></html>",
        escape(&wecom.corp_id)
    ))
}

/// The picked person "scans".
#[derive(Deserialize)]
pub struct Scan {
    userid: String,
    redirect_uri: String,
    state: Option<String>,
}

/// Redirects to the app with a one-time code (denied scans carry no code).
#[get("/wecom/login/scan")]
pub async fn scan(state: web::Data<State>, query: web::Query<Scan>) -> HttpResponse {
    let sep = if query.redirect_uri.contains('?') {
        '&'
    } else {
        '?'
    };
    let st = encode(query.state.as_deref().unwrap_or_default());
    let corp = state.company().wecom.corp_id.clone();
    if state.company().person(&query.userid).is_none() || state.refused(&query.userid) {
        return HttpResponse::Found()
            .insert_header((
                "Location",
                format!("{}{sep}state={st}&appid={corp}", query.redirect_uri),
            ))
            .finish();
    }
    let code = crate::random(32);
    state
        .inner
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .codes
        .insert(code.clone(), query.userid.clone());
    HttpResponse::Found()
        .insert_header((
            "Location",
            format!(
                "{}{sep}code={code}&state={st}&appid={corp}",
                query.redirect_uri
            ),
        ))
        .finish()
}

/// Query of `gettoken`.
#[derive(Deserialize)]
pub struct TokenRequest {
    corpid: Option<String>,
    corpsecret: Option<String>,
}

/// `GET /cgi-bin/gettoken`.
#[get("/wecom/api/cgi-bin/gettoken")]
pub async fn gettoken(state: web::Data<State>, query: web::Query<TokenRequest>) -> HttpResponse {
    if let Some(fault) = state.take_fault() {
        return fault;
    }
    let wecom = &state.company().wecom;
    match (&query.corpid, &query.corpsecret) {
        (None, _) | (_, None) => failure(41004, "corpsecret missing"),
        (Some(c), _) if c != &wecom.corp_id => failure(40013, "invalid corpid"),
        (_, Some(s)) if s != &wecom.secret => failure(40001, "invalid credential"),
        _ => {
            let (token, left) = state.wecom_token();
            HttpResponse::Ok().json(
                json!({ "errcode": 0, "errmsg": "ok", "access_token": token, "expires_in": left }),
            )
        }
    }
}

/// Query carrying the token and a code or userid.
#[derive(Deserialize)]
pub struct Call {
    access_token: Option<String>,
    code: Option<String>,
    userid: Option<String>,
}

fn check_token(state: &State, token: Option<&str>) -> Option<HttpResponse> {
    match token {
        None | Some("") => Some(failure(41001, "access_token missing")),
        Some(t) if !state.wecom_token_valid(t) => Some(failure(42001, "access_token expired")),
        _ => None,
    }
}

fn take_code(state: &State, code: Option<&str>) -> Option<String> {
    code.and_then(|c| {
        state
            .inner
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .codes
            .remove(c)
    })
}

/// `GET /cgi-bin/auth/getuserinfo`: a code for the member's userid (once).
#[get("/wecom/api/cgi-bin/auth/getuserinfo")]
pub async fn getuserinfo(state: web::Data<State>, query: web::Query<Call>) -> HttpResponse {
    if let Some(refusal) = check_token(&state, query.access_token.as_deref()) {
        return refusal;
    }
    match take_code(&state, query.code.as_deref()) {
        Some(userid) => {
            HttpResponse::Ok().json(json!({ "errcode": 0, "errmsg": "ok", "userid": userid }))
        }
        None => failure(40029, "invalid code"),
    }
}

/// `GET /cgi-bin/user/getuserinfo` (legacy): the same with capitalised fields.
#[get("/wecom/api/cgi-bin/user/getuserinfo")]
pub async fn getuserinfo_legacy(state: web::Data<State>, query: web::Query<Call>) -> HttpResponse {
    if let Some(refusal) = check_token(&state, query.access_token.as_deref()) {
        return refusal;
    }
    match take_code(&state, query.code.as_deref()) {
        Some(userid) => HttpResponse::Ok()
            .json(json!({ "errcode": 0, "errmsg": "ok", "UserId": userid, "DeviceId": "" })),
        None => failure(40029, "invalid code"),
    }
}

/// `GET /cgi-bin/user/get`.
#[get("/wecom/api/cgi-bin/user/get")]
pub async fn user_get(state: web::Data<State>, query: web::Query<Call>) -> HttpResponse {
    if let Some(refusal) = check_token(&state, query.access_token.as_deref()) {
        return refusal;
    }
    let company = state.company();
    match query.userid.as_deref().and_then(|u| company.person(u)) {
        Some(p) => HttpResponse::Ok().json(json!({
            "errcode": 0, "errmsg": "ok", "userid": p.userid, "name": p.name, "department": p.dept_ids,
            "position": p.title, "email": p.email, "mobile": p.mobile, "status": 1
        })),
        None => failure(60111, "userid not found"),
    }
}

/// Registers the WeCom routes.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(login)
        .service(scan)
        .service(gettoken)
        .service(getuserinfo)
        .service(getuserinfo_legacy)
        .service(user_get)
        .service(department_simplelist)
        .service(department_get)
        .service(user_list)
        .service(tag_list)
        .service(tag_get);
}

/// Query of the contacts calls.
#[derive(Deserialize)]
pub struct Contacts {
    access_token: Option<String>,
    id: Option<i64>,
    department_id: Option<i64>,
    tagid: Option<i64>,
}

/// The corporation's tags: one per DingTalk role of the same company (tag id = role id, its
/// holders the tag's users), and tag 9000 "Team 0 (whole department)" naming department 100
/// itself (`partylist`) when that department exists.
fn tags(company: &crate::company::Company) -> Vec<(i64, String, Vec<String>, Vec<i64>)> {
    let mut out: Vec<(i64, String, Vec<String>, Vec<i64>)> = company
        .role_groups
        .iter()
        .flat_map(|g| g.roles.iter())
        .map(|r| (r.id, r.name.clone(), r.holders.clone(), Vec::new()))
        .collect();
    if company.department(100).is_some() {
        out.push((
            9000,
            "Team 0 (whole department)".into(),
            Vec::new(),
            vec![100],
        ));
    }
    out
}

/// `GET /cgi-bin/tag/list`: the corporation's tags.
#[get("/wecom/api/cgi-bin/tag/list")]
pub async fn tag_list(state: web::Data<State>, query: web::Query<Contacts>) -> HttpResponse {
    if let Some(refusal) = contacts_call(&state, query.access_token.as_deref()) {
        return refusal;
    }
    let company = state.company();
    let list: Vec<serde_json::Value> = tags(&company)
        .into_iter()
        .map(|(id, name, _, _)| json!({ "tagid": id, "tagname": name }))
        .collect();
    HttpResponse::Ok().json(json!({ "errcode": 0, "errmsg": "ok", "taglist": list }))
}

/// `GET /cgi-bin/tag/get`: a tag's users and departments inside the visible range.
#[get("/wecom/api/cgi-bin/tag/get")]
pub async fn tag_get(state: web::Data<State>, query: web::Query<Contacts>) -> HttpResponse {
    if let Some(refusal) = contacts_call(&state, query.access_token.as_deref()) {
        return refusal;
    }
    let company = state.company();
    let Some((_, name, users, parties)) = tags(&company)
        .into_iter()
        .find(|t| Some(t.0) == query.tagid)
    else {
        return failure(40068, "invalid tagid");
    };
    let visible_person = |userid: &String| {
        company
            .person(userid)
            .is_some_and(|p| p.dept_ids.iter().any(|d| company.visible(*d)))
    };
    let userlist: Vec<serde_json::Value> = users
        .iter()
        .filter(|u| visible_person(u))
        .filter_map(|u| company.person(u))
        .map(|p| json!({ "userid": p.userid, "name": p.name }))
        .collect();
    let partylist: Vec<i64> = parties
        .into_iter()
        .filter(|d| company.visible(*d))
        .collect();
    HttpResponse::Ok().json(json!({ "errcode": 0, "errmsg": "ok", "tagname": name, "userlist": userlist, "partylist": partylist }))
}

fn contacts_call(state: &State, token: Option<&str>) -> Option<HttpResponse> {
    state.take_fault().or_else(|| check_token(state, token))
}

/// `GET /cgi-bin/department/simplelist`: a department and all its descendants (the whole visible
/// tree without `id`).
#[get("/wecom/api/cgi-bin/department/simplelist")]
pub async fn department_simplelist(
    state: web::Data<State>,
    query: web::Query<Contacts>,
) -> HttpResponse {
    if let Some(refusal) = contacts_call(&state, query.access_token.as_deref()) {
        return refusal;
    }
    let company = state.company();
    let roots: Vec<i64> = match query.id {
        Some(id) if company.department(id).is_none() => {
            return failure(60003, "department not found");
        }
        Some(id) if !company.visible(id) => {
            return failure(60011, "no privilege to access/modify contact/party/agent");
        }
        Some(id) => vec![id],
        None => company.scope.clone(),
    };
    let mut out = Vec::new();
    let mut queue: std::collections::VecDeque<i64> = roots.into();
    while let Some(id) = queue.pop_front() {
        if let Some(d) = company.department(id) {
            out.push(json!({ "id": d.id, "parentid": d.parent_id.unwrap_or(0), "order": d.order }));
            queue.extend(company.children(id).map(|c| c.id));
        }
    }
    HttpResponse::Ok().json(json!({ "errcode": 0, "errmsg": "ok", "department_id": out }))
}

/// `GET /cgi-bin/department/get`: one department's details.
#[get("/wecom/api/cgi-bin/department/get")]
pub async fn department_get(state: web::Data<State>, query: web::Query<Contacts>) -> HttpResponse {
    if let Some(refusal) = contacts_call(&state, query.access_token.as_deref()) {
        return refusal;
    }
    let company = state.company();
    let Some(d) = query.id.and_then(|id| company.department(id)) else {
        return failure(60003, "department not found");
    };
    if !company.visible(d.id) {
        return failure(60011, "no privilege to access/modify contact/party/agent");
    }
    let leaders: Vec<&str> = company
        .leader(d.id)
        .map(|p| p.userid.as_str())
        .into_iter()
        .collect();
    HttpResponse::Ok().json(json!({ "errcode": 0, "errmsg": "ok", "department": {
        "id": d.id, "name": d.name, "name_en": "", "department_leader": leaders,
        "parentid": d.parent_id.unwrap_or(0), "order": d.order
    } }))
}

/// `GET /cgi-bin/user/list`: the people directly in a department, with details.
#[get("/wecom/api/cgi-bin/user/list")]
pub async fn user_list(state: web::Data<State>, query: web::Query<Contacts>) -> HttpResponse {
    if let Some(refusal) = contacts_call(&state, query.access_token.as_deref()) {
        return refusal;
    }
    let company = state.company();
    let Some(d) = query.department_id.and_then(|id| company.department(id)) else {
        return failure(60003, "department not found");
    };
    if !company.visible(d.id) {
        return failure(60011, "no privilege to access/modify contact/party/agent");
    }
    let list: Vec<serde_json::Value> = company
        .members(d.id)
        .map(|p| json!({
            "userid": p.userid, "name": p.name, "department": p.dept_ids, "main_department": p.dept_ids.first(),
            "is_leader_in_dept": p.dept_ids.iter().map(|id| i32::from(company.leader(*id).is_some_and(|l| l.userid == p.userid))).collect::<Vec<i32>>(),
            "position": p.title, "mobile": p.mobile, "email": p.email, "status": 1, "enable": 1
        }))
        .collect();
    HttpResponse::Ok().json(json!({ "errcode": 0, "errmsg": "ok", "userlist": list }))
}
