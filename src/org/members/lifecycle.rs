//! Members one or many at a time, each with its outcome: disabled and activated, passwords
//! reset, removed, resigned; each refusal names its rule and what to do.

use super::*;
use crate::org::audit::{self, AuditEntry, Change};
use crate::{
    auth::{
        password::{self, OneTimeLifetime},
        refresh,
    },
    authz::{Grants, OrgAccess},
    error::{Error, Result},
};
use chrono::{DateTime, Utc};
use entity::{
    department, department_member, directory_role_member, enums::*, member, organization, user,
    workspace, workspace_member,
};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection, DatabaseTransaction,
    EntityTrait, PaginatorTrait, QueryFilter, QuerySelect, sea_query::Expr,
};
use serde_json::json;
use std::collections::HashSet;

/// What happened to one member of a batch.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The member.
    pub member_id: i64,
    /// Whether the action was applied.
    pub ok: bool,
    /// Why not, and what to do.
    pub message: Option<String>,
}

impl Outcome {
    fn done(member_id: i64) -> Self {
        Self {
            member_id,
            ok: true,
            message: None,
        }
    }

    fn refused(member_id: i64, message: impl Into<String>) -> Self {
        Self {
            member_id,
            ok: false,
            message: Some(message.into()),
        }
    }
}

/// Disables or re-activates members; disabling revokes their refresh tokens, and their access
/// tokens stop working on the next request.
///
/// **Permissions**: `org.members.manage`.
pub async fn set_status(
    db: &DatabaseConnection,
    access: &OrgAccess,
    member_ids: &[i64],
    enable: bool,
    cx: &Change,
) -> Result<Vec<Outcome>> {
    let self_verb = (!enable).then_some("disable");
    let mut batch = Batch::begin(db, access, member_ids, self_verb, cx).await?;
    while let Some(m) = batch.next().await? {
        let step = status_step(&batch.txn, &m, enable).await?;
        batch.record(&m, step).await?;
    }
    batch.finish().await
}

/// [`set_status`] for one member: refused for a resigned one.
async fn status_step(txn: &DatabaseTransaction, m: &member::Model, enable: bool) -> Result<Step> {
    let (target, action) = if enable {
        (MemberStatus::Active, "member.activate")
    } else {
        (MemberStatus::Disabled, "member.disable")
    };
    if m.status == MemberStatus::Resigned {
        let why = "this member has resigned; resigned members stay as a record";
        return Ok(Step::Refused(why.into()));
    }
    if m.status == target {
        return Ok(Step::Unchanged);
    }
    member::Entity::update(member::ActiveModel {
        id: Set(m.id),
        status: Set(target),
        updated_at: Set(Utc::now()),
        ..Default::default()
    })
    .exec(txn)
    .await?;
    if !enable {
        refresh::revoke_member(txn, m.id).await?;
    }
    Ok(Step::Changed(
        action,
        json!({ "from": m.status, "to": target }),
    ))
}

/// Why the caller may not give `target` a new one-time password, or `None`: `target` is the
/// caller themself (they use `changePassword`), logs in through a provider, also belongs to
/// another organization (the password is theirs there too), or holds a role other than standard
/// user that the caller could not assign.
async fn password_reset_refusal<C: ConnectionTrait>(
    db: &C,
    access: &OrgAccess,
    grants: &Grants,
    target: &member::Model,
) -> Result<Option<Error>> {
    if target.id == access.actor() {
        return Ok(Some(Error::validation(
            "id",
            "this is your own account: change your password with `changePassword`",
        )));
    }
    if target.account_type != AccountType::Local {
        return Ok(Some(Error::validation(
            "id",
            format!(
                "`{}` logs in through {}, and Roster keeps no password for them; their password is managed there",
                target.nickname,
                crate::excel::columns::account_type_label(target.account_type)
            ),
        )));
    }
    if let Err(refusal) = check_role_grant_beyond_standard(grants, &role_of(db, target).await?) {
        return Ok(Some(refusal));
    }
    let elsewhere = member::Entity::find()
        .filter(member::Column::UserId.eq(target.user_id))
        .filter(member::Column::OrganizationId.ne(target.organization_id))
        .count(db)
        .await?;
    Ok((elsewhere > 0).then(|| {
        Error::Forbidden(format!(
            "`{}` also belongs to another organization, where the same password lets them in; only they can change it, with `changePassword`",
            target.nickname
        ))
    }))
}

/// Gives each of `targets` (local members the caller may reset, see
/// [`password_reset_refusal`]) a new one-time password, in one transaction: their other logins
/// are logged out and a `member.password_reset` event is recorded for each. The passwords come
/// back in the order of `targets`, with the time they expire (the same for all).
async fn apply_password_resets(
    db: &DatabaseConnection,
    access: &OrgAccess,
    targets: &[member::Model],
    lifetime: OneTimeLifetime,
    cx: &Change,
) -> Result<(Vec<String>, Option<DateTime<Utc>>)> {
    let now = Utc::now();
    let expires_at = lifetime.expires_at(now);
    if targets.is_empty() {
        return Ok((Vec::new(), expires_at));
    }
    let (passwords, hashes): (Vec<String>, Vec<String>) = password::generated(targets.len())
        .await?
        .into_iter()
        .unzip();
    let txn = crate::db::begin_write(db).await?;
    let mut events = Vec::with_capacity(targets.len());
    for (target, hash) in targets.iter().zip(hashes) {
        user::Entity::update(user::ActiveModel {
            id: Set(target.user_id),
            password_hash: Set(Some(hash)),
            password_change_required: Set(true),
            password_expires_at: Set(expires_at),
            updated_at: Set(now),
            ..Default::default()
        })
        .exec(&txn)
        .await?;
        refresh::revoke_member(&txn, target.id).await?;
        events.push(
            audit::record(
                &txn,
                AuditEntry {
                    organization_id: target.organization_id,
                    actor_member_id: Some(access.actor()),
                    action: "member.password_reset",
                    target_type: "member",
                    target_id: Some(target.id.to_string()),
                    summary: json!({ "account": target.account }),
                    client_ip: cx.client_ip.clone(),
                },
            )
            .await?,
        );
    }
    txn.commit().await?;
    cx.published(events);
    Ok((passwords, expires_at))
}

/// Gives a local member a new one-time password, returned only here: their other logins are
/// logged out, and until they choose their own password with `changePassword` every operation
/// but `me`, `changePassword` and `logout` is refused. Refused for the caller themself (they
/// use `changePassword`), for members who log in through a provider, for people who also belong
/// to another organization (the password is theirs there too), and for a member holding a role
/// other than standard user that the caller could not assign. The password expires after
/// `lifetime`.
///
/// **Permissions**: `org.members.manage` (plus `org.permissions.manage`, and
/// `org.organization.manage` for an administrator, as above).
pub async fn reset_password(
    db: &DatabaseConnection,
    access: &OrgAccess,
    grants: &Grants,
    member_id: i64,
    lifetime: OneTimeLifetime,
    cx: &Change,
) -> Result<(member::Model, String)> {
    let target = get(db, access.org_id(), member_id).await?;
    if let Some(refusal) = password_reset_refusal(db, access, grants, &target).await? {
        return Err(refusal);
    }
    let generated = apply_password_resets(db, access, std::slice::from_ref(&target), lifetime, cx)
        .await?
        .0
        .pop()
        .ok_or_else(|| Error::internal("no password was generated"))?;
    Ok((target, generated))
}

/// What a batch password reset did for one member: the outcome, and the new one-time password
/// when it was applied.
#[derive(Debug, Clone)]
pub struct PasswordResetOutcome {
    /// Whether it was applied, and why not.
    pub outcome: Outcome,
    /// The new one-time password, shown only here.
    pub generated_password: Option<String>,
    /// When the new password stops letting its holder in, if it expires.
    pub password_expires_at: Option<DateTime<Utc>>,
}

/// [`reset_password`] for many members at once: each refusal is reported for its member (as
/// [`reset_password`] says), and the others get their new passwords together, all or
/// none. Outcomes come in the order the ids were given, each member once.
///
/// **Permissions**: as for [`reset_password`].
pub async fn reset_passwords(
    db: &DatabaseConnection,
    access: &OrgAccess,
    grants: &Grants,
    member_ids: &[i64],
    lifetime: OneTimeLifetime,
    cx: &Change,
) -> Result<Vec<PasswordResetOutcome>> {
    let mut outcomes = Vec::new();
    let mut targets = Vec::new();
    for &id in unique(member_ids).iter() {
        let outcome = match batch_target(db, access, id, None).await? {
            Err(refused) => refused,
            Ok(target) => match password_reset_refusal(db, access, grants, &target).await? {
                Some(refusal) => Outcome::refused(id, refusal.to_string()),
                None => {
                    targets.push(target);
                    Outcome::done(id)
                }
            },
        };
        outcomes.push(PasswordResetOutcome {
            outcome,
            generated_password: None,
            password_expires_at: None,
        });
    }
    let (passwords, expires_at) = apply_password_resets(db, access, &targets, lifetime, cx).await?;
    let mut passwords = passwords.into_iter();
    for reset in outcomes.iter_mut().filter(|r| r.outcome.ok) {
        reset.generated_password = passwords.next();
        reset.password_expires_at = expires_at;
    }
    Ok(outcomes)
}

/// The member a batch action names, or the outcome refusing it: not in the organization, or the
/// caller themself when the action (`self_verb`) may not apply to oneself.
async fn batch_target<C: ConnectionTrait>(
    db: &C,
    access: &OrgAccess,
    id: i64,
    self_verb: Option<&str>,
) -> Result<Result<member::Model, Outcome>> {
    let found = member::Entity::find_by_id(id)
        .filter(member::Column::OrganizationId.eq(access.org_id()))
        .one(db)
        .await?;
    Ok(match found {
        None => Err(Outcome::refused(id, "no such member in this organization")),
        Some(m) if m.id == access.actor() && self_verb.is_some() => Err(Outcome::refused(
            id,
            format!(
                "you cannot {} yourself; ask another administrator",
                self_verb.unwrap_or_default()
            ),
        )),
        Some(m) => Ok(m),
    })
}

/// The members a batch names, each once and in the order given; VALIDATION on `memberIds` when
/// one of them is not in the organization.
pub async fn in_organization<C: ConnectionTrait>(
    db: &C,
    org: i64,
    ids: &[i64],
) -> Result<Vec<member::Model>> {
    let rows = member::Entity::find()
        .filter(member::Column::OrganizationId.eq(org))
        .filter(member::Column::Id.is_in(unique(ids)))
        .all(db)
        .await?;
    in_order(
        ids,
        rows,
        |m| m.id,
        |id| {
            Error::validation(
                "memberIds",
                format!(
                    "member {id} does not exist in this organization; \
                     reload the member list and pick again"
                ),
            )
        },
    )
}

/// `ids` each once, in the order first given.
pub(crate) fn unique(ids: &[i64]) -> Vec<i64> {
    let mut seen = HashSet::new();
    ids.iter().copied().filter(|id| seen.insert(*id)).collect()
}

/// The rows a batch names by id (`rows`, read for those ids), each once and in the order of
/// `ids`; the first id without a row gets the error `missing` makes.
pub(crate) fn in_order<T>(
    ids: &[i64],
    rows: Vec<T>,
    id_of: impl Fn(&T) -> i64,
    missing: impl Fn(i64) -> Error,
) -> Result<Vec<T>> {
    let mut found: std::collections::HashMap<i64, T> =
        rows.into_iter().map(|row| (id_of(&row), row)).collect();
    unique(ids)
        .into_iter()
        .map(|id| found.remove(&id).ok_or_else(|| missing(id)))
        .collect()
}

/// Group workspaces (not personal ones) a member belongs to, and those they own.
async fn workspace_ties<C: ConnectionTrait>(
    db: &C,
    member_id: i64,
) -> Result<(Vec<String>, Vec<String>)> {
    let owned: Vec<String> = workspace::Entity::find()
        .filter(workspace::Column::OwnerMemberId.eq(member_id))
        .filter(workspace::Column::Kind.eq(WorkspaceKind::Group))
        .all(db)
        .await?
        .into_iter()
        .map(|w| w.name)
        .collect();
    let ids: Vec<i64> = workspace_member::Entity::find()
        .select_only()
        .column(workspace_member::Column::WorkspaceId)
        .filter(workspace_member::Column::MemberId.eq(member_id))
        .into_tuple()
        .all(db)
        .await?;
    let member_of: Vec<String> = workspace::Entity::find()
        .filter(workspace::Column::Id.is_in(ids))
        .filter(workspace::Column::Kind.eq(WorkspaceKind::Group))
        .all(db)
        .await?
        .into_iter()
        .map(|w| w.name)
        .collect();
    Ok((member_of, owned))
}

/// Why a member may not leave the organization, or `None`: organization administrators and
/// workspace owners may not, and for a removal (`removal`) neither may workspace members.
async fn may_not_leave<C: ConnectionTrait>(
    db: &C,
    m: &member::Model,
    removal: bool,
) -> Result<Option<String>> {
    if is_org_admin_role(&role_of(db, m).await?) {
        return Ok(Some(format!(
            "`{}` is an organization administrator; change their organization role first",
            m.nickname
        )));
    }
    let (member_of, owned) = workspace_ties(db, m.id).await?;
    if let Some(ws) = owned.first() {
        return Ok(Some(format!(
            "`{}` owns workspace `{ws}`; transfer its ownership first",
            m.nickname
        )));
    }
    if removal && let Some(ws) = member_of.first() {
        return Ok(Some(format!(
            "`{}` is a member of workspace `{ws}`; remove them from workspace `{ws}` first",
            m.nickname
        )));
    }
    Ok(None)
}

/// What one member's step of a [`Batch`] did.
enum Step {
    /// Refused: the rule, and what to do.
    Refused(String),
    /// Nothing to change: the member is so already.
    Unchanged,
    /// Changed: the audit event's action and its summary of before and after.
    Changed(&'static str, serde_json::Value),
}

/// A batch action over members (disable, activate, remove, resign) in one write transaction:
/// the members it names once each and in the order given, each with its outcome. A member
/// outside the organization is refused before its step, and so is the caller when the action
/// (`self_verb`) may not apply to oneself. Every change is audited, and the events are published
/// once the transaction commits.
struct Batch<'a> {
    access: &'a OrgAccess,
    cx: &'a Change,
    self_verb: Option<&'a str>,
    ids: std::vec::IntoIter<i64>,
    txn: DatabaseTransaction,
    outcomes: Vec<Outcome>,
    events: Vec<entity::audit_event::Model>,
}

impl<'a> Batch<'a> {
    async fn begin(
        db: &DatabaseConnection,
        access: &'a OrgAccess,
        member_ids: &[i64],
        self_verb: Option<&'a str>,
        cx: &'a Change,
    ) -> Result<Self> {
        Ok(Self {
            access,
            cx,
            self_verb,
            ids: unique(member_ids).into_iter(),
            txn: crate::db::begin_write(db).await?,
            outcomes: Vec::new(),
            events: Vec::new(),
        })
    }

    /// The next member to take a step, the refused ones before it recorded; `None` at the end.
    async fn next(&mut self) -> Result<Option<member::Model>> {
        for id in self.ids.by_ref() {
            match batch_target(&self.txn, self.access, id, self.self_verb).await? {
                Ok(m) => return Ok(Some(m)),
                Err(refusal) => self.outcomes.push(refusal),
            }
        }
        Ok(None)
    }

    /// Records what `m`'s step did, auditing a change.
    async fn record(&mut self, m: &member::Model, step: Step) -> Result<()> {
        let outcome = match step {
            Step::Refused(why) => Outcome::refused(m.id, why),
            Step::Unchanged => Outcome::done(m.id),
            Step::Changed(action, summary) => {
                let entry = AuditEntry {
                    organization_id: self.access.org_id(),
                    actor_member_id: Some(self.access.actor()),
                    action,
                    target_type: "member",
                    target_id: Some(m.id.to_string()),
                    summary,
                    client_ip: self.cx.client_ip.clone(),
                };
                self.events.push(audit::record(&self.txn, entry).await?);
                Outcome::done(m.id)
            }
        };
        self.outcomes.push(outcome);
        Ok(())
    }

    /// Commits the batch and publishes its events: every member's outcome.
    async fn finish(self) -> Result<Vec<Outcome>> {
        self.txn.commit().await?;
        self.cx.published(self.events);
        Ok(self.outcomes)
    }
}

/// Removes members from the organization. Refused for the caller, organization administrators,
/// members of any workspace and workspace owners, each with the rule and what to do.
///
/// **Permissions**: `org.members.manage`.
pub async fn remove(
    db: &DatabaseConnection,
    access: &OrgAccess,
    member_ids: &[i64],
    cx: &Change,
) -> Result<Vec<Outcome>> {
    let mut batch = Batch::begin(db, access, member_ids, Some("remove"), cx).await?;
    while let Some(m) = batch.next().await? {
        let step = remove_step(&batch.txn, access, &m).await?;
        batch.record(&m, step).await?;
    }
    batch.finish().await
}

/// [`remove`] for one member.
async fn remove_step(
    txn: &DatabaseTransaction,
    access: &OrgAccess,
    m: &member::Model,
) -> Result<Step> {
    if let Some(why) = may_not_leave(txn, m, true).await? {
        return Ok(Step::Refused(why));
    }
    workspace::Entity::delete_many()
        .filter(workspace::Column::OwnerMemberId.eq(m.id))
        .filter(workspace::Column::Kind.eq(WorkspaceKind::Personal))
        .exec(txn)
        .await?;
    organization::Entity::update_many()
        .col_expr(
            organization::Column::LeaderMemberId,
            Expr::value(Option::<i64>::None),
        )
        .filter(organization::Column::LeaderMemberId.eq(m.id))
        .exec(txn)
        .await?;
    let left = std::slice::from_ref(m);
    crate::push::outbox::members_left(txn, access.org_id(), Some(access.actor()), left).await?;
    member::Entity::delete_by_id(m.id).exec(txn).await?;
    let summary = json!({ "account": m.account, "nickname": m.nickname });
    Ok(Step::Changed("member.remove", summary))
}

/// Marks members as resigned: removed from departments, positions and workspaces, tokens revoked,
/// still listed under the resigned status.
///
/// **Permissions**: `org.members.manage`.
pub async fn resign(
    db: &DatabaseConnection,
    access: &OrgAccess,
    member_ids: &[i64],
    cx: &Change,
) -> Result<Vec<Outcome>> {
    let mut batch = Batch::begin(db, access, member_ids, Some("resign"), cx).await?;
    while let Some(m) = batch.next().await? {
        let step = resign_step(&batch.txn, access, &m).await?;
        batch.record(&m, step).await?;
    }
    batch.finish().await
}

/// [`resign`] for one member.
async fn resign_step(
    txn: &DatabaseTransaction,
    access: &OrgAccess,
    m: &member::Model,
) -> Result<Step> {
    if let Some(why) = may_not_leave(txn, m, false).await? {
        return Ok(Step::Refused(why));
    }
    if m.status == MemberStatus::Resigned {
        return Ok(Step::Unchanged);
    }
    let left = std::slice::from_ref(m);
    crate::push::outbox::members_left(txn, access.org_id(), Some(access.actor()), left).await?;
    department_member::Entity::delete_many()
        .filter(department_member::Column::MemberId.eq(m.id))
        .exec(txn)
        .await?;
    directory_role_member::Entity::delete_many()
        .filter(directory_role_member::Column::MemberId.eq(m.id))
        .exec(txn)
        .await?;
    workspace_member::Entity::delete_many()
        .filter(workspace_member::Column::MemberId.eq(m.id))
        .exec(txn)
        .await?;
    entity::agent_seat::Entity::delete_many()
        .filter(entity::agent_seat::Column::MemberId.eq(m.id))
        .exec(txn)
        .await?;
    department::Entity::update_many()
        .col_expr(
            department::Column::LeaderMemberId,
            Expr::value(Option::<i64>::None),
        )
        .filter(department::Column::LeaderMemberId.eq(m.id))
        .exec(txn)
        .await?;
    member::Entity::update(member::ActiveModel {
        id: Set(m.id),
        status: Set(MemberStatus::Resigned),
        updated_at: Set(Utc::now()),
        ..Default::default()
    })
    .exec(txn)
    .await?;
    refresh::revoke_member(txn, m.id).await?;
    let summary =
        json!({ "account": m.account, "nickname": m.nickname, "previousStatus": m.status });
    Ok(Step::Changed("member.resign", summary))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_keep_their_order_once_each_and_name_the_stranger() {
        let missing = |id| Error::validation("ids", format!("no {id}"));
        let rows = vec![(3, "c"), (1, "a"), (2, "b")];
        let found = in_order(&[2, 3, 2, 1], rows.clone(), |r| r.0, missing).expect("all found");
        assert_eq!(found, [(2, "b"), (3, "c"), (1, "a")]);
        let refused = in_order(&[1, 9, 8], rows, |r| r.0, missing).expect_err("9 is missing");
        assert!(refused.to_string().contains("no 9"), "{refused}");
    }
}
