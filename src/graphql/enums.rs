//! GraphQL mirrors of the column enums (entities stay free of GraphQL).

use async_graphql::Enum;
use entity::enums as db;

macro_rules! mirror_enum {
    ($(#[$doc:meta])* $name:ident, $db:ty, { $($(#[$vdoc:meta])* $variant:ident),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
        pub enum $name {
            $($(#[$vdoc])* $variant),+
        }

        impl From<$db> for $name {
            fn from(value: $db) -> Self {
                match value {
                    $(<$db>::$variant => Self::$variant),+
                }
            }
        }

        impl From<$name> for $db {
            fn from(value: $name) -> Self {
                match value {
                    $($name::$variant => Self::$variant),+
                }
            }
        }
    };
}

mirror_enum!(
    /// Where an organization's people come from.
    OrgKind, db::OrgKind, {
        /// Kept in Roster; password login.
        Generic,
        /// Mirrors a DingTalk enterprise.
        Dingtalk,
        /// Mirrors a WeCom corporation.
        Wecom,
        /// Mirrors a Microsoft Entra tenant (Teams).
        Teams,
    }
);

mirror_enum!(
    /// A member's licence class.
    UserType, db::UserType, {
        /// Builds content; may hold administrator roles.
        Developer,
        /// Analyses data; may hold administrator roles.
        Analyst,
        /// Only views content.
        Viewer,
    }
);

mirror_enum!(
    /// Whether a member may use Roster.
    MemberStatus, db::MemberStatus, {
        /// May log in.
        Active,
        /// Refused at login and on every request.
        Disabled,
        /// Left the organization; kept for the record.
        Resigned,
    }
);

mirror_enum!(
    /// How a member's account was created.
    AccountType, db::AccountType, {
        /// A Roster account with a password.
        Local,
        /// Added from DingTalk.
        Dingtalk,
        /// Added from WeCom.
        Wecom,
        /// Added from Microsoft Teams.
        Teams,
    }
);

mirror_enum!(
    /// Where an access role applies.
    RoleScope, db::RoleScope, {
        /// The whole organization.
        Organization,
        /// One workspace.
        Workspace,
    }
);
