//! Encoding the stored JPEGs with jpeg-encoder (AVX2 when the CPU has it) and naming them by
//! sha256. The encoder writes only JFIF, tables and pixels: no metadata can survive into the
//! output because none is ever handed to it.

use fieldwork_protocol::blobs::sha256_hex;
use jpeg_encoder::{ChromaSubsamplingMethod, ColorType, Encoder, SamplingFactor};

use super::pixels::{Layout, Pixels};
use super::{EncodedImage, PhotoError, PhotoOptions, SCREENSHOT_MIN_QUALITY};

/// How one source's outputs are encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Settings {
    pub quality: u8,
    pub sampling: SamplingFactor,
}

impl Settings {
    /// Photos: the configured quality with 4:2:0 chroma (the eye does not see the difference
    /// in a photo). Screenshots (PNG, lossless WebP): at least [`SCREENSHOT_MIN_QUALITY`] and
    /// full-resolution chroma (4:4:4), or coloured text blurs.
    pub(super) fn for_source(screenshot: bool, options: &PhotoOptions) -> Self {
        let quality = options.quality.clamp(1, 100);
        if screenshot {
            Self {
                quality: quality.max(SCREENSHOT_MIN_QUALITY),
                sampling: SamplingFactor::R_4_4_4,
            }
        } else {
            Self {
                quality,
                sampling: SamplingFactor::R_4_2_0,
            }
        }
    }
}

/// Encodes `pixels` as a baseline JPEG and hashes the result.
pub(super) fn encode(pixels: &Pixels, settings: &Settings) -> Result<EncodedImage, PhotoError> {
    let too_big = || PhotoError::Internal("output larger than a JPEG can hold");
    let width = u16::try_from(pixels.width).map_err(|_| too_big())?;
    let height = u16::try_from(pixels.height).map_err(|_| too_big())?;
    let mut bytes = Vec::with_capacity(pixels.data.len() / 8);
    let mut encoder = Encoder::new(&mut bytes, settings.quality);
    encoder.set_sampling_factor(settings.sampling);
    // libjpeg's averaging rather than the top-left sample: cleaner colour edges, same cost.
    encoder.set_chroma_subsampling_method(ChromaSubsamplingMethod::Average);
    // No optimised Huffman tables: with them jpeg-encoder writes one scan per component, and
    // zune-jpeg 0.5.15 (the decoder inside `image` 0.25.10, ours included) decodes such 4:2:0
    // files to garbage without an error (zune-image#419). Interleaved standard tables are what
    // every decoder reads, and what libjpeg writes by default.
    let color = match pixels.layout {
        Layout::Grey => ColorType::Luma,
        Layout::Rgb => ColorType::Rgb,
    };
    encoder
        .encode(&pixels.data, width, height, color)
        .map_err(|_| PhotoError::Internal("JPEG encoding failed"))?;
    let sha256 = sha256_hex(&bytes);
    Ok(EncodedImage {
        bytes,
        sha256,
        width: pixels.width,
        height: pixels.height,
    })
}
