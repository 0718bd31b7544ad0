//! Downscaling with fast_image_resize (SIMD convolution). Never upscales: a small photo keeps
//! its pixels.

use fast_image_resize::images::{TypedImage, TypedImageRef};
use fast_image_resize::pixels::{U8, U8x3};
use fast_image_resize::{FilterType, PixelTrait, ResizeAlg, ResizeOptions, Resizer};

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
        // Typed resizes for the two layouts we have: the untyped entry point would compile the
        // kernels of every pixel type fast_image_resize knows (~0.6 MB of the phone library).
        let data = match pixels.layout {
            Layout::Grey => self.typed::<U8>(&pixels, width, height)?,
            Layout::Rgb => self.typed::<U8x3>(&pixels, width, height)?,
        };
        Ok(Pixels {
            width,
            height,
            layout: pixels.layout,
            data,
        })
    }

    fn typed<P: PixelTrait>(
        &mut self,
        pixels: &Pixels,
        width: u32,
        height: u32,
    ) -> Result<Vec<u8>, PhotoError> {
        let src = TypedImageRef::<P>::from_buffer(pixels.width, pixels.height, &pixels.data)
            .map_err(|_| PhotoError::Internal("pixel buffer does not match its size"))?;
        let mut out = vec![0u8; width as usize * height as usize * P::size()];
        let mut dst = TypedImage::<P>::from_buffer(width, height, &mut out)
            .map_err(|_| PhotoError::Internal("pixel buffer does not match its size"))?;
        self.resizer
            .resize_typed(&src, &mut dst, &self.options)
            .map_err(|_| PhotoError::Internal("resize failed"))?;
        Ok(out)
    }
}
