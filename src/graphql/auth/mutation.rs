//! Authentication mutations.

use super::types::AuthPayload;
use crate::{
    auth::{AuthState, login},
    graphql::{client_ip, guard::principal_before_password_change, parse_id, state},
};
use async_graphql::{Context, ID, Object, Result};

/// Authentication mutations.
#[derive(Default)]
pub struct AuthMutation;

#[Object]
impl AuthMutation {
    /// Logs in with account and password (generic organizations). Pass `organization` when the
    /// account exists in several organizations; otherwise the most recently used one is chosen.
    /// Unknown accounts and wrong passwords give the same error; repeated failures are throttled.
    /// The right one-time password past its expiry answers `PASSWORD_EXPIRED`: ask an
    /// administrator for a new one.
    ///
    /// **Permissions**: public.
    async fn login(
        &self,
        ctx: &Context<'_>,
        account: String,
        password: String,
        organization: Option<ID>,
    ) -> Result<AuthPayload> {
        let app = state(ctx)?;
        let organization = organization
            .map(|id| parse_id(&id, "organization"))
            .transpose()?;
        Ok(
            login::password_login(app, &account, password, organization, client_ip(ctx))
                .await?
                .into(),
        )
    }

    /// Exchanges a refresh token for a new access token and a new refresh token. The old refresh
    /// token stops working; presenting it again revokes every token of that login.
    ///
    /// **Permissions**: public (the refresh token is the credential).
    async fn refresh_token(&self, ctx: &Context<'_>, refresh_token: String) -> Result<AuthPayload> {
        Ok(login::refresh_tokens(state(ctx)?, &refresh_token)
            .await?
            .into())
    }

    /// Logs out: revokes the given refresh token's login, or with `everywhere: true` every login of
    /// the caller. Access tokens already issued expire on their own (15 minutes by default).
    ///
    /// **Permissions**: the refresh token's holder, or an authenticated member.
    async fn logout(
        &self,
        ctx: &Context<'_>,
        refresh_token: Option<String>,
        #[graphql(default = false)] everywhere: bool,
    ) -> Result<bool> {
        let app = state(ctx)?;
        let caller = match ctx.data_opt::<AuthState>() {
            Some(AuthState::Authenticated(p)) => Some(p.as_ref()),
            _ => None,
        };
        if everywhere && caller.is_none() {
            principal_before_password_change(ctx)?;
        }
        login::logout(
            app,
            caller,
            refresh_token.as_deref(),
            everywhere,
            client_ip(ctx),
        )
        .await?;
        Ok(true)
    }

    /// Changes the caller's password. Other logins of the same person are logged out. This is
    /// also how a member given a one-time password (`passwordChangeRequired`) chooses their own,
    /// before it expires (`PASSWORD_EXPIRED` afterwards).
    ///
    /// **Permissions**: any authenticated member with a password, also while a password change
    /// is required.
    async fn change_password(
        &self,
        ctx: &Context<'_>,
        current_password: String,
        new_password: String,
    ) -> Result<bool> {
        let principal = principal_before_password_change(ctx)?;
        login::change_password(
            state(ctx)?,
            principal,
            current_password,
            new_password,
            client_ip(ctx),
        )
        .await?;
        Ok(true)
    }
}
