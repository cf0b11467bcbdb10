//! Department queries and the directory search.

use super::types::{Department, DirectorySearchResult};
use crate::{
    authz::Permission,
    graphql::{
        guard::{PermissionGuard, access},
        member::Member,
        parse_id, state,
    },
    org::{departments, flags, members},
};
use async_graphql::{Context, ID, Object, Result};

/// Department queries.
#[derive(Default)]
pub struct DepartmentQuery;

#[Object]
impl DepartmentQuery {
    /// The children of a department, or the top-level departments; browse the tree with `children`.
    ///
    /// **Permissions**: `org.members.view`.
    #[graphql(guard = "PermissionGuard::org(Permission::ViewMembers)")]
    async fn departments(
        &self,
        ctx: &Context<'_>,
        parent_id: Option<ID>,
    ) -> Result<Vec<Department>> {
        let access = access(ctx, Permission::ViewMembers)?;
        let parent = parent_id
            .map(|id| parse_id(&id, "department"))
            .transpose()?;
        let db = &state(ctx)?.db;
        if let Some(parent) = parent {
            departments::get(db, access.org_id(), parent).await?;
        }
        Ok(departments::children(db, access.org_id(), parent)
            .await?
            .into_iter()
            .map(Department::new)
            .collect())
    }

    /// The departments a sync flagged: renamed by the provider since the last review
    /// (`nameChanged`; `acknowledgeRenames` clears it) or gone from it (`toBeDeleted`; see
    /// `updateStructure`), by name, with their paths.
    ///
    /// **Permissions**: `org.members.view`.
    #[graphql(guard = "PermissionGuard::org(Permission::ViewMembers)")]
    async fn flagged_departments(&self, ctx: &Context<'_>) -> Result<Vec<Department>> {
        let access = access(ctx, Permission::ViewMembers)?;
        Ok(flags::flagged_departments(&state(ctx)?.db, access.org_id())
            .await?
            .into_iter()
            .map(Department::new)
            .collect())
    }

    /// One department.
    ///
    /// **Permissions**: `org.members.view`.
    #[graphql(guard = "PermissionGuard::org(Permission::ViewMembers)")]
    async fn department(&self, ctx: &Context<'_>, id: ID) -> Result<Department> {
        let access = access(ctx, Permission::ViewMembers)?;
        Ok(Department::new(
            departments::get(
                &state(ctx)?.db,
                access.org_id(),
                parse_id(&id, "department")?,
            )
            .await?,
        ))
    }

    /// Departments and members matching a keyword (case-insensitive, partial), with their paths.
    ///
    /// **Permissions**: `org.members.view`.
    #[graphql(guard = "PermissionGuard::org(Permission::ViewMembers)")]
    async fn search_directory(
        &self,
        ctx: &Context<'_>,
        keyword: String,
        #[graphql(default = 20)] limit: i32,
    ) -> Result<DirectorySearchResult> {
        let access = access(ctx, Permission::ViewMembers)?;
        let keyword = keyword.trim();
        if keyword.is_empty() {
            return Err(crate::error::Error::validation(
                "keyword",
                "enter something to search for",
            )
            .into());
        }
        let limit = limit.clamp(1, 100) as usize;
        let app = state(ctx)?;
        let db = &app.db;
        let deps = departments::search(db, access.org_id(), keyword, limit as u64).await?;
        let paths = departments::display_paths(db, access.org_id(), &deps).await?;
        let filter = members::MemberFilter {
            keyword: Some(keyword.to_string()),
            ..Default::default()
        };
        let page = members::PageRequest {
            limit,
            after: None,
            before: None,
            backward: false,
        };
        let found = members::list(
            app.page_reads(),
            &access,
            &filter,
            members::SortField::Nickname,
            false,
            &page,
        )
        .await?;
        Ok(DirectorySearchResult {
            departments: deps
                .into_iter()
                .map(|d| {
                    let path = paths.get(&d.id).cloned();
                    Department { model: d, path }
                })
                .collect(),
            members: found.rows.into_iter().map(Member::from).collect(),
        })
    }
}
