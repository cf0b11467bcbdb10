//! Secrets at rest: a 256-bit master key and AES-256-GCM sealing of connection secrets,
//! signing keys and PKCE verifiers.
//!
//! The master key comes from `ROSTER_MASTER_KEY` (base64 of 32 bytes) or, failing that, from a key
//! file (mode 0600) generated on first start. A sealed value is `v1.<base64url(nonce ‖ ciphertext)>`;
//! the version prefix leaves room for key rotation.

use crate::config::Settings;
use aes_gcm::{
    Aes256Gcm, Key, Nonce,
    aead::{Aead, KeyInit, OsRng, rand_core::RngCore},
};
use base64::{Engine, engine::general_purpose::STANDARD, engine::general_purpose::URL_SAFE_NO_PAD};
use std::path::Path;

/// Why a master key or a sealed value could not be used.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    /// The configured or stored key is malformed.
    #[error("{0}")]
    BadKey(String),
    /// The key file could not be read or written.
    #[error("master key file {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The I/O failure.
        source: std::io::Error,
    },
    /// A sealed value was tampered with, truncated, or sealed under another key.
    #[error(
        "a sealed secret could not be opened: it was sealed under another master key or altered"
    )]
    Open,
}

/// Seals and opens secrets with the master key.
#[derive(Clone)]
pub struct SecretBox {
    cipher: Aes256Gcm,
    /// HMAC key for signed links, derived from the master key so that it never doubles as the
    /// encryption key.
    link_key: [u8; 32],
}

impl std::fmt::Debug for SecretBox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretBox([redacted])")
    }
}

const PREFIX: &str = "v1.";
const NONCE_LEN: usize = 12;

impl SecretBox {
    /// A box for a raw 32-byte key.
    pub fn new(key: &[u8; 32]) -> Self {
        Self {
            cipher: Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(key)),
            link_key: hmac_sha256(key, b"roster signed links v1"),
        }
    }

    /// Loads the master key as configured, generating the key file if there is none.
    /// Returns the box and whether a new key file was written (the caller warns about it).
    pub fn from_settings(
        settings: &Settings,
    ) -> Result<(Self, Option<std::path::PathBuf>), SecretError> {
        if let Some(key) = &settings.master_key {
            return Ok((
                Self::new(&decode_key(
                    key.expose(),
                    "setting `master_key` (ROSTER_MASTER_KEY)",
                )?),
                None,
            ));
        }
        let path = settings.master_key_path();
        match std::fs::read_to_string(&path) {
            Ok(text) => {
                let what = format!("master key file {}", path.display());
                Ok((Self::new(&decode_key(text.trim(), &what)?), None))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let mut key = [0u8; 32];
                OsRng.fill_bytes(&mut key);
                write_private_file(&path, STANDARD.encode(key).as_bytes())?;
                Ok((Self::new(&key), Some(path)))
            }
            Err(source) => Err(SecretError::Io {
                path: path.display().to_string(),
                source,
            }),
        }
    }

    /// Encrypts `plaintext` under a fresh random nonce.
    pub fn seal(&self, plaintext: &[u8]) -> String {
        let mut nonce = [0u8; NONCE_LEN];
        OsRng.fill_bytes(&mut nonce);
        let ciphertext = self
            .cipher
            .encrypt(Nonce::from_slice(&nonce), plaintext)
            .unwrap_or_else(|_| {
                unreachable!("AES-GCM encryption of an in-memory buffer cannot fail")
            });
        let mut out = Vec::with_capacity(NONCE_LEN + ciphertext.len());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&ciphertext);
        format!("{PREFIX}{}", URL_SAFE_NO_PAD.encode(out))
    }

    /// Encrypts a string.
    pub fn seal_str(&self, plaintext: &str) -> String {
        self.seal(plaintext.as_bytes())
    }

    /// Decrypts a value made by [`SecretBox::seal`], refusing anything altered.
    pub fn open(&self, sealed: &str) -> Result<Vec<u8>, SecretError> {
        let body = sealed.strip_prefix(PREFIX).ok_or(SecretError::Open)?;
        let raw = URL_SAFE_NO_PAD
            .decode(body)
            .map_err(|_| SecretError::Open)?;
        if raw.len() < NONCE_LEN + 16 {
            return Err(SecretError::Open);
        }
        let (nonce, ciphertext) = raw.split_at(NONCE_LEN);
        self.cipher
            .decrypt(Nonce::from_slice(nonce), ciphertext)
            .map_err(|_| SecretError::Open)
    }

    /// Signs a message for a link (HMAC-SHA256 under a key derived from the master key), base64url.
    pub fn sign(&self, message: &str) -> String {
        URL_SAFE_NO_PAD.encode(hmac_sha256(&self.link_key, message.as_bytes()))
    }

    /// Checks a signature made by [`SecretBox::sign`] in constant time.
    pub fn verify(&self, message: &str, signature: &str) -> bool {
        use hmac::Mac;
        let Ok(raw) = URL_SAFE_NO_PAD.decode(signature) else {
            return false;
        };
        let Ok(mut mac) = <hmac::Hmac<sha2::Sha256> as Mac>::new_from_slice(&self.link_key) else {
            return false;
        };
        mac.update(message.as_bytes());
        mac.verify_slice(&raw).is_ok()
    }

    /// Decrypts a value sealed with [`SecretBox::seal_str`].
    pub fn open_str(&self, sealed: &str) -> Result<String, SecretError> {
        String::from_utf8(self.open(sealed)?).map_err(|_| SecretError::Open)
    }
}

fn hmac_sha256(key: &[u8], message: &[u8]) -> [u8; 32] {
    use hmac::Mac;
    let mut mac = <hmac::Hmac<sha2::Sha256> as Mac>::new_from_slice(key)
        .unwrap_or_else(|_| unreachable!("HMAC accepts keys of any length"));
    mac.update(message);
    mac.finalize().into_bytes().into()
}

fn decode_key(text: &str, what: &str) -> Result<[u8; 32], SecretError> {
    let bytes = STANDARD
        .decode(text.trim())
        .or_else(|_| URL_SAFE_NO_PAD.decode(text.trim()))
        .map_err(|_| {
            SecretError::BadKey(format!(
                "{what} is not base64; generate one with `openssl rand -base64 32`"
            ))
        })?;
    bytes.try_into().map_err(|_| {
        SecretError::BadKey(format!(
            "{what} must decode to exactly 32 bytes; generate one with `openssl rand -base64 32`"
        ))
    })
}

fn write_private_file(path: &Path, contents: &[u8]) -> Result<(), SecretError> {
    use std::io::Write;
    let io = |source| SecretError::Io {
        path: path.display().to_string(),
        source,
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(io)?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path).map_err(io)?;
    file.write_all(contents).map_err(io)?;
    file.sync_all().map_err(io)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn boxed() -> SecretBox {
        SecretBox::new(&[7u8; 32])
    }

    #[test]
    fn signatures_verify_and_refuse_changes() {
        let b = boxed();
        let sig = b.sign("abc.1.2.99");
        assert!(b.verify("abc.1.2.99", &sig));
        assert!(!b.verify("abc.1.2.98", &sig));
        assert!(!b.verify("abc.1.2.99", "not-base64!"));
        assert!(!SecretBox::new(&[8u8; 32]).verify("abc.1.2.99", &sig));
    }

    #[test]
    fn round_trip() {
        let b = boxed();
        let sealed = b.seal_str("app-secret-123");
        assert!(sealed.starts_with("v1."));
        assert!(!sealed.contains("app-secret"));
        assert_eq!(b.open_str(&sealed).expect("opens"), "app-secret-123");
    }

    #[test]
    fn nonces_differ() {
        let b = boxed();
        assert_ne!(b.seal_str("same"), b.seal_str("same"));
    }

    #[test]
    fn tampering_and_wrong_key_are_refused() {
        let b = boxed();
        let sealed = b.seal_str("payload");
        let mut chars: Vec<char> = sealed.chars().collect();
        let last = chars.len() - 1;
        chars[last] = if chars[last] == 'A' { 'B' } else { 'A' };
        let tampered: String = chars.into_iter().collect();
        assert!(matches!(b.open(&tampered), Err(SecretError::Open)));
        assert!(matches!(
            SecretBox::new(&[8u8; 32]).open(&sealed),
            Err(SecretError::Open)
        ));
        assert!(matches!(b.open("v1."), Err(SecretError::Open)));
        assert!(matches!(b.open("plain"), Err(SecretError::Open)));
    }

    #[test]
    fn bad_configured_key_is_explained() {
        let err = decode_key("c2hvcnQ=", "setting `master_key`").unwrap_err();
        assert!(err.to_string().contains("32 bytes"));
    }

    #[test]
    fn key_file_is_generated_private_and_reused() {
        let dir = std::env::temp_dir().join(format!("roster-key-{}", uuid::Uuid::new_v4()));
        let path = dir.join("roster.key");
        let settings = Settings {
            master_key_file: Some(path.clone()),
            ..Settings::default()
        };
        let (first, created) = SecretBox::from_settings(&settings).expect("generates");
        assert_eq!(created.as_deref(), Some(path.as_path()));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path)
                .expect("exists")
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let (second, created) = SecretBox::from_settings(&settings).expect("reads");
        assert!(created.is_none());
        assert_eq!(
            second.open_str(&first.seal_str("x")).expect("same key"),
            "x"
        );
        let _ = std::fs::remove_dir_all(dir);
    }
}
