//! The photo pipeline: turns what a phone hands us (a camera JPEG, a PNG screenshot, a WebP) into
//! the two files a ticket stores, an upright, metadata-free JPEG (long edge ≤ 1920 px) and its
//! thumbnail (long edge ≤ 320 px), each named by its sha256. Pure: bytes in, bytes out, no I/O.
//!
//! ```text
//! input ─► container (size, format sniffed from the bytes, truncation, pixel limits from the header)
//!       ─► decode (image: zune-jpeg / png / image-webp; alpha flattened onto white; 8-bit RGB or grey)
//!       ─► metadata (EXIF orientation, capture time, GPS read into fields; nothing else kept)
//!       ─► resize (fast_image_resize, Catmull-Rom, never up) ─► orient (EXIF 1–8, on the small image)
//!       ─► encode (jpeg-encoder; photos 4:2:0, screenshots 4:4:4 at quality ≥ 90) ─► sha256
//!                                  └► thumbnail: resized from the oriented 1920 px image, encoded
//! ```
//!
//! Why each step is what it is (crates, filter, quality, limits): `docs/adr/0005-photo-pipeline.md`.
//!
//! - **Formats**: JPEG, PNG and WebP, recognised by their signature bytes, never by a file name.
//!   Anything else is refused with [`PhotoError::NotAnImage`] or, for formats we recognise but do
//!   not take (HEIC, GIF, …), [`PhotoError::UnsupportedFormat`], which says what to do instead.
//! - **Limits before decoding**: [`PhotoOptions::max_input_bytes`], and the pixel count
//!   ([`PhotoOptions::max_pixels`]) and [`MAX_SIDE`] read from the file's header, so a small file
//!   that claims to be 100,000 × 100,000 px is refused before anything is allocated for it; the
//!   decoder also runs under an `image::Limits` allocation cap as a second line of defence. A file
//!   cut short (an interrupted download or copy) is refused ([`PhotoError::Truncated`]) even where a
//!   decoder would return a grey-filled partial picture.
//! - **Metadata**: the stored JPEG carries only what the encoder writes (JFIF header, tables,
//!   pixels): no EXIF, GPS, XMP, ICC profile or comment. The capture time and the GPS position are
//!   kept as structured fields ([`ProcessedPhoto::captured_at`], [`ProcessedPhoto::location`]).
//!   EXIF that cannot be read only costs those fields, never the photo.
//! - **Capture time**: `DateTimeOriginal` (+ `SubSecTimeOriginal`), shifted by
//!   `OffsetTimeOriginal` when present. Without an offset the camera's wall-clock time is taken as
//!   if it were UTC: EXIF does not say which zone it meant, and guessing from the device's zone
//!   would be wrong for photos taken while travelling. Expect an error of up to ±14 h for those.
//! - **GPS**: latitude/longitude with their N/S/E/W references, `GPSHPositioningError` as the
//!   accuracy, `GPSDateStamp` + `GPSTimeStamp` (UTC) as the fix time. A position that fails
//!   [`LocationFix::validate`] is dropped (not an error); a fix time before 2000 is dropped alone.
//!   The fix is checked without a clock, so the caller should still `validate(now)` it to refuse
//!   fix times in the future.
//! - **Colour**: sRGB is assumed; embedded ICC profiles are dropped, not applied (Display P3
//!   photos come out slightly less saturated). 16-bit and greyscale inputs are handled; greyscale
//!   stays greyscale (a one-channel JPEG).
//!
//! Error messages never contain coordinates, file contents or paths.
//!
//! ```
//! use fieldwork_core::photo::{self, PhotoOptions};
//! # fn demo(bytes: &[u8]) -> Result<(), photo::PhotoError> {
//! let processed = photo::process(bytes, &PhotoOptions::default())?;
//! assert!(processed.full.width.max(processed.full.height) <= 1920);
//! assert_eq!(processed.full.sha256.len(), 64);
//! # Ok(()) }
//! ```

mod container;
mod decode;
mod encode;
mod error;
mod metadata;
mod orient;
mod pixels;
mod resize;

#[cfg(test)]
mod tests;

use serde::{Deserialize, Serialize};

use crate::location::LocationFix;

pub use error::PhotoError;

/// Media type of every file the pipeline writes.
pub use fieldwork_protocol::blobs::MIME_JPEG;

/// The longest side any input may claim, whatever its pixel count (also the JPEG format's own
/// limit). Refuses strips such as 1 × 10,000,000 that pass the pixel count.
pub const MAX_SIDE: u32 = 65_535;

/// Quality floor for screenshots (PNG and lossless WebP sources): text needs it.
pub const SCREENSHOT_MIN_QUALITY: u8 = 90;

/// How big the stored files are and what the pipeline accepts. Start from `default()`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhotoOptions {
    /// Long edge of the stored image in pixels; smaller images are never upscaled. Default 1920.
    pub max_edge: u32,
    /// Long edge of the thumbnail, made from the stored image. Default 320.
    pub thumb_edge: u32,
    /// JPEG quality (1–100) for photos. Screenshots use at least [`SCREENSHOT_MIN_QUALITY`].
    /// Default 80.
    pub quality: u8,
    /// Largest input file accepted. Default 40 MiB.
    pub max_input_bytes: usize,
    /// Largest pixel count accepted, read from the header before decoding. Default 50 MP.
    pub max_pixels: u64,
}

impl Default for PhotoOptions {
    fn default() -> Self {
        Self {
            max_edge: 1920,
            thumb_edge: 320,
            quality: 80,
            max_input_bytes: 40 * 1024 * 1024,
            max_pixels: 50_000_000,
        }
    }
}

/// One output file: always a baseline JPEG ([`MIME_JPEG`]) with no metadata.
#[derive(Clone, PartialEq, Eq)]
pub struct EncodedImage {
    pub bytes: Vec<u8>,
    /// sha256 of `bytes`, 64 lower-case hex digits: the blob's name.
    pub sha256: String,
    pub width: u32,
    pub height: u32,
}

impl std::fmt::Debug for EncodedImage {
    // The bytes would flood any log; their hash names them.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EncodedImage")
            .field("bytes", &self.bytes.len())
            .field("sha256", &self.sha256)
            .field("width", &self.width)
            .field("height", &self.height)
            .finish()
    }
}

/// What [`process`] makes of one input.
#[derive(Debug, Clone, PartialEq)]
pub struct ProcessedPhoto {
    /// The stored image: upright, long edge ≤ `max_edge`.
    pub full: EncodedImage,
    /// The thumbnail: long edge ≤ `thumb_edge`, made from `full`'s pixels.
    pub thumb: EncodedImage,
    /// When the photo was taken, ms since the Unix epoch (see the module docs for time zones).
    pub captured_at: Option<i64>,
    /// Where it was taken, from the file's GPS tags, if present and valid.
    pub location: Option<LocationFix>,
    /// What the input was.
    pub source: SourceFormat,
}

/// The input's format, as recognised from its bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SourceFormat {
    Jpeg,
    Png,
    WebP,
}

impl SourceFormat {
    /// The format's usual name, for messages.
    pub fn name(self) -> &'static str {
        match self {
            SourceFormat::Jpeg => "JPEG",
            SourceFormat::Png => "PNG",
            SourceFormat::WebP => "WebP",
        }
    }
}

/// Runs the whole pipeline on one input file: checks, decodes, reads the capture time and GPS,
/// orients, downscales, re-encodes and hashes the stored image and its thumbnail.
///
/// Deterministic: the same input and options give byte-identical outputs.
pub fn process(input: &[u8], options: &PhotoOptions) -> Result<ProcessedPhoto, PhotoError> {
    let checked = container::inspect(input, options)?;
    let decoded = decode::decode(input, &checked, options)?;
    let metadata = metadata::read(decoded.exif.as_deref());
    let settings = encode::Settings::for_source(checked.screenshot, options);

    let mut downscaler = resize::Downscaler::new();
    let (width, height) = resize::fit_within(
        decoded.pixels.width,
        decoded.pixels.height,
        options.max_edge,
    );
    let full = downscaler.downscale(decoded.pixels, width, height)?;
    let full = orient::apply(full, metadata.orientation);

    let full_jpeg = encode::encode(&full, &settings)?;
    let (thumb_width, thumb_height) =
        resize::fit_within(full.width, full.height, options.thumb_edge);
    let thumb_jpeg = if (thumb_width, thumb_height) == (full.width, full.height) {
        // Already thumbnail-sized: the same pixels and settings give the same file.
        full_jpeg.clone()
    } else {
        let thumb = downscaler.downscale(full, thumb_width, thumb_height)?;
        encode::encode(&thumb, &settings)?
    };

    Ok(ProcessedPhoto {
        full: full_jpeg,
        thumb: thumb_jpeg,
        captured_at: metadata.captured_at,
        location: metadata.location,
        source: checked.format,
    })
}
