//! Signing keys for access tokens: Ed25519 (`EdDSA`), stored in the database with the private half
//! sealed under the master key, published at `/.well-known/jwks.json` by `kid`.
//!
//! The newest unretired key signs. Retired keys stay published until every token they signed has
//! expired, so rotation never logs anyone out. An unknown `kid` triggers a reload from the database
//! (at most once a second), which is how a key rotated by another instance reaches this one.

use crate::{
    error::{Error, Result},
    secrets::SecretBox,
};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use chrono::{DateTime, Duration, Utc};
use ed25519_dalek::SigningKey;
use entity::signing_key;
use jsonwebtoken::{DecodingKey, EncodingKey};
use rand::RngCore;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder,
    sea_query::ExprTrait,
};
use serde_json::{Value, json};
use std::{sync::RwLock, time::Instant};

/// The PKCS#8 v1 prefix of an Ed25519 private key, followed by the 32-byte seed.
const PKCS8_ED25519_PREFIX: [u8; 16] = [
    0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
];

/// The JWS algorithm name of the keys.
pub const ALGORITHM: &str = "EdDSA";

struct Published {
    kid: String,
    x: String,
    decoding: DecodingKey,
}

#[derive(Default)]
struct Loaded {
    signing: Option<(String, EncodingKey)>,
    published: Vec<Published>,
    loaded_at: Option<Instant>,
}

/// The signing keys, cached in memory.
pub struct KeyStore {
    db: DatabaseConnection,
    secrets: SecretBox,
    /// How long a retired key stays published (the access token lifetime).
    grace: Duration,
    loaded: RwLock<Loaded>,
}

impl std::fmt::Debug for KeyStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("KeyStore")
    }
}

impl KeyStore {
    /// Loads the keys, creating the first one when the database has none.
    pub async fn open(
        db: DatabaseConnection,
        secrets: SecretBox,
        access_ttl_secs: u64,
    ) -> Result<Self> {
        let store = Self {
            db,
            secrets,
            grace: Duration::seconds(
                i64::try_from(access_ttl_secs).unwrap_or(i64::MAX / 1000) + 60,
            ),
            loaded: RwLock::new(Loaded::default()),
        };
        store.reload().await?;
        if store.read().signing.is_none() {
            store.rotate().await?;
        }
        Ok(store)
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Loaded> {
        self.loaded.read().unwrap_or_else(|e| e.into_inner())
    }

    /// Re-reads the keys from the database.
    pub async fn reload(&self) -> Result<()> {
        let cutoff = Utc::now() - self.grace;
        let rows = signing_key::Entity::find()
            .filter(
                signing_key::Column::RetiredAt
                    .is_null()
                    .or(signing_key::Column::RetiredAt.gt(cutoff)),
            )
            .order_by_desc(signing_key::Column::Id)
            .all(&self.db)
            .await?;
        let mut loaded = Loaded {
            loaded_at: Some(Instant::now()),
            ..Loaded::default()
        };
        for row in rows {
            let decoding = DecodingKey::from_ed_components(&row.public_key).map_err(|e| {
                Error::internal(format!("signing key {} has a bad public key: {e}", row.kid))
            })?;
            if loaded.signing.is_none() && row.retired_at.is_none() {
                let seed = self
                    .secrets
                    .open(&row.private_key_enc)
                    .map_err(|e| Error::internal(format!("signing key {}: {e}", row.kid)))?;
                let mut der = PKCS8_ED25519_PREFIX.to_vec();
                der.extend_from_slice(&seed);
                loaded.signing = Some((row.kid.clone(), EncodingKey::from_ed_der(&der)));
            }
            loaded.published.push(Published {
                kid: row.kid,
                x: row.public_key,
                decoding,
            });
        }
        *self.loaded.write().unwrap_or_else(|e| e.into_inner()) = loaded;
        Ok(())
    }

    /// Creates a new signing key and retires the previous ones (which stay published for a grace period).
    pub async fn rotate(&self) -> Result<String> {
        let mut seed = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut seed);
        let public = SigningKey::from_bytes(&seed).verifying_key().to_bytes();
        let kid = format!(
            "{}-{}",
            Utc::now().format("%Y%m%d"),
            &crate::auth::random_token(6)
        );
        let now: DateTime<Utc> = Utc::now();
        let txn = crate::db::begin_write(&self.db).await?;
        signing_key::Entity::update_many()
            .col_expr(
                signing_key::Column::RetiredAt,
                sea_orm::sea_query::Expr::value(now),
            )
            .filter(signing_key::Column::RetiredAt.is_null())
            .exec(&txn)
            .await?;
        signing_key::Entity::insert(signing_key::ActiveModel {
            kid: Set(kid.clone()),
            algorithm: Set(ALGORITHM.into()),
            private_key_enc: Set(self.secrets.seal(&seed)),
            public_key: Set(URL_SAFE_NO_PAD.encode(public)),
            created_at: Set(now),
            ..Default::default()
        })
        .exec_without_returning(&txn)
        .await?;
        txn.commit().await?;
        self.reload().await?;
        tracing::info!(kid = %kid, "signing key rotated");
        Ok(kid)
    }

    /// The key that signs new tokens, with its `kid`.
    pub fn signing_key(&self) -> Result<(String, EncodingKey)> {
        self.read()
            .signing
            .clone()
            .ok_or_else(|| Error::internal("no signing key loaded"))
    }

    /// The verification key for a `kid`, reloading once when it is unknown.
    pub async fn decoding_key(&self, kid: &str) -> Result<Option<DecodingKey>> {
        let find = |loaded: &Loaded| {
            loaded
                .published
                .iter()
                .find(|k| k.kid == kid)
                .map(|k| k.decoding.clone())
        };
        let stale = {
            let loaded = self.read();
            if let Some(key) = find(&loaded) {
                return Ok(Some(key));
            }
            loaded.loaded_at.is_none_or(|t| t.elapsed().as_secs() >= 1)
        };
        if stale {
            self.reload().await?;
        }
        Ok(find(&self.read()))
    }

    /// Whether the key `kid` is still published (a retired key is, for one access-token lifetime).
    pub fn publishes(&self, kid: &str) -> bool {
        self.read().published.iter().any(|k| k.kid == kid)
    }

    /// The JSON Web Key Set of the published keys.
    pub fn jwks(&self) -> Value {
        let keys: Vec<Value> = self
            .read()
            .published
            .iter()
            .map(|k| json!({ "kty": "OKP", "crv": "Ed25519", "use": "sig", "alg": ALGORITHM, "kid": k.kid, "x": k.x }))
            .collect();
        json!({ "keys": keys })
    }
}
