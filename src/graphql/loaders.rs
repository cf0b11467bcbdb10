//! Per-request DataLoaders. Each is built for one organization (the caller's), so cached results
//! can never cross organizations, and batches the lookups of one response into a few queries.

use crate::org::departments::display_paths;
use async_graphql::dataloader::{DataLoader, Loader};
use entity::{
    department, department_member, member, member_tag, role, workspace, workspace_member,
};
use sea_orm::{ColumnTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter};
use std::{collections::HashMap, sync::Arc};

/// A department with its display path.
#[derive(Debug, Clone)]
pub struct DepartmentWithPath {
    /// The department.
    pub department: department::Model,
    /// Its path, such as `/Sales/North`.
    pub path: String,
}

/// Loads everything the member list shows, by id, within one organization.
pub struct OrgLoader {
    db: DatabaseConnection,
    organization_id: i64,
}

/// The loaders of one request (shared by the operations of a batch, which have the same caller).
#[derive(Clone)]
pub struct Loaders {
    /// The loader, wrapped for batching and caching.
    pub org: Arc<DataLoader<OrgLoader>>,
}

impl Loaders {
    /// Loaders for the caller's organization.
    pub fn new(db: DatabaseConnection, organization_id: i64) -> Self {
        Self {
            org: Arc::new(DataLoader::new(
                OrgLoader {
                    db,
                    organization_id,
                },
                tokio::spawn,
            )),
        }
    }
}

/// The departments of a member.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DepartmentsOf(pub i64);
/// A role by id (built-in or of this organization).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RoleId(pub i64);
/// The tags of a member.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TagsOf(pub i64);
/// The workspace memberships of a member.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct WorkspacesOf(pub i64);
/// A member by id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MemberId(pub i64);

impl Loader<DepartmentsOf> for OrgLoader {
    type Value = Vec<DepartmentWithPath>;
    type Error = Arc<DbErr>;

    async fn load(
        &self,
        keys: &[DepartmentsOf],
    ) -> Result<HashMap<DepartmentsOf, Self::Value>, Self::Error> {
        let links = department_member::Entity::find()
            .filter(department_member::Column::OrganizationId.eq(self.organization_id))
            .filter(department_member::Column::MemberId.is_in(keys.iter().map(|k| k.0)))
            .all(&self.db)
            .await?;
        let deps = department::Entity::find()
            .filter(department::Column::OrganizationId.eq(self.organization_id))
            .filter(department::Column::Id.is_in(links.iter().map(|l| l.department_id)))
            .all(&self.db)
            .await?;
        let paths = display_paths(&self.db, self.organization_id, &deps)
            .await
            .map_err(|e| Arc::new(DbErr::Custom(e.to_string())))?;
        let by_id: HashMap<i64, department::Model> = deps.into_iter().map(|d| (d.id, d)).collect();
        let mut out: HashMap<DepartmentsOf, Vec<DepartmentWithPath>> =
            keys.iter().map(|k| (*k, Vec::new())).collect();
        for link in links {
            if let Some(d) = by_id.get(&link.department_id) {
                out.entry(DepartmentsOf(link.member_id))
                    .or_default()
                    .push(DepartmentWithPath {
                        department: d.clone(),
                        path: paths.get(&d.id).cloned().unwrap_or_default(),
                    });
            }
        }
        for list in out.values_mut() {
            list.sort_by(|a, b| a.path.cmp(&b.path));
        }
        Ok(out)
    }
}

impl Loader<RoleId> for OrgLoader {
    type Value = role::Model;
    type Error = Arc<DbErr>;

    async fn load(&self, keys: &[RoleId]) -> Result<HashMap<RoleId, Self::Value>, Self::Error> {
        use sea_orm::sea_query::ExprTrait;
        Ok(role::Entity::find()
            .filter(role::Column::Id.is_in(keys.iter().map(|k| k.0)))
            .filter(
                role::Column::OrganizationId
                    .eq(self.organization_id)
                    .or(role::Column::OrganizationId.is_null()),
            )
            .all(&self.db)
            .await?
            .into_iter()
            .map(|r| (RoleId(r.id), r))
            .collect())
    }
}

impl Loader<TagsOf> for OrgLoader {
    type Value = Vec<(String, String)>;
    type Error = Arc<DbErr>;

    async fn load(&self, keys: &[TagsOf]) -> Result<HashMap<TagsOf, Self::Value>, Self::Error> {
        let rows = member_tag::Entity::find()
            .filter(member_tag::Column::OrganizationId.eq(self.organization_id))
            .filter(member_tag::Column::MemberId.is_in(keys.iter().map(|k| k.0)))
            .all(&self.db)
            .await?;
        let mut out: HashMap<TagsOf, Vec<(String, String)>> =
            keys.iter().map(|k| (*k, Vec::new())).collect();
        for row in rows {
            out.entry(TagsOf(row.member_id))
                .or_default()
                .push((row.name, row.value));
        }
        for list in out.values_mut() {
            list.sort();
        }
        Ok(out)
    }
}

impl Loader<WorkspacesOf> for OrgLoader {
    type Value = Vec<(workspace::Model, i64)>;
    type Error = Arc<DbErr>;

    async fn load(
        &self,
        keys: &[WorkspacesOf],
    ) -> Result<HashMap<WorkspacesOf, Self::Value>, Self::Error> {
        let links = workspace_member::Entity::find()
            .filter(workspace_member::Column::OrganizationId.eq(self.organization_id))
            .filter(workspace_member::Column::MemberId.is_in(keys.iter().map(|k| k.0)))
            .all(&self.db)
            .await?;
        let spaces: HashMap<i64, workspace::Model> = workspace::Entity::find()
            .filter(workspace::Column::OrganizationId.eq(self.organization_id))
            .filter(workspace::Column::Id.is_in(links.iter().map(|l| l.workspace_id)))
            .all(&self.db)
            .await?
            .into_iter()
            .map(|w| (w.id, w))
            .collect();
        let mut out: HashMap<WorkspacesOf, Self::Value> =
            keys.iter().map(|k| (*k, Vec::new())).collect();
        for link in links {
            if let Some(w) = spaces.get(&link.workspace_id) {
                out.entry(WorkspacesOf(link.member_id))
                    .or_default()
                    .push((w.clone(), link.role_id));
            }
        }
        for list in out.values_mut() {
            list.sort_by(|a, b| a.0.name.cmp(&b.0.name));
        }
        Ok(out)
    }
}

impl Loader<MemberId> for OrgLoader {
    type Value = member::Model;
    type Error = Arc<DbErr>;

    async fn load(&self, keys: &[MemberId]) -> Result<HashMap<MemberId, Self::Value>, Self::Error> {
        Ok(member::Entity::find()
            .filter(member::Column::OrganizationId.eq(self.organization_id))
            .filter(member::Column::Id.is_in(keys.iter().map(|k| k.0)))
            .all(&self.db)
            .await?
            .into_iter()
            .map(|m| (MemberId(m.id), m))
            .collect())
    }
}

/// The request's loaders, or INTERNAL when the request carries none (it is not authenticated).
pub fn loaders<'a>(ctx: &async_graphql::Context<'a>) -> crate::error::Result<&'a Loaders> {
    ctx.data::<Loaders>()
        .map_err(|_| crate::error::Error::Unauthenticated("authentication required".into()))
}

/// Converts a loader error.
pub fn loader_error(e: Arc<DbErr>) -> crate::error::Error {
    crate::error::Error::internal(format!("loading related data failed: {e}"))
}
