//! Organization mutations: create, update, switch, register.

use super::Organization;
use crate::{
    auth::login,
    authz::{Permission, check::founder_access},
    error::Error,
    graphql::{
        auth::types::AuthPayload,
        change,
        guard::{PermissionGuard, access, principal},
        parse_id, state,
    },
    graphql::{enums::OrgKind, provider::schema::ConnectionFields},
    org::connections::{self, ConnectionInput},
    org::organizations::{self, OrganizationChanges},
};
use async_graphql::{Context, ID, MaybeUndefined, Object, Result};

/// Organization mutations.
#[derive(Default)]
pub struct OrganizationMutation;

#[Object]
impl OrganizationMutation {
    /// Creates an organization; the caller becomes its organization administrator. A DingTalk,
    /// WeCom or Teams organization is created with its connection, so its QR login works at once
    /// (add the SPA's address with `updateOrganization(redirectAllowList: …)`). Use
    /// `switchOrganization` to work in it.
    ///
    /// **Permissions**: any authenticated member.
    #[graphql(guard = "PermissionGuard::authenticated()")]
    async fn create_organization(
        &self,
        ctx: &Context<'_>,
        name: String,
        #[graphql(default_with = "OrgKind::Generic")] kind: OrgKind,
        connection: Option<ConnectionFields>,
    ) -> Result<Organization> {
        let app = state(ctx)?;
        let provider = match kind {
            OrgKind::Generic => None,
            OrgKind::Dingtalk => Some(entity::enums::Provider::Dingtalk),
            OrgKind::Wecom => Some(entity::enums::Provider::Wecom),
            OrgKind::Teams => Some(entity::enums::Provider::Teams),
        };
        let input: Option<ConnectionInput> = connection.map(Into::into);
        match (provider, &input) {
            (None, Some(_)) => {
                return Err(Error::validation(
                    "connection",
                    "a generic organization has no connection; choose its kind",
                )
                .into());
            }
            (Some(_), None) => {
                return Err(Error::validation(
                    "connection",
                    "give the provider app's credentials to create this kind of organization",
                )
                .into());
            }
            (Some(provider), Some(input)) => {
                connections::prepare(&app.db, provider, input).await?;
            }
            (None, None) => {}
        }
        let org =
            organizations::create(&app.db, principal(ctx)?, &name, kind.into(), &change(ctx)?)
                .await?;
        if let (Some(provider), Some(input), Some(founder)) =
            (provider, input, org.leader_member_id)
        {
            let access = founder_access(org.id, founder, Permission::ManageConnections);
            connections::create(
                &app.db,
                &app.secrets,
                &access,
                provider,
                input,
                &change(ctx)?,
            )
            .await?;
        }
        Ok(Organization(org))
    }

    /// Changes the organization: name, leader (null clears), self-registration, seat limit (null
    /// removes it), the SPA redirect allow-list.
    ///
    /// **Permissions**: `org.organization.manage`.
    #[graphql(guard = "PermissionGuard::org(Permission::ManageOrganization)")]
    async fn update_organization(
        &self,
        ctx: &Context<'_>,
        name: Option<String>,
        leader_id: MaybeUndefined<ID>,
        allow_self_registration: Option<bool>,
        seat_limit: MaybeUndefined<i32>,
        redirect_allow_list: Option<Vec<String>>,
    ) -> Result<Organization> {
        let access = access(ctx, Permission::ManageOrganization)?;
        let changes = OrganizationChanges {
            name,
            leader_member_id: match leader_id {
                MaybeUndefined::Undefined => None,
                MaybeUndefined::Null => Some(None),
                MaybeUndefined::Value(id) => Some(Some(parse_id(&id, "member")?)),
            },
            allow_self_registration,
            seat_limit: match seat_limit {
                MaybeUndefined::Undefined => None,
                MaybeUndefined::Null => Some(None),
                MaybeUndefined::Value(n) => Some(Some(n)),
            },
            redirect_allow_list,
        };
        Ok(Organization(
            organizations::update(&state(ctx)?.db, &access, changes, &change(ctx)?).await?,
        ))
    }

    /// New tokens scoped to another organization the caller belongs to.
    ///
    /// **Permissions**: an active membership in that organization.
    #[graphql(guard = "PermissionGuard::authenticated()")]
    async fn switch_organization(
        &self,
        ctx: &Context<'_>,
        organization_id: ID,
    ) -> Result<AuthPayload> {
        let app = state(ctx)?;
        let member = organizations::membership_for_switch(
            &app.db,
            principal(ctx)?.user_id,
            parse_id(&organization_id, "organization")?,
        )
        .await?;
        Ok(login::issue_tokens(app, member, None).await?.into())
    }

    /// Registers in an organization that allows self-registration; you join as a viewer and are
    /// logged in.
    ///
    /// **Permissions**: public, when the organization allows it.
    async fn register(
        &self,
        ctx: &Context<'_>,
        organization_id: ID,
        account: String,
        password: String,
        nickname: Option<String>,
        email: Option<String>,
    ) -> Result<AuthPayload> {
        let app = state(ctx)?;
        let org = parse_id(&organization_id, "organization")?;
        let member = organizations::register(
            &app.db,
            org,
            &account,
            password,
            nickname.as_deref(),
            email.as_deref(),
            &change(ctx)?,
        )
        .await?;
        Ok(login::issue_tokens(app, member, None).await?.into())
    }
}
