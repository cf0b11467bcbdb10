//! One provider application bound to an organization (one per DingTalk enterprise, WeCom corp or Entra tenant).

use sea_orm::entity::prelude::*;

use crate::enums::*;
/// One provider application bound to an organization (one per DingTalk enterprise, WeCom corp or Entra tenant).
#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "connection")]
pub struct Model {
    /// Surrogate key.
    #[sea_orm(primary_key)]
    pub id: i64,
    /// Owning organization.
    pub organization_id: i64,
    /// Which provider.
    pub provider: Provider,
    /// Administrator-facing label.
    pub name: String,
    /// DingTalk CorpId, WeCom CorpId or Entra tenant id.
    pub corp_id: String,
    /// DingTalk or WeCom AgentId.
    pub agent_id: Option<String>,
    /// DingTalk AppKey/ClientId or Entra application (client) id.
    pub client_id: Option<String>,
    /// App secret, AES-GCM encrypted under the master key.
    pub client_secret_enc: Option<String>,
    /// Callback token, encrypted.
    pub callback_token_enc: Option<String>,
    /// Callback EncodingAESKey, encrypted.
    pub callback_aes_key_enc: Option<String>,
    /// Whether visible contacts become members automatically.
    pub auto_add_policy: AutoAddPolicy,
    /// Provider-specific settings (sync scope, department source…) as JSON.
    pub settings: Json,
    /// Whether login and sync through it are enabled.
    pub enabled: bool,
    /// Local changes are pushed to the provider (DingTalk only) through the outbox.
    pub push_enabled: bool,
    /// When it was created.
    pub created_at: DateTimeUtc,
    /// When it last changed.
    pub updated_at: DateTimeUtc,
}

impl ActiveModelBehavior for ActiveModel {}
