//! The checks made before any pixel is decoded: the file's size, its format (from its signature
//! bytes), that its container is complete, and the dimensions its header claims. A walk over the
//! container's markers or chunks, no decoding, so refusing a bomb or a truncated file costs
//! almost nothing.

use super::{MAX_SIDE, PhotoError, PhotoOptions, SourceFormat};

/// What the container says, once it has passed every check.
#[derive(Debug)]
pub(super) struct Checked<'a> {
    pub format: SourceFormat,
    /// Dimensions as stored (before EXIF orientation).
    pub width: u32,
    pub height: u32,
    /// A screenshot-like source (PNG, lossless WebP): encoded to keep text sharp.
    pub screenshot: bool,
    /// JPEG only: the EXIF TIFF block from the first `Exif\0\0` APP1 segment.
    pub jpeg_exif: Option<&'a [u8]>,
}

/// Checks size, format, completeness and claimed dimensions.
pub(super) fn inspect<'a>(
    input: &'a [u8],
    options: &PhotoOptions,
) -> Result<Checked<'a>, PhotoError> {
    if input.is_empty() {
        return Err(PhotoError::Empty);
    }
    if input.len() > options.max_input_bytes {
        return Err(PhotoError::TooLarge {
            bytes: input.len(),
            limit: options.max_input_bytes,
        });
    }
    let checked = match sniff(input)? {
        SourceFormat::Jpeg => jpeg(input)?,
        SourceFormat::Png => png(input)?,
        SourceFormat::WebP => webp(input)?,
    };
    check_dimensions(checked.width, checked.height, checked.format, options)?;
    Ok(checked)
}

/// Refuses zero, over-long or too many pixels. Used on the header and again on the decoder's
/// own reading of it.
pub(super) fn check_dimensions(
    width: u32,
    height: u32,
    format: SourceFormat,
    options: &PhotoOptions,
) -> Result<(), PhotoError> {
    if width == 0 || height == 0 {
        return Err(PhotoError::Corrupt(format));
    }
    let pixels = u64::from(width) * u64::from(height);
    if width > MAX_SIDE || height > MAX_SIDE || pixels > options.max_pixels {
        return Err(PhotoError::TooManyPixels {
            width: width.into(),
            height: height.into(),
            max_pixels: options.max_pixels,
            max_side: MAX_SIDE,
        });
    }
    Ok(())
}

const PNG_SIGNATURE: &[u8] = b"\x89PNG\r\n\x1a\n";

/// Recognises the format from the first bytes; names formats we know but do not take.
fn sniff(input: &[u8]) -> Result<SourceFormat, PhotoError> {
    if input.starts_with(&[0xFF, 0xD8, 0xFF]) {
        return Ok(SourceFormat::Jpeg);
    }
    if input.starts_with(PNG_SIGNATURE) {
        return Ok(SourceFormat::Png);
    }
    if input.len() >= 12 && &input[..4] == b"RIFF" && &input[8..12] == b"WEBP" {
        return Ok(SourceFormat::WebP);
    }
    const SAVE_AS: &str = "save it as a JPEG or PNG and attach that";
    let unsupported = |format, advice| PhotoError::UnsupportedFormat { format, advice };
    if input.len() >= 12 && &input[4..8] == b"ftyp" {
        return Err(match &input[8..12] {
            b"heic" | b"heix" | b"hevc" | b"hevx" | b"heim" | b"heis" | b"mif1" | b"msf1" => {
                unsupported(
                    "HEIC",
                    "set the camera to \"Most Compatible\" (JPEG) or share the photo as JPEG",
                )
            }
            b"avif" | b"avis" => unsupported("AVIF", SAVE_AS),
            _ => PhotoError::NotAnImage,
        });
    }
    if input.starts_with(b"GIF87a") || input.starts_with(b"GIF89a") {
        return Err(unsupported("GIF", SAVE_AS));
    }
    if input.starts_with(b"II*\0") || input.starts_with(b"MM\0*") {
        return Err(unsupported("TIFF", SAVE_AS));
    }
    if input.starts_with(b"%PDF-") {
        return Err(unsupported("PDF", "take a screenshot of the page instead"));
    }
    if input.len() >= 18
        && input.starts_with(b"BM")
        && matches!(le_u32(&input[14..18]), 12 | 40 | 52 | 56 | 108 | 124)
    {
        return Err(unsupported("BMP", SAVE_AS));
    }
    Err(PhotoError::NotAnImage)
}

/// Walks the JPEG's segments to the end of image: reads the frame size and the EXIF block, and
/// refuses a file that stops before `EOI` (zune-jpeg would return a partly grey picture).
fn jpeg(input: &[u8]) -> Result<Checked<'_>, PhotoError> {
    let truncated = PhotoError::Truncated(SourceFormat::Jpeg);
    let corrupt = PhotoError::Corrupt(SourceFormat::Jpeg);
    let mut size = None;
    let mut exif = None;
    let mut pos = 2; // after SOI
    loop {
        // A marker: 0xFF, optional 0xFF fill bytes, then the marker code. Stray bytes before a
        // marker are skipped, as libjpeg does (some cameras write them).
        pos += input
            .get(pos..)
            .and_then(|rest| rest.iter().position(|&b| b == 0xFF))
            .ok_or(truncated.clone())?;
        while input.get(pos) == Some(&0xFF) {
            pos += 1;
        }
        let marker = *input.get(pos).ok_or(truncated.clone())?;
        pos += 1;
        match marker {
            0xD9 => break, // EOI
            0xD0..=0xD7 | 0x01 => continue,
            0xD8 | 0x00 => return Err(corrupt),
            _ => {}
        }
        let length = input
            .get(pos..pos + 2)
            .map(|b| usize::from(u16::from_be_bytes([b[0], b[1]])))
            .ok_or(truncated.clone())?;
        if length < 2 {
            return Err(corrupt);
        }
        let segment = input.get(pos + 2..pos + length).ok_or(truncated.clone())?;
        pos += length;
        match marker {
            // SOFn (C4 DHT, C8 JPG and CC DAC share the range but are not frames).
            0xC0..=0xCF if !matches!(marker, 0xC4 | 0xC8 | 0xCC) => {
                if segment.len() < 5 {
                    return Err(corrupt);
                }
                let height = u16::from_be_bytes([segment[1], segment[2]]);
                let width = u16::from_be_bytes([segment[3], segment[4]]);
                size.get_or_insert((u32::from(width), u32::from(height)));
            }
            0xE1 if exif.is_none() => {
                if let Some(tiff) = segment.strip_prefix(b"Exif\0\0") {
                    exif = Some(tiff);
                }
            }
            0xDA => pos = skip_entropy_coded(input, pos).ok_or(truncated.clone())?,
            _ => {}
        }
    }
    let (width, height) = size.ok_or(corrupt)?;
    Ok(Checked {
        format: SourceFormat::Jpeg,
        width,
        height,
        screenshot: false,
        jpeg_exif: exif,
    })
}

/// From the start of a scan's entropy-coded data, the position of the next marker (an 0xFF not
/// followed by a stuffed 0x00 or a restart marker); `None` if the file ends first.
fn skip_entropy_coded(input: &[u8], mut pos: usize) -> Option<usize> {
    loop {
        pos += input.get(pos..)?.iter().position(|&b| b == 0xFF)?;
        match input.get(pos + 1)? {
            0x00 | 0xD0..=0xD7 | 0xFF => pos += 1,
            _ => return Some(pos),
        }
    }
}

/// Walks the PNG's chunks to `IEND`.
fn png(input: &[u8]) -> Result<Checked<'_>, PhotoError> {
    let truncated = PhotoError::Truncated(SourceFormat::Png);
    let corrupt = PhotoError::Corrupt(SourceFormat::Png);
    let header = input.get(8..33).ok_or(truncated.clone())?;
    if be_u32(&header[0..4]) != 13 || &header[4..8] != b"IHDR" {
        return Err(corrupt);
    }
    let (width, height) = (be_u32(&header[8..12]), be_u32(&header[12..16]));
    let mut pos = 8;
    loop {
        let chunk = input.get(pos..pos + 8).ok_or(truncated.clone())?;
        let length = usize::try_from(be_u32(&chunk[0..4])).map_err(|_| corrupt.clone())?;
        let end = pos
            .checked_add(12)
            .and_then(|p| p.checked_add(length))
            .ok_or(corrupt.clone())?;
        if end > input.len() {
            return Err(truncated);
        }
        if &chunk[4..8] == b"IEND" {
            break;
        }
        pos = end;
    }
    Ok(Checked {
        format: SourceFormat::Png,
        width,
        height,
        screenshot: true,
        jpeg_exif: None,
    })
}

/// Checks the RIFF length, reads the canvas size and whether the picture is lossless.
fn webp(input: &[u8]) -> Result<Checked<'_>, PhotoError> {
    let truncated = PhotoError::Truncated(SourceFormat::WebP);
    let corrupt = PhotoError::Corrupt(SourceFormat::WebP);
    let riff_end = usize::try_from(le_u32(&input[4..8]))
        .ok()
        .and_then(|len| len.checked_add(8))
        .ok_or(corrupt.clone())?;
    if riff_end > input.len() {
        return Err(truncated);
    }
    let mut canvas = None;
    let mut image = None; // (lossless, width, height) of the first image chunk
    let mut pos = 12;
    while pos + 8 <= riff_end {
        let fourcc = &input[pos..pos + 4];
        let length =
            usize::try_from(le_u32(&input[pos + 4..pos + 8])).map_err(|_| corrupt.clone())?;
        let start = pos + 8;
        let end = start
            .checked_add(length)
            .filter(|&end| end <= riff_end)
            .ok_or(truncated.clone())?;
        let data = &input[start..end];
        match fourcc {
            b"VP8X" if data.len() >= 10 => {
                canvas = Some((le_u24(&data[4..7]) + 1, le_u24(&data[7..10]) + 1));
            }
            b"VP8 " if image.is_none() => {
                if data.len() < 10 || data[3..6] != [0x9D, 0x01, 0x2A] {
                    return Err(corrupt);
                }
                let width = u32::from(u16::from_le_bytes([data[6], data[7]]) & 0x3FFF);
                let height = u32::from(u16::from_le_bytes([data[8], data[9]]) & 0x3FFF);
                image = Some((false, width, height));
            }
            b"VP8L" if image.is_none() => {
                if data.len() < 5 || data[0] != 0x2F {
                    return Err(corrupt);
                }
                let bits = le_u32(&data[1..5]);
                image = Some((true, (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1));
            }
            // An animation: its first frame is what gets stored.
            b"ANMF" if image.is_none() => image = Some((false, 0, 0)),
            _ => {}
        }
        pos = end + (length & 1);
    }
    let (lossless, width, height) = image.ok_or(corrupt)?;
    let (width, height) = canvas.unwrap_or((width, height));
    Ok(Checked {
        format: SourceFormat::WebP,
        width,
        height,
        screenshot: lossless,
        jpeg_exif: None,
    })
}

fn be_u32(b: &[u8]) -> u32 {
    u32::from_be_bytes([b[0], b[1], b[2], b[3]])
}

fn le_u32(b: &[u8]) -> u32 {
    u32::from_le_bytes([b[0], b[1], b[2], b[3]])
}

fn le_u24(b: &[u8]) -> u32 {
    u32::from_le_bytes([b[0], b[1], b[2], 0])
}
