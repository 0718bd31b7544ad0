//! Decoding with `image` (zune-jpeg, png, image-webp) under allocation limits, into 8-bit grey
//! or RGB with any alpha flattened onto white (a transparent screenshot must not turn black).

use std::io::{Cursor, ErrorKind};

use image::{DynamicImage, ImageDecoder, ImageError, ImageFormat, ImageReader, Limits};

use super::container::{Checked, check_dimensions};
use super::pixels::{Layout, Pixels};
use super::{MAX_SIDE, PhotoError, PhotoOptions, SourceFormat};

/// Decoder allocations beyond the output buffer (tables, rows, chunk buffers).
const DECODER_SLACK_BYTES: u64 = 64 * 1024 * 1024;
/// The widest decoded pixel any of our decoders produces: 16-bit RGBA.
const MAX_DECODED_BYTES_PER_PIXEL: u64 = 8;

/// Pixels plus the raw EXIF (a TIFF block), which is read separately.
pub(super) struct Decoded {
    pub pixels: Pixels,
    pub exif: Option<Vec<u8>>,
}

pub(super) fn decode(
    input: &[u8],
    checked: &Checked<'_>,
    options: &PhotoOptions,
) -> Result<Decoded, PhotoError> {
    let format = checked.format;
    let fail = |error| decode_error(error, checked, options);
    let mut reader = ImageReader::with_format(Cursor::new(input), image_format(format));
    // Second line of defence: the container check has already refused these sizes.
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    limits.max_alloc = Some(
        options
            .max_pixels
            .saturating_mul(MAX_DECODED_BYTES_PER_PIXEL)
            .saturating_add(DECODER_SLACK_BYTES),
    );
    reader.limits(limits);
    let mut decoder = reader.into_decoder().map_err(fail)?;
    let (width, height) = decoder.dimensions();
    check_dimensions(width, height, format, options)?;

    let exif = match checked.jpeg_exif {
        Some(tiff) => Some(tiff.to_vec()),
        // Unreadable metadata costs the metadata, not the photo.
        None if format != SourceFormat::Jpeg => decoder.exif_metadata().ok().flatten(),
        None => None,
    };
    // The decoders panic on some damaged files (a PNG whose pixels index past its palette, found
    // by the photo fuzz target): that is this file's damage, said as such, not the app's end.
    let image = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        DynamicImage::from_decoder(decoder)
    }))
    .map_err(|_| PhotoError::Corrupt(format))?
    .map_err(fail)?;
    Ok(Decoded {
        pixels: into_pixels(image),
        exif,
    })
}

fn image_format(format: SourceFormat) -> ImageFormat {
    match format {
        SourceFormat::Jpeg => ImageFormat::Jpeg,
        SourceFormat::Png => ImageFormat::Png,
        SourceFormat::WebP => ImageFormat::WebP,
    }
}

/// Maps a decoder's error to ours; its text (which may quote the file's bytes) is dropped.
fn decode_error(error: ImageError, checked: &Checked<'_>, options: &PhotoOptions) -> PhotoError {
    let format = checked.format;
    match error {
        ImageError::Limits(_) => PhotoError::TooManyPixels {
            width: checked.width.into(),
            height: checked.height.into(),
            max_pixels: options.max_pixels,
            max_side: MAX_SIDE,
        },
        ImageError::IoError(e) if e.kind() == ErrorKind::UnexpectedEof => {
            PhotoError::Truncated(format)
        }
        ImageError::Unsupported(_) => PhotoError::UnsupportedEncoding(format),
        _ => PhotoError::Corrupt(format),
    }
}

/// 8-bit grey or RGB, alpha composited onto white, 16-bit rounded to 8.
fn into_pixels(image: DynamicImage) -> Pixels {
    let (width, height) = (image.width(), image.height());
    let (layout, data) = match image {
        DynamicImage::ImageRgb8(buffer) => (Layout::Rgb, buffer.into_raw()),
        DynamicImage::ImageLuma8(buffer) => (Layout::Grey, buffer.into_raw()),
        DynamicImage::ImageRgba8(buffer) => {
            (Layout::Rgb, flatten_onto_white::<4>(buffer.into_raw()))
        }
        DynamicImage::ImageLumaA8(buffer) => {
            (Layout::Grey, flatten_onto_white::<2>(buffer.into_raw()))
        }
        DynamicImage::ImageLuma16(_) => (Layout::Grey, image.to_luma8().into_raw()),
        DynamicImage::ImageLumaA16(_) => (
            Layout::Grey,
            flatten_onto_white::<2>(image.to_luma_alpha8().into_raw()),
        ),
        DynamicImage::ImageRgb16(_) | DynamicImage::ImageRgb32F(_) => {
            (Layout::Rgb, image.to_rgb8().into_raw())
        }
        other => (
            Layout::Rgb,
            flatten_onto_white::<4>(other.to_rgba8().into_raw()),
        ),
    };
    Pixels {
        width,
        height,
        layout,
        data,
    }
}

/// Composites straight-alpha pixels of `N` channels (the last one alpha) onto white, in place,
/// dropping the alpha channel.
fn flatten_onto_white<const N: usize>(mut data: Vec<u8>) -> Vec<u8> {
    let pixels = data.len() / N;
    for i in 0..pixels {
        // Pixel i is read at i*N.. and written at i*(N-1)..: never ahead of the read.
        let alpha = u32::from(data[i * N + N - 1]);
        for c in 0..N - 1 {
            let value = u32::from(data[i * N + c]);
            data[i * (N - 1) + c] = ((value * alpha + 255 * (255 - alpha) + 127) / 255) as u8;
        }
    }
    data.truncate(pixels * (N - 1));
    data
}

#[cfg(test)]
mod tests {
    use super::flatten_onto_white;

    #[test]
    fn flattening_composites_onto_white() {
        // opaque red, transparent black, half-transparent black
        let rgba = vec![255, 0, 0, 255, 0, 0, 0, 0, 0, 0, 0, 128];
        assert_eq!(
            flatten_onto_white::<4>(rgba),
            vec![255, 0, 0, 255, 255, 255, 127, 127, 127]
        );
        assert_eq!(flatten_onto_white::<2>(vec![10, 255, 10, 0]), vec![10, 255]);
    }
}
