//! The `Department` object.

use crate::graphql::{loaders, member::Member};
use async_graphql::{Context, ID, Object, Result, SimpleObject};
use entity::department;

/// A department of the organization tree.
pub struct Department {
    /// The row.
    pub model: department::Model,
    /// Its path such as `/Sales/North`, when already known.
    pub path: Option<String>,
}

impl Department {
    /// Wraps a row whose path is not loaded yet.
    pub fn new(model: department::Model) -> Self {
        Self { model, path: None }
    }
}

#[Object]
impl Department {
    /// Department id.
    async fn id(&self) -> ID {
        ID(self.model.id.to_string())
    }

    /// Name.
    async fn name(&self) -> &str {
        &self.model.name
    }

    /// Parent department id; null at the top.
    async fn parent_id(&self) -> Option<ID> {
        self.model.parent_id.map(|id| ID(id.to_string()))
    }

    /// Path from the top, such as `/Sales/North`.
    async fn path(&self, ctx: &Context<'_>) -> Result<String> {
        if let Some(path) = &self.path {
            return Ok(path.clone());
        }
        Ok(loaders::loaders(ctx)?
            .load_or_default(loaders::DisplayPathOf(self.model.path.clone()))
            .await?)
    }

    /// Position among siblings.
    async fn sort_order(&self) -> i32 {
        self.model.sort_order
    }

    /// The department leader.
    async fn leader(&self, ctx: &Context<'_>) -> Result<Option<Member>> {
        let Some(id) = self.model.leader_member_id else {
            return Ok(None);
        };
        let loaders = loaders::loaders(ctx)?;
        Ok(loaders
            .org
            .load_one(loaders::MemberId(id))
            .await
            .map_err(loaders::loader_error)?
            .map(Member::from))
    }

    /// Direct members.
    async fn member_count(&self, ctx: &Context<'_>) -> Result<u64> {
        Ok(loaders::loaders(ctx)?
            .load_or_default(loaders::MemberCountOf(self.model.id))
            .await?)
    }

    /// Sub-departments, in order.
    async fn children(&self, ctx: &Context<'_>) -> Result<Vec<Department>> {
        Ok(loaders::loaders(ctx)?
            .load_or_default(loaders::ChildrenOf(self.model.id))
            .await?
            .into_iter()
            .map(Department::new)
            .collect())
    }

    /// Synced from a provider: renamed there since the last review (`acknowledgeRenames` marks
    /// the rename as seen).
    async fn name_changed(&self) -> bool {
        self.model.name_changed
    }

    /// Synced from a provider: gone there, awaiting deletion (`updateStructure`).
    async fn to_be_deleted(&self) -> bool {
        self.model.to_be_deleted
    }
}

/// What `searchDirectory` found.
#[derive(SimpleObject)]
pub struct DirectorySearchResult {
    /// Departments whose name matches, with their paths.
    pub departments: Vec<Department>,
    /// Members who match, with their departments' paths.
    pub members: Vec<Member>,
}
