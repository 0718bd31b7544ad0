//! Fuzz target: the blob lane's request headers (`fieldwork_protocol::blobs`): `Upload-Metadata`
//! and `Range`, as the server reads them from any client. Each answers a value or a clear error,
//! never panics; metadata that parses encodes back to a header that parses the same, and a range
//! that parses lies inside the file.
#![no_main]

use fieldwork_protocol::blobs::{UploadMetadata, parse_range};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (total, text) = match data.split_first_chunk::<8>() {
        Some((total, rest)) => (u64::from_le_bytes(*total), rest),
        None => (1024, data),
    };
    let Ok(header) = std::str::from_utf8(text) else {
        return;
    };
    if let Ok(metadata) = UploadMetadata::parse(header) {
        let again = UploadMetadata::parse(&metadata.encode()).expect("round trip");
        assert_eq!(again, metadata);
    }
    if let Ok(Some(range)) = parse_range(Some(header), total) {
        assert!(range.len() > 0, "an empty range: {header:?}");
        assert!(
            range.start + range.len() <= total,
            "{header:?} past {total}"
        );
    }
});
