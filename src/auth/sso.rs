//! Provider login, in three steps that never put a token in a URL:
//! 1. [`start`]: check the SPA's `redirect_uri` against the organization's allow-list, store a
//!    single-use `state` (10 minutes), and return the provider's QR/sign-in address;
//! 2. [`finish`]: consume the `state` once (a replayed or expired state is reported to the SPA;
//!    an unknown one is refused, as there is no SPA to return to), exchange the code, resolve the person to a member of
//!    the connection's organization (admitting them when the connection's policy is `auto`), and
//!    hand back a one-time login ticket (60 seconds) for the SPA;
//! 3. [`redeem`]: trade the ticket for access and refresh tokens.

use super::{log_ref, login, random_token, token_hash};
use crate::{
    authz::roles::{BuiltinRole, builtin_role_ids},
    error::{Error, Result},
    org::{
        audit::{self, AuditEntry},
        connections, rules,
    },
    providers::{microsoft::pkce, wecom::WecomLogin},
    state::AppState,
};
use chrono::{Duration, Utc};
use entity::{
    connection,
    enums::{AccountType, AutoAddPolicy, MemberStatus, Provider, UserType},
    identity, login_state, login_ticket, member, organization, user,
};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, sea_query::Expr,
};
use serde_json::json;

/// How long a login may take between the redirect to the provider and the callback.
const STATE_TTL_MINUTES: i64 = 10;
/// How long the SPA has to redeem its ticket.
const TICKET_TTL_SECONDS: i64 = 60;

/// Our callback address for a connection.
pub fn callback_url(app: &AppState, connection_id: i64) -> String {
    format!(
        "{}/auth/{connection_id}/callback",
        app.settings.public_url()
    )
}

/// The part of a URI compared with the allow-list: everything before `?` or `#`.
fn without_query(uri: &str) -> &str {
    uri.split(['?', '#']).next().unwrap_or(uri)
}

async fn enabled_connection(
    app: &AppState,
    connection_id: i64,
) -> Result<(connection::Model, organization::Model)> {
    let conn = connection::Entity::find_by_id(connection_id)
        .one(&app.db)
        .await?
        .filter(|c| c.enabled)
        .ok_or(Error::NotFound("connection"))?;
    let org = organization::Entity::find_by_id(conn.organization_id)
        .one(&app.db)
        .await?
        .ok_or(Error::NotFound("organization"))?;
    Ok((conn, org))
}

/// Step 1: the provider address to send the browser to.
pub async fn start(app: &AppState, connection_id: i64, redirect_uri: &str) -> Result<String> {
    let (conn, org) = enabled_connection(app, connection_id).await?;
    let allowed: Vec<String> =
        serde_json::from_value(org.redirect_allow_list.clone()).unwrap_or_default();
    if !allowed
        .iter()
        .any(|a| without_query(a) == without_query(redirect_uri))
    {
        return Err(Error::validation(
            "redirect_uri",
            format!(
                "`{redirect_uri}` is not on the organization's redirect allow-list; an administrator adds it with updateOrganization(redirectAllowList: …)"
            ),
        ));
    }
    let state = random_token(24);
    // Microsoft gets PKCE and a nonce; the verifier is kept sealed until the callback.
    let (pkce, nonce) = if conn.provider == Provider::Teams {
        (Some(pkce::verifier()), Some(random_token(16)))
    } else {
        (None, None)
    };
    let now = Utc::now();
    login_state::Entity::insert(login_state::ActiveModel {
        state: Set(state.clone()),
        connection_id: Set(conn.id),
        redirect_uri: Set(redirect_uri.to_string()),
        pkce_verifier_enc: Set(pkce.as_deref().map(|v| app.secrets.seal_str(v))),
        nonce: Set(nonce.clone()),
        created_at: Set(now),
        expires_at: Set(now + Duration::minutes(STATE_TTL_MINUTES)),
        consumed_at: Set(None),
    })
    .exec_without_returning(&app.db)
    .await?;
    tracing::info!(
        login = %log_ref(&state),
        connection = conn.id,
        organization = conn.organization_id,
        provider = ?conn.provider,
        "provider login started"
    );
    let callback = callback_url(app, conn.id);
    match conn.provider {
        Provider::Dingtalk => {
            let dt = connections::dingtalk_app(&app.secrets, &conn)?;
            if connections::legacy_qr_login(&conn) {
                Ok(app
                    .providers
                    .dingtalk
                    .sns_authorize_url(&dt, &callback, &state))
            } else {
                Ok(app.providers.dingtalk.authorize_url(&dt, &callback, &state))
            }
        }
        Provider::Wecom => {
            let wc = connections::wecom_app(&app.secrets, &conn)?;
            Ok(app.providers.wecom.authorize_url(&wc, &callback, &state))
        }
        Provider::Teams => {
            let ms = connections::microsoft_app(&app.secrets, &conn)?;
            let challenge = pkce::challenge(pkce.as_deref().unwrap_or_default());
            Ok(app.providers.microsoft.authorize_url(
                &ms,
                &callback,
                &state,
                nonce.as_deref().unwrap_or_default(),
                &challenge,
            ))
        }
    }
}

/// A state presented at the callback.
enum Consumed {
    /// Valid and now used up.
    Fresh(login_state::Model),
    /// Known but already used or expired (a replay or a slow login).
    Stale(login_state::Model),
}

/// Consumes a state once. An unknown state is refused outright: there is no SPA to return to.
async fn consume_state(app: &AppState, connection_id: i64, state: &str) -> Result<Consumed> {
    let now = Utc::now();
    let used = login_state::Entity::update_many()
        .col_expr(login_state::Column::ConsumedAt, Expr::value(now))
        .filter(login_state::Column::State.eq(state))
        .filter(login_state::Column::ConnectionId.eq(connection_id))
        .filter(login_state::Column::ConsumedAt.is_null())
        .filter(login_state::Column::ExpiresAt.gt(now))
        .exec(&app.db)
        .await?;
    let row = login_state::Entity::find_by_id(state.to_string())
        .filter(login_state::Column::ConnectionId.eq(connection_id))
        .one(&app.db)
        .await?
        .ok_or_else(|| Error::Unauthenticated("this login link is not one Roster issued; start the login again from your application".into()))?;
    Ok(if used.rows_affected == 1 {
        Consumed::Fresh(row)
    } else {
        Consumed::Stale(row)
    })
}

/// The outcome of a callback: where to send the browser.
pub struct Finished {
    /// The SPA address.
    pub redirect_uri: String,
    /// The ticket, or the error to report.
    pub result: Result<String>,
}

/// Step 2: handles the provider's callback. A bad or replayed `state` is an error without a
/// redirect; anything after that is reported to the SPA.
pub async fn finish(
    app: &AppState,
    connection_id: i64,
    code: Option<&str>,
    state: &str,
    client_ip: Option<String>,
) -> Result<Finished> {
    let started = std::time::Instant::now();
    let reference = log_ref(state);
    let login = match consume_state(app, connection_id, state).await? {
        Consumed::Fresh(login) => login,
        Consumed::Stale(login) => {
            tracing::info!(
                login = %reference,
                connection = connection_id,
                "provider login refused: the state was already used or has expired"
            );
            let refusal = Error::Unauthenticated(
                "this login link was already used or has expired; start the login again".into(),
            );
            return Ok(Finished {
                redirect_uri: login.redirect_uri,
                result: Err(refusal),
            });
        }
    };
    let result = match code {
        Some(code) if !code.is_empty() => admit(app, &login, code, client_ip).await,
        _ => Err(Error::Unauthenticated(
            "the provider did not confirm the login (no code); try again".into(),
        )),
    };
    let ms = started.elapsed().as_millis() as u64;
    match &result {
        Ok(admitted) => tracing::info!(
            login = %reference,
            connection = connection_id,
            member = admitted.member_id,
            ticket = %log_ref(&admitted.ticket),
            ms,
            "provider login admitted; ticket issued"
        ),
        Err(e) => tracing::info!(
            login = %reference,
            connection = connection_id,
            code = e.code().as_str(),
            reason = %e.public_message(),
            ms,
            "provider login refused"
        ),
    }
    let result = result.map(|admitted| admitted.ticket);
    Ok(Finished {
        redirect_uri: login.redirect_uri,
        result,
    })
}

/// A person as the provider identified them.
pub(crate) struct ProviderPerson {
    /// The provider's user id within the corp (lower-cased for WeCom, whose ids are case-insensitive).
    pub(crate) userid: String,
    /// DingTalk unionId, shared across enterprises.
    pub(crate) union_id: Option<String>,
    /// Display name.
    pub(crate) name: String,
    /// Email, if shared.
    pub(crate) email: Option<String>,
}

/// Exchanges the code and identifies the person with the connection's provider.
async fn identify(
    app: &AppState,
    conn: &connection::Model,
    login: &login_state::Model,
    code: &str,
) -> Result<ProviderPerson> {
    match conn.provider {
        Provider::Dingtalk => {
            let dt = connections::dingtalk_app(&app.secrets, conn)?;
            let me = if connections::legacy_qr_login(conn) {
                app.providers.dingtalk.sns_user(&dt, code).await?
            } else {
                let user_token = app.providers.dingtalk.user_token(&dt, code).await?;
                app.providers.dingtalk.me(&user_token).await?
            };
            let Some(userid) = app
                .providers
                .dingtalk
                .userid_by_unionid(&dt, &me.union_id)
                .await?
            else {
                return Err(Error::Forbidden(format!(
                    "{} is not in the DingTalk enterprise {} (or outside the app's visible range); ask an administrator",
                    me.nick, conn.corp_id
                )));
            };
            let details = app.providers.dingtalk.user(&dt, &userid).await.ok();
            let email = details
                .as_ref()
                .and_then(|d| d.get("email"))
                .and_then(|v| v.as_str())
                .map(str::to_string)
                .or(me.email);
            Ok(ProviderPerson {
                userid,
                union_id: Some(me.union_id),
                name: me.nick,
                email,
            })
        }
        Provider::Wecom => {
            let wc = connections::wecom_app(&app.secrets, conn)?;
            let userid = match app.providers.wecom.login(&wc, code).await? {
                WecomLogin::Member { userid } => userid,
                WecomLogin::Outsider => {
                    return Err(Error::Forbidden(format!(
                        "this WeCom account is not a member of the corporation {}; ask an administrator",
                        conn.corp_id
                    )));
                }
            };
            let details = app.providers.wecom.user(&wc, &userid).await.ok();
            let text = |key: &str| {
                details
                    .as_ref()
                    .and_then(|d| d.get(key))
                    .and_then(|v| v.as_str())
                    .map(str::to_string)
                    .filter(|v| !v.is_empty())
            };
            Ok(ProviderPerson {
                name: text("name").unwrap_or_else(|| userid.clone()),
                email: text("email"),
                userid: userid.to_lowercase(),
                union_id: None,
            })
        }
        Provider::Teams => {
            let ms = connections::microsoft_app(&app.secrets, conn)?;
            let verifier = login
                .pkce_verifier_enc
                .as_deref()
                .and_then(|sealed| app.secrets.open_str(sealed).ok())
                .ok_or_else(|| {
                    Error::Unauthenticated(
                        "this sign-in has no PKCE verifier; start the login again".into(),
                    )
                })?;
            let id_token = app
                .providers
                .microsoft
                .redeem(&ms, code, &verifier, &callback_url(app, conn.id))
                .await?;
            let claims = app
                .providers
                .microsoft
                .verify(&ms, &id_token, login.nonce.as_deref().unwrap_or_default())
                .await?;
            if claims.tid != conn.corp_id {
                return Err(Error::Forbidden(format!(
                    "this Microsoft account belongs to another tenant ({}), not {}; sign in with a work account of the organization",
                    claims.tid, conn.corp_id
                )));
            }
            let name = claims
                .name
                .clone()
                .or(claims.preferred_username.clone())
                .unwrap_or_else(|| claims.oid.clone());
            Ok(ProviderPerson {
                userid: claims.oid,
                union_id: None,
                name,
                email: claims.email.or(claims.preferred_username),
            })
        }
    }
}

async fn admit(
    app: &AppState,
    login: &login_state::Model,
    code: &str,
    client_ip: Option<String>,
) -> Result<Admitted> {
    let (conn, org) = enabled_connection(app, login.connection_id).await?;
    let person = identify(app, &conn, login, code).await?;
    let txn = crate::db::begin_write(&app.db).await?;
    let user_id = resolve_user(&txn, &conn, &person).await?;
    let existing = member::Entity::find()
        .filter(member::Column::OrganizationId.eq(org.id))
        .filter(member::Column::UserId.eq(user_id))
        .one(&txn)
        .await?;
    let member = match existing {
        Some(m) => m,
        None if conn.auto_add_policy == AutoAddPolicy::Auto => {
            let admission = Admission {
                user_type: connections::default_user_type(&conn),
                role_id: None,
            };
            add_member(&txn, &org, &conn, user_id, &person, &admission).await?
        }
        None => {
            return Err(Error::Forbidden(format!(
                "{} is not a member of {} yet; ask an administrator to add them",
                person.name, org.name
            )));
        }
    };
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
    let ticket = random_token(32);
    login_ticket::Entity::insert(login_ticket::ActiveModel {
        ticket_hash: Set(token_hash(&ticket)),
        member_id: Set(member.id),
        organization_id: Set(org.id),
        expires_at: Set(Utc::now() + Duration::seconds(TICKET_TTL_SECONDS)),
        consumed_at: Set(None),
    })
    .exec_without_returning(&txn)
    .await?;
    let event = audit::record(
        &txn,
        AuditEntry {
            organization_id: org.id,
            actor_member_id: Some(member.id),
            action: "auth.provider_login",
            target_type: "member",
            target_id: Some(member.id.to_string()),
            summary: json!({ "provider": conn.provider, "connectionId": conn.id, "userid": person.userid }),
            client_ip,
        },
    )
    .await?;
    txn.commit().await?;
    app.audit.publish(event);
    Ok(Admitted {
        ticket,
        member_id: member.id,
    })
}

/// A person let in by the provider: their one-time ticket.
struct Admitted {
    ticket: String,
    member_id: i64,
}

/// Finds or creates the user of a provider person: by (provider, corp, userid); for DingTalk also
/// by unionId (the same person in another enterprise of the same developer organization); else a
/// new user. Links the identity.
pub(crate) async fn resolve_user<C: ConnectionTrait>(
    db: &C,
    conn: &connection::Model,
    person: &ProviderPerson,
) -> Result<i64> {
    let by_id = identity::Entity::find()
        .filter(identity::Column::Provider.eq(conn.provider))
        .filter(identity::Column::Tenant.eq(conn.corp_id.as_str()))
        .filter(identity::Column::ProviderUserId.eq(person.userid.as_str()))
        .one(db)
        .await?;
    if let Some(found) = by_id {
        return Ok(found.user_id);
    }
    let by_union = match &person.union_id {
        Some(union) => {
            identity::Entity::find()
                .filter(identity::Column::Provider.eq(conn.provider))
                .filter(identity::Column::UnionId.eq(union.as_str()))
                .one(db)
                .await?
        }
        None => None,
    };
    let now = Utc::now();
    let user_id = match by_union {
        Some(found) => found.user_id,
        None => {
            user::Entity::insert(user::ActiveModel {
                name: Set(person.name.clone()),
                avatar_url: Set(None),
                password_hash: Set(None),
                password_change_required: Set(false),
                created_at: Set(now),
                updated_at: Set(now),
                ..Default::default()
            })
            .exec_with_returning(db)
            .await?
            .id
        }
    };
    identity::Entity::insert(identity::ActiveModel {
        user_id: Set(user_id),
        provider: Set(conn.provider),
        tenant: Set(conn.corp_id.clone()),
        provider_user_id: Set(person.userid.clone()),
        union_id: Set(person.union_id.clone()),
        created_at: Set(now),
        ..Default::default()
    })
    .exec_without_returning(db)
    .await?;
    Ok(user_id)
}

/// A nickname from a display name: allowed characters only, unique in the organization.
async fn free_nickname<C: ConnectionTrait>(
    db: &C,
    org: i64,
    name: &str,
    fallback: &str,
) -> Result<String> {
    let base: String = name
        .chars()
        .filter(|c| c.is_alphanumeric() || "_/\\|()[]".contains(*c))
        .take(rules::NICKNAME_MAX - 8)
        .collect();
    let base = if base.is_empty() {
        fallback.to_string()
    } else {
        base
    };
    for n in 0..100 {
        let candidate = if n == 0 {
            base.clone()
        } else {
            format!("{base}_{n}")
        };
        if !crate::org::members::nickname_taken(db, org, &candidate, None).await? {
            return Ok(candidate);
        }
    }
    Ok(format!("{base}_{}", random_token(4)))
}

/// What a person admitted from a provider becomes.
pub(crate) struct Admission {
    /// User type.
    pub(crate) user_type: UserType,
    /// Organization role; the standard user role when `None`.
    pub(crate) role_id: Option<i64>,
}

/// Adds a provider person (already resolved to a user) as a member of the organization.
pub(crate) async fn add_member<C: ConnectionTrait>(
    db: &C,
    org: &organization::Model,
    conn: &connection::Model,
    user_id: i64,
    person: &ProviderPerson,
    admission: &Admission,
) -> Result<member::Model> {
    crate::org::members::check_seats(db, org, 1).await?;
    let role_id = match admission.role_id {
        Some(id) => id,
        None => builtin_role_ids(db).await?[&BuiltinRole::StandardUser],
    };
    let (prefix, account_type) = match conn.provider {
        Provider::Wecom => ("wecom", AccountType::Wecom),
        Provider::Teams => ("teams", AccountType::Teams),
        Provider::Dingtalk => ("dingtalk", AccountType::Dingtalk),
    };
    let nickname = free_nickname(
        db,
        org.id,
        &person.name,
        &format!("{prefix}_{}", person.userid),
    )
    .await?;
    let now = Utc::now();
    let created = member::Entity::insert(member::ActiveModel {
        organization_id: Set(org.id),
        user_id: Set(user_id),
        account: Set(format!("{prefix}:{}", person.userid)),
        nickname: Set(nickname),
        name: Set(person.name.clone()),
        user_type: Set(admission.user_type),
        role_id: Set(role_id),
        status: Set(MemberStatus::Active),
        email: Set(rules::email("email", person.email.as_deref())
            .ok()
            .flatten()),
        phone: Set(None),
        employee_no: Set(None),
        position: Set(None),
        account_type: Set(account_type),
        source_connection_id: Set(Some(conn.id)),
        joined_at: Set(now),
        last_login_at: Set(None),
        name_changed: Set(false),
        to_be_deleted: Set(false),
        updated_at: Set(now),
        ..Default::default()
    })
    .exec_with_returning(db)
    .await?;
    crate::org::members::create_personal_workspace_in_txn(db, &created).await?;
    Ok(created)
}

/// Step 3: trades a login ticket (once, within 60 seconds) for tokens.
pub async fn redeem(app: &AppState, ticket: &str) -> Result<login::Tokens> {
    let now = Utc::now();
    let hash = token_hash(ticket.trim());
    let used = login_ticket::Entity::update_many()
        .col_expr(login_ticket::Column::ConsumedAt, Expr::value(now))
        .filter(login_ticket::Column::TicketHash.eq(hash.as_str()))
        .filter(login_ticket::Column::ConsumedAt.is_null())
        .filter(login_ticket::Column::ExpiresAt.gt(now))
        .exec(&app.db)
        .await?;
    if used.rows_affected != 1 {
        return Err(Error::Unauthenticated(
            "this login ticket was already used or has expired; log in again".into(),
        ));
    }
    let row = login_ticket::Entity::find_by_id(hash)
        .one(&app.db)
        .await?
        .ok_or(Error::NotFound("login ticket"))?;
    let member = member::Entity::find_by_id(row.member_id)
        .one(&app.db)
        .await?
        .filter(|m| m.status == MemberStatus::Active && m.organization_id == row.organization_id)
        .ok_or_else(|| Error::Unauthenticated("this member can no longer log in".into()))?;
    tracing::info!(
        ticket = %log_ref(ticket.trim()),
        member = member.id,
        organization = member.organization_id,
        "login ticket redeemed"
    );
    login::issue_tokens(app, member, None).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allow_list_ignores_the_query() {
        assert_eq!(
            without_query("https://spa.example/cb?x=1#y"),
            "https://spa.example/cb"
        );
        assert_eq!(
            without_query("https://spa.example/cb"),
            "https://spa.example/cb"
        );
    }
}
