//! Adding and editing members: nickname, contacts, user type, organization role, departments
//! and tags, with the rules of DESIGN §4 (roles only for the user types that may hold them,
//! unique nicknames, seats).

use super::*;
use crate::org::{
    audit::{self, AuditEntry, Change},
    rules,
};
use crate::{
    auth::password::{self, OneTimeLifetime},
    authz::{Grants, OrgAccess, Permission, roles::BuiltinRole},
    error::{Error, Result},
};
use chrono::{DateTime, Utc};
use entity::{
    department, department_member, enums::*, member, member_tag, organization, role, user,
    workspace,
};
use sea_orm::{
    ActiveValue::Set,
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter,
    QuerySelect,
    sea_query::{Expr, ExprTrait, Func},
};
use serde_json::json;
use std::collections::{BTreeMap, HashSet};

/// One tag with its values, as set on a member.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagSet {
    /// Tag name without `tag_`.
    pub name: String,
    /// Values, or `[$ALL_MEMBERS$]`.
    pub values: Vec<String>,
}

/// Fields of a new member.
#[derive(Debug, Clone, Default)]
pub struct NewMember {
    /// Login account.
    pub account: String,
    /// Nickname (defaults to the account).
    pub nickname: Option<String>,
    /// Real name (defaults to the nickname).
    pub name: Option<String>,
    /// Initial password; generated when absent.
    pub password: Option<String>,
    /// Whether the first password must be replaced at the first login (default: yes; a generated
    /// one always is).
    pub password_change_required: Option<bool>,
    /// Licence class.
    pub user_type: Option<UserType>,
    /// Organization role (defaults to standard user).
    pub role_id: Option<i64>,
    /// Email.
    pub email: Option<String>,
    /// Phone.
    pub phone: Option<String>,
    /// Employee number.
    pub employee_no: Option<String>,
    /// Position.
    pub position: Option<String>,
    /// Departments.
    pub department_ids: Vec<i64>,
    /// Tags.
    pub tags: Vec<TagSet>,
}

/// Changes to a member; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct MemberChanges {
    /// New nickname.
    pub nickname: Option<String>,
    /// New real name.
    pub name: Option<String>,
    /// New email (`Some("")` clears it).
    pub email: Option<String>,
    /// New phone (`Some("")` clears it).
    pub phone: Option<String>,
    /// New employee number.
    pub employee_no: Option<String>,
    /// New position.
    pub position: Option<String>,
    /// New user type.
    pub user_type: Option<UserType>,
    /// New organization role.
    pub role_id: Option<i64>,
    /// Replaces the departments.
    pub department_ids: Option<Vec<i64>>,
    /// Replaces the tags.
    pub tags: Option<Vec<TagSet>>,
}

/// An organization role resolved for assignment.
pub(crate) async fn assignable_org_role<C: ConnectionTrait>(
    db: &C,
    org: i64,
    role_id: i64,
) -> Result<(role::Model, bool)> {
    let role = role::Entity::find_by_id(role_id)
        .filter(
            role::Column::OrganizationId
                .eq(org)
                .or(role::Column::OrganizationId.is_null()),
        )
        .one(db)
        .await?
        .filter(|r| r.scope == RoleScope::Organization)
        .ok_or_else(|| {
            Error::validation(
                "roleId",
                "no organization role with this id in your organization",
            )
        })?;
    let is_admin = BuiltinRole::of(&role).is_some_and(BuiltinRole::is_administrator);
    Ok((role, is_admin))
}

pub(super) fn is_org_admin_role(role: &role::Model) -> bool {
    role.builtin_key.as_deref() == Some(BuiltinRole::OrgAdmin.key())
}

/// Checks the caller may give or take away `role`: organization roles need `org.permissions.manage`,
/// and the organization administrator role needs `org.organization.manage`.
pub(crate) fn check_role_grant(grants: &Grants, role: &role::Model) -> Result<()> {
    grants.require(Permission::ManagePermissions)?;
    if is_org_admin_role(role) {
        grants.require(Permission::ManageOrganization)?;
    }
    Ok(())
}

/// [`check_role_grant`] for a member who is given `role` (or whose login is handed over), where
/// the standard user role needs no more than managing members.
pub(crate) fn check_role_grant_beyond_standard(grants: &Grants, role: &role::Model) -> Result<()> {
    if role.builtin_key.as_deref() == Some(BuiltinRole::StandardUser.key()) {
        return Ok(());
    }
    check_role_grant(grants, role)
}

/// Whether a member of the organization (other than `except`) holds this nickname in any letter
/// case. The database lower-cases both sides, as its unique index on
/// `(organization_id, lower(nickname))` does, so the answer is the index's.
pub async fn nickname_taken<C: ConnectionTrait>(
    db: &C,
    org: i64,
    nickname: &str,
    except: Option<i64>,
) -> Result<bool> {
    let mut query = member::Entity::find()
        .filter(member::Column::OrganizationId.eq(org))
        .filter(
            Expr::expr(Func::lower(Expr::col(member::Column::Nickname)))
                .eq(Func::lower(Expr::val(nickname))),
        );
    if let Some(id) = except {
        query = query.filter(member::Column::Id.ne(id));
    }
    Ok(query.count(db).await? > 0)
}

/// Refuses an account another member of the organization holds.
pub(crate) async fn check_account_free<C: ConnectionTrait>(
    db: &C,
    org: i64,
    account: &str,
) -> Result<()> {
    if member::Entity::find()
        .filter(member::Column::OrganizationId.eq(org))
        .filter(member::Column::Account.eq(account))
        .count(db)
        .await?
        > 0
    {
        return Err(Error::Conflict(format!(
            "the account `{account}` already exists in this organization"
        )));
    }
    Ok(())
}

/// Refuses a nickname another member of the organization holds in any letter case.
pub(crate) async fn check_nickname_free<C: ConnectionTrait>(
    db: &C,
    org: i64,
    nickname: &str,
    except: Option<i64>,
) -> Result<()> {
    if nickname_taken(db, org, nickname, except).await? {
        return Err(Error::Conflict(format!(
            "the nickname `{nickname}` is already used in this organization; choose another"
        )));
    }
    Ok(())
}

async fn check_departments<C: ConnectionTrait>(db: &C, org: i64, ids: &[i64]) -> Result<()> {
    let unique: HashSet<i64> = ids.iter().copied().collect();
    let found = department::Entity::find()
        .filter(department::Column::OrganizationId.eq(org))
        .filter(department::Column::Id.is_in(unique.iter().copied()))
        .count(db)
        .await?;
    if found as usize != unique.len() {
        return Err(Error::validation(
            "departmentIds",
            "one of the departments does not exist in this organization",
        ));
    }
    Ok(())
}

/// Refuses when adding `adding` members would pass the organization's seat limit. Call it inside
/// the transaction that adds them: it locks the organization row so that concurrent additions
/// count one after the other.
pub async fn check_seats<C: ConnectionTrait>(
    db: &C,
    org: &organization::Model,
    adding: u64,
) -> Result<()> {
    if let Some(limit) = org.seat_limit {
        organization::Entity::update_many()
            .col_expr(
                organization::Column::SeatLimit,
                Expr::col(organization::Column::SeatLimit),
            )
            .filter(organization::Column::Id.eq(org.id))
            .exec(db)
            .await?;
        let used = seats_in_use(db, org.id).await?;
        if used + adding > u64::try_from(limit).unwrap_or(0) {
            return Err(Error::Conflict(format!(
                "the organization's seat limit is {limit} and {used} seats are in use; remove or resign members, or raise the limit"
            )));
        }
    }
    Ok(())
}

async fn replace_departments_in_txn<C: ConnectionTrait>(
    db: &C,
    org: i64,
    member_id: i64,
    ids: &[i64],
) -> Result<()> {
    department_member::Entity::delete_many()
        .filter(department_member::Column::MemberId.eq(member_id))
        .exec(db)
        .await?;
    let unique: Vec<i64> = ids
        .iter()
        .copied()
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    if !unique.is_empty() {
        department_member::Entity::insert_many(unique.into_iter().map(|department_id| {
            department_member::ActiveModel {
                department_id: Set(department_id),
                member_id: Set(member_id),
                organization_id: Set(org),
            }
        }))
        .exec_without_returning(db)
        .await?;
    }
    Ok(())
}

async fn replace_tags_in_txn<C: ConnectionTrait>(
    db: &C,
    org: i64,
    member_id: i64,
    tags: &[TagSet],
) -> Result<()> {
    member_tag::Entity::delete_many()
        .filter(member_tag::Column::MemberId.eq(member_id))
        .exec(db)
        .await?;
    let rows: Vec<member_tag::ActiveModel> = tags
        .iter()
        .flat_map(|tag| {
            tag.values.iter().map(move |value| member_tag::ActiveModel {
                organization_id: Set(org),
                member_id: Set(member_id),
                name: Set(tag.name.clone()),
                value: Set(value.clone()),
                ..Default::default()
            })
        })
        .collect();
    if !rows.is_empty() {
        member_tag::Entity::insert_many(rows)
            .exec_without_returning(db)
            .await?;
    }
    Ok(())
}

/// Normalizes tag input: valid names, parsed values, one entry per name.
pub fn parse_tags(tags: Vec<(String, String)>) -> Result<Vec<TagSet>> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (name, values) in tags {
        let name = rules::tag_name("tags", &name)?;
        if out.contains_key(&name) {
            return Err(Error::validation(
                "tags",
                format!("the tag `tag_{name}` is given twice"),
            ));
        }
        out.insert(name, rules::tag_values("tags", &values)?);
    }
    Ok(out
        .into_iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(name, values)| TagSet { name, values })
        .collect())
}

/// Creates a personal workspace for a member.
pub async fn create_personal_workspace_in_txn<C: ConnectionTrait>(
    db: &C,
    member: &member::Model,
) -> Result<()> {
    workspace::Entity::insert(personal_workspace_row(member))
        .exec_without_returning(db)
        .await?;
    Ok(())
}

/// The row of a member's personal workspace, for one insert or many (spreadsheet import).
pub fn personal_workspace_row(member: &member::Model) -> workspace::ActiveModel {
    workspace::ActiveModel {
        organization_id: Set(member.organization_id),
        name: Set(format!("{}'s workspace", member.nickname)),
        kind: Set(WorkspaceKind::Personal),
        owner_member_id: Set(member.id),
        created_at: Set(Utc::now()),
        ..Default::default()
    }
}

/// The fields of a new local (password) member, already checked.
#[derive(Debug, Clone)]
pub struct LocalMember {
    /// Organization.
    pub organization_id: i64,
    /// The person (a `user` row with the password hash).
    pub user_id: i64,
    /// Login account.
    pub account: String,
    /// Nickname.
    pub nickname: String,
    /// Real name.
    pub name: String,
    /// Licence class.
    pub user_type: UserType,
    /// Organization role.
    pub role_id: i64,
    /// Email.
    pub email: Option<String>,
    /// Phone.
    pub phone: Option<String>,
    /// Employee number (trimmed; empty means none).
    pub employee_no: Option<String>,
    /// Position (trimmed; empty means none).
    pub position: Option<String>,
}

/// Inserts an active local member (`createMember`, the first administrator, organizations).
pub async fn insert_local_member<C: ConnectionTrait>(
    db: &C,
    m: LocalMember,
    now: DateTime<Utc>,
) -> Result<member::Model> {
    Ok(member::Entity::insert(local_member_row(m, now))
        .exec_with_returning(db)
        .await?)
}

/// The row of an active local member; [`insert_local_member`] and spreadsheet import (many rows
/// per statement) share it.
pub fn local_member_row(m: LocalMember, now: DateTime<Utc>) -> member::ActiveModel {
    let clean = |v: Option<String>| v.map(|s| s.trim().to_string()).filter(|s| !s.is_empty());
    member::ActiveModel {
        organization_id: Set(m.organization_id),
        user_id: Set(m.user_id),
        account: Set(m.account),
        nickname: Set(m.nickname),
        name: Set(m.name),
        user_type: Set(m.user_type),
        role_id: Set(m.role_id),
        status: Set(MemberStatus::Active),
        email: Set(m.email),
        phone: Set(m.phone),
        employee_no: Set(clean(m.employee_no)),
        position: Set(clean(m.position)),
        account_type: Set(AccountType::Local),
        source_connection_id: Set(None),
        joined_at: Set(now),
        last_login_at: Set(None),
        name_changed: Set(false),
        to_be_deleted: Set(false),
        updated_at: Set(now),
        ..Default::default()
    }
}

/// Adds a local member (with a password) to a generic organization. Returns the member and the
/// generated password when none was given. The first password is one-time
/// ([`rules::password_one_time`]) and then expires after `lifetime`.
///
/// **Permissions**: `org.members.manage`; a role other than standard user also needs
/// `org.permissions.manage` (and `org.organization.manage` for the administrator role).
pub async fn create(
    db: &DatabaseConnection,
    access: &OrgAccess,
    grants: &Grants,
    input: NewMember,
    lifetime: OneTimeLifetime,
    cx: &Change,
) -> Result<(member::Model, Option<String>)> {
    let org = organization::Entity::find_by_id(access.org_id())
        .one(db)
        .await?
        .ok_or(Error::NotFound("organization"))?;
    let account = rules::account("account", &input.account)?;
    let nickname = rules::nickname("nickname", input.nickname.as_deref().unwrap_or(&account))?;
    let name = input
        .name
        .as_deref()
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .unwrap_or(&nickname)
        .to_string();
    let email = rules::email("email", input.email.as_deref())?;
    let phone = rules::phone("phone", input.phone.as_deref())?;
    let user_type = input.user_type.unwrap_or(UserType::Viewer);
    let roles = crate::authz::roles::builtin_role_ids(db).await?;
    let role_id = match input.role_id {
        Some(id) => id,
        None => roles
            .get(&BuiltinRole::StandardUser)
            .copied()
            .ok_or_else(|| Error::internal("built-in roles missing"))?,
    };
    let (role, is_admin) = assignable_org_role(db, org.id, role_id).await?;
    check_role_grant_beyond_standard(grants, &role)?;
    rules::check_admin_role("roleId", user_type, is_admin, &role.name)?;
    if let Some(p) = &input.password {
        password::validate_new("password", p)?;
    }
    let one_time = rules::password_one_time(
        "passwordChangeRequired",
        input.password.is_some(),
        input.password_change_required,
    )?;
    check_account_free(db, org.id, &account).await?;
    check_nickname_free(db, org.id, &nickname, None).await?;
    check_departments(db, org.id, &input.department_ids).await?;
    let (hash, generated) = password::hash_or_generate(input.password).await?;
    let now = Utc::now();

    let txn = crate::db::begin_write(db).await?;
    check_seats(&txn, &org, 1).await?;
    let person = user::Entity::insert(user::ActiveModel {
        name: Set(name.clone()),
        avatar_url: Set(None),
        password_hash: Set(Some(hash)),
        password_change_required: Set(one_time),
        password_expires_at: Set(lifetime.expires_at(now).filter(|_| one_time)),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    })
    .exec_with_returning(&txn)
    .await?;
    let created = insert_local_member(
        &txn,
        LocalMember {
            organization_id: org.id,
            user_id: person.id,
            account,
            nickname,
            name,
            user_type,
            role_id: role.id,
            email,
            phone,
            employee_no: input.employee_no,
            position: input.position,
        },
        now,
    )
    .await?;
    replace_departments_in_txn(&txn, org.id, created.id, &input.department_ids).await?;
    replace_tags_in_txn(&txn, org.id, created.id, &input.tags).await?;
    create_personal_workspace_in_txn(&txn, &created).await?;
    crate::push::outbox::created(
        &txn,
        org.id,
        Some(access.actor()),
        OutboxObject::Member,
        created.id,
        json!({
            "name": created.name,
            "userid": crate::push::deliver::userid_for(&created.account, created.id),
        }),
    )
    .await?;
    let event = audit::record(
        &txn,
        AuditEntry {
            organization_id: org.id,
            actor_member_id: Some(access.actor()),
            action: "member.create",
            target_type: "member",
            target_id: Some(created.id.to_string()),
            summary: json!({ "account": created.account, "nickname": created.nickname, "userType": created.user_type, "roleId": created.role_id }),
            client_ip: cx.client_ip.clone(),
        },
    )
    .await?;
    txn.commit().await?;
    cx.published([event]);
    Ok((created, generated))
}

/// Edits a member.
///
/// **Permissions**: `org.members.manage`; changing the organization role also needs
/// `org.permissions.manage`, and giving or taking the administrator role `org.organization.manage`.
pub async fn update(
    db: &DatabaseConnection,
    access: &OrgAccess,
    grants: &Grants,
    member_id: i64,
    changes: MemberChanges,
    cx: &Change,
) -> Result<member::Model> {
    let org = access.org_id();
    let current = get(db, org, member_id).await?;
    let mut row = member::ActiveModel {
        id: Set(current.id),
        updated_at: Set(Utc::now()),
        ..Default::default()
    };
    let mut summary = serde_json::Map::new();

    if let Some(nickname) = &changes.nickname {
        let nickname = rules::nickname("nickname", nickname)?;
        if nickname != current.nickname {
            check_nickname_free(db, org, &nickname, Some(current.id)).await?;
            summary.insert(
                "nickname".into(),
                json!({ "from": current.nickname, "to": nickname }),
            );
            row.nickname = Set(nickname);
        }
    }
    if let Some(source) = current.source_connection_id {
        // Name, email and phone of a provider's member follow the provider — unless the
        // connection pushes local changes, which DingTalk takes for all but the mobile number.
        let pushing = crate::push::outbox::pushes(db, source).await?;
        let differs = |new: &Option<String>, old: Option<&str>| {
            new.as_deref()
                .is_some_and(|n| Some(n.trim()).filter(|n| !n.is_empty()) != old)
        };
        if pushing && differs(&changes.phone, current.phone.as_deref()) {
            return Err(Error::validation(
                "phone",
                format!(
                    "DingTalk does not let apps change a mobile number; change `{}`'s mobile in DingTalk's admin console, and the next sync brings it here",
                    current.nickname
                ),
            ));
        }
        for (field, new, old) in [
            ("name", &changes.name, Some(current.name.as_str())),
            ("email", &changes.email, current.email.as_deref()),
            ("phone", &changes.phone, current.phone.as_deref()),
        ] {
            if !pushing && differs(new, old) {
                return Err(Error::validation(
                    field,
                    format!(
                        "`{}` comes from a provider connection; change their {field} in the provider's admin console (DingTalk, WeCom or Microsoft Entra) and sync again",
                        current.nickname
                    ),
                ));
            }
        }
    }
    if let Some(name) = &changes.name {
        let name = rules::name("name", name)?;
        summary.insert("name".into(), json!({ "from": current.name, "to": name }));
        row.name = Set(name);
    }
    if let Some(email) = &changes.email {
        let email = rules::email("email", Some(email))?;
        summary.insert(
            "email".into(),
            json!({ "from": current.email, "to": email }),
        );
        row.email = Set(email);
    }
    if let Some(phone) = &changes.phone {
        let phone = rules::phone("phone", Some(phone))?;
        summary.insert(
            "phone".into(),
            json!({ "from": current.phone, "to": phone }),
        );
        row.phone = Set(phone);
    }
    if let Some(employee_no) = &changes.employee_no {
        row.employee_no = Set(Some(employee_no.trim().to_string()).filter(|s| !s.is_empty()));
    }
    if let Some(position) = &changes.position {
        row.position = Set(Some(position.trim().to_string()).filter(|s| !s.is_empty()));
    }
    let user_type = changes.user_type.unwrap_or(current.user_type);
    let current_role = role_of(db, &current).await?;
    let (role, is_admin) = match changes.role_id {
        Some(role_id) if role_id != current.role_id => {
            let (role, is_admin) = assignable_org_role(db, org, role_id).await?;
            check_role_grant(grants, &role)?;
            check_role_grant(grants, &current_role)?;
            if current.id == access.actor() && is_org_admin_role(&current_role) {
                return Err(Error::Forbidden(
                    "you cannot take the organization administrator role from yourself; ask another administrator".into(),
                ));
            }
            summary.insert(
                "roleId".into(),
                json!({ "from": current.role_id, "to": role.id }),
            );
            row.role_id = Set(role.id);
            (role, is_admin)
        }
        _ => {
            let is_admin =
                BuiltinRole::of(&current_role).is_some_and(BuiltinRole::is_administrator);
            (current_role, is_admin)
        }
    };
    let field = if changes.user_type.is_some() && changes.role_id.is_none() {
        "userType"
    } else {
        "roleId"
    };
    rules::check_admin_role(field, user_type, is_admin, &role.name)?;
    if let Some(new_type) = changes.user_type
        && new_type != current.user_type
    {
        if new_type == UserType::Viewer {
            check_viewer_may_hold_current_roles(db, &current).await?;
        }
        summary.insert(
            "userType".into(),
            json!({ "from": current.user_type, "to": new_type }),
        );
        row.user_type = Set(new_type);
    }
    if let Some(ids) = &changes.department_ids {
        check_departments(db, org, ids).await?;
        summary.insert("departmentIds".into(), json!(ids));
    }
    if let Some(tags) = &changes.tags {
        summary.insert(
            "tags".into(),
            json!(
                tags.iter()
                    .map(|t| (format!("tag_{}", t.name), t.values.join(",")))
                    .collect::<BTreeMap<_, _>>()
            ),
        );
    }

    let txn = crate::db::begin_write(db).await?;
    let updated = member::Entity::update(row).exec(&txn).await?;
    if let Some(ids) = &changes.department_ids {
        replace_departments_in_txn(&txn, org, current.id, ids).await?;
    }
    if let Some(tags) = &changes.tags {
        replace_tags_in_txn(&txn, org, current.id, tags).await?;
    }
    // What DingTalk keeps of a person: name, email, title (position) and departments.
    if changes.name.is_some()
        || changes.email.is_some()
        || changes.position.is_some()
        || changes.department_ids.is_some()
    {
        crate::push::outbox::changed(
            &txn,
            org,
            Some(access.actor()),
            OutboxObject::Member,
            &[current.id],
        )
        .await?;
    }
    let event = audit::record(
        &txn,
        AuditEntry {
            organization_id: org,
            actor_member_id: Some(access.actor()),
            action: "member.update",
            target_type: "member",
            target_id: Some(current.id.to_string()),
            summary: serde_json::Value::Object(summary),
            client_ip: cx.client_ip.clone(),
        },
    )
    .await?;
    txn.commit().await?;
    cx.published([event]);
    Ok(updated)
}

/// Viewers hold no agent seats and only view-only workspace roles.
pub(crate) async fn check_viewer_may_hold_current_roles<C: ConnectionTrait>(
    db: &C,
    member: &member::Model,
) -> Result<()> {
    match viewer_blockers(db, &[member.id]).await?.remove(&member.id) {
        Some(why) => Err(Error::validation("userType", why)),
        None => Ok(()),
    }
}

/// Why each of these members may not become a viewer (agent seats, editing workspace roles);
/// members absent from the map may.
pub async fn viewer_blockers<C: ConnectionTrait>(
    db: &C,
    member_ids: &[i64],
) -> Result<std::collections::HashMap<i64, &'static str>> {
    let mut out = std::collections::HashMap::new();
    for chunk in member_ids.chunks(1000) {
        let seated: Vec<i64> = entity::agent_seat::Entity::find()
            .select_only()
            .column(entity::agent_seat::Column::MemberId)
            .filter(entity::agent_seat::Column::MemberId.is_in(chunk.iter().copied()))
            .into_tuple()
            .all(db)
            .await?;
        for id in seated {
            out.insert(
                id,
                "viewers cannot hold agent seats; unassign this member's agent seats first",
            );
        }
    }
    for id in crate::org::workspaces::holding_editing_roles(db, member_ids).await? {
        out.entry(id).or_insert(
            "viewers may only hold view-only workspace roles; change this member's workspace roles first",
        );
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_parse_and_refuse_duplicates() {
        let tags = parse_tags(vec![
            ("tag_region".into(), "North,South".into()),
            ("level".into(), "$ALL_MEMBERS$".into()),
        ])
        .unwrap();
        assert_eq!(tags.len(), 2);
        assert!(parse_tags(vec![("a".into(), "1".into()), ("tag_a".into(), "2".into())]).is_err());
    }
}
