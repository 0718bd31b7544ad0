//! Fuzz target: the sync protocol's CBOR messages (`fieldwork_protocol::sync`) decoded from
//! arbitrary bytes, as the server reads a device's request and a device reads the server's
//! answer. Decoding answers a message or a clear error, never panics; a message that decodes
//! encodes back to bytes that decode to the same message.
#![no_main]

use fieldwork_protocol::knowledge::KbDelta;
use fieldwork_protocol::sync::{SyncRequest, SyncResponse, decode, encode};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&which, body)) = data.split_first() else {
        return;
    };
    match which % 3 {
        0 => {
            if let Ok(request) = SyncRequest::decode_checked(body) {
                let again = SyncRequest::decode_checked(&encode(&request)).expect("round trip");
                assert_eq!(again, request);
            }
        }
        1 => {
            if let Ok(response) = decode::<SyncResponse>(body) {
                let again: SyncResponse = decode(&encode(&response)).expect("round trip");
                assert_eq!(again, response);
            }
        }
        _ => {
            if let Ok(delta) = decode::<KbDelta>(body) {
                let again: KbDelta = decode(&encode(&delta)).expect("round trip");
                assert_eq!(again, delta);
            }
        }
    }
});
