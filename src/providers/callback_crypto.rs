//! The callback encryption DingTalk (HTTP push) and WeCom (`WXBizMsgCrypt`) share: AES-256-CBC
//! under `base64(EncodingAESKey + "=")` with the key's first 16 bytes as IV, PKCS#7 padding to a
//! 32-byte block, a plaintext of `random(16) ‖ u32be(len) ‖ message ‖ owner` (owner = DingTalk
//! AppKey or CorpId, WeCom corpid), and `sha1(sorted(token, timestamp, nonce, encrypt))` as the
//! signature. See shared/providers/dingtalk.md §5.2 and wecom.md §5.3; both providers' published
//! test vectors are the unit tests below.

use aes::cipher::{BlockDecryptMut, BlockEncryptMut, KeyIvInit, block_padding::NoPadding};
use base64::{Engine, engine::general_purpose::STANDARD};
use rand::Rng;
use sha1::{Digest, Sha1};

/// Why a callback could not be verified or opened; the provider's own SDK code in brackets.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CallbackError {
    /// The EncodingAESKey is not 43 base64 characters (DingTalk 900004, WeCom -40004).
    #[error(
        "the EncodingAESKey must be exactly 43 letters and digits as shown in the provider's console"
    )]
    BadKey,
    /// The signature does not match (DingTalk 900005, WeCom -40001).
    #[error(
        "the callback signature does not match; check the token configured for this connection"
    )]
    Signature,
    /// The ciphertext is not base64 or not a whole number of blocks (WeCom -40010, -40007).
    #[error(
        "the callback payload could not be decrypted; check the EncodingAESKey of this connection"
    )]
    Decrypt,
    /// The decrypted length field or padding is impossible (DingTalk 900009, WeCom -40008).
    #[error("the decrypted callback is malformed; check the EncodingAESKey of this connection")]
    Length,
    /// The trailing owner is not this connection's (DingTalk 900010, WeCom -40005).
    #[error("the callback was encrypted for `{0}`, not for this connection")]
    Owner(String),
}

type Encryptor = cbc::Encryptor<aes::Aes256>;
type Decryptor = cbc::Decryptor<aes::Aes256>;

/// The keys of one connection's callbacks.
#[derive(Clone)]
pub struct CallbackCrypto {
    token: String,
    key: [u8; 32],
    owner: String,
}

impl std::fmt::Debug for CallbackCrypto {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CallbackCrypto")
            .field("owner", &self.owner)
            .finish_non_exhaustive()
    }
}

impl CallbackCrypto {
    /// Keys from the console's token and EncodingAESKey; `owner` is the id the provider appends
    /// (DingTalk AppKey or CorpId, WeCom corpid).
    pub fn new(token: &str, encoding_aes_key: &str, owner: &str) -> Result<Self, CallbackError> {
        if encoding_aes_key.len() != 43
            || !encoding_aes_key.chars().all(|c| c.is_ascii_alphanumeric())
        {
            return Err(CallbackError::BadKey);
        }
        // The consoles generate keys whose last character carries non-zero spare bits, which a
        // strict decoder refuses; the providers' own SDKs ignore them.
        let lenient = base64::engine::GeneralPurpose::new(
            &base64::alphabet::STANDARD,
            base64::engine::GeneralPurposeConfig::new().with_decode_allow_trailing_bits(true),
        );
        let raw = lenient
            .decode(format!("{encoding_aes_key}="))
            .map_err(|_| CallbackError::BadKey)?;
        let key: [u8; 32] = raw.try_into().map_err(|_| CallbackError::BadKey)?;
        Ok(Self {
            token: token.to_string(),
            key,
            owner: owner.to_string(),
        })
    }

    /// `sha1(sorted(token, timestamp, nonce, encrypt))`, lowercase hex.
    pub fn signature(&self, timestamp: &str, nonce: &str, encrypt: &str) -> String {
        let mut parts = [self.token.as_str(), timestamp, nonce, encrypt];
        parts.sort_unstable();
        let digest = Sha1::digest(parts.concat().as_bytes());
        digest.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// Checks a signature in constant time.
    pub fn verify(
        &self,
        signature: &str,
        timestamp: &str,
        nonce: &str,
        encrypt: &str,
    ) -> Result<(), CallbackError> {
        let expected = self.signature(timestamp, nonce, encrypt);
        let given = signature.trim().to_ascii_lowercase();
        let same = expected.len() == given.len()
            && expected
                .bytes()
                .zip(given.bytes())
                .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                == 0;
        if same {
            Ok(())
        } else {
            Err(CallbackError::Signature)
        }
    }

    /// Decrypts a payload and checks its owner.
    pub fn decrypt(&self, encrypt: &str) -> Result<String, CallbackError> {
        let mut buf = STANDARD
            .decode(encrypt.trim())
            .map_err(|_| CallbackError::Decrypt)?;
        if buf.is_empty() || buf.len() % 16 != 0 {
            return Err(CallbackError::Decrypt);
        }
        let iv: [u8; 16] = self.key[..16]
            .try_into()
            .map_err(|_| CallbackError::BadKey)?;
        let plain = Decryptor::new(&self.key.into(), &iv.into())
            .decrypt_padded_mut::<NoPadding>(&mut buf)
            .map_err(|_| CallbackError::Decrypt)?;
        let pad = usize::from(*plain.last().ok_or(CallbackError::Length)?);
        if !(1..=32).contains(&pad) || pad > plain.len() {
            return Err(CallbackError::Length);
        }
        let body = &plain[..plain.len() - pad];
        if body.len() < 20 {
            return Err(CallbackError::Length);
        }
        let len = u32::from_be_bytes([body[16], body[17], body[18], body[19]]) as usize;
        let rest = &body[20..];
        if len > rest.len() {
            return Err(CallbackError::Length);
        }
        let (message, owner) = rest.split_at(len);
        let owner = String::from_utf8_lossy(owner);
        if owner != self.owner {
            return Err(CallbackError::Owner(owner.into_owned()));
        }
        String::from_utf8(message.to_vec()).map_err(|_| CallbackError::Length)
    }

    /// Encrypts a message with a fresh random prefix.
    pub fn encrypt(&self, message: &str) -> String {
        const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
        let mut rng = rand::rngs::OsRng;
        let mut random = [0u8; 16];
        for b in &mut random {
            *b = ALPHABET[rng.gen_range(0..ALPHABET.len())];
        }
        self.encrypt_with(&random, message)
    }

    /// Encrypts a message with a given random prefix (the test vectors fix it).
    pub fn encrypt_with(&self, random: &[u8; 16], message: &str) -> String {
        let mut plain = Vec::with_capacity(52 + message.len() + self.owner.len());
        plain.extend_from_slice(random);
        plain.extend_from_slice(&(message.len() as u32).to_be_bytes());
        plain.extend_from_slice(message.as_bytes());
        plain.extend_from_slice(self.owner.as_bytes());
        let pad = 32 - plain.len() % 32;
        plain.extend(std::iter::repeat_n(pad as u8, pad));
        let len = plain.len();
        let iv: [u8; 16] = self.key[..16].try_into().unwrap_or([0; 16]);
        let cipher = Encryptor::new(&self.key.into(), &iv.into())
            .encrypt_padded_mut::<NoPadding>(&mut plain, len)
            .map(<[u8]>::to_vec)
            .unwrap_or_default();
        STANDARD.encode(cipher)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dingtalk_published_vector() {
        let c = CallbackCrypto::new(
            "123456",
            "1234567890123456789012345678901234567890123",
            "dingsnotzck6pm5veliw",
        )
        .expect("key");
        let encrypt = "YvkvaGe4hQxd3VxRmEty0dVlnCOAqwf56xwTRHDHoOURqhalbmBJQk5FNcRk42Gl5T0YQXZNwpwWSm1xAFJ5ZA==";
        assert_eq!(
            c.signature("1614767836", "A7Co0cJLMzIDtMMI", encrypt),
            "9a95a004dd16f5c307e849b994173f76aa26e5eb"
        );
        c.verify(
            "9a95a004dd16f5c307e849b994173f76aa26e5eb",
            "1614767836",
            "A7Co0cJLMzIDtMMI",
            encrypt,
        )
        .expect("signature");
        assert_eq!(c.decrypt(encrypt).expect("decrypt"), "success");
        assert_eq!(c.encrypt_with(b"dICkEDLj0eb6yAbc", "success"), encrypt);
    }

    #[test]
    fn wecom_published_vectors() {
        let c = CallbackCrypto::new(
            "QDG6eK",
            "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C",
            "wx5823bf96d3bd56c7",
        )
        .expect("key");
        let echostr = "P9nAzCzyDtyTWESHep1vC5X9xho/qYX3Zpb4yKa9SKld1DsH3Iyt3tP3zNdtp+4RPcs8TgAE7OaBO+FZXvnaqQ==";
        c.verify(
            "5c45ff5e21c57e6ad56bac8758b79b1d9ac89fd3",
            "1409659589",
            "263014780",
            echostr,
        )
        .expect("signature");
        assert_eq!(c.decrypt(echostr).expect("decrypt"), "1616140317555161061");
        assert_eq!(
            c.encrypt_with(b"c41b64491c2468d0", "1616140317555161061"),
            echostr
        );
        let post = "RypEvHKD8QQKFhvQ6QleEB4J58tiPdvo+rtK1I9qca6aM/wvqnLSV5zEPeusUiX5L5X/0lWfrf0QADHHhGd3QczcdCUpj911L3vg3W/sYYvuJTs3TUUkSUXxaccAS0qhxchrRYt66wiSpGLYL42aM6A8dTT+6k4aSknmPj48kzJs8qLjvd4Xgpue06DOdnLxAUHzM6+kDZ+HMZfJYuR+LtwGc2hgf5gsijff0ekUNXZiqATP7PF5mZxZ3Izoun1s4zG4LUMnvw2r+KqCKIw+3IQH03v+BCA9nMELNqbSf6tiWSrXJB3LAVGUcallcrw8V2t9EL4EhzJWrQUax5wLVMNS0+rUPA3k22Ncx4XXZS9o0MBH27Bo6BpNelZpS+/uh9KsNlY6bHCmJU9p8g7m3fVKn28H3KDYA5Pl/T8Z1ptDAVe0lXdQ2YoyyH2uyPIGHBZZIs2pDBS8R07+qN+E7Q==";
        c.verify(
            "477715d11cdb4164915debcba66cb864d751f3e6",
            "1409659813",
            "1372623149",
            post,
        )
        .expect("signature");
        let xml = c.decrypt(post).expect("decrypt");
        assert!(xml.starts_with("<xml><ToUserName><![CDATA[wx5823bf96d3bd56c7]]></ToUserName>\n"));
        assert!(xml.contains("<Content><![CDATA[hello]]></Content>"));
        assert_eq!(c.encrypt_with(b"0960688932c47ef1", &xml), post);
    }

    #[test]
    fn tampering_is_refused() {
        let c = CallbackCrypto::new("tok", "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C", "corp")
            .expect("key");
        let other = CallbackCrypto::new(
            "tok",
            "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C",
            "someone",
        )
        .expect("key");
        let sealed = c.encrypt("{\"EventType\":\"user_add_org\"}");
        assert_eq!(
            c.decrypt(&sealed).expect("round trip"),
            "{\"EventType\":\"user_add_org\"}"
        );
        assert_eq!(
            other.decrypt(&sealed),
            Err(CallbackError::Owner("corp".into()))
        );
        assert_eq!(
            c.verify("00", "1", "n", &sealed),
            Err(CallbackError::Signature)
        );
        assert_eq!(c.decrypt("not base64!"), Err(CallbackError::Decrypt));
        assert_eq!(c.decrypt("AAAA"), Err(CallbackError::Decrypt));
        let wrong_key =
            CallbackCrypto::new("tok", "1234567890123456789012345678901234567890123", "corp")
                .expect("key");
        assert!(wrong_key.decrypt(&sealed).is_err());
        assert_eq!(
            CallbackCrypto::new("t", "short", "o").err(),
            Some(CallbackError::BadKey)
        );
    }
}
