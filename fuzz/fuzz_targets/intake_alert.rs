//! Fuzz target: the IoT channel's alert decoder (`fieldwork_server::intake`, `POST /intake/iot`)
//! fed arbitrary bytes, at a server time taken from the input too (times near the edges of what
//! RFC 3339 and milliseconds hold). It must answer an alert or a clear error, never panic.
#![no_main]

use fieldwork_server::intake::decoders;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (now, body) = match data.split_first_chunk::<8>() {
        Some((now, body)) => (i64::from_le_bytes(*now), body),
        None => (1_796_000_000_000, data),
    };
    let _ = decoders::alert(body, now);
});
