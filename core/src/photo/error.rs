//! Why a photo was refused. Each message says what went wrong and what the user can do; none
//! carries coordinates, file contents or paths (sizes and pixel counts are not personal).

use super::SourceFormat;

/// Why [`process`](super::process) refused an input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PhotoError {
    #[error("the file is empty; choose the photo or screenshot again")]
    Empty,
    #[error(
        "the file is {bytes} bytes, more than the {limit} bytes accepted; \
         choose a smaller photo or take a new one"
    )]
    TooLarge { bytes: usize, limit: usize },
    #[error("the file is not a JPEG, PNG or WebP image; attach a photo or a screenshot instead")]
    NotAnImage,
    #[error("{format} images are not accepted; {advice}")]
    UnsupportedFormat {
        /// What the file is (e.g. "HEIC", "GIF").
        format: &'static str,
        /// What to do instead.
        advice: &'static str,
    },
    #[error(
        "the image is {width} × {height} pixels, more than the {max_pixels} pixels \
         (or {max_side} per side) accepted; choose a smaller image"
    )]
    TooManyPixels {
        width: u64,
        height: u64,
        max_pixels: u64,
        max_side: u32,
    },
    #[error(
        "the {} file is cut short (an incomplete download or copy); save or take it again",
        .0.name()
    )]
    Truncated(SourceFormat),
    #[error("the {} file is damaged and cannot be read; save or take it again", .0.name())]
    Corrupt(SourceFormat),
    #[error(
        "this {} file uses an encoding the app cannot read; save it again as an ordinary \
         JPEG or PNG",
        .0.name()
    )]
    UnsupportedEncoding(SourceFormat),
    /// A step after decoding failed: a bug, not the input's fault.
    #[error("the image could not be processed ({0}); please report this")]
    Internal(&'static str),
}
