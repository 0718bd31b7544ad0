//! Test images made in code, so no binary fixtures are committed: JPEGs with a hand-built EXIF
//! block (orientation, capture time, GPS), screenshots with text-like strokes, WebP, 16-bit and
//! grey inputs, a decompression-bomb header and a photo-like 12 MP JPEG for benchmarks.
//!
//! A crate of its own (`fieldwork-test-images`), used only as a dev-dependency: the core's tests
//! and benches, the CLI's end-to-end tests and the bindings' tests. Every generator is
//! deterministic.
//!
//! Pictures that test orientation show four coloured quadrants ([`QUADRANT_COLORS`]: red
//! top-left, green top-right, blue bottom-left, white bottom-right) *as displayed*; the stored
//! pixels are laid out so that applying the EXIF orientation shows them that way. Sizes are the
//! *displayed* sizes: `jpeg_with_exif(800, 600, 6, …)` stores 600 × 800 pixels sideways and
//! displays as 800 × 600. The mapping is written from the EXIF definition ("stored row 0 is the
//! visual …"), independently of the pipeline's own code.

use std::io::Cursor;

use image::codecs::png::PngEncoder;
use image::codecs::webp::WebPEncoder;
use image::{ExtendedColorType, ImageEncoder};
use jpeg_encoder::{ColorType, Encoder, SamplingFactor};

/// Colours of the four quadrants as displayed: top-left, top-right, bottom-left, bottom-right.
pub const QUADRANT_COLORS: [[u8; 3]; 4] = [[255, 0, 0], [0, 255, 0], [0, 0, 255], [255, 255, 255]];

/// The capture time written by [`jpeg_with_exif`] when asked for one.
pub const SAMPLE_CAPTURED: &str = "2026:11:20 14:30:05";

/// What to put into a hand-built EXIF block.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ExifSpec {
    /// Orientation tag (1–8; other values are written as given).
    pub orientation: Option<u16>,
    /// `DateTimeOriginal`, `"YYYY:MM:DD HH:MM:SS"`.
    pub date_time_original: Option<String>,
    /// `SubSecTimeOriginal`, e.g. `"250"`.
    pub sub_sec_time_original: Option<String>,
    /// `OffsetTimeOriginal`, e.g. `"+08:00"`.
    pub offset_time_original: Option<String>,
    pub gps: Option<GpsSpec>,
    /// `Make`: something identifying that must not survive.
    pub make: Option<String>,
}

/// GPS tags of a hand-built EXIF block.
#[derive(Debug, Clone, PartialEq)]
pub struct GpsSpec {
    /// Signed degrees; written as degrees/minutes/seconds with an N/S reference.
    pub lat: f64,
    /// Signed degrees; written as degrees/minutes/seconds with an E/W reference.
    pub lon: f64,
    /// `GPSHPositioningError` in metres.
    pub accuracy_m: Option<f64>,
    /// `GPSDateStamp` (`"YYYY:MM:DD"`) and `GPSTimeStamp` (h, m, s), UTC.
    pub utc: Option<(String, [u32; 3])>,
}

impl GpsSpec {
    pub fn at(lat: f64, lon: f64) -> Self {
        Self {
            lat,
            lon,
            accuracy_m: None,
            utc: None,
        }
    }
}

/// A baseline JPEG showing `width × height` pixels once `orientation` is applied (the quadrant
/// picture; stored `height × width` for orientations 5–8), with an EXIF APP1 block right after
/// SOI holding the orientation, the GPS position (if any) and `DateTimeOriginal` (if any,
/// `"YYYY:MM:DD HH:MM:SS"`), plus a `Make` tag.
pub fn jpeg_with_exif(
    width: u32,
    height: u32,
    orientation: u16,
    gps: Option<(f64, f64)>,
    captured: Option<&str>,
) -> Vec<u8> {
    let spec = ExifSpec {
        orientation: Some(orientation),
        date_time_original: captured.map(str::to_owned),
        gps: gps.map(|(lat, lon)| GpsSpec::at(lat, lon)),
        make: Some("Fieldwork Sample Camera".into()),
        ..ExifSpec::default()
    };
    jpeg_with_exif_spec(width, height, &spec)
}

/// Like [`jpeg_with_exif`] with every EXIF field chosen.
pub fn jpeg_with_exif_spec(width: u32, height: u32, spec: &ExifSpec) -> Vec<u8> {
    let orientation = spec.orientation.unwrap_or(1);
    let (stored_w, stored_h, rgb) = stored_quadrants(width, height, orientation);
    let jpeg = encode_jpeg(
        &rgb,
        stored_w,
        stored_h,
        ColorType::Rgb,
        92,
        SamplingFactor::R_4_2_0,
    );
    let mut app1 = b"Exif\0\0".to_vec();
    app1.extend_from_slice(&exif_tiff(spec));
    insert_after_soi(jpeg, &[(0xE1, app1)])
}

/// Adds the metadata a privacy check must not find in the output: an XMP packet (APP1) with a
/// GPS position, an ICC profile stub (APP2) and a comment (COM).
pub fn with_xmp_icc_and_comment(jpeg: Vec<u8>) -> Vec<u8> {
    let mut xmp = b"http://ns.adobe.com/xap/1.0/\0".to_vec();
    xmp.extend_from_slice(XMP_PACKET.as_bytes());
    let mut icc = b"ICC_PROFILE\0\x01\x01".to_vec();
    icc.extend_from_slice(&[0u8; 128]);
    insert_after_soi(
        jpeg,
        &[
            (0xE1, xmp),
            (0xE2, icc),
            (0xFE, b"customer: Jane Roe, 12 Secret Street".to_vec()),
        ],
    )
}

/// The XMP packet [`with_xmp_icc_and_comment`] inserts.
pub const XMP_PACKET: &str = "<x:xmpmeta xmlns:x=\"adobe:ns:meta/\"><rdf:RDF \
    xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\"><rdf:Description \
    xmlns:exif=\"http://ns.adobe.com/exif/1.0/\" exif:GPSLatitude=\"31,13.824N\" \
    exif:GPSLongitude=\"121,28.422E\"/></rdf:RDF></x:xmpmeta>";

/// Inserts marker segments (marker code, payload) right after SOI.
pub fn insert_after_soi(jpeg: Vec<u8>, segments: &[(u8, Vec<u8>)]) -> Vec<u8> {
    let mut out = Vec::with_capacity(jpeg.len() + 1024);
    out.extend_from_slice(&jpeg[..2]);
    for (marker, payload) in segments {
        let length = u16::try_from(payload.len() + 2).expect("sample segments stay under 64 KiB");
        out.extend_from_slice(&[0xFF, *marker]);
        out.extend_from_slice(&length.to_be_bytes());
        out.extend_from_slice(payload);
    }
    out.extend_from_slice(&jpeg[2..]);
    out
}

/// A PNG screenshot: a blue title bar with white text, then rows of black and some red
/// text-like glyphs (2 px strokes) on white. See [`screenshot_pixels`].
pub fn png_screenshot(width: u32, height: u32) -> Vec<u8> {
    encode_png(
        &screenshot_pixels(width, height),
        width,
        height,
        ExtendedColorType::Rgb8,
    )
}

/// The RGB pixels of [`png_screenshot`].
pub fn screenshot_pixels(width: u32, height: u32) -> Vec<u8> {
    let (w, h) = (width as usize, height as usize);
    let mut rgb = vec![255u8; w * h * 3];
    let bar = (h / 10).clamp(1, 48);
    fill_rect(&mut rgb, w, (0, 0, w, bar), [26, 61, 143]);
    let mut rng = Rng(0x5EED);
    draw_text(
        &mut rgb,
        w,
        (8, bar / 2 - 6.min(bar / 2)),
        w.saturating_sub(8),
        1,
        [255; 3],
        &mut rng,
    );
    let mut y = bar + 12;
    let mut line = 0;
    while y + 16 < h {
        let color = if line % 5 == 3 {
            [200, 0, 0]
        } else {
            [0, 0, 0]
        };
        draw_text(
            &mut rgb,
            w,
            (12, y),
            w.saturating_sub(24),
            1,
            color,
            &mut rng,
        );
        y += 24;
        line += 1;
    }
    rgb
}

/// A screenshot with a transparent background (alpha 0 over *black*, the trap for a pipeline
/// that drops alpha) and opaque black glyphs.
pub fn png_screenshot_transparent(width: u32, height: u32) -> Vec<u8> {
    let (w, h) = (width as usize, height as usize);
    let mut rgba = vec![0u8; w * h * 4];
    let mut glyphs = vec![255u8; w * h * 3];
    let mut rng = Rng(7);
    let mut y = 8;
    while y + 16 < h {
        draw_text(
            &mut glyphs,
            w,
            (8, y),
            w.saturating_sub(16),
            1,
            [0; 3],
            &mut rng,
        );
        y += 24;
    }
    for (px, g) in rgba.chunks_exact_mut(4).zip(glyphs.chunks_exact(3)) {
        if g[0] == 0 {
            px[3] = 255; // opaque black ink; the rest stays transparent black
        }
    }
    encode_png(&rgba, width, height, ExtendedColorType::Rgba8)
}

/// The quadrant picture as a 16-bit RGB PNG.
pub fn png_16bit(width: u32, height: u32) -> Vec<u8> {
    let (_, _, rgb) = stored_quadrants(width, height, 1);
    let rgb16: Vec<u8> = rgb
        .iter()
        .flat_map(|&v| (u16::from(v) * 257).to_be_bytes())
        .collect();
    encode_png_raw(&rgb16, width, height, 2, 16)
}

/// The quadrant picture (displayed `width × height`) as a PNG with an `eXIf` chunk carrying
/// `orientation`.
pub fn png_with_orientation(width: u32, height: u32, orientation: u16) -> Vec<u8> {
    let (stored_w, stored_h, rgb) = stored_quadrants(width, height, orientation);
    let png = encode_png(&rgb, stored_w, stored_h, ExtendedColorType::Rgb8);
    let spec = ExifSpec {
        orientation: Some(orientation),
        ..ExifSpec::default()
    };
    // eXIf goes before the first IDAT: right after IHDR (8 + 25 bytes).
    let mut out = png[..33].to_vec();
    out.extend_from_slice(&png_chunk(b"eXIf", &exif_tiff(&spec)));
    out.extend_from_slice(&png[33..]);
    out
}

/// A valid-looking PNG whose header claims `width × height` (a decompression bomb: the real
/// data is a few bytes).
pub fn png_header_claiming(width: u32, height: u32) -> Vec<u8> {
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&width.to_be_bytes());
    ihdr.extend_from_slice(&height.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]); // 8-bit RGB
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    out.extend_from_slice(&png_chunk(b"IHDR", &ihdr));
    // zlib stream of an empty deflate block: decompresses to nothing, claims nothing
    out.extend_from_slice(&png_chunk(
        b"IDAT",
        &[0x78, 0x9C, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01],
    ));
    out.extend_from_slice(&png_chunk(b"IEND", &[]));
    out
}

/// The quadrant picture as a lossless WebP.
pub fn webp(width: u32, height: u32) -> Vec<u8> {
    let (_, _, rgb) = stored_quadrants(width, height, 1);
    let mut out = Vec::new();
    WebPEncoder::new_lossless(&mut out)
        .encode(&rgb, width, height, ExtendedColorType::Rgb8)
        .expect("encoding a generated picture cannot fail");
    out
}

/// A greyscale (one-component) JPEG: dark top-left quadrant, light elsewhere.
pub fn grey_jpeg(width: u32, height: u32) -> Vec<u8> {
    let (w, h) = (width as usize, height as usize);
    let grey: Vec<u8> = (0..w * h)
        .map(|i| {
            if i % w < w / 2 && i / w < h / 2 {
                20
            } else {
                230
            }
        })
        .collect();
    encode_jpeg(
        &grey,
        width,
        height,
        ColorType::Luma,
        90,
        SamplingFactor::R_4_4_4,
    )
}

/// A photo-like JPEG (12 MP at 4000 × 3000): sky and ground gradients, textured grass, hard-edged
/// objects and sensor noise, encoded at quality 92 with 4:2:0 like a phone camera. For benches.
pub fn photo_like_jpeg(width: u32, height: u32) -> Vec<u8> {
    let rgb = photo_like_pixels(width, height);
    encode_jpeg(
        &rgb,
        width,
        height,
        ColorType::Rgb,
        92,
        SamplingFactor::R_4_2_0,
    )
}

/// The RGB pixels of [`photo_like_jpeg`].
pub fn photo_like_pixels(width: u32, height: u32) -> Vec<u8> {
    let (w, h) = (width as usize, height as usize);
    let (wf, hf) = (w as f32, h as f32);
    let horizon = hf * 0.55;
    let mut rng = Rng(0xF1E1D);
    let mut rgb = vec![0u8; w * h * 3];
    // Objects: (centre x, centre y, radius) discs and (x0, y0, x1, y1) boxes, in fractions.
    let discs = [
        (0.25f32, 0.35f32, 0.08f32, [230.0f32, 180.0, 40.0]),
        (0.7, 0.7, 0.12, [180.0, 30.0, 30.0]),
    ];
    let boxes = [
        (0.45f32, 0.5f32, 0.62f32, 0.85f32, [150.0f32, 110.0, 70.0]),
        (0.05, 0.62, 0.2, 0.95, [60.0, 60.0, 70.0]),
    ];
    for y in 0..h {
        let yf = y as f32;
        for x in 0..w {
            let xf = x as f32;
            let mut c = if yf < horizon {
                let t = yf / horizon;
                [90.0 + 120.0 * t, 140.0 + 90.0 * t, 220.0 + 25.0 * t]
            } else {
                let t = (yf - horizon) / (hf - horizon);
                let grass = ((xf * 0.21).sin() * (yf * 0.37).cos() * 18.0)
                    + ((xf * 0.05 + yf * 0.03).sin() * 10.0);
                [
                    70.0 + 40.0 * t + grass,
                    120.0 - 30.0 * t + grass,
                    40.0 + 10.0 * t,
                ]
            };
            for &(cx, cy, r, color) in &discs {
                let (dx, dy) = (xf / wf - cx, (yf / hf - cy) * hf / wf);
                let d = (dx * dx + dy * dy).sqrt();
                if d < r {
                    let shade = 1.0 - 0.5 * d / r;
                    c = [color[0] * shade, color[1] * shade, color[2] * shade];
                }
            }
            for &(x0, y0, x1, y1, color) in &boxes {
                let (u, v) = (xf / wf, yf / hf);
                if u >= x0 && u < x1 && v >= y0 && v < y1 {
                    let stripe = if ((u - x0) * 60.0) as i32 % 2 == 0 {
                        1.0
                    } else {
                        0.85
                    };
                    c = [color[0] * stripe, color[1] * stripe, color[2] * stripe];
                }
            }
            let noise = rng.next_noise();
            let i = (y * w + x) * 3;
            for k in 0..3 {
                rgb[i + k] = (c[k] + noise).clamp(0.0, 255.0) as u8;
            }
        }
    }
    rgb
}

/// The EXIF TIFF block (little-endian, no `Exif\0\0` prefix) for `spec`.
pub fn exif_tiff(spec: &ExifSpec) -> Vec<u8> {
    let mut exif_ifd = Vec::new();
    if let Some(t) = &spec.date_time_original {
        exif_ifd.push(Entry::ascii(0x9003, t));
    }
    if let Some(t) = &spec.offset_time_original {
        exif_ifd.push(Entry::ascii(0x9011, t));
    }
    if let Some(t) = &spec.sub_sec_time_original {
        exif_ifd.push(Entry::ascii(0x9291, t));
    }
    let mut gps_ifd = Vec::new();
    if let Some(gps) = &spec.gps {
        gps_ifd.push(Entry::bytes(0x0000, &[2, 3, 0, 0]));
        gps_ifd.push(Entry::ascii(0x0001, if gps.lat < 0.0 { "S" } else { "N" }));
        gps_ifd.push(Entry::rationals(0x0002, &dms(gps.lat)));
        gps_ifd.push(Entry::ascii(0x0003, if gps.lon < 0.0 { "W" } else { "E" }));
        gps_ifd.push(Entry::rationals(0x0004, &dms(gps.lon)));
        if let Some((date, [h, m, s])) = &gps.utc {
            gps_ifd.push(Entry::rationals(0x0007, &[(*h, 1), (*m, 1), (*s, 1)]));
            gps_ifd.push(Entry::ascii(0x001D, date));
        }
        if let Some(accuracy) = gps.accuracy_m {
            gps_ifd.push(Entry::rationals(
                0x001F,
                &[((accuracy * 100.0).round() as u32, 100)],
            ));
        }
    }
    let mut ifd0 = Vec::new();
    if let Some(make) = &spec.make {
        ifd0.push(Entry::ascii(0x010F, make));
    }
    if let Some(o) = spec.orientation {
        ifd0.push(Entry::short(0x0112, o));
    }
    // Pointers are filled once the sizes are known; their size does not depend on the value.
    let has_exif = !exif_ifd.is_empty();
    let has_gps = !gps_ifd.is_empty();
    if has_exif {
        ifd0.push(Entry::long(0x8769, 0));
    }
    if has_gps {
        ifd0.push(Entry::long(0x8825, 0));
    }
    let exif_offset = 8 + ifd_len(&ifd0);
    let gps_offset = exif_offset + if has_exif { ifd_len(&exif_ifd) } else { 0 };
    for entry in &mut ifd0 {
        match entry.tag {
            0x8769 => entry.data = (exif_offset as u32).to_le_bytes().to_vec(),
            0x8825 => entry.data = (gps_offset as u32).to_le_bytes().to_vec(),
            _ => {}
        }
    }
    let mut out = b"II*\0\x08\0\0\0".to_vec();
    write_ifd(&mut out, &ifd0);
    if has_exif {
        write_ifd(&mut out, &exif_ifd);
    }
    if has_gps {
        write_ifd(&mut out, &gps_ifd);
    }
    out
}

/// Where a stored pixel is displayed, straight from the EXIF definition of each orientation
/// ("stored row 0 is the visual top/bottom/left/right, stored column 0 the visual …"): stored
/// (column c, row r) → displayed (x, y), for a displayed picture of `dw × dh`.
fn displayed_position(
    orientation: u16,
    c: usize,
    r: usize,
    dw: usize,
    dh: usize,
) -> (usize, usize) {
    match orientation {
        2 => (dw - 1 - c, r),          // row 0 top, column 0 right
        3 => (dw - 1 - c, dh - 1 - r), // row 0 bottom, column 0 right
        4 => (c, dh - 1 - r),          // row 0 bottom, column 0 left
        5 => (r, c),                   // row 0 left, column 0 top
        6 => (dw - 1 - r, c),          // row 0 right, column 0 top
        7 => (dw - 1 - r, dh - 1 - c), // row 0 right, column 0 bottom
        8 => (r, dh - 1 - c),          // row 0 left, column 0 bottom
        _ => (c, r),                   // row 0 top, column 0 left
    }
}

/// The quadrant picture displayed at `width × height`, stored for `orientation`:
/// (stored width, stored height, RGB pixels).
fn stored_quadrants(width: u32, height: u32, orientation: u16) -> (u32, u32, Vec<u8>) {
    let (dw, dh) = (width as usize, height as usize);
    let (sw, sh) = if (5..=8).contains(&orientation) {
        (dh, dw)
    } else {
        (dw, dh)
    };
    let mut rgb = vec![0u8; sw * sh * 3];
    for r in 0..sh {
        for c in 0..sw {
            let (x, y) = displayed_position(orientation, c, r, dw, dh);
            let quadrant = usize::from(x >= dw / 2) + 2 * usize::from(y >= dh / 2);
            let i = (r * sw + c) * 3;
            rgb[i..i + 3].copy_from_slice(&QUADRANT_COLORS[quadrant]);
        }
    }
    (sw as u32, sh as u32, rgb)
}

fn encode_jpeg(
    data: &[u8],
    width: u32,
    height: u32,
    color: ColorType,
    quality: u8,
    sampling: SamplingFactor,
) -> Vec<u8> {
    let mut out = Vec::new();
    let mut encoder = Encoder::new(&mut out, quality);
    encoder.set_sampling_factor(sampling);
    encoder
        .encode(
            data,
            u16::try_from(width).expect("sample width fits a JPEG"),
            u16::try_from(height).expect("sample height fits a JPEG"),
            color,
        )
        .expect("encoding a generated picture cannot fail");
    out
}

fn encode_png(data: &[u8], width: u32, height: u32, color: ExtendedColorType) -> Vec<u8> {
    let mut out = Vec::new();
    PngEncoder::new(Cursor::new(&mut out))
        .write_image(data, width, height, color)
        .expect("encoding a generated picture cannot fail");
    out
}

/// A PNG from raw big-endian samples (`color_type` 2 = RGB, 0 = grey), written chunk by chunk
/// with stored (uncompressed) deflate blocks, so the bit depth is exactly what is asked.
fn encode_png_raw(samples: &[u8], width: u32, height: u32, color_type: u8, depth: u8) -> Vec<u8> {
    let channels = if color_type == 2 { 3 } else { 1 };
    let row = width as usize * channels * usize::from(depth / 8);
    let mut raw = Vec::with_capacity((row + 1) * height as usize);
    for line in samples.chunks_exact(row) {
        raw.push(0); // filter: none
        raw.extend_from_slice(line);
    }
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&width.to_be_bytes());
    ihdr.extend_from_slice(&height.to_be_bytes());
    ihdr.extend_from_slice(&[depth, color_type, 0, 0, 0]);
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    out.extend_from_slice(&png_chunk(b"IHDR", &ihdr));
    out.extend_from_slice(&png_chunk(b"IDAT", &zlib_stored(&raw)));
    out.extend_from_slice(&png_chunk(b"IEND", &[]));
    out
}

fn png_chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
    let mut chunk = Vec::with_capacity(data.len() + 12);
    chunk.extend_from_slice(&(data.len() as u32).to_be_bytes());
    chunk.extend_from_slice(kind);
    chunk.extend_from_slice(data);
    let crc = crc32(&chunk[4..]);
    chunk.extend_from_slice(&crc.to_be_bytes());
    chunk
}

/// A zlib stream of stored deflate blocks (no compression), with its Adler-32.
fn zlib_stored(data: &[u8]) -> Vec<u8> {
    let mut out = vec![0x78, 0x01];
    let blocks: Vec<&[u8]> = data.chunks(65_535).collect();
    for (i, block) in blocks.iter().enumerate() {
        out.push(u8::from(i + 1 == blocks.len()));
        let len = block.len() as u16;
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&(!len).to_le_bytes());
        out.extend_from_slice(block);
    }
    if blocks.is_empty() {
        out.extend_from_slice(&[1, 0, 0, 0xFF, 0xFF]);
    }
    let (mut a, mut b) = (1u32, 0u32);
    for &byte in data {
        a = (a + u32::from(byte)) % 65_521;
        b = (b + a) % 65_521;
    }
    out.extend_from_slice(&((b << 16) | a).to_be_bytes());
    out
}

fn crc32(data: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &byte in data {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// Degrees → (degrees, minutes, seconds) rationals of the absolute value.
fn dms(value: f64) -> [(u32, u32); 3] {
    let value = value.abs();
    let degrees = value.trunc();
    let minutes = ((value - degrees) * 60.0).trunc();
    let seconds = ((value - degrees) * 60.0 - minutes) * 60.0;
    [
        (degrees as u32, 1),
        (minutes as u32, 1),
        ((seconds * 10_000.0).round() as u32, 10_000),
    ]
}

/// One IFD entry; `data` is the value's little-endian bytes.
struct Entry {
    tag: u16,
    kind: u16,
    count: u32,
    data: Vec<u8>,
}

impl Entry {
    fn ascii(tag: u16, text: &str) -> Self {
        let mut data = text.as_bytes().to_vec();
        data.push(0);
        Self {
            tag,
            kind: 2,
            count: data.len() as u32,
            data,
        }
    }
    fn bytes(tag: u16, bytes: &[u8]) -> Self {
        Self {
            tag,
            kind: 1,
            count: bytes.len() as u32,
            data: bytes.to_vec(),
        }
    }
    fn short(tag: u16, value: u16) -> Self {
        Self {
            tag,
            kind: 3,
            count: 1,
            data: value.to_le_bytes().to_vec(),
        }
    }
    fn long(tag: u16, value: u32) -> Self {
        Self {
            tag,
            kind: 4,
            count: 1,
            data: value.to_le_bytes().to_vec(),
        }
    }
    fn rationals(tag: u16, values: &[(u32, u32)]) -> Self {
        let data = values
            .iter()
            .flat_map(|(n, d)| n.to_le_bytes().into_iter().chain(d.to_le_bytes()))
            .collect();
        Self {
            tag,
            kind: 5,
            count: values.len() as u32,
            data,
        }
    }
    /// Bytes stored outside the entry (values over 4 bytes), padded to even.
    fn outside_len(&self) -> usize {
        if self.data.len() > 4 {
            self.data.len() + (self.data.len() & 1)
        } else {
            0
        }
    }
}

fn ifd_len(entries: &[Entry]) -> usize {
    2 + 12 * entries.len() + 4 + entries.iter().map(Entry::outside_len).sum::<usize>()
}

/// Writes an IFD (entries sorted by tag, no next IFD) at the end of `out`, whose start is the
/// TIFF header, followed by its out-of-line values.
fn write_ifd(out: &mut Vec<u8>, entries: &[Entry]) {
    let mut sorted: Vec<&Entry> = entries.iter().collect();
    sorted.sort_by_key(|e| e.tag);
    let start = out.len();
    let mut value_offset = start + 2 + 12 * sorted.len() + 4;
    out.extend_from_slice(&(sorted.len() as u16).to_le_bytes());
    for entry in &sorted {
        out.extend_from_slice(&entry.tag.to_le_bytes());
        out.extend_from_slice(&entry.kind.to_le_bytes());
        out.extend_from_slice(&entry.count.to_le_bytes());
        if entry.data.len() <= 4 {
            let mut inline = entry.data.clone();
            inline.resize(4, 0);
            out.extend_from_slice(&inline);
        } else {
            out.extend_from_slice(&(value_offset as u32).to_le_bytes());
            value_offset += entry.outside_len();
        }
    }
    out.extend_from_slice(&0u32.to_le_bytes());
    for entry in sorted.iter().filter(|e| e.data.len() > 4) {
        out.extend_from_slice(&entry.data);
        if entry.data.len() & 1 == 1 {
            out.push(0);
        }
    }
}

fn fill_rect(
    rgb: &mut [u8],
    w: usize,
    (x0, y0, x1, y1): (usize, usize, usize, usize),
    color: [u8; 3],
) {
    let h = rgb.len() / 3 / w;
    for y in y0..y1.min(h) {
        for x in x0..x1.min(w) {
            let i = (y * w + x) * 3;
            rgb[i..i + 3].copy_from_slice(&color);
        }
    }
}

/// One line of text-like glyphs: 10 × 16 px cells of 2 px seven-segment strokes, with word gaps.
fn draw_text(
    rgb: &mut [u8],
    w: usize,
    (x0, y0): (usize, usize),
    x_end: usize,
    scale: usize,
    color: [u8; 3],
    rng: &mut Rng,
) {
    let (cell_w, stroke) = (10 * scale, 2 * scale);
    let mut x = x0;
    while x + cell_w <= x_end {
        let segments = rng.next_u32();
        if segments.is_multiple_of(7) {
            x += cell_w; // a space between words
            continue;
        }
        let (gx, gy, gw, gh) = (x + scale, y0 + 2 * scale, 7 * scale, 12 * scale);
        let half = gy + gh / 2;
        let strokes = [
            (gx, gy, gx + gw, gy + stroke),                      // top
            (gx, half - stroke / 2, gx + gw, half + stroke / 2), // middle
            (gx, gy + gh - stroke, gx + gw, gy + gh),            // bottom
            (gx, gy, gx + stroke, half),                         // upper left
            (gx + gw - stroke, gy, gx + gw, half),               // upper right
            (gx, half, gx + stroke, gy + gh),                    // lower left
            (gx + gw - stroke, half, gx + gw, gy + gh),          // lower right
        ];
        // At least two strokes per glyph.
        let mask = (segments | 0b1000001) & 0x7F;
        for (i, rect) in strokes.iter().enumerate() {
            if mask & (1 << i) != 0 {
                fill_rect(rgb, w, *rect, color);
            }
        }
        x += cell_w;
    }
}

/// xorshift32: deterministic noise without a dependency.
struct Rng(u32);

impl Rng {
    fn next_u32(&mut self) -> u32 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        self.0 = x;
        x
    }
    /// Roughly Gaussian sensor noise, σ ≈ 4 levels.
    fn next_noise(&mut self) -> f32 {
        let v = self.next_u32();
        let sum = (v & 0xFF) + ((v >> 8) & 0xFF) + ((v >> 16) & 0xFF) + (v >> 24);
        (sum as f32 - 510.0) / 74.0 * 4.0
    }
}
