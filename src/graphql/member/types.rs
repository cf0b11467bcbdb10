//! The `Member` object: a member of the caller's organization.

use crate::graphql::{
    enums::{AccountType, MemberStatus, UserType},
    loaders::{PageRelated, PageSelection, loaders, loaders_of},
};
use async_graphql::{ID, Object};
use chrono::{DateTime, Utc};
use entity::member;
use std::sync::Arc;

/// A person inside an organization.
pub struct Member(
    pub member::Model,
    /// What its page read of its related rows (departments, roles, …), if it is on one.
    Option<Arc<PageRelated>>,
);

impl From<member::Model> for Member {
    fn from(model: member::Model) -> Self {
        Self(model, None)
    }
}

impl Member {
    /// The members of a page, with what `selection` asks of them read for all at once.
    pub async fn page(
        ctx: &async_graphql::Context<'_>,
        rows: &[member::Model],
        selection: &async_graphql::Lookahead<'_>,
    ) -> async_graphql::Result<Vec<Self>> {
        let related = loaders(ctx)?
            .page(rows, PageSelection::of(selection))
            .await?;
        Ok(rows
            .iter()
            .map(|m| Self(m.clone(), related.clone()))
            .collect())
    }
}

#[Object]
impl Member {
    /// Member id.
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }

    /// Login account, unique in the organization.
    async fn account(&self) -> &str {
        &self.0.account
    }

    /// Nickname, unique in the organization.
    async fn nickname(&self) -> &str {
        &self.0.nickname
    }

    /// Real name.
    async fn name(&self) -> &str {
        &self.0.name
    }

    /// Licence class.
    async fn user_type(&self) -> UserType {
        self.0.user_type.into()
    }

    /// Active, disabled or resigned.
    async fn status(&self) -> MemberStatus {
        self.0.status.into()
    }

    /// How the account was created.
    async fn account_type(&self) -> AccountType {
        self.0.account_type.into()
    }

    /// Email address; absent when the provider does not share it.
    async fn email(&self) -> Option<&str> {
        self.0.email.as_deref()
    }

    /// Phone number; absent when the provider does not share it.
    async fn phone(&self) -> Option<&str> {
        self.0.phone.as_deref()
    }

    /// Employee number.
    async fn employee_no(&self) -> Option<&str> {
        self.0.employee_no.as_deref()
    }

    /// Job title.
    async fn position(&self) -> Option<&str> {
        self.0.position.as_deref()
    }

    /// When the member joined.
    async fn joined_at(&self) -> DateTime<Utc> {
        self.0.joined_at
    }

    /// Last successful login; null if never.
    async fn last_login_at(&self) -> Option<DateTime<Utc>> {
        self.0.last_login_at
    }

    /// The provider renamed this person since the last review (`acknowledgeRenames` marks the
    /// rename as seen; filter `nameChanged`).
    async fn name_changed(&self) -> bool {
        self.0.name_changed
    }

    /// This person is gone from the provider: resign or remove them (filter `toBeDeleted`).
    async fn to_be_deleted(&self) -> bool {
        self.0.to_be_deleted
    }

    /// The member still holds a one-time password (generated, imported, reset, or given by an
    /// administrator) and has not chosen their own yet.
    async fn password_change_required(
        &self,
        ctx: &async_graphql::Context<'_>,
    ) -> async_graphql::Result<bool> {
        Ok(loaders_of(ctx, self.0.organization_id)?
            .password_state(self.0.id)
            .await?
            .change_required)
    }

    /// When the member's one-time password stops letting them in: after it, logging in with it
    /// answers `PASSWORD_EXPIRED` and they need a new one (`resetMemberPassword`). Null when they
    /// hold no one-time password or it does not expire.
    async fn password_expires_at(
        &self,
        ctx: &async_graphql::Context<'_>,
    ) -> async_graphql::Result<Option<DateTime<Utc>>> {
        Ok(loaders_of(ctx, self.0.organization_id)?
            .password_state(self.0.id)
            .await?
            .expires_at)
    }

    /// The organization role.
    async fn role(
        &self,
        ctx: &async_graphql::Context<'_>,
    ) -> async_graphql::Result<Option<crate::graphql::role::Role>> {
        Ok(loaders_of(ctx, self.0.organization_id)?
            .role(self.1.as_deref(), self.0.role_id)
            .await?
            .map(|role| crate::graphql::role::Role::held_in(role, self.0.organization_id)))
    }

    /// The departments, with their paths.
    async fn departments(
        &self,
        ctx: &async_graphql::Context<'_>,
    ) -> async_graphql::Result<Vec<MemberDepartment>> {
        let list = loaders_of(ctx, self.0.organization_id)?
            .departments(self.1.as_deref(), self.0.id)
            .await?;
        Ok(list
            .into_iter()
            .map(|d| MemberDepartment {
                id: ID(d.department.id.to_string()),
                name: d.department.name,
                path: d.path,
            })
            .collect())
    }

    /// Tags (`tag_<name>`) with their values.
    async fn tags(
        &self,
        ctx: &async_graphql::Context<'_>,
    ) -> async_graphql::Result<Vec<MemberTag>> {
        let rows = loaders_of(ctx, self.0.organization_id)?
            .tags(self.1.as_deref(), self.0.id)
            .await?;
        let mut tags: Vec<MemberTag> = Vec::new();
        for (name, value) in rows {
            match tags.last_mut() {
                Some(last) if last.name == name => last.values.push(value),
                _ => tags.push(MemberTag {
                    name,
                    values: vec![value],
                }),
            }
        }
        Ok(tags)
    }

    /// Workspaces and the role held in each.
    async fn workspaces(
        &self,
        ctx: &async_graphql::Context<'_>,
    ) -> async_graphql::Result<Vec<MemberWorkspace>> {
        Ok(loaders_of(ctx, self.0.organization_id)?
            .workspaces(self.1.as_deref(), self.0.id)
            .await?
            .into_iter()
            .map(|(workspace, role_id)| MemberWorkspace { workspace, role_id })
            .collect())
    }
}

/// A department a member belongs to, with its path.
#[derive(async_graphql::SimpleObject)]
pub struct MemberDepartment {
    /// Department id.
    pub id: ID,
    /// Department name.
    pub name: String,
    /// Path from the top, such as `/Sales/North` (the spreadsheets' "User Group").
    pub path: String,
}

/// One tag of a member: `tag_<name>` with its values.
#[derive(async_graphql::SimpleObject)]
pub struct MemberTag {
    /// Tag name without the `tag_` prefix.
    pub name: String,
    /// Values; `["$ALL_MEMBERS$"]` grants every row.
    pub values: Vec<String>,
}

/// A workspace a member belongs to, with the role held there.
pub struct MemberWorkspace {
    /// The workspace.
    pub workspace: entity::workspace::Model,
    /// The workspace role id.
    pub role_id: i64,
}

#[Object]
impl MemberWorkspace {
    /// Workspace id.
    async fn id(&self) -> ID {
        ID(self.workspace.id.to_string())
    }

    /// Workspace name.
    async fn name(&self) -> &str {
        &self.workspace.name
    }

    /// The workspace role held.
    async fn role(
        &self,
        ctx: &async_graphql::Context<'_>,
    ) -> async_graphql::Result<Option<crate::graphql::role::Role>> {
        let org = self.workspace.organization_id;
        Ok(loaders_of(ctx, org)?
            .role(None, self.role_id)
            .await?
            .map(|role| crate::graphql::role::Role::held_in(role, org)))
    }
}

/// A page of members.
pub struct MemberConnection {
    /// The rows of this page.
    pub page: crate::org::members::MemberPage,
    /// The ordering, for cursors.
    pub field: crate::org::members::SortField,
    /// The filter, for `totalCount`.
    pub filter: crate::org::members::MemberFilter,
    /// Proof of the view permission, for `totalCount`.
    pub access: crate::authz::OrgAccess,
}

/// An edge of a member page.
#[derive(async_graphql::SimpleObject)]
pub struct MemberEdge {
    /// Cursor of this row.
    pub cursor: String,
    /// The member.
    pub node: Member,
}

#[Object]
impl MemberConnection {
    /// The rows with their cursors.
    async fn edges(
        &self,
        ctx: &async_graphql::Context<'_>,
    ) -> async_graphql::Result<Vec<MemberEdge>> {
        let nodes = Member::page(ctx, &self.page.rows, &ctx.look_ahead().field("node")).await?;
        Ok(nodes
            .into_iter()
            .map(|node| MemberEdge {
                cursor: crate::org::members::Cursor::of(self.field, &node.0).encode(),
                node,
            })
            .collect())
    }

    /// The rows.
    async fn nodes(&self, ctx: &async_graphql::Context<'_>) -> async_graphql::Result<Vec<Member>> {
        Member::page(ctx, &self.page.rows, &ctx.look_ahead()).await
    }

    /// Where this page stands.
    async fn page_info(&self) -> async_graphql::connection::PageInfo {
        let cursor = |m: Option<&member::Model>| {
            m.map(|m| crate::org::members::Cursor::of(self.field, m).encode())
        };
        async_graphql::connection::PageInfo {
            has_previous_page: self.page.has_previous,
            has_next_page: self.page.has_next,
            start_cursor: cursor(self.page.rows.first()),
            end_cursor: cursor(self.page.rows.last()),
        }
    }

    /// How many members match the filter (all pages). Free when this page holds them all,
    /// without a filter (the organization's count is kept up to date) and nearly so for statuses
    /// that include ACTIVE or for a department alone (with its sub-departments or not); with any
    /// other filter the database counts them, which on a large organization can cost more than
    /// the page: ask for it with the first page and keep it while paging.
    async fn total_count(&self, ctx: &async_graphql::Context<'_>) -> async_graphql::Result<u64> {
        let db = &crate::graphql::state(ctx)?.db;
        Ok(crate::org::members::count(db, &self.access, &self.filter, &self.page).await?)
    }
}

/// What happened to one member of a batch action.
#[derive(async_graphql::SimpleObject)]
pub struct MemberOutcome {
    /// The member.
    pub member_id: ID,
    /// Whether the action was applied.
    pub ok: bool,
    /// Why not, and what to do.
    pub message: Option<String>,
}

impl From<crate::org::members::Outcome> for MemberOutcome {
    fn from(o: crate::org::members::Outcome) -> Self {
        Self {
            member_id: ID(o.member_id.to_string()),
            ok: o.ok,
            message: o.message,
        }
    }
}

/// What `resetMemberPasswords` did for one member.
#[derive(async_graphql::SimpleObject)]
pub struct PasswordResetOutcome {
    /// The member.
    pub member_id: ID,
    /// Whether they got a new one-time password.
    pub ok: bool,
    /// Why not, and what to do.
    pub message: Option<String>,
    /// The one-time password to hand over, shown only here; null when refused. The member must
    /// replace it with `changePassword` before doing anything else.
    pub generated_password: Option<String>,
    /// When that password stops letting them in (`PASSWORD_EXPIRED`); null when refused or when
    /// one-time passwords do not expire.
    pub password_expires_at: Option<DateTime<Utc>>,
}

impl From<crate::org::members::PasswordResetOutcome> for PasswordResetOutcome {
    fn from(r: crate::org::members::PasswordResetOutcome) -> Self {
        let MemberOutcome {
            member_id,
            ok,
            message,
        } = r.outcome.into();
        Self {
            member_id,
            ok,
            message,
            generated_password: r.generated_password,
            password_expires_at: r.password_expires_at,
        }
    }
}
