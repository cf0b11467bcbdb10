//! Decrypted callback events on hostile input: DingTalk's JSON events, WeCom's XML events and
//! the `<Encrypt>` element of WeCom's envelope. A malformed event is an error, never a panic.

#![no_main]

use libfuzzer_sys::fuzz_target;
use roster::sync::events;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = events::dingtalk_event(text);
    let _ = events::wecom_event(text);
    if let Some(field) = events::xml_field(text, "Encrypt") {
        assert!(field.len() <= text.len());
    }
});
