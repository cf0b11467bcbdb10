//! DingTalk's contacts write APIs (legacy `oapi` family): departments, people, role groups,
//! roles and role holders, with DingTalk's refusals (unknown parent, name taken, department not
//! empty, mobile taken, userid taken, …). Every write is checked in full before anything
//! changes, so a refused call changes nothing. A fault with `after` set is answered after the
//! write is done, as when DingTalk's answer is lost on the way back.

use crate::{
    State,
    company::{Company, Department, Person, Role, RoleGroup},
    dingtalk::{TokenQuery, check_app_token, number, oapi_error},
};
use actix_web::{HttpResponse, post, web};
use serde_json::{Value, json};

/// DingTalk's root department.
const ROOT: i64 = 1;

/// DingTalk's refusal of a write: errcode and errmsg.
struct Refusal(i64, &'static str);

type Outcome = Result<Value, Refusal>;

/// Token and fault checks, then the change (which refuses before changing anything), then the
/// answer.
fn write(
    state: &State,
    query: &TokenQuery,
    change: impl FnOnce(&mut Company) -> Outcome,
) -> HttpResponse {
    let (before, after) = state.take_write_fault();
    if let Some(answer) = before {
        return answer;
    }
    if let Err(refusal) = check_app_token(state, query.access_token.as_deref()) {
        return *refusal;
    }
    match state.edit(change) {
        Ok(body) => after.unwrap_or_else(|| HttpResponse::Ok().json(body)),
        Err(Refusal(code, message)) => oapi_error(code, message),
    }
}

fn done() -> Value {
    json!({ "errcode": 0, "errmsg": "ok", "request_id": crate::random(8) })
}

fn text<'a>(body: &'a Value, key: &str) -> Option<&'a str> {
    body.get(key).and_then(Value::as_str)
}

/// A comma-separated id list (`"2,3,4"`), as DingTalk's write APIs take them.
fn id_list(body: &Value, key: &str) -> Option<Vec<i64>> {
    match body.get(key)? {
        Value::String(s) => s
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| s.parse().ok())
            .collect(),
        Value::Array(items) => items.iter().map(Value::as_i64).collect(),
        _ => None,
    }
}

fn text_list(body: &Value, key: &str) -> Vec<String> {
    text(body, key)
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

fn check_department_name(name: &str) -> Result<(), Refusal> {
    let len = name.chars().count();
    if !(1..=64).contains(&len) || name.contains(['-', '，', ',']) {
        return Err(Refusal(60001, "部门名称不合法"));
    }
    Ok(())
}

fn sibling_named(company: &Company, parent: i64, name: &str, except: Option<i64>) -> bool {
    company
        .children(parent)
        .any(|d| d.name == name && Some(d.id) != except)
}

/// Whether `id` is `ancestor` or lies under it.
fn within(company: &Company, id: i64, ancestor: i64) -> bool {
    let mut at = Some(id);
    let mut hops = 0;
    while let Some(current) = at {
        if current == ancestor {
            return true;
        }
        hops += 1;
        if hops > company.departments.len() {
            return false;
        }
        at = company.department(current).and_then(|d| d.parent_id);
    }
    false
}

/// `POST /topapi/v2/department/create`.
#[post("/dingtalk/oapi/topapi/v2/department/create")]
pub async fn department_create(
    state: web::Data<State>,
    query: web::Query<TokenQuery>,
    body: web::Json<Value>,
) -> HttpResponse {
    write(&state, &query, |company| {
        let (Some(name), Some(parent)) = (text(&body, "name"), number(&body, "parent_id")) else {
            return Err(Refusal(400002, "缺少参数 name 或 parent_id"));
        };
        check_department_name(name)?;
        if company.department(parent).is_none() {
            return Err(Refusal(60004, "父部门不存在"));
        }
        if sibling_named(company, parent, name, None) {
            return Err(Refusal(60008, "父部门下该部门名称已存在"));
        }
        let id = company
            .departments
            .iter()
            .map(|d| d.id)
            .max()
            .unwrap_or(ROOT)
            + 1;
        company.departments.push(Department {
            id,
            parent_id: Some(parent),
            name: name.to_string(),
            order: number(&body, "order").unwrap_or(id),
            version: company.version,
        });
        Ok(
            json!({ "errcode": 0, "errmsg": "ok", "result": { "dept_id": id }, "request_id": crate::random(8) }),
        )
    })
}

/// `POST /topapi/v2/department/update`.
#[post("/dingtalk/oapi/topapi/v2/department/update")]
pub async fn department_update(
    state: web::Data<State>,
    query: web::Query<TokenQuery>,
    body: web::Json<Value>,
) -> HttpResponse {
    write(&state, &query, |company| {
        let Some(id) = number(&body, "dept_id") else {
            return Err(Refusal(400002, "缺少参数 dept_id"));
        };
        let Some(current) = company.department(id).cloned() else {
            return Err(Refusal(60003, "部门不存在"));
        };
        if id == ROOT {
            return Err(Refusal(60018, "根部门不允许修改"));
        }
        let parent = number(&body, "parent_id").unwrap_or(current.parent_id.unwrap_or(ROOT));
        if company.department(parent).is_none() {
            return Err(Refusal(60004, "父部门不存在"));
        }
        if within(company, parent, id) {
            return Err(Refusal(60010, "部门不能移动到自己或子部门下"));
        }
        let name = text(&body, "name").unwrap_or(&current.name).to_string();
        check_department_name(&name)?;
        if sibling_named(company, parent, &name, Some(id)) {
            return Err(Refusal(60008, "父部门下该部门名称已存在"));
        }
        if let Some(d) = company.departments.iter_mut().find(|d| d.id == id) {
            d.name = name;
            d.parent_id = Some(parent);
            d.order = number(&body, "order").unwrap_or(d.order);
        }
        Ok(done())
    })
}

/// `POST /topapi/v2/department/delete`.
#[post("/dingtalk/oapi/topapi/v2/department/delete")]
pub async fn department_delete(
    state: web::Data<State>,
    query: web::Query<TokenQuery>,
    body: web::Json<Value>,
) -> HttpResponse {
    write(&state, &query, |company| {
        let Some(id) = number(&body, "dept_id") else {
            return Err(Refusal(400002, "缺少参数 dept_id"));
        };
        if company.department(id).is_none() {
            return Err(Refusal(60003, "部门不存在"));
        }
        if id == ROOT {
            return Err(Refusal(60018, "根部门不允许删除"));
        }
        if company.children(id).next().is_some() {
            return Err(Refusal(60006, "该部门下存在子部门"));
        }
        if company.members(id).next().is_some() {
            return Err(Refusal(60005, "该部门下存在员工"));
        }
        company.departments.retain(|d| d.id != id);
        Ok(done())
    })
}

/// DingTalk's mobile rule: 11 mainland digits starting with 1, or `+<country>-<number>`.
fn valid_mobile(mobile: &str) -> bool {
    let mainland =
        mobile.len() == 11 && mobile.starts_with('1') && mobile.chars().all(|c| c.is_ascii_digit());
    let abroad = mobile.strip_prefix('+').is_some_and(|rest| {
        rest.split_once('-').is_some_and(|(cc, n)| {
            !cc.is_empty()
                && n.len() >= 4
                && cc.chars().all(|c| c.is_ascii_digit())
                && n.chars().all(|c| c.is_ascii_digit())
        })
    });
    mainland || abroad
}

fn check_departments(company: &Company, ids: &[i64]) -> Result<(), Refusal> {
    if ids.is_empty() || ids.len() > 100 {
        return Err(Refusal(40035, "不合法的参数 dept_id_list"));
    }
    if ids.iter().any(|d| company.department(*d).is_none()) {
        return Err(Refusal(60003, "部门不存在"));
    }
    Ok(())
}

/// `POST /topapi/v2/user/create`.
#[post("/dingtalk/oapi/topapi/v2/user/create")]
pub async fn user_create(
    state: web::Data<State>,
    query: web::Query<TokenQuery>,
    body: web::Json<Value>,
) -> HttpResponse {
    write(&state, &query, |company| {
        let (Some(name), Some(mobile), Some(depts)) = (
            text(&body, "name"),
            text(&body, "mobile"),
            id_list(&body, "dept_id_list"),
        ) else {
            return Err(Refusal(400002, "缺少参数 name、mobile 或 dept_id_list"));
        };
        if name.trim().is_empty() || name.chars().count() > 80 {
            return Err(Refusal(40035, "不合法的参数 name"));
        }
        if !valid_mobile(mobile) {
            return Err(Refusal(60103, "手机号码不合法"));
        }
        check_departments(company, &depts)?;
        let userid = match text(&body, "userid").filter(|u| !u.is_empty()) {
            Some(u) if u.chars().count() > 64 => {
                return Err(Refusal(40035, "不合法的参数 userid"));
            }
            Some(u) => u.to_string(),
            None => format!("auto{}", company.people.len() + 1),
        };
        if company.person(&userid).is_some() {
            return Err(Refusal(60102, "UserID在公司中已存在"));
        }
        if company.people.iter().any(|p| p.mobile == mobile) {
            return Err(Refusal(60104, "手机号码在公司中已存在"));
        }
        let i = company.people.len();
        let union = format!("union-{userid}");
        company.people.push(Person {
            userid: userid.clone(),
            union_id: union.clone(),
            open_id: format!("open-{userid}"),
            name: name.to_string(),
            email: text(&body, "email").unwrap_or_default().to_string(),
            mobile: mobile.to_string(),
            title: text(&body, "title").unwrap_or_default().to_string(),
            object_id: format!("00000000-0000-4000-a000-{i:012}"),
            dept_ids: depts,
            version: company.version,
        });
        Ok(
            json!({ "errcode": 0, "errmsg": "ok", "result": { "userid": userid, "unionId": union }, "request_id": crate::random(8) }),
        )
    })
}

/// `POST /topapi/v2/user/update` (the mobile number cannot be changed here).
#[post("/dingtalk/oapi/topapi/v2/user/update")]
pub async fn user_update(
    state: web::Data<State>,
    query: web::Query<TokenQuery>,
    body: web::Json<Value>,
) -> HttpResponse {
    write(&state, &query, |company| {
        let Some(userid) = text(&body, "userid") else {
            return Err(Refusal(400002, "缺少参数 userid"));
        };
        if company.person(userid).is_none() {
            return Err(Refusal(60121, "找不到该用户"));
        }
        let depts = match body.get("dept_id_list") {
            None => None,
            Some(_) => {
                let Some(ids) = id_list(&body, "dept_id_list") else {
                    return Err(Refusal(40035, "不合法的参数 dept_id_list"));
                };
                check_departments(company, &ids)?;
                Some(ids)
            }
        };
        if text(&body, "name").is_some_and(|n| n.trim().is_empty() || n.chars().count() > 80) {
            return Err(Refusal(40035, "不合法的参数 name"));
        }
        let version = company.version;
        if let Some(p) = company
            .people
            .iter_mut()
            .find(|p| p.userid.eq_ignore_ascii_case(userid))
        {
            if let Some(name) = text(&body, "name") {
                p.name = name.to_string();
            }
            if let Some(email) = text(&body, "email") {
                p.email = email.to_string();
            }
            if let Some(title) = text(&body, "title") {
                p.title = title.to_string();
            }
            if let Some(ids) = depts {
                p.dept_ids = ids;
            }
            p.version = version;
        }
        Ok(done())
    })
}

/// `POST /topapi/v2/user/delete`.
#[post("/dingtalk/oapi/topapi/v2/user/delete")]
pub async fn user_delete(
    state: web::Data<State>,
    query: web::Query<TokenQuery>,
    body: web::Json<Value>,
) -> HttpResponse {
    write(&state, &query, |company| {
        let Some(userid) = text(&body, "userid") else {
            return Err(Refusal(400002, "缺少参数 userid"));
        };
        let Some(at) = company
            .people
            .iter()
            .position(|p| p.userid.eq_ignore_ascii_case(userid))
        else {
            return Err(Refusal(60121, "找不到该用户"));
        };
        let gone = company.people.remove(at);
        company.removed.push((gone.object_id, company.version));
        for group in &mut company.role_groups {
            for role in &mut group.roles {
                role.holders.retain(|h| !h.eq_ignore_ascii_case(userid));
            }
        }
        Ok(done())
    })
}

fn next_role_id(company: &Company) -> i64 {
    company
        .role_groups
        .iter()
        .flat_map(|g| std::iter::once(g.id).chain(g.roles.iter().map(|r| r.id)))
        .max()
        .unwrap_or(0)
        + 1
}

/// `POST /role/add_role_group`.
#[post("/dingtalk/oapi/role/add_role_group")]
pub async fn add_role_group(
    state: web::Data<State>,
    query: web::Query<TokenQuery>,
    body: web::Json<Value>,
) -> HttpResponse {
    write(&state, &query, |company| {
        let Some(name) = text(&body, "name").filter(|n| !n.trim().is_empty()) else {
            return Err(Refusal(34018, "角色组名称不能为空"));
        };
        let id = next_role_id(company);
        company.role_groups.push(RoleGroup {
            id,
            name: name.to_string(),
            roles: Vec::new(),
        });
        Ok(json!({ "errcode": 0, "errmsg": "ok", "groupId": id }))
    })
}

/// `POST /role/add_role`.
#[post("/dingtalk/oapi/role/add_role")]
pub async fn add_role(
    state: web::Data<State>,
    query: web::Query<TokenQuery>,
    body: web::Json<Value>,
) -> HttpResponse {
    write(&state, &query, |company| {
        let Some(name) = text(&body, "roleName").filter(|n| !n.trim().is_empty()) else {
            return Err(Refusal(34018, "角色名称不能为空"));
        };
        let id = next_role_id(company);
        let Some(group) = number(&body, "groupId")
            .and_then(|g| company.role_groups.iter_mut().find(|x| x.id == g))
        else {
            return Err(Refusal(34020, "角色组不存在"));
        };
        if group.roles.iter().any(|r| r.name == name) {
            return Err(Refusal(34021, "角色名称已存在"));
        }
        group.roles.push(Role {
            id,
            name: name.to_string(),
            holders: Vec::new(),
        });
        Ok(json!({ "errcode": 0, "errmsg": "ok", "roleId": id }))
    })
}

/// `POST /topapi/role/addrolesforemps`.
#[post("/dingtalk/oapi/topapi/role/addrolesforemps")]
pub async fn add_roles_for_users(
    state: web::Data<State>,
    query: web::Query<TokenQuery>,
    body: web::Json<Value>,
) -> HttpResponse {
    write(&state, &query, |company| {
        let roles = text_list(&body, "roleIds");
        let users = text_list(&body, "userIds");
        if roles.is_empty() || roles.len() > 20 || users.is_empty() || users.len() > 20 {
            return Err(Refusal(40035, "roleIds 与 userIds 各需 1 到 20 个"));
        }
        let known = |id: &String| {
            company
                .role_groups
                .iter()
                .flat_map(|g| &g.roles)
                .any(|r| r.id.to_string() == *id)
        };
        if !roles.iter().all(known) {
            return Err(Refusal(33011, "无效的角色id"));
        }
        if users.iter().any(|u| company.person(u).is_none()) {
            return Err(Refusal(33012, "无效的用户id"));
        }
        for role in company.role_groups.iter_mut().flat_map(|g| &mut g.roles) {
            if roles.contains(&role.id.to_string()) {
                for u in &users {
                    if !role.holders.iter().any(|h| h.eq_ignore_ascii_case(u)) {
                        role.holders.push(u.clone());
                    }
                }
            }
        }
        Ok(done())
    })
}

/// Registers the write routes.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(department_create)
        .service(department_update)
        .service(department_delete)
        .service(user_create)
        .service(user_update)
        .service(user_delete)
        .service(add_role_group)
        .service(add_role)
        .service(add_roles_for_users);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mobiles_follow_dingtalks_rule() {
        assert!(valid_mobile("13900000001"));
        assert!(valid_mobile("+852-91234567"));
        assert!(!valid_mobile("1390000000"));
        assert!(!valid_mobile("+852 91234567"));
        assert!(!valid_mobile("23900000001"));
    }
}
