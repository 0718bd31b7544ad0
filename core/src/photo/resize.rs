//! Downscaling with fast_image_resize (SIMD convolution). Never upscales: a small photo keeps
//! its pixels.

use fast_image_resize::images::{Image, ImageRef};
use fast_image_resize::{FilterType, PixelType, ResizeAlg, ResizeOptions, Resizer};

use super::PhotoError;
use super::pixels::{Layout, Pixels};

/// Catmull-Rom: as sharp as Lanczos3 to the eye at these ratios, with a smaller kernel (ADR 0005
/// has the measurements).
const FILTER: FilterType = FilterType::CatmullRom;

/// The size that fits `width × height` within a square of `max_edge`, keeping the aspect ratio
/// (short side rounded, at least 1 px); the same size if it already fits.
pub(super) fn fit_within(width: u32, height: u32, max_edge: u32) -> (u32, u32) {
    let max_edge = max_edge.max(1);
    let long = width.max(height);
    if long <= max_edge {
        return (width, height);
    }
    let scale = |side: u32| -> u32 {
        let scaled =
            (u64::from(side) * u64::from(max_edge) + u64::from(long) / 2) / u64::from(long);
        // scaled ≤ max_edge, which is a u32
        u32::try_from(scaled).unwrap_or(max_edge).max(1)
    };
    if width >= height {
        (max_edge, scale(height))
    } else {
        (scale(width), max_edge)
    }
}

/// A resizer that keeps its buffers between the full image and the thumbnail.
#[derive(Debug)]
pub(super) struct Downscaler {
    resizer: Resizer,
    options: ResizeOptions,
}

impl Downscaler {
    pub(super) fn new() -> Self {
        Self {
            resizer: Resizer::new(),
            options: ResizeOptions::new().resize_alg(ResizeAlg::Convolution(FILTER)),
        }
    }

    /// `pixels` resized to `width × height`; returned as they are if that is their size.
    pub(super) fn downscale(
        &mut self,
        pixels: Pixels,
        width: u32,
        height: u32,
    ) -> Result<Pixels, PhotoError> {
        if (width, height) == (pixels.width, pixels.height) {
            return Ok(pixels);
        }
        let pixel_type = match pixels.layout {
            Layout::Grey => PixelType::U8,
            Layout::Rgb => PixelType::U8x3,
        };
        let src = ImageRef::new(pixels.width, pixels.height, &pixels.data, pixel_type)
            .map_err(|_| PhotoError::Internal("pixel buffer does not match its size"))?;
        let mut dst = Image::new(width, height, pixel_type);
        self.resizer
            .resize(&src, &mut dst, &self.options)
            .map_err(|_| PhotoError::Internal("resize failed"))?;
        Ok(Pixels {
            width,
            height,
            layout: pixels.layout,
            data: dst.into_vec(),
        })
    }
}
