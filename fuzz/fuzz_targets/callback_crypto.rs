//! Callback decryption, shared by DingTalk's HTTP push and WeCom's callbacks, on hostile input.
//! The first byte picks what the rest is:
//! - the `encrypt` text as a caller sends it (signature check, base64, block size);
//! - a plaintext of the fuzzer's choosing sealed under the connection's key, which reaches the
//!   padding, length-field and owner checks behind the AES layer;
//! - a message sealed by `encrypt`, which `decrypt` must open unchanged.
//!
//! Whatever arrives, the answer is the message or an error, never a panic.

#![no_main]

use aes::cipher::{BlockEncryptMut, KeyIvInit, block_padding::NoPadding};
use base64::{Engine, engine::general_purpose::STANDARD};
use libfuzzer_sys::fuzz_target;
use roster::providers::callback_crypto::CallbackCrypto;

/// DingTalk's published test connection (shared/providers/dingtalk.md §5.2).
const TOKEN: &str = "123456";
const AES_KEY: &str = "1234567890123456789012345678901234567890123";
const OWNER: &str = "dingsnotzck6pm5veliw";

fuzz_target!(|data: &[u8]| {
    let Ok(crypto) = CallbackCrypto::new(TOKEN, AES_KEY, OWNER) else {
        return;
    };
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    match mode % 3 {
        0 => {
            let text = String::from_utf8_lossy(rest);
            assert!(crypto.verify("0", "1614767836", "nonce", &text).is_err());
            let _ = crypto.decrypt(&text);
        }
        1 => {
            if let Ok(message) = crypto.decrypt(&seal(rest)) {
                assert!(message.len() + 20 + OWNER.len() <= rest.len());
            }
        }
        _ => {
            let message = String::from_utf8_lossy(rest);
            let sealed = crypto.encrypt(&message);
            assert_eq!(crypto.decrypt(&sealed).as_deref(), Ok(message.as_ref()));
            let signature = crypto.signature("1614767836", "nonce", &sealed);
            assert!(crypto.verify(&signature, "1614767836", "nonce", &sealed).is_ok());
        }
    }
});

/// AES-256-CBC of `plain` (zero-filled to whole blocks) under the test key, base64.
fn seal(plain: &[u8]) -> String {
    let lenient = base64::engine::GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        base64::engine::GeneralPurposeConfig::new().with_decode_allow_trailing_bits(true),
    );
    let Ok(raw) = lenient.decode(format!("{AES_KEY}=")) else {
        return String::new();
    };
    let Ok(key) = <[u8; 32]>::try_from(raw) else {
        return String::new();
    };
    let mut buf = plain.to_vec();
    buf.resize(plain.len().div_ceil(16).max(1) * 16, 0);
    let len = buf.len();
    let mut iv = [0u8; 16];
    iv.copy_from_slice(&key[..16]);
    cbc::Encryptor::<aes::Aes256>::new(&key.into(), &iv.into())
        .encrypt_padded_mut::<NoPadding>(&mut buf, len)
        .map(|c| STANDARD.encode(c))
        .unwrap_or_default()
}
