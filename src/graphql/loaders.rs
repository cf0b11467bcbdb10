//! Per-request DataLoaders. Each set is built for one organization (the caller's, or that of the
//! member an authenticating mutation answers with; see [`LoaderPool`]), so what it reads can never
//! cross organizations, and batches the lookups of one response into a few queries.

use crate::{
    auth::principal::permissions_of_roles,
    authz::Permission,
    org::{
        agents,
        departments::{self, display_paths},
        directory, roles, workspaces,
    },
    push::outbox::{self, Backlog},
};
use async_graphql::dataloader::{DataLoader, Loader};
use entity::{
    department, directory_role, member, member_tag, role, user, workspace, workspace_member,
};
use sea_orm::{
    ColumnTrait, DatabaseConnection, DbErr, EntityTrait, JoinType, QueryFilter, QuerySelect,
};
use std::{
    collections::{BTreeSet, HashMap},
    sync::Arc,
};

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

/// The loaders of one organization within a request (shared by the operations of a batch).
#[derive(Clone)]
pub struct Loaders {
    /// The loader, wrapped for batching and caching.
    pub org: Arc<DataLoader<OrgLoader>>,
    organization_id: i64,
}

impl Loaders {
    /// Loaders for one organization.
    pub fn new(db: DatabaseConnection, organization_id: i64) -> Self {
        Self {
            org: Arc::new(DataLoader::new(
                OrgLoader {
                    db,
                    organization_id,
                },
                tokio::spawn,
            )),
            organization_id,
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
/// The sub-departments of a department.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ChildrenOf(pub i64);
/// The number of direct members of a department.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MemberCountOf(pub i64);
/// The display path (`/Sales/North`) of a department, by its path of ids (`/3/17/`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DisplayPathOf(pub String);
/// The memberships of a workspace, by member id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MembershipsOf(pub i64);
/// The number of members of a workspace.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct WorkspaceMemberCountOf(pub i64);
/// The positions of a role group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PositionsOf(pub i64);
/// The member ids holding a position (directory role).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct HoldersOf(pub i64);
/// The permissions a role grants.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PermissionsOf(pub i64);
/// How many of the organization's members or workspace memberships hold a role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct HolderCountOf(pub i64);
/// The seats in use of an agent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SeatsUsedOf(pub i64);
/// What a connection has left to push (its outbox items waiting and refused).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct BacklogOf(pub i64);
/// The state of a member's person's password, by member id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PasswordStateOf(pub i64);

/// Whether a person still holds a one-time password, and until when it lets them in.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PasswordState {
    /// They must replace it with `changePassword`.
    pub change_required: bool,
    /// When it expires, if it does.
    pub expires_at: Option<chrono::DateTime<chrono::Utc>>,
}

impl Loader<DepartmentsOf> for OrgLoader {
    type Value = Vec<DepartmentWithPath>;
    type Error = Arc<DbErr>;

    async fn load(
        &self,
        keys: &[DepartmentsOf],
    ) -> Result<HashMap<DepartmentsOf, Self::Value>, Self::Error> {
        // The memberships with their departments, then the names on their paths that those do
        // not hold (no statement when they hold them all).
        let links =
            departments::of_members(&self.db, self.organization_id, keys.iter().map(|k| k.0))
                .await
                .map_err(service_error)?;
        let mut deps: Vec<department::Model> = links.iter().map(|(_, d)| d.clone()).collect();
        deps.sort_unstable_by_key(|d| d.id);
        deps.dedup_by_key(|d| d.id);
        let paths = display_paths(&self.db, self.organization_id, &deps)
            .await
            .map_err(service_error)?;
        let mut out: HashMap<DepartmentsOf, Vec<DepartmentWithPath>> =
            keys.iter().map(|k| (*k, Vec::new())).collect();
        for (member_id, department) in links {
            let path = paths.get(&department.id).cloned().unwrap_or_default();
            out.entry(DepartmentsOf(member_id))
                .or_default()
                .push(DepartmentWithPath { department, path });
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
            .select_also(workspace::Entity)
            .join(
                JoinType::InnerJoin,
                workspace_member::Entity::belongs_to(workspace::Entity)
                    .from(workspace_member::Column::WorkspaceId)
                    .to(workspace::Column::Id)
                    .into(),
            )
            .filter(workspace_member::Column::OrganizationId.eq(self.organization_id))
            .filter(workspace_member::Column::MemberId.is_in(keys.iter().map(|k| k.0)))
            .all(&self.db)
            .await?;
        let mut out: HashMap<WorkspacesOf, Self::Value> =
            keys.iter().map(|k| (*k, Vec::new())).collect();
        for (link, space) in links {
            if let Some(space) = space {
                out.entry(WorkspacesOf(link.member_id))
                    .or_default()
                    .push((space, link.role_id));
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

/// A service error as the loaders' error type.
fn service_error(e: crate::error::Error) -> Arc<DbErr> {
    Arc::new(DbErr::Custom(e.to_string()))
}

/// A loader whose batch is one service call: it takes the values inside the keys (`ids`) and
/// answers a map by them, which becomes the map by key.
macro_rules! service_loader {
    ($key:ident => $value:ty, |$loader:ident, $ids:ident| $call:expr) => {
        impl Loader<$key> for OrgLoader {
            type Value = $value;
            type Error = Arc<DbErr>;

            async fn load(&self, keys: &[$key]) -> Result<HashMap<$key, Self::Value>, Self::Error> {
                let $loader = self;
                let $ids: Vec<_> = keys.iter().map(|key| key.0.clone()).collect();
                Ok($call
                    .await
                    .map_err(service_error)?
                    .into_iter()
                    .map(|(inner, value)| ($key(inner), value))
                    .collect())
            }
        }
    };
}

service_loader!(ChildrenOf => Vec<department::Model>, |l, ids| {
    departments::children_of(&l.db, l.organization_id, &ids)
});
service_loader!(MemberCountOf => u64, |l, ids| departments::member_counts(&l.db, &ids));
service_loader!(DisplayPathOf => String, |l, ids| {
    departments::display_paths_of(&l.db, l.organization_id, &ids)
});
service_loader!(MembershipsOf => Vec<workspace_member::Model>, |l, ids| {
    workspaces::memberships_of(&l.db, l.organization_id, &ids)
});
service_loader!(WorkspaceMemberCountOf => u64, |l, ids| {
    workspaces::member_counts(&l.db, &ids)
});
service_loader!(PositionsOf => Vec<directory_role::Model>, |l, ids| {
    directory::roles_of_groups(&l.db, l.organization_id, &ids)
});
service_loader!(HoldersOf => Vec<i64>, |l, ids| directory::holders_of(&l.db, &ids));
service_loader!(PermissionsOf => BTreeSet<Permission>, |l, ids| {
    permissions_of_roles(&l.db, &ids)
});
service_loader!(HolderCountOf => u64, |l, ids| {
    roles::holder_counts(&l.db, l.organization_id, &ids)
});
service_loader!(SeatsUsedOf => u64, |l, ids| agents::seats_used_of(&l.db, &ids));
service_loader!(BacklogOf => Backlog, |l, ids| outbox::backlogs_of(&l.db, &ids));

impl Loader<PasswordStateOf> for OrgLoader {
    type Value = PasswordState;
    type Error = Arc<DbErr>;

    async fn load(
        &self,
        keys: &[PasswordStateOf],
    ) -> Result<HashMap<PasswordStateOf, Self::Value>, Self::Error> {
        let rows: Vec<(i64, bool, Option<chrono::DateTime<chrono::Utc>>)> = member::Entity::find()
            .select_only()
            .column(member::Column::Id)
            .column(user::Column::PasswordChangeRequired)
            .column(user::Column::PasswordExpiresAt)
            .join(JoinType::InnerJoin, crate::org::members::person_of_member())
            .filter(member::Column::OrganizationId.eq(self.organization_id))
            .filter(member::Column::Id.is_in(keys.iter().map(|k| k.0)))
            .into_tuple()
            .all(&self.db)
            .await?;
        Ok(rows
            .into_iter()
            .map(|(id, change_required, expires_at)| {
                let state = PasswordState {
                    change_required,
                    expires_at,
                };
                (PasswordStateOf(id), state)
            })
            .collect())
    }
}

/// What a page of members shows beside each member, read for the whole page in one concurrent
/// round as soon as the page is known, instead of through the batching delay of the loaders.
/// It lives in the page's `Member` objects, never in the request, so a later operation of the
/// same batch (a mutation) cannot read it stale. `None` means "not selected": read on demand.
#[derive(Default)]
pub struct PageRelated {
    roles: Option<HashMap<RoleId, role::Model>>,
    departments: Option<HashMap<DepartmentsOf, Vec<DepartmentWithPath>>>,
    tags: Option<HashMap<TagsOf, Vec<(String, String)>>>,
    workspaces: Option<HashMap<WorkspacesOf, Vec<(workspace::Model, i64)>>>,
}

/// Which related rows a page selects.
#[derive(Debug, Clone, Copy, Default)]
pub struct PageSelection {
    /// `role`.
    pub roles: bool,
    /// `departments`.
    pub departments: bool,
    /// `tags`.
    pub tags: bool,
    /// `workspaces`.
    pub workspaces: bool,
}

impl PageSelection {
    /// What the selection set of a `Member` (the look-ahead at `node` or `nodes`) asks for.
    pub fn of(member: &async_graphql::Lookahead<'_>) -> Self {
        Self {
            roles: member.field("role").exists(),
            departments: member.field("departments").exists(),
            tags: member.field("tags").exists(),
            workspaces: member.field("workspaces").exists(),
        }
    }

    fn any(&self) -> bool {
        self.roles || self.departments || self.tags || self.workspaces
    }
}

async fn when<T, F>(wanted: bool, load: F) -> Result<Option<T>, Arc<DbErr>>
where
    F: std::future::Future<Output = Result<T, Arc<DbErr>>>,
{
    if wanted {
        load.await.map(Some)
    } else {
        Ok(None)
    }
}

impl Loaders {
    /// What one key loads, or the value's default when nothing is found (no children, no
    /// members, a count of 0).
    pub async fn load_or_default<K>(
        &self,
        key: K,
    ) -> crate::error::Result<<OrgLoader as Loader<K>>::Value>
    where
        K: Send + Sync + std::hash::Hash + Eq + Clone + 'static,
        OrgLoader: Loader<K, Error = Arc<DbErr>>,
        <OrgLoader as Loader<K>>::Value: Default,
    {
        Ok(self
            .org
            .load_one(key)
            .await
            .map_err(loader_error)?
            .unwrap_or_default())
    }

    /// Reads what `selection` asks for of these members, all kinds at once.
    pub async fn page(
        &self,
        members: &[member::Model],
        selection: PageSelection,
    ) -> crate::error::Result<Option<Arc<PageRelated>>> {
        if members.is_empty() || !selection.any() {
            return Ok(None);
        }
        let loader = self.org.loader();
        let mut roles: Vec<RoleId> = members.iter().map(|m| RoleId(m.role_id)).collect();
        roles.sort_unstable_by_key(|r| r.0);
        roles.dedup();
        let departments: Vec<DepartmentsOf> = members.iter().map(|m| DepartmentsOf(m.id)).collect();
        let tags: Vec<TagsOf> = members.iter().map(|m| TagsOf(m.id)).collect();
        let workspaces: Vec<WorkspacesOf> = members.iter().map(|m| WorkspacesOf(m.id)).collect();
        let (roles, departments, tags, workspaces) = futures_util::try_join!(
            when(selection.roles, loader.load(&roles)),
            when(selection.departments, loader.load(&departments)),
            when(selection.tags, loader.load(&tags)),
            when(selection.workspaces, loader.load(&workspaces)),
        )
        .map_err(loader_error)?;
        Ok(Some(Arc::new(PageRelated {
            roles,
            departments,
            tags,
            workspaces,
        })))
    }

    /// One member's role, from the page when it read them.
    pub async fn role(
        &self,
        page: Option<&PageRelated>,
        id: i64,
    ) -> crate::error::Result<Option<role::Model>> {
        self.one(page.and_then(|p| p.roles.as_ref()), RoleId(id))
            .await
    }

    /// One member's departments with their paths, from the page when it read them.
    pub async fn departments(
        &self,
        page: Option<&PageRelated>,
        member_id: i64,
    ) -> crate::error::Result<Vec<DepartmentWithPath>> {
        let found = page.and_then(|p| p.departments.as_ref());
        Ok(self
            .one(found, DepartmentsOf(member_id))
            .await?
            .unwrap_or_default())
    }

    /// One member's tags as sorted `(name, value)` pairs, from the page when it read them.
    pub async fn tags(
        &self,
        page: Option<&PageRelated>,
        member_id: i64,
    ) -> crate::error::Result<Vec<(String, String)>> {
        let found = page.and_then(|p| p.tags.as_ref());
        Ok(self
            .one(found, TagsOf(member_id))
            .await?
            .unwrap_or_default())
    }

    /// One member's workspaces with the workspace role id, from the page when it read them.
    pub async fn workspaces(
        &self,
        page: Option<&PageRelated>,
        member_id: i64,
    ) -> crate::error::Result<Vec<(workspace::Model, i64)>> {
        let found = page.and_then(|p| p.workspaces.as_ref());
        Ok(self
            .one(found, WorkspacesOf(member_id))
            .await?
            .unwrap_or_default())
    }

    /// Whether a member still holds a one-time password, and until when (batched across the
    /// response).
    pub async fn password_state(&self, member_id: i64) -> crate::error::Result<PasswordState> {
        Ok(self
            .one::<_, PasswordState>(None, PasswordStateOf(member_id))
            .await?
            .unwrap_or_default())
    }

    /// A value the page already read, or one loaded (batched) now.
    async fn one<K, V>(
        &self,
        found: Option<&HashMap<K, V>>,
        key: K,
    ) -> crate::error::Result<Option<V>>
    where
        K: Send + Sync + std::hash::Hash + Eq + Clone + 'static,
        V: Clone + Send + Sync + 'static,
        OrgLoader: Loader<K, Value = V, Error = Arc<DbErr>>,
    {
        match found {
            Some(found) => Ok(found.get(&key).cloned()),
            None => self.org.load_one(key).await.map_err(loader_error),
        }
    }
}

/// The loaders of a request, one set per organization whose objects it answers with: the
/// caller's, and that of the member an authenticating mutation (`login`, `register`,
/// `switchOrganization`, …) answers with, which an anonymous request has no caller's for.
/// Cloned into each operation of a batch, which share it.
#[derive(Clone)]
pub struct LoaderPool {
    db: DatabaseConnection,
    /// The caller's, read without a lock: nearly every object is of the caller's organization.
    caller: Option<Loaders>,
    others: Arc<std::sync::Mutex<HashMap<i64, Loaders>>>,
}

impl LoaderPool {
    /// The pool of a request; `caller` is the authenticated caller's organization.
    pub fn new(db: DatabaseConnection, caller: Option<i64>) -> Self {
        Self {
            caller: caller.map(|org| Loaders::new(db.clone(), org)),
            db,
            others: Arc::default(),
        }
    }

    /// The loaders of an organization, made on first use.
    fn of(&self, organization_id: i64) -> Loaders {
        if let Some(caller) = self
            .caller
            .as_ref()
            .filter(|c| c.organization_id == organization_id)
        {
            return caller.clone();
        }
        // A panic elsewhere while holding the lock leaves the map intact: keep using it.
        let mut others = self.others.lock().unwrap_or_else(|e| e.into_inner());
        others
            .entry(organization_id)
            .or_insert_with(|| Loaders::new(self.db.clone(), organization_id))
            .clone()
    }

    /// The loaders of the organization this request answers about: the caller's, or else those
    /// of the one organization whose objects it has answered with so far.
    fn subject(&self) -> Option<Loaders> {
        self.caller.clone().or_else(|| {
            let others = self.others.lock().unwrap_or_else(|e| e.into_inner());
            let mut each = others.values();
            match (each.next(), each.next()) {
                (Some(only), None) => Some(only.clone()),
                _ => None,
            }
        })
    }
}

/// The loaders of the organization the request answers about (see [`LoaderPool`]):
/// UNAUTHENTICATED in an anonymous request that has answered with no organization's objects.
pub fn loaders(ctx: &async_graphql::Context<'_>) -> crate::error::Result<Loaders> {
    pool(ctx)?
        .subject()
        .ok_or_else(|| crate::error::Error::Unauthenticated("authentication required".into()))
}

/// The loaders of an object's own organization. Objects are read within the caller's
/// organization, except the member an authenticating mutation answers with, whose departments,
/// role and workspaces are then read within its own.
pub fn loaders_of(
    ctx: &async_graphql::Context<'_>,
    organization_id: i64,
) -> crate::error::Result<Loaders> {
    Ok(pool(ctx)?.of(organization_id))
}

fn pool<'a>(ctx: &async_graphql::Context<'a>) -> crate::error::Result<&'a LoaderPool> {
    ctx.data::<LoaderPool>()
        .map_err(|_| crate::error::Error::internal("the request carries no loaders"))
}

/// Converts a loader error.
pub fn loader_error(e: Arc<DbErr>) -> crate::error::Error {
    crate::error::Error::internal(format!("loading related data failed: {e}"))
}
