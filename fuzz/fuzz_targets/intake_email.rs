//! Fuzz target: the email channel's reading of a raw message (`fieldwork_server::intake`,
//! `POST /intake/email`) — MIME, charsets, encoded words, HTML to text, the auto-reply and bounce
//! checks, threading headers, and the reply trimming — fed arbitrary bytes. It must answer a
//! message or a clear error and never panic; trimming never makes a text longer.
#![no_main]

use fieldwork_server::intake::decoders;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = decoders::email(data);
    let text = String::from_utf8_lossy(data);
    assert!(decoders::trim_reply(&text).len() <= text.len());
});
