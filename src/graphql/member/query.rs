//! Member queries.

use super::{
    inputs::{MemberFilter, MemberOrder, MemberSortField, SortDirection},
    types::{Member, MemberConnection},
};
use crate::{
    authz::Permission,
    error::Error,
    graphql::{
        connection::{DEFAULT_PAGE, MAX_PAGE},
        guard::{PermissionGuard, access},
        parse_id, state,
    },
    org::members::{self, Cursor, PageRequest, SortField},
};
use async_graphql::{Context, ID, Object, Result};

/// Member queries.
#[derive(Default)]
pub struct MemberQuery;

fn sort_field(field: MemberSortField) -> SortField {
    match field {
        MemberSortField::Nickname => SortField::Nickname,
        MemberSortField::Account => SortField::Account,
        MemberSortField::JoinedAt => SortField::JoinedAt,
        MemberSortField::LastLoginAt => SortField::LastLoginAt,
        MemberSortField::UserType => SortField::UserType,
        MemberSortField::OrganizationRole => SortField::OrganizationRole,
        MemberSortField::Status => SortField::Status,
    }
}

/// Converts the GraphQL filter into the service's.
pub fn service_filter(filter: MemberFilter) -> crate::error::Result<members::MemberFilter> {
    Ok(members::MemberFilter {
        keyword: filter.keyword,
        user_types: filter
            .user_types
            .unwrap_or_default()
            .into_iter()
            .map(Into::into)
            .collect(),
        account_types: filter
            .account_types
            .unwrap_or_default()
            .into_iter()
            .map(Into::into)
            .collect(),
        bound: filter.bound,
        statuses: filter
            .statuses
            .unwrap_or_default()
            .into_iter()
            .map(Into::into)
            .collect(),
        department_id: filter
            .department_id
            .map(|id| parse_id(&id, "department"))
            .transpose()?,
        include_sub_departments: filter.include_sub_departments.unwrap_or(true),
        role_id: filter.role_id.map(|id| parse_id(&id, "role")).transpose()?,
        workspace_id: filter
            .workspace_id
            .map(|id| parse_id(&id, "workspace"))
            .transpose()?,
        tag_name: filter
            .tag_name
            .map(|n| n.trim().trim_start_matches("tag_").to_string()),
        tag_value: filter.tag_value,
        ids: None,
        one_time_passwords: filter
            .one_time_passwords
            .unwrap_or_default()
            .into_iter()
            .map(Into::into)
            .collect(),
        name_changed: filter.name_changed,
        to_be_deleted: filter.to_be_deleted,
    })
}

#[Object]
impl MemberQuery {
    /// Members of the organization: filter, sort and page (Relay, keyset cursors). Use
    /// `first`/`after` to read forward and `last`/`before` to read backward.
    ///
    /// **Permissions**: `org.members.view`.
    #[graphql(guard = "PermissionGuard::org(Permission::ViewMembers)")]
    #[allow(clippy::too_many_arguments)]
    async fn members(
        &self,
        ctx: &Context<'_>,
        filter: Option<MemberFilter>,
        order_by: Option<MemberOrder>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<MemberConnection> {
        let access = access(ctx, Permission::ViewMembers)?;
        let order = order_by.unwrap_or_default();
        let field = sort_field(order.field);
        let descending = order.direction == SortDirection::Desc;
        if first.is_some() && last.is_some() {
            return Err(
                Error::validation("last", "pass either `first` or `last`, not both").into(),
            );
        }
        let limit = match first.or(last) {
            None => DEFAULT_PAGE,
            Some(n) if (0..=MAX_PAGE as i32).contains(&n) => n as usize,
            Some(_) => {
                return Err(Error::validation(
                    if first.is_some() { "first" } else { "last" },
                    format!("must be between 0 and {MAX_PAGE}"),
                )
                .into());
            }
        };
        let page = PageRequest {
            limit,
            after: after
                .as_deref()
                .map(|c| Cursor::decode("after", c, field))
                .transpose()?,
            before: before
                .as_deref()
                .map(|c| Cursor::decode("before", c, field))
                .transpose()?,
            backward: last.is_some(),
        };
        let filter = service_filter(filter.unwrap_or_default())?;
        let app = state(ctx)?;
        let result =
            members::list(app.page_reads(), &access, &filter, field, descending, &page).await?;
        Ok(MemberConnection {
            page: result,
            field,
            filter,
            access,
        })
    }

    /// One member of the organization.
    ///
    /// **Permissions**: `org.members.view`.
    #[graphql(guard = "PermissionGuard::org(Permission::ViewMembers)")]
    async fn member(&self, ctx: &Context<'_>, id: ID) -> Result<Member> {
        let access = access(ctx, Permission::ViewMembers)?;
        Ok(Member::from(
            members::get(&state(ctx)?.db, access.org_id(), parse_id(&id, "member")?).await?,
        ))
    }
}
