//! Fuzz target: the photo pipeline (`fieldwork_core::photo::process`) fed arbitrary bytes, as it
//! gets whatever a picker, a web form or an email hands over. It answers a photo or a clear
//! refusal, never panics, and never decodes past its pixel limit (a decompression bomb is
//! refused from its header). A photo it makes is a JPEG within the asked edge.
#![no_main]

mod caught;

use fieldwork_core::photo::{PhotoOptions, process};
use libfuzzer_sys::fuzz_target;

/// A small limit keeps each input fast; the refusal path is the same as at 50 megapixels.
const OPTIONS: PhotoOptions = PhotoOptions {
    max_edge: 640,
    thumb_edge: 160,
    quality: 80,
    max_input_bytes: 4 * 1024 * 1024,
    max_pixels: 4_000_000,
};

fuzz_target!(|data: &[u8]| {
    caught::count_caught_panics();
    if let Ok(photo) = process(data, &OPTIONS) {
        assert!(photo.full.bytes.starts_with(&[0xFF, 0xD8]), "not a JPEG");
        assert!(photo.full.width.max(photo.full.height) <= OPTIONS.max_edge);
        assert!(photo.thumb.width.max(photo.thumb.height) <= OPTIONS.thumb_edge);
    }
});
