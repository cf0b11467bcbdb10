//! A user inside an organization, with user type, organization role and status.

use sea_orm::entity::prelude::*;

use crate::enums::*;
/// A user inside an organization, with user type, organization role and status.
#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "member")]
pub struct Model {
    /// Surrogate key.
    #[sea_orm(primary_key)]
    pub id: i64,
    /// Owning organization.
    pub organization_id: i64,
    /// The person.
    pub user_id: i64,
    /// Login account, unique in the organization.
    pub account: String,
    /// Display nickname, unique in the organization.
    pub nickname: String,
    /// Real name.
    pub name: String,
    /// Licence class.
    pub user_type: UserType,
    /// Organization access role.
    pub role_id: i64,
    /// Active, disabled or resigned.
    pub status: MemberStatus,
    /// Email address, if known.
    pub email: Option<String>,
    /// Phone number, if known.
    pub phone: Option<String>,
    /// Employee number, if any.
    pub employee_no: Option<String>,
    /// Job title or position.
    pub position: Option<String>,
    /// How the account was created.
    pub account_type: AccountType,
    /// The connection it was synced from, if any.
    pub source_connection_id: Option<i64>,
    /// When the member joined the organization.
    pub joined_at: DateTimeUtc,
    /// Last successful login, if ever.
    pub last_login_at: Option<DateTimeUtc>,
    /// Set by sync when the provider renamed the person.
    pub name_changed: bool,
    /// Set by sync when the person is gone from the provider.
    pub to_be_deleted: bool,
    /// When it last changed.
    pub updated_at: DateTimeUtc,
}

impl ActiveModelBehavior for ActiveModel {}
