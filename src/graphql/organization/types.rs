//! The `Organization` object.

use crate::graphql::enums::OrgKind;
use async_graphql::{ID, Object};
use chrono::{DateTime, Utc};
use entity::organization;

/// An organization (tenant).
pub struct Organization(pub organization::Model);

#[Object]
impl Organization {
    /// Organization id.
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }

    /// Display name.
    async fn name(&self) -> &str {
        &self.0.name
    }

    /// Where its people come from.
    async fn kind(&self) -> OrgKind {
        self.0.kind.into()
    }

    /// Whether people may register themselves (as viewers).
    async fn allow_self_registration(&self) -> bool {
        self.0.allow_self_registration
    }

    /// Licensed number of members; null means unlimited.
    async fn seat_limit(&self) -> Option<i32> {
        self.0.seat_limit
    }

    /// Id of the member who leads the organization.
    async fn leader_member_id(&self) -> Option<ID> {
        self.0.leader_member_id.map(|id| ID(id.to_string()))
    }

    /// When it was created.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}
