//! Member mutations.

use super::{
    inputs::{CreateMemberInput, TagInput, UpdateMemberInput},
    types::{Member, MemberOutcome, PasswordResetOutcome},
};
use crate::{
    authz::{Grants, Permission},
    graphql::{
        change,
        department::types::Department,
        guard::{PermissionGuard, access, principal},
        one_time_lifetime, parse_id, parse_ids, state,
    },
    org::{
        flags,
        members::{self, MemberChanges, NewMember},
    },
};
use async_graphql::{Context, ID, Object, Result, SimpleObject};

/// Member mutations.
#[derive(Default)]
pub struct MemberMutation;

/// A created member, with the generated password when none was given.
#[derive(SimpleObject)]
pub struct CreatedMember {
    /// The member.
    pub member: Member,
    /// The one-time password to hand over; null when one was given.
    pub generated_password: Option<String>,
}

/// What `acknowledgeRenames` left: the members and departments named, their `nameChanged`
/// cleared.
#[derive(SimpleObject)]
pub struct RenamesAcknowledged {
    /// The members, in the order named.
    pub members: Vec<Member>,
    /// The departments, in the order named.
    pub departments: Vec<Department>,
}

/// A member's new one-time password.
#[derive(SimpleObject)]
pub struct PasswordReset {
    /// The member.
    pub member: Member,
    /// The one-time password to hand over, shown only here. The member must replace it with
    /// `changePassword` before doing anything else.
    pub generated_password: String,
}

fn tags(input: Option<Vec<TagInput>>) -> crate::error::Result<Option<Vec<members::TagSet>>> {
    input
        .map(|tags| members::parse_tags(tags.into_iter().map(|t| (t.name, t.values)).collect()))
        .transpose()
}

#[Object]
impl MemberMutation {
    /// Adds a local member with a password (generic organizations). The seat limit is respected.
    /// The first password, given or generated, is one-time unless `passwordChangeRequired: false`
    /// comes with a given `password`.
    ///
    /// **Permissions**: `org.members.manage` (plus `org.permissions.manage` for a role other than
    /// standard user, and `org.organization.manage` for the administrator role).
    #[graphql(guard = "PermissionGuard::org(Permission::ManageMembers)")]
    async fn create_member(
        &self,
        ctx: &Context<'_>,
        input: CreateMemberInput,
    ) -> Result<CreatedMember> {
        let access = access(ctx, Permission::ManageMembers)?;
        let grants = Grants::of(principal(ctx)?);
        let new = NewMember {
            account: input.account,
            nickname: input.nickname,
            name: input.name,
            password: input.password,
            password_change_required: input.password_change_required,
            user_type: input.user_type.map(Into::into),
            role_id: input.role_id.map(|id| parse_id(&id, "role")).transpose()?,
            email: input.email,
            phone: input.phone,
            employee_no: input.employee_no,
            position: input.position,
            department_ids: parse_ids(&input.department_ids.unwrap_or_default(), "department")?,
            tags: tags(input.tags)?.unwrap_or_default(),
        };
        let (member, generated_password) = members::create(
            &state(ctx)?.db,
            &access,
            &grants,
            new,
            one_time_lifetime(ctx)?,
            &change(ctx)?,
        )
        .await?;
        Ok(CreatedMember {
            member: Member::from(member),
            generated_password,
        })
    }

    /// Gives a local member a new one-time password, returned only here, and logs out their
    /// other logins. Until they choose their own with `changePassword`, every operation but
    /// `me`, `changePassword` and `logout` answers `PASSWORD_CHANGE_REQUIRED`; once it expires
    /// (`member.passwordExpiresAt`), logging in with it answers `PASSWORD_EXPIRED`. Refused for your
    /// own account, for members who log in through DingTalk, WeCom or Teams, and for people who
    /// also belong to another organization.
    ///
    /// **Permissions**: `org.members.manage`; a member holding a role other than standard user
    /// also needs `org.permissions.manage` (and `org.organization.manage` for an administrator).
    #[graphql(guard = "PermissionGuard::org(Permission::ManageMembers)")]
    async fn reset_member_password(&self, ctx: &Context<'_>, id: ID) -> Result<PasswordReset> {
        let access = access(ctx, Permission::ManageMembers)?;
        let grants = Grants::of(principal(ctx)?);
        let id = parse_id(&id, "member")?;
        let (member, generated_password) = members::reset_password(
            &state(ctx)?.db,
            &access,
            &grants,
            id,
            one_time_lifetime(ctx)?,
            &change(ctx)?,
        )
        .await?;
        Ok(PasswordReset {
            member: Member::from(member),
            generated_password,
        })
    }

    /// `resetMemberPassword` for many members at once: each member's outcome says whether they
    /// got a new one-time password (shown only here) or why not. The refusals are those of
    /// `resetMemberPassword`; the others are reset together.
    ///
    /// **Permissions**: as for `resetMemberPassword`.
    #[graphql(guard = "PermissionGuard::org(Permission::ManageMembers)")]
    async fn reset_member_passwords(
        &self,
        ctx: &Context<'_>,
        ids: Vec<ID>,
    ) -> Result<Vec<PasswordResetOutcome>> {
        let access = access(ctx, Permission::ManageMembers)?;
        let grants = Grants::of(principal(ctx)?);
        let ids = parse_ids(&ids, "member")?;
        Ok(members::reset_passwords(
            &state(ctx)?.db,
            &access,
            &grants,
            &ids,
            one_time_lifetime(ctx)?,
            &change(ctx)?,
        )
        .await?
        .into_iter()
        .map(Into::into)
        .collect())
    }

    /// Edits a member: nickname, name, contact details, user type, organization role, departments, tags.
    ///
    /// **Permissions**: `org.members.manage` (plus `org.permissions.manage` to change the
    /// organization role, and `org.organization.manage` for the administrator role).
    #[graphql(guard = "PermissionGuard::org(Permission::ManageMembers)")]
    async fn update_member(
        &self,
        ctx: &Context<'_>,
        id: ID,
        input: UpdateMemberInput,
    ) -> Result<Member> {
        let access = access(ctx, Permission::ManageMembers)?;
        let grants = Grants::of(principal(ctx)?);
        let changes = MemberChanges {
            nickname: input.nickname,
            name: input.name,
            email: input.email,
            phone: input.phone,
            employee_no: input.employee_no,
            position: input.position,
            user_type: input.user_type.map(Into::into),
            role_id: input.role_id.map(|id| parse_id(&id, "role")).transpose()?,
            department_ids: input
                .department_ids
                .map(|ids| parse_ids(&ids, "department"))
                .transpose()?,
            tags: tags(input.tags)?,
        };
        let id = parse_id(&id, "member")?;
        Ok(Member::from(
            members::update(
                &state(ctx)?.db,
                &access,
                &grants,
                id,
                changes,
                &change(ctx)?,
            )
            .await?,
        ))
    }

    /// Disables members: they cannot log in, and their tokens stop working at once.
    ///
    /// **Permissions**: `org.members.manage`.
    #[graphql(guard = "PermissionGuard::org(Permission::ManageMembers)")]
    async fn disable_members(&self, ctx: &Context<'_>, ids: Vec<ID>) -> Result<Vec<MemberOutcome>> {
        let access = access(ctx, Permission::ManageMembers)?;
        let ids = parse_ids(&ids, "member")?;
        Ok(
            members::set_status(&state(ctx)?.db, &access, &ids, false, &change(ctx)?)
                .await?
                .into_iter()
                .map(Into::into)
                .collect(),
        )
    }

    /// Re-activates disabled members.
    ///
    /// **Permissions**: `org.members.manage`.
    #[graphql(guard = "PermissionGuard::org(Permission::ManageMembers)")]
    async fn activate_members(
        &self,
        ctx: &Context<'_>,
        ids: Vec<ID>,
    ) -> Result<Vec<MemberOutcome>> {
        let access = access(ctx, Permission::ManageMembers)?;
        let ids = parse_ids(&ids, "member")?;
        Ok(
            members::set_status(&state(ctx)?.db, &access, &ids, true, &change(ctx)?)
                .await?
                .into_iter()
                .map(Into::into)
                .collect(),
        )
    }

    /// Removes members from the organization. Refused (per member, with the rule and what to do)
    /// for yourself, organization administrators, workspace members and workspace owners.
    ///
    /// **Permissions**: `org.members.manage`.
    #[graphql(guard = "PermissionGuard::org(Permission::ManageMembers)")]
    async fn remove_members(&self, ctx: &Context<'_>, ids: Vec<ID>) -> Result<Vec<MemberOutcome>> {
        let access = access(ctx, Permission::ManageMembers)?;
        let ids = parse_ids(&ids, "member")?;
        Ok(
            members::remove(&state(ctx)?.db, &access, &ids, &change(ctx)?)
                .await?
                .into_iter()
                .map(Into::into)
                .collect(),
        )
    }

    /// Marks members as resigned: out of departments, positions, workspaces and seats, tokens
    /// revoked, kept for the record (filter `statuses: [RESIGNED]`).
    ///
    /// **Permissions**: `org.members.manage`.
    #[graphql(guard = "PermissionGuard::org(Permission::ManageMembers)")]
    async fn resign_members(&self, ctx: &Context<'_>, ids: Vec<ID>) -> Result<Vec<MemberOutcome>> {
        let access = access(ctx, Permission::ManageMembers)?;
        let ids = parse_ids(&ids, "member")?;
        Ok(
            members::resign(&state(ctx)?.db, &access, &ids, &change(ctx)?)
                .await?
                .into_iter()
                .map(Into::into)
                .collect(),
        )
    }

    /// Marks renames by the provider as seen: clears `nameChanged` on these members and
    /// departments (find them with `members(filter: { nameChanged: true })` and
    /// `flaggedDepartments`). Each id must be of this organization, or nothing changes
    /// (VALIDATION); those not flagged stay as they are. A later rename by the provider flags
    /// them again.
    ///
    /// **Permissions**: `org.members.manage`.
    #[graphql(guard = "PermissionGuard::org(Permission::ManageMembers)")]
    async fn acknowledge_renames(
        &self,
        ctx: &Context<'_>,
        member_ids: Option<Vec<ID>>,
        department_ids: Option<Vec<ID>>,
    ) -> Result<RenamesAcknowledged> {
        let access = access(ctx, Permission::ManageMembers)?;
        let done = flags::acknowledge_renames(
            &state(ctx)?.db,
            &access,
            &parse_ids(&member_ids.unwrap_or_default(), "member")?,
            &parse_ids(&department_ids.unwrap_or_default(), "department")?,
            &change(ctx)?,
        )
        .await?;
        Ok(RenamesAcknowledged {
            members: done.members.into_iter().map(Member::from).collect(),
            departments: done.departments.into_iter().map(Department::new).collect(),
        })
    }
}
