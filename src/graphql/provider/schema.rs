//! The `Connection` object (secrets are write-only: never returned), its queries and mutations,
//! `loginOptions` and `redeemLoginTicket`.

use crate::{
    auth::sso,
    authz::Permission,
    graphql::{
        auth::types::AuthPayload,
        change,
        guard::{PermissionGuard, access},
        parse_id, state,
    },
    org::connections::{self, ConnectionInput},
};
use async_graphql::{Context, Enum, ID, InputObject, Object, Result, SimpleObject};
use entity::{connection, enums};

/// A provider.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
pub enum Provider {
    /// DingTalk.
    Dingtalk,
    /// WeCom.
    Wecom,
    /// Microsoft Teams.
    Teams,
}

impl From<Provider> for enums::Provider {
    fn from(p: Provider) -> Self {
        match p {
            Provider::Dingtalk => Self::Dingtalk,
            Provider::Wecom => Self::Wecom,
            Provider::Teams => Self::Teams,
        }
    }
}

impl From<enums::Provider> for Provider {
    fn from(p: enums::Provider) -> Self {
        match p {
            enums::Provider::Dingtalk => Self::Dingtalk,
            enums::Provider::Wecom => Self::Wecom,
            enums::Provider::Teams => Self::Teams,
        }
    }
}

/// Where a Teams connection's departments come from.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "connections::TeamsDepartments")]
pub enum TeamsDepartments {
    /// The users' `department` attribute: one department per distinct value (the default).
    Attribute,
    /// Microsoft groups: each group a department, nested groups its sub-departments, the group's
    /// user members its members. `syncDepartments` chooses the groups (all groups when empty).
    Groups,
}

/// Whether visible contacts become members on their own.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
pub enum AutoAddPolicy {
    /// Administrators add people.
    Manual,
    /// People are admitted (as viewers) at their first login.
    Auto,
}

impl From<AutoAddPolicy> for enums::AutoAddPolicy {
    fn from(p: AutoAddPolicy) -> Self {
        match p {
            AutoAddPolicy::Manual => Self::Manual,
            AutoAddPolicy::Auto => Self::Auto,
        }
    }
}

/// A provider application bound to the organization.
pub struct Connection(pub connection::Model);

impl Connection {
    /// What it has left to push, read for every connection of the response at once.
    async fn backlog(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<crate::push::outbox::Backlog> {
        Ok(crate::graphql::loaders::loaders(ctx)?
            .load_or_default(crate::graphql::loaders::BacklogOf(self.0.id))
            .await?)
    }
}

#[Object]
impl Connection {
    /// Connection id.
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }

    /// Provider.
    async fn provider(&self) -> Provider {
        self.0.provider.into()
    }

    /// Label.
    async fn name(&self) -> &str {
        &self.0.name
    }

    /// CorpId / tenant id.
    async fn corp_id(&self) -> &str {
        &self.0.corp_id
    }

    /// AgentId.
    async fn agent_id(&self) -> Option<&str> {
        self.0.agent_id.as_deref()
    }

    /// AppKey / ClientId.
    async fn client_id(&self) -> Option<&str> {
        self.0.client_id.as_deref()
    }

    /// Whether a client secret is stored (the secret itself is never returned).
    async fn has_client_secret(&self) -> bool {
        self.0.client_secret_enc.is_some()
    }

    /// Whether callback credentials are stored.
    async fn has_callback_credentials(&self) -> bool {
        self.0.callback_token_enc.is_some() && self.0.callback_aes_key_enc.is_some()
    }

    /// Admission policy.
    async fn auto_add_policy(&self) -> AutoAddPolicy {
        match self.0.auto_add_policy {
            enums::AutoAddPolicy::Manual => AutoAddPolicy::Manual,
            enums::AutoAddPolicy::Auto => AutoAddPolicy::Auto,
        }
    }

    /// Whether login through it is on.
    async fn enabled(&self) -> bool {
        self.0.enabled
    }

    /// Whether local changes are pushed to the provider (DingTalk only; see `setConnectionPush`).
    async fn push_enabled(&self) -> bool {
        self.0.push_enabled
    }

    /// Local changes waiting to be pushed (`outboxItems` lists them).
    async fn outbox_pending(&self, ctx: &Context<'_>) -> async_graphql::Result<u64> {
        Ok(self.backlog(ctx).await?.pending)
    }

    /// Local changes the provider refused; retry or discard them (`outboxItems`).
    async fn outbox_failed(&self, ctx: &Context<'_>) -> async_graphql::Result<u64> {
        Ok(self.backlog(ctx).await?.failed)
    }

    /// The user type of people the `AUTO` policy admits.
    async fn default_user_type(&self) -> crate::graphql::enums::UserType {
        connections::default_user_type(&self.0).into()
    }

    /// DingTalk: whether the legacy "sns" QR login is used.
    async fn legacy_qr_login(&self) -> bool {
        connections::legacy_qr_login(&self.0)
    }

    /// The provider departments (Teams in groups mode: groups) the sync is limited to, with
    /// their sub-trees; empty when everything the app sees is synced.
    async fn sync_departments(&self) -> Vec<String> {
        connections::sync_departments(&self.0)
    }

    /// Teams: where departments come from; null for the other providers.
    async fn teams_departments(&self) -> Option<TeamsDepartments> {
        (self.0.provider == enums::Provider::Teams)
            .then(|| connections::teams_departments(&self.0).into())
    }

    /// WeCom: whether the corporation's tags are mirrored as a role group ("WeCom tags").
    async fn sync_tags(&self) -> bool {
        connections::sync_tags(&self.0)
    }

    /// Teams: the Microsoft Graph change-notification subscriptions Roster keeps for this
    /// connection (created within `sync.graph_interval_secs` once it has a callback token).
    async fn notification_subscriptions(&self) -> Vec<NotificationSubscription> {
        crate::sync::subscriptions::held(&self.0)
            .into_iter()
            .map(|s| NotificationSubscription {
                resource: s.resource,
                expires_at: s.expires_at,
            })
            .collect()
    }

    /// Where a browser starts logging in through this connection (append `?redirect_uri=…`).
    async fn authorize_url(&self, ctx: &Context<'_>) -> Result<String> {
        Ok(format!(
            "{}/auth/{}/authorize",
            state(ctx)?.settings.public_url(),
            self.0.id
        ))
    }
}

/// A Microsoft Graph change-notification subscription.
#[derive(SimpleObject)]
pub struct NotificationSubscription {
    /// What it watches: `/users` or `/groups`.
    pub resource: String,
    /// When it lapses unless renewed (Roster renews it a day before).
    pub expires_at: chrono::DateTime<chrono::Utc>,
}

/// Fields of a connection. Secrets are write-only; leave them out of an update to keep them.
#[derive(InputObject, Default)]
pub struct ConnectionFields {
    /// Label.
    pub name: Option<String>,
    /// DingTalk/WeCom CorpId or Entra tenant id.
    pub corp_id: Option<String>,
    /// AgentId.
    pub agent_id: Option<String>,
    /// AppKey / ClientId.
    pub client_id: Option<String>,
    /// AppSecret / ClientSecret.
    #[graphql(secret)]
    pub client_secret: Option<String>,
    /// Callback token.
    #[graphql(secret)]
    pub callback_token: Option<String>,
    /// Callback EncodingAESKey.
    #[graphql(secret)]
    pub callback_aes_key: Option<String>,
    /// Admission policy (default manual).
    pub auto_add_policy: Option<AutoAddPolicy>,
    /// Whether login is on (default true).
    pub enabled: Option<bool>,
    /// DingTalk only: use the legacy "sns" QR login (`oapi.dingtalk.com/connect/qrconnect`) of
    /// older integrations instead of the current `login.dingtalk.com` one.
    pub legacy_qr_login: Option<bool>,
    /// The user type of people the `AUTO` policy admits (default viewer).
    pub default_user_type: Option<crate::graphql::enums::UserType>,
    /// Sync only these provider departments and their sub-trees (DingTalk and WeCom department
    /// ids; Teams in groups mode: group ids); an empty list syncs everything the app sees.
    pub sync_departments: Option<Vec<String>>,
    /// Teams only: where departments come from (default `ATTRIBUTE`).
    pub teams_departments: Option<TeamsDepartments>,
    /// WeCom only: mirror the corporation's tags as the role group "WeCom tags" (default false).
    pub sync_tags: Option<bool>,
}

impl From<ConnectionFields> for ConnectionInput {
    fn from(f: ConnectionFields) -> Self {
        Self {
            name: f.name,
            corp_id: f.corp_id,
            agent_id: f.agent_id,
            client_id: f.client_id,
            client_secret: f.client_secret,
            callback_token: f.callback_token,
            callback_aes_key: f.callback_aes_key,
            auto_add_policy: f.auto_add_policy.map(Into::into),
            enabled: f.enabled,
            legacy_qr_login: f.legacy_qr_login,
            default_user_type: f.default_user_type.map(Into::into),
            sync_departments: f.sync_departments,
            teams_departments: f.teams_departments.map(Into::into),
            sync_tags: f.sync_tags,
        }
    }
}

/// One way to log in to an organization.
#[derive(SimpleObject)]
pub struct LoginOption {
    /// The connection.
    pub connection_id: ID,
    /// Provider.
    pub provider: Provider,
    /// Label.
    pub name: String,
    /// Send the browser here with `?redirect_uri=<your page>`.
    pub authorize_url: String,
    /// For embedding the provider's QR widget: the app's client id (AppKey).
    pub client_id: Option<String>,
    /// For embedding the provider's QR widget: the corp/tenant id.
    pub corp_id: String,
}

/// The outcome of `testConnection`.
#[derive(SimpleObject)]
pub struct ConnectionTest {
    /// Whether the provider accepted the credentials.
    pub ok: bool,
    /// What went wrong and what to check.
    pub message: Option<String>,
    /// The provider's error code.
    pub errcode: Option<String>,
}

/// Connection queries.
#[derive(Default)]
pub struct ConnectionQuery;

#[Object]
impl ConnectionQuery {
    /// The organization's provider connections.
    ///
    /// **Permissions**: `org.connections.manage`.
    #[graphql(guard = "PermissionGuard::org(Permission::ManageConnections)")]
    async fn connections(&self, ctx: &Context<'_>) -> Result<Vec<Connection>> {
        let access = access(ctx, Permission::ManageConnections)?;
        Ok(connections::list(&state(ctx)?.db, access.org_id())
            .await?
            .into_iter()
            .map(Connection)
            .collect())
    }

    /// How members of an organization can log in (for a login page), including the parameters a
    /// page needs to embed the provider's QR widget.
    ///
    /// **Permissions**: public.
    async fn login_options(&self, ctx: &Context<'_>, organization: ID) -> Result<Vec<LoginOption>> {
        let app = state(ctx)?;
        let org = parse_id(&organization, "organization")?;
        let list = connections::list(&app.db, org).await?;
        Ok(list
            .into_iter()
            .filter(|c| c.enabled)
            .map(|c| LoginOption {
                connection_id: ID(c.id.to_string()),
                provider: c.provider.into(),
                authorize_url: format!("{}/auth/{}/authorize", app.settings.public_url(), c.id),
                name: c.name,
                client_id: c.client_id,
                corp_id: c.corp_id,
            })
            .collect())
    }
}

/// Connection mutations.
#[derive(Default)]
pub struct ConnectionMutation;

#[Object]
impl ConnectionMutation {
    /// Connects a provider application to the organization; its QR login works at once.
    ///
    /// **Permissions**: `org.connections.manage` (organization administrators).
    #[graphql(guard = "PermissionGuard::org(Permission::ManageConnections)")]
    async fn add_connection(
        &self,
        ctx: &Context<'_>,
        provider: Provider,
        input: ConnectionFields,
    ) -> Result<Connection> {
        let access = access(ctx, Permission::ManageConnections)?;
        let app = state(ctx)?;
        Ok(Connection(
            connections::create(
                &app.db,
                &app.secrets,
                &access,
                provider.into(),
                input.into(),
                &change(ctx)?,
            )
            .await?,
        ))
    }

    /// Changes a connection; secrets left out are kept.
    ///
    /// **Permissions**: `org.connections.manage`.
    #[graphql(guard = "PermissionGuard::org(Permission::ManageConnections)")]
    async fn update_connection(
        &self,
        ctx: &Context<'_>,
        id: ID,
        input: ConnectionFields,
    ) -> Result<Connection> {
        let access = access(ctx, Permission::ManageConnections)?;
        let app = state(ctx)?;
        let id = parse_id(&id, "connection")?;
        Ok(Connection(
            connections::update(
                &app.db,
                &app.secrets,
                &access,
                id,
                input.into(),
                &change(ctx)?,
            )
            .await?,
        ))
    }

    /// Removes a connection.
    ///
    /// **Permissions**: `org.connections.manage`.
    #[graphql(guard = "PermissionGuard::org(Permission::ManageConnections)")]
    async fn remove_connection(&self, ctx: &Context<'_>, id: ID) -> Result<bool> {
        let access = access(ctx, Permission::ManageConnections)?;
        connections::delete(
            &state(ctx)?.db,
            &access,
            parse_id(&id, "connection")?,
            &change(ctx)?,
        )
        .await?;
        Ok(true)
    }

    /// Calls the provider with the connection's credentials and explains a failure.
    ///
    /// **Permissions**: `org.connections.manage`.
    #[graphql(guard = "PermissionGuard::org(Permission::ManageConnections)")]
    async fn test_connection(&self, ctx: &Context<'_>, id: ID) -> Result<ConnectionTest> {
        let access = access(ctx, Permission::ManageConnections)?;
        let app = state(ctx)?;
        match connections::test(
            &app.db,
            &app.secrets,
            &app.providers,
            &access,
            parse_id(&id, "connection")?,
        )
        .await
        {
            Ok(()) => Ok(ConnectionTest {
                ok: true,
                message: None,
                errcode: None,
            }),
            Err(crate::error::Error::Provider {
                errcode, message, ..
            }) => Ok(ConnectionTest {
                ok: false,
                message: Some(message),
                errcode,
            }),
            Err(e) => Err(e.into()),
        }
    }

    /// Trades the one-time ticket from a provider login for tokens (within 60 seconds, once).
    ///
    /// **Permissions**: public (the ticket is the credential).
    async fn redeem_login_ticket(&self, ctx: &Context<'_>, ticket: String) -> Result<AuthPayload> {
        Ok(sso::redeem(state(ctx)?, &ticket).await?.into())
    }
}
