//! Directory controls: `POST /sandbox/directory` changes the seeded company the way an
//! administrator would in the provider's console (people join, are renamed, move, leave;
//! departments appear, are renamed, disappear; roles are deleted; the apps' visible range
//! changes). Every provider
//! API then answers from the changed company, and Graph delta queries report the change.

use crate::{State, company::Department, company::Person};
use actix_web::{HttpResponse, post, web};
use serde::Deserialize;

/// One change of the directory.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Change {
    /// A person joins.
    AddPerson {
        /// userid.
        userid: String,
        /// Name.
        name: String,
        /// Departments.
        dept_ids: Vec<i64>,
    },
    /// A person is renamed.
    RenamePerson {
        /// userid.
        userid: String,
        /// New name.
        name: String,
    },
    /// A person changes departments.
    MovePerson {
        /// userid.
        userid: String,
        /// New departments.
        dept_ids: Vec<i64>,
    },
    /// A person leaves.
    RemovePerson {
        /// userid.
        userid: String,
    },
    /// A department is created.
    AddDepartment {
        /// Id.
        id: i64,
        /// Parent.
        parent_id: i64,
        /// Name.
        name: String,
    },
    /// A department is renamed.
    RenameDepartment {
        /// Id.
        id: i64,
        /// New name.
        name: String,
    },
    /// A department (empty, without children) is removed.
    RemoveDepartment {
        /// Id.
        id: i64,
    },
    /// A role is deleted; its group goes with it when it was the group's last role.
    RemoveRole {
        /// Role id.
        id: i64,
    },
    /// The apps' visible range becomes these departments and people (both empty: nothing
    /// visible).
    Scope {
        /// Departments whose sub-trees are visible.
        departments: Vec<i64>,
        /// People visible one by one (userids), whatever their departments.
        #[serde(default)]
        users: Vec<String>,
    },
}

/// Applies changes to the company, all or none, as the provider's console would refuse them;
/// Graph subscribers are notified of an applied change.
pub fn apply(state: &State, changes: &[Change]) -> Result<(), String> {
    apply_changes(state, changes)?;
    crate::subscriptions::notify(state, changes);
    Ok(())
}

fn apply_changes(state: &State, changes: &[Change]) -> Result<(), String> {
    state.edit(|company| {
        let mut next = company.clone();
        let version = next.version;
        for change in changes {
            match change {
                Change::AddPerson {
                    userid,
                    name,
                    dept_ids,
                } => {
                    if next.person(userid).is_some() {
                        return Err(format!("userid {userid} exists"));
                    }
                    let i = next.people.len();
                    let object_id = format!("00000000-0000-4000-9000-{i:012}");
                    next.membership_changed(&object_id, &[], dept_ids);
                    next.people.push(Person {
                        userid: userid.clone(),
                        union_id: format!("union-{userid}"),
                        open_id: format!("open-{userid}"),
                        name: name.clone(),
                        email: format!("{userid}@{}.example.com", next.corp_id),
                        mobile: format!("139{i:08}"),
                        title: "Engineer".into(),
                        object_id,
                        dept_ids: dept_ids.clone(),
                        version,
                    });
                }
                Change::RenamePerson { userid, name } => {
                    let p = person_mut(&mut next.people, userid)?;
                    p.name = name.clone();
                    p.version = version;
                }
                Change::MovePerson { userid, dept_ids } => {
                    let p = person_mut(&mut next.people, userid)?;
                    let before = std::mem::replace(&mut p.dept_ids, dept_ids.clone());
                    p.version = version;
                    let object_id = p.object_id.clone();
                    next.membership_changed(&object_id, &before, dept_ids);
                }
                Change::RemovePerson { userid } => {
                    let at = next
                        .people
                        .iter()
                        .position(|p| p.userid.eq_ignore_ascii_case(userid))
                        .ok_or_else(|| format!("no person {userid}"))?;
                    let gone = next.people.remove(at);
                    next.membership_changed(&gone.object_id, &gone.dept_ids, &[]);
                    next.removed.push((gone.object_id, version));
                    for group in &mut next.role_groups {
                        for role in &mut group.roles {
                            role.holders.retain(|h| !h.eq_ignore_ascii_case(userid));
                        }
                    }
                }
                Change::AddDepartment {
                    id,
                    parent_id,
                    name,
                } => {
                    if next.departments.iter().any(|d| d.id == *id) {
                        return Err(format!("department {id} exists"));
                    }
                    if !next.departments.iter().any(|d| d.id == *parent_id) {
                        return Err(format!("no parent department {parent_id}"));
                    }
                    next.departments.push(Department {
                        id: *id,
                        parent_id: Some(*parent_id),
                        name: name.clone(),
                        order: *id,
                        version,
                    });
                    // The parent group gains a member group.
                    if let Some(parent) = next.departments.iter_mut().find(|d| d.id == *parent_id) {
                        parent.version = version;
                    }
                }
                Change::RenameDepartment { id, name } => {
                    let d = next
                        .departments
                        .iter_mut()
                        .find(|d| d.id == *id)
                        .ok_or_else(|| format!("no department {id}"))?;
                    d.name = name.clone();
                    d.version = version;
                }
                Change::RemoveDepartment { id } => {
                    if next.departments.iter().any(|d| d.parent_id == Some(*id)) {
                        return Err(format!("department {id} has sub-departments (60006)"));
                    }
                    if next.people.iter().any(|p| p.dept_ids.contains(id)) {
                        return Err(format!("department {id} has members (60005)"));
                    }
                    next.departments.retain(|d| d.id != *id);
                    next.removed_departments.push((*id, version));
                }
                Change::RemoveRole { id } => {
                    let before: usize = next.role_groups.iter().map(|g| g.roles.len()).sum();
                    for group in &mut next.role_groups {
                        group.roles.retain(|r| r.id != *id);
                    }
                    if next
                        .role_groups
                        .iter()
                        .map(|g| g.roles.len())
                        .sum::<usize>()
                        == before
                    {
                        return Err(format!("role {id} does not exist"));
                    }
                    next.role_groups.retain(|g| !g.roles.is_empty());
                }
                Change::Scope { departments, users } => {
                    next.scope = departments.clone();
                    next.scope_users = users.clone();
                }
            }
        }
        *company = next;
        Ok(())
    })
}

fn person_mut<'a>(people: &'a mut [Person], userid: &str) -> Result<&'a mut Person, String> {
    people
        .iter_mut()
        .find(|p| p.userid.eq_ignore_ascii_case(userid))
        .ok_or_else(|| format!("no person {userid}"))
}

/// `POST /sandbox/directory` with a JSON array of changes.
#[post("/sandbox/directory")]
async fn change_directory(state: web::Data<State>, body: web::Json<Vec<Change>>) -> HttpResponse {
    match apply(&state, &body) {
        Ok(()) => HttpResponse::NoContent().finish(),
        Err(e) => HttpResponse::BadRequest().body(e),
    }
}

/// Registers the directory controls.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(change_directory);
}
