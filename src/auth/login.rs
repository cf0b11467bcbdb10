//! The login service: password login for generic organizations, token refresh, logout and password
//! change. Every outcome that matters is written to the audit trail.

use super::{jwt::Subject, password, principal::Principal, refresh};
use crate::{
    error::{Error, Result},
    org::audit::{self, AuditEntry},
    state::AppState,
};
use chrono::Utc;
use entity::{enums::MemberStatus, member, user};
use sea_orm::{
    ActiveEnum,
    ActiveValue::Set,
    ColumnTrait, EntityTrait, Order, QueryFilter, QueryOrder, QuerySelect,
    sea_query::{Expr, NullOrdering},
};
use serde_json::json;
use std::collections::HashMap;

/// Tokens handed to a client after login or refresh.
#[derive(Debug, Clone)]
pub struct Tokens {
    /// Bearer access token (JWT).
    pub access_token: String,
    /// Seconds until the access token expires.
    pub expires_in: i64,
    /// Opaque refresh token, valid once.
    pub refresh_token: String,
    /// The member logged in.
    pub member: member::Model,
    /// The person holds a one-time password and must choose their own (`changePassword`) before
    /// anything else is allowed.
    pub password_change_required: bool,
}

/// One failure message for unknown accounts and wrong passwords alike.
fn bad_credentials() -> Error {
    Error::Unauthenticated("the account or password is incorrect".into())
}

/// Logs in with account and password, optionally naming the organization.
#[tracing::instrument(skip(app, password, client_ip), fields(organization_id = ?organization_id))]
pub async fn password_login(
    app: &AppState,
    account: &str,
    password: String,
    organization_id: Option<i64>,
    client_ip: Option<String>,
) -> Result<Tokens> {
    let account = account.trim();
    if account.is_empty() {
        return Err(Error::validation("account", "enter an account"));
    }
    let attempt = app.throttle.begin(account, client_ip.as_deref())?;

    let mut query = member::Entity::find()
        .filter(member::Column::Account.eq(account))
        .order_by_with_nulls(member::Column::LastLoginAt, Order::Desc, NullOrdering::Last)
        .order_by_asc(member::Column::Id);
    if let Some(org) = organization_id {
        query = query.filter(member::Column::OrganizationId.eq(org));
    }
    let candidates = query.all(&app.db).await?;
    let people: HashMap<i64, user::Model> = user::Entity::find()
        .filter(user::Column::Id.is_in(candidates.iter().map(|m| m.user_id)))
        .all(&app.db)
        .await?
        .into_iter()
        .map(|u| (u.id, u))
        .collect();

    // Verify against every candidate person (normally one); unknown accounts burn the same time.
    let mut matched = None;
    if candidates.is_empty() {
        password::verify(None, password).await?;
    } else {
        let mut refused_people = Vec::new();
        for member in candidates {
            if refused_people.contains(&member.user_id) {
                continue;
            }
            let hash = people
                .get(&member.user_id)
                .and_then(|p| p.password_hash.clone());
            if password::verify(hash, password.clone()).await? {
                matched = Some(member);
                break;
            }
            refused_people.push(member.user_id);
        }
    }
    let Some(member) = matched else {
        tracing::info!(account, "password login refused");
        return Err(bad_credentials());
    };
    app.throttle.succeeded(&attempt);

    match member.status {
        MemberStatus::Active => {}
        MemberStatus::Disabled => {
            return Err(Error::Unauthenticated(
                "this member is disabled; ask an organization administrator".into(),
            ));
        }
        MemberStatus::Resigned => {
            return Err(Error::Unauthenticated(
                "this member has left the organization".into(),
            ));
        }
    }
    // After the status: a disabled member is told so, whatever their password.
    let expires_at = people
        .get(&member.user_id)
        .and_then(|p| p.password_expires_at);
    if let Err(expired) = password::check_not_expired(expires_at, Utc::now()) {
        tracing::info!(
            account,
            member = member.id,
            "expired one-time password refused"
        );
        return Err(expired);
    }
    tracing::info!(
        account,
        member = member.id,
        organization = member.organization_id,
        "password login"
    );
    let tokens = issue_tokens(app, member, None).await?;
    let event = audit::record(
        &app.db,
        AuditEntry {
            organization_id: tokens.member.organization_id,
            actor_member_id: Some(tokens.member.id),
            action: "auth.login",
            target_type: "member",
            target_id: Some(tokens.member.id.to_string()),
            summary: json!({ "method": "password" }),
            client_ip,
        },
    )
    .await?;
    app.audit.publish(event);
    Ok(tokens)
}

/// Issues an access token and a refresh token (in `family`, or a new one) and stamps the last login.
pub async fn issue_tokens(
    app: &AppState,
    member: member::Model,
    family: Option<String>,
) -> Result<Tokens> {
    let subject = Subject {
        member_id: member.id,
        organization_id: member.organization_id,
        user_id: member.user_id,
        user_type: member.user_type.to_value(),
    };
    let (access_token, _) = app.tokens.issue(&app.keys, &subject)?;
    let is_login = family.is_none();
    let txn = crate::db::begin_write(&app.db).await?;
    let issued = refresh::issue(
        &txn,
        member.id,
        member.organization_id,
        family,
        app.settings.jwt.refresh_ttl_secs,
    )
    .await?;
    let password_change_required = user::Entity::find_by_id(member.user_id)
        .select_only()
        .column(user::Column::PasswordChangeRequired)
        .into_tuple::<bool>()
        .one(&txn)
        .await?
        .unwrap_or(false);
    let member = if is_login {
        let now = Utc::now();
        member::Entity::update_many()
            .col_expr(member::Column::LastLoginAt, Expr::value(now))
            .filter(member::Column::Id.eq(member.id))
            .exec(&txn)
            .await?;
        member::Model {
            last_login_at: Some(now),
            ..member
        }
    } else {
        member
    };
    txn.commit().await?;
    Ok(Tokens {
        access_token,
        expires_in: app.tokens.ttl_secs(),
        refresh_token: issued.token,
        member,
        password_change_required,
    })
}

/// Exchanges a refresh token for new tokens; the old refresh token stops working.
pub async fn refresh_tokens(app: &AppState, refresh_token: &str) -> Result<Tokens> {
    let txn = crate::db::begin_write(&app.db).await?;
    let row = refresh::consume(&txn, refresh_token.trim()).await;
    let row = match row {
        Ok(row) => {
            txn.commit().await?;
            row
        }
        Err(e) => {
            // Reuse detection revoked the family inside the transaction: keep that.
            txn.commit().await?;
            return Err(e);
        }
    };
    let member = member::Entity::find_by_id(row.member_id)
        .one(&app.db)
        .await?;
    let Some(member) = member.filter(|m| m.organization_id == row.organization_id) else {
        return Err(Error::Unauthenticated(
            "this member no longer exists; log in again".into(),
        ));
    };
    if member.status != MemberStatus::Active {
        refresh::revoke_member(&app.db, member.id).await?;
        return Err(Error::Unauthenticated(
            "this member is no longer active; ask an organization administrator".into(),
        ));
    }
    issue_tokens(app, member, Some(row.family)).await
}

/// Revokes the refresh token's family (this device), or every token of the member when `everywhere`.
pub async fn logout(
    app: &AppState,
    principal: Option<&Principal>,
    refresh_token: Option<&str>,
    everywhere: bool,
    client_ip: Option<String>,
) -> Result<()> {
    let (member_id, organization_id) = match (principal, refresh_token) {
        (Some(p), _) => (p.member_id, p.organization_id),
        (None, Some(token)) => {
            let hash = super::token_hash(token.trim());
            let row = entity::refresh_token::Entity::find()
                .filter(entity::refresh_token::Column::TokenHash.eq(hash))
                .one(&app.db)
                .await?
                .ok_or_else(|| {
                    Error::Unauthenticated(
                        "the refresh token is not valid; you are logged out".into(),
                    )
                })?;
            (row.member_id, row.organization_id)
        }
        (None, None) => {
            return Err(Error::validation(
                "refreshToken",
                "pass the refresh token to log out, or call with an access token",
            ));
        }
    };
    if everywhere {
        refresh::revoke_member(&app.db, member_id).await?;
    } else if let Some(token) = refresh_token {
        let family = refresh::family_of(&app.db, token.trim(), Some(member_id))
            .await?
            .ok_or_else(|| {
                Error::validation("refreshToken", "this refresh token does not belong to you")
            })?;
        refresh::revoke_family(&app.db, &family).await?;
    } else {
        return Err(Error::validation(
            "refreshToken",
            "pass the refresh token of this session, or set `everywhere: true`",
        ));
    }
    let event = audit::record(
        &app.db,
        AuditEntry {
            organization_id,
            actor_member_id: Some(member_id),
            action: "auth.logout",
            target_type: "member",
            target_id: Some(member_id.to_string()),
            summary: json!({ "everywhere": everywhere }),
            client_ip,
        },
    )
    .await?;
    app.audit.publish(event);
    Ok(())
}

/// A member's person, account, password hash and one-time password expiry.
type PasswordOfMember = (i64, String, Option<String>, Option<chrono::DateTime<Utc>>);

/// Changes the caller's password after checking the current one; other sessions are logged out.
/// A wrong current password counts as a failed login of the member's account (and address), so
/// a stolen access token is no way round the login throttle. An expired one-time password is
/// refused as at login (`PASSWORD_EXPIRED`), even from a session opened while it was valid.
pub async fn change_password(
    app: &AppState,
    principal: &Principal,
    current: String,
    new: String,
    client_ip: Option<String>,
) -> Result<()> {
    password::validate_new("newPassword", &new)?;
    if current == new {
        return Err(Error::validation(
            "newPassword",
            "the new password must differ from the current one",
        ));
    }
    // The member's account (the throttle's key) and their person's password, in one read.
    let (person_id, account, password_hash, expires_at): PasswordOfMember =
        member::Entity::find_by_id(principal.member_id)
            .select_only()
            .column(user::Column::Id)
            .column(member::Column::Account)
            .column(user::Column::PasswordHash)
            .column(user::Column::PasswordExpiresAt)
            .join(
                sea_orm::JoinType::InnerJoin,
                crate::org::members::person_of_member(),
            )
            .into_tuple()
            .one(&app.db)
            .await?
            .ok_or(Error::NotFound("member"))?;
    let attempt = app.throttle.begin(&account, client_ip.as_deref())?;
    if !password::verify(password_hash, current).await? {
        return Err(Error::validation(
            "currentPassword",
            "the current password is incorrect",
        ));
    }
    app.throttle.succeeded(&attempt);
    // An expired one-time password no longer proves who this is, even to a session it opened.
    password::check_not_expired(expires_at, Utc::now())?;
    let hash = password::hash(new).await?;
    let txn = crate::db::begin_write(&app.db).await?;
    user::Entity::update(user::ActiveModel {
        id: Set(person_id),
        password_hash: Set(Some(hash)),
        password_change_required: Set(false),
        password_expires_at: Set(None),
        updated_at: Set(Utc::now()),
        ..Default::default()
    })
    .exec(&txn)
    .await?;
    let members: Vec<i64> = member::Entity::find()
        .filter(member::Column::UserId.eq(person_id))
        .all(&txn)
        .await?
        .into_iter()
        .map(|m| m.id)
        .collect();
    for id in members {
        refresh::revoke_member(&txn, id).await?;
    }
    let event = audit::record(
        &txn,
        AuditEntry {
            organization_id: principal.organization_id,
            actor_member_id: Some(principal.member_id),
            action: "auth.password_changed",
            target_type: "member",
            target_id: Some(principal.member_id.to_string()),
            summary: json!({}),
            client_ip,
        },
    )
    .await?;
    txn.commit().await?;
    app.audit.publish(event);
    Ok(())
}
