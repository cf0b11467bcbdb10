//! The `Member` object: a member of the caller's organization.

use crate::graphql::enums::{AccountType, MemberStatus, UserType};
use async_graphql::{ID, Object};
use chrono::{DateTime, Utc};
use entity::member;

/// A person inside an organization.
pub struct Member(pub member::Model);

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

    /// The provider renamed this person since the last review.
    async fn name_changed(&self) -> bool {
        self.0.name_changed
    }

    /// This person is gone from the provider and awaits deletion.
    async fn to_be_deleted(&self) -> bool {
        self.0.to_be_deleted
    }
}
