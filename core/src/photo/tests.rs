//! Behaviour of the whole pipeline, on images made in code by `fieldwork-test-images` (`samples`).

use image::{DynamicImage, GenericImageView, RgbImage};
use sha2::{Digest, Sha256};

use super::pixels::{Layout, Pixels};
use super::*;
use fieldwork_test_images::{self as samples, ExifSpec, GpsSpec, QUADRANT_COLORS};

fn defaults() -> PhotoOptions {
    PhotoOptions::default()
}

fn rgb(jpeg: &[u8]) -> RgbImage {
    image::load_from_memory_with_format(jpeg, image::ImageFormat::Jpeg)
        .expect("the pipeline's output decodes")
        .to_rgb8()
}

/// Asserts the picture shows the four quadrant colours in place (sampled at each quadrant's
/// centre, with room for JPEG's loss).
#[track_caller]
fn assert_upright(image: &RgbImage, what: &str) {
    let (w, h) = image.dimensions();
    let centres = [
        (w / 4, h / 4),
        (3 * w / 4, h / 4),
        (w / 4, 3 * h / 4),
        (3 * w / 4, 3 * h / 4),
    ];
    for ((x, y), expected) in centres.into_iter().zip(QUADRANT_COLORS) {
        let got = image.get_pixel(x, y).0;
        let close = got.iter().zip(expected).all(|(&g, e)| g.abs_diff(e) <= 40);
        assert!(
            close,
            "{what}: pixel at ({x}, {y}) is {got:?}, expected about {expected:?}"
        );
    }
}

/// The marker codes of a JPEG's segments up to the first scan.
fn header_markers(jpeg: &[u8]) -> Vec<u8> {
    let mut markers = Vec::new();
    let mut pos = 2;
    while pos + 4 <= jpeg.len() {
        assert_eq!(jpeg[pos], 0xFF, "segment boundary at {pos}");
        let marker = jpeg[pos + 1];
        markers.push(marker);
        if marker == 0xDA {
            break;
        }
        pos += 2 + usize::from(u16::from_be_bytes([jpeg[pos + 2], jpeg[pos + 3]]));
    }
    markers
}

/// (horizontal, vertical) sampling factors of each component in the frame header.
fn sampling_factors(jpeg: &[u8]) -> Vec<(u8, u8)> {
    let sof = jpeg
        .windows(2)
        .position(|w| w == [0xFF, 0xC0])
        .expect("a baseline frame header");
    let count = usize::from(jpeg[sof + 9]);
    (0..count)
        .map(|i| {
            let factors = jpeg[sof + 11 + 3 * i];
            (factors >> 4, factors & 0xF)
        })
        .collect()
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

// ---------------------------------------------------------------- orientation

#[test]
fn every_orientation_ends_upright_with_the_display_dimensions() {
    for orientation in 1..=8 {
        // Displayed 64 × 48: stored 48 × 64 (sideways) for orientations 5–8.
        let input = samples::jpeg_with_exif(64, 48, orientation, None, None);
        let photo = process(&input, &defaults()).unwrap();
        assert_eq!(
            (photo.full.width, photo.full.height),
            (64, 48),
            "orientation {orientation}"
        );
        assert_upright(
            &rgb(&photo.full.bytes),
            &format!("orientation {orientation}"),
        );
    }
}

#[test]
fn orientation_is_applied_to_downscaled_images_and_thumbnails() {
    let options = PhotoOptions {
        max_edge: 200,
        thumb_edge: 60,
        ..defaults()
    };
    for orientation in 1..=8 {
        let input = samples::jpeg_with_exif(400, 300, orientation, None, None);
        let photo = process(&input, &options).unwrap();
        let what = format!("orientation {orientation}");
        assert_eq!((photo.full.width, photo.full.height), (200, 150), "{what}");
        assert_eq!((photo.thumb.width, photo.thumb.height), (60, 45), "{what}");
        assert_upright(&rgb(&photo.full.bytes), &what);
        assert_upright(&rgb(&photo.thumb.bytes), &format!("{what}, thumbnail"));
    }
}

#[test]
fn orientation_agrees_with_the_image_crate_on_every_value() {
    // An odd-sized picture of distinct pixels: any misplaced pixel shows.
    let (w, h) = (7u32, 5u32);
    let data: Vec<u8> = (0..w * h * 3).map(|i| (i * 7 % 251) as u8).collect();
    for orientation in 1..=8u16 {
        let ours = orient::apply(
            Pixels {
                width: w,
                height: h,
                layout: Layout::Rgb,
                data: data.clone(),
            },
            orientation,
        );
        let mut reference =
            DynamicImage::ImageRgb8(RgbImage::from_raw(w, h, data.clone()).unwrap());
        reference
            .apply_orientation(image::metadata::Orientation::from_exif(orientation as u8).unwrap());
        assert_eq!(
            (ours.width, ours.height),
            reference.dimensions(),
            "orientation {orientation}"
        );
        assert_eq!(
            ours.data,
            reference.to_rgb8().into_raw(),
            "orientation {orientation}"
        );
    }
}

#[test]
fn png_exif_orientation_is_applied() {
    let input = samples::png_with_orientation(60, 40, 6);
    let photo = process(&input, &defaults()).unwrap();
    assert_eq!((photo.full.width, photo.full.height), (60, 40));
    assert_upright(&rgb(&photo.full.bytes), "PNG, orientation 6");
}

// ---------------------------------------------------------------- metadata

#[test]
fn gps_and_capture_time_are_extracted() {
    let spec = ExifSpec {
        orientation: Some(1),
        date_time_original: Some("2026:11:20 14:30:05".into()),
        sub_sec_time_original: Some("250".into()),
        offset_time_original: Some("+08:00".into()),
        gps: Some(GpsSpec {
            lat: 31.2304,
            lon: 121.4737,
            accuracy_m: Some(8.5),
            utc: Some(("2026:11:20".into(), [6, 30, 4])),
        }),
        make: None,
    };
    let photo = process(&samples::jpeg_with_exif_spec(64, 48, &spec), &defaults()).unwrap();
    assert_eq!(photo.captured_at, Some(1_795_156_205_250)); // 2026-11-20T06:30:05.250Z
    let fix = photo.location.expect("a GPS fix");
    // Rounded to 1e-7°, so the written decimal degrees come back exactly.
    assert_eq!((fix.lat, fix.lon), (31.2304, 121.4737));
    assert_eq!(fix.accuracy_m, Some(8.5));
    assert_eq!(fix.at, Some(1_795_156_204_000));
    assert_eq!(photo.source, SourceFormat::Jpeg);
}

#[test]
fn southern_and_western_positions_and_negative_offsets() {
    let spec = ExifSpec {
        date_time_original: Some("2026:11:20 14:30:05".into()),
        offset_time_original: Some("-04:30".into()),
        gps: Some(GpsSpec::at(-22.9068, -43.1729)),
        ..ExifSpec::default()
    };
    let photo = process(&samples::jpeg_with_exif_spec(32, 32, &spec), &defaults()).unwrap();
    assert_eq!(photo.captured_at, Some(1_795_201_205_000)); // 19:00:05Z
    let fix = photo.location.expect("a GPS fix");
    assert_eq!((fix.lat, fix.lon), (-22.9068, -43.1729));
    assert_eq!((fix.accuracy_m, fix.at), (None, None));
}

#[test]
fn capture_time_without_an_offset_is_read_as_utc() {
    let input = samples::jpeg_with_exif(32, 32, 1, None, Some(samples::SAMPLE_CAPTURED));
    let photo = process(&input, &defaults()).unwrap();
    assert_eq!(photo.captured_at, Some(1_795_185_005_000)); // 14:30:05Z
    assert_eq!(photo.location, None);
}

#[test]
fn invalid_positions_are_dropped_without_failing_the_photo() {
    let out_of_range = samples::jpeg_with_exif(32, 32, 1, Some((95.0, 10.0)), None);
    assert_eq!(process(&out_of_range, &defaults()).unwrap().location, None);

    let vague = ExifSpec {
        gps: Some(GpsSpec {
            accuracy_m: Some(120_000.0),
            ..GpsSpec::at(10.0, 10.0)
        }),
        ..ExifSpec::default()
    };
    let vague = samples::jpeg_with_exif_spec(32, 32, &vague);
    assert_eq!(process(&vague, &defaults()).unwrap().location, None);

    // A GPS time from an unset clock costs the time, not the position.
    let old_clock = ExifSpec {
        gps: Some(GpsSpec {
            utc: Some(("1980:01:06".into(), [0, 0, 0])),
            ..GpsSpec::at(10.0, 20.0)
        }),
        ..ExifSpec::default()
    };
    let photo = process(
        &samples::jpeg_with_exif_spec(32, 32, &old_clock),
        &defaults(),
    )
    .unwrap();
    let fix = photo.location.expect("the position survives");
    assert_eq!((fix.lat, fix.lon, fix.at), (10.0, 20.0, None));
}

#[test]
fn nonsense_capture_times_are_ignored() {
    for bad in [
        "0000:00:00 00:00:00",
        "2026:02:30 10:00:00",
        "2026:11:20 25:00:00",
        "garbage",
    ] {
        let input = samples::jpeg_with_exif(32, 32, 1, None, Some(bad));
        assert_eq!(
            process(&input, &defaults()).unwrap().captured_at,
            None,
            "{bad}"
        );
    }
}

#[test]
fn broken_exif_costs_only_the_metadata() {
    let plain = samples::jpeg_with_exif_spec(48, 32, &ExifSpec::default());
    let mut app1 = b"Exif\0\0II*\0\xFF\xFF\xFF\x7F".to_vec();
    app1.extend_from_slice(&[0xAB; 40]);
    let input = samples::insert_after_soi(plain, &[(0xE1, app1)]);
    let photo = process(&input, &defaults()).unwrap();
    assert_eq!((photo.full.width, photo.full.height), (48, 32));
    assert_eq!((photo.captured_at, photo.location), (None, None));
}

#[test]
fn outputs_carry_no_metadata_at_all() {
    let input = samples::with_xmp_icc_and_comment(samples::jpeg_with_exif(
        400,
        300,
        6,
        Some((31.2304, 121.4737)),
        Some(samples::SAMPLE_CAPTURED),
    ));
    assert!(contains(&input, b"Exif\0\0") && contains(&input, b"ns.adobe.com"));
    let photo = process(&input, &defaults()).unwrap();
    assert!(photo.location.is_some() && photo.captured_at.is_some());
    for (what, out) in [("full", &photo.full.bytes), ("thumb", &photo.thumb.bytes)] {
        // Only what the encoder writes: JFIF, quantisation and Huffman tables, frame, scans.
        for marker in header_markers(out) {
            assert!(
                matches!(marker, 0xE0 | 0xDB | 0xC4 | 0xC0 | 0xDA),
                "{what}: unexpected segment FF{marker:02X}"
            );
        }
        for needle in [
            &b"Exif\0\0"[..],
            b"http://ns.adobe.com",
            b"xmpmeta",
            b"ICC_PROFILE",
            b"Fieldwork Sample Camera",
            b"Secret Street",
            b"2026:11:20",
            &31u32.to_le_bytes(), // GPS degrees as written in the sample's rationals
        ] {
            // A 4-byte rational could occur by chance in entropy-coded data; check headers only.
            let header_end = out.windows(2).position(|w| w == [0xFF, 0xDA]).unwrap();
            assert!(
                !contains(&out[..header_end], needle),
                "{what}: found {needle:?}"
            );
            if needle.len() > 4 {
                assert!(!contains(out, needle), "{what}: found {needle:?}");
            }
        }
        assert!(out.starts_with(&[0xFF, 0xD8]) && out.ends_with(&[0xFF, 0xD9]));
    }
}

// ---------------------------------------------------------------- sizes

#[test]
fn downscales_the_long_edge_and_keeps_the_aspect_ratio() {
    let cases = [
        ((2400, 1600, 1), (1920, 1280), (320, 213)),
        ((1600, 2400, 1), (1280, 1920), (213, 320)),
        ((2400, 1600, 6), (1920, 1280), (320, 213)),
        ((4000, 10, 1), (1920, 5), (320, 1)),
    ];
    for ((w, h, orientation), full, thumb) in cases {
        let input = samples::jpeg_with_exif(w, h, orientation, None, None);
        let photo = process(&input, &defaults()).unwrap();
        assert_eq!((photo.full.width, photo.full.height), full, "{w}×{h}");
        assert_eq!((photo.thumb.width, photo.thumb.height), thumb, "{w}×{h}");
        let decoded = rgb(&photo.full.bytes);
        assert_eq!(
            decoded.dimensions(),
            full,
            "the file says what the struct says"
        );
        assert_eq!(rgb(&photo.thumb.bytes).dimensions(), thumb);
    }
}

#[test]
fn small_images_are_never_upscaled() {
    let photo = process(
        &samples::jpeg_with_exif(200, 100, 1, None, None),
        &defaults(),
    )
    .unwrap();
    assert_eq!((photo.full.width, photo.full.height), (200, 100));
    // Thumbnail-sized already: the thumbnail is the same file (stored once).
    assert_eq!(photo.thumb, photo.full);

    let photo = process(
        &samples::jpeg_with_exif(800, 600, 1, None, None),
        &defaults(),
    )
    .unwrap();
    assert_eq!((photo.full.width, photo.full.height), (800, 600));
    assert_eq!((photo.thumb.width, photo.thumb.height), (320, 240));
}

#[test]
fn same_input_gives_byte_identical_outputs_named_by_their_sha256() {
    let input = samples::jpeg_with_exif(900, 700, 3, Some((1.0, 2.0)), None);
    let first = process(&input, &defaults()).unwrap();
    let second = process(&input, &defaults()).unwrap();
    assert_eq!(first, second);
    for image in [&first.full, &first.thumb] {
        let expected: String = Sha256::digest(&image.bytes)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(image.sha256, expected);
        assert!(fieldwork_protocol::blobs::is_sha256_hex(&image.sha256));
    }
    assert_ne!(first.full.sha256, first.thumb.sha256);
}

#[test]
fn progressive_and_restart_marker_jpegs_are_read() {
    // Web downloads are often progressive; some phones write restart markers.
    let (w, h) = (96u32, 64u32);
    let pixels: Vec<u8> = (0..w * h)
        .flat_map(|i| {
            let (x, y) = (i % w, i / w);
            QUADRANT_COLORS[usize::from(x >= w / 2) + 2 * usize::from(y >= h / 2)]
        })
        .collect();
    for progressive in [true, false] {
        let mut jpeg = Vec::new();
        let mut encoder = jpeg_encoder::Encoder::new(&mut jpeg, 90);
        encoder.set_progressive(progressive);
        encoder.set_restart_interval(2);
        encoder
            .encode(&pixels, w as u16, h as u16, jpeg_encoder::ColorType::Rgb)
            .unwrap();
        let photo = process(&jpeg, &defaults()).unwrap();
        assert_eq!((photo.full.width, photo.full.height), (w, h));
        assert_upright(
            &rgb(&photo.full.bytes),
            &format!("progressive {progressive}"),
        );
        assert_eq!(
            process(&jpeg[..jpeg.len() - 10], &defaults()),
            Err(PhotoError::Truncated(SourceFormat::Jpeg))
        );
    }
}

// ---------------------------------------------------------------- refusals

#[test]
fn truncated_files_are_refused_wherever_they_are_cut() {
    let jpeg = samples::jpeg_with_exif(300, 200, 1, None, None);
    for cut in [3, 40, jpeg.len() / 2, jpeg.len() - 3, jpeg.len() - 1] {
        assert_eq!(
            process(&jpeg[..cut], &defaults()),
            Err(PhotoError::Truncated(SourceFormat::Jpeg)),
            "JPEG cut at {cut} of {}",
            jpeg.len()
        );
    }
    let png = samples::png_screenshot(300, 200);
    for cut in [20, png.len() / 2, png.len() - 4] {
        assert_eq!(
            process(&png[..cut], &defaults()),
            Err(PhotoError::Truncated(SourceFormat::Png)),
            "PNG cut at {cut}"
        );
    }
    let webp = samples::webp(300, 200);
    for cut in [16, webp.len() / 2, webp.len() - 1] {
        assert_eq!(
            process(&webp[..cut], &defaults()),
            Err(PhotoError::Truncated(SourceFormat::WebP)),
            "WebP cut at {cut}"
        );
    }
}

#[test]
fn decompression_bombs_are_refused_from_the_header() {
    let bomb = samples::png_header_claiming(100_000, 100_000);
    assert!(bomb.len() < 100);
    let error = process(&bomb, &defaults()).unwrap_err();
    assert_eq!(
        error,
        PhotoError::TooManyPixels {
            width: 100_000,
            height: 100_000,
            max_pixels: 50_000_000,
            max_side: MAX_SIDE,
        }
    );
    assert!(error.to_string().contains("100000 × 100000"), "{error}");

    // Lossy WebP (VP8) and extended WebP (VP8X) headers claiming 16,383 × 16,383.
    let riff = |chunks: &[(&[u8], &[u8])]| {
        let mut body = b"WEBP".to_vec();
        for (fourcc, data) in chunks {
            body.extend_from_slice(fourcc);
            body.extend_from_slice(&(data.len() as u32).to_le_bytes());
            body.extend_from_slice(data);
        }
        let mut file = b"RIFF".to_vec();
        file.extend_from_slice(&(body.len() as u32).to_le_bytes());
        file.extend_from_slice(&body);
        file
    };
    let vp8_header: &[u8] = &[0x10, 0x02, 0x00, 0x9D, 0x01, 0x2A, 0xFF, 0x3F, 0xFF, 0x3F];
    let vp8 = riff(&[(b"VP8 ", vp8_header)]);
    let canvas: &[u8] = &[0x00, 0, 0, 0, 0xFE, 0x3F, 0x00, 0xFE, 0x3F, 0x00];
    let small_lossless: &[u8] = &[0x2F, 0x00, 0x00, 0x00, 0x00];
    let vp8x = riff(&[(b"VP8X", canvas), (b"VP8L", small_lossless)]);
    for bomb in [vp8, vp8x] {
        assert!(matches!(
            process(&bomb, &defaults()),
            Err(PhotoError::TooManyPixels {
                width: 16_383,
                height: 16_383,
                ..
            })
        ));
    }

    // Few pixels but one absurd side.
    let strip = samples::png_header_claiming(70_000, 2);
    assert!(matches!(
        process(&strip, &defaults()),
        Err(PhotoError::TooManyPixels { .. })
    ));

    // The limit is the configured one.
    let small_limit = PhotoOptions {
        max_pixels: 100 * 100,
        ..defaults()
    };
    let input = samples::jpeg_with_exif(101, 100, 1, None, None);
    assert!(matches!(
        process(&input, &small_limit),
        Err(PhotoError::TooManyPixels { .. })
    ));
}

#[test]
fn files_that_are_not_images_get_a_specific_error() {
    assert_eq!(process(b"", &defaults()), Err(PhotoError::Empty));
    assert_eq!(
        process(b"Dear support, the printer is broken again.\n", &defaults()),
        Err(PhotoError::NotAnImage)
    );
    let mut x = 0x1234_5678u32;
    let random: Vec<u8> = (0..4096)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect();
    assert_eq!(process(&random, &defaults()), Err(PhotoError::NotAnImage));

    let gif = b"GIF89a\x01\x00\x01\x00\x00\x00\x00;";
    assert!(matches!(
        process(gif, &defaults()),
        Err(PhotoError::UnsupportedFormat { format: "GIF", .. })
    ));
    let heic = b"\0\0\0\x18ftypheic\0\0\0\0mif1heic";
    let error = process(heic, &defaults()).unwrap_err();
    assert!(matches!(
        error,
        PhotoError::UnsupportedFormat { format: "HEIC", .. }
    ));
    assert!(error.to_string().contains("Most Compatible"), "{error}");
}

#[test]
fn oversized_input_is_refused_before_looking_at_it() {
    let options = PhotoOptions {
        max_input_bytes: 1000,
        ..defaults()
    };
    let input = samples::jpeg_with_exif(300, 200, 1, None, None);
    assert_eq!(
        process(&input, &options),
        Err(PhotoError::TooLarge {
            bytes: input.len(),
            limit: 1000
        })
    );
}

#[test]
fn a_jpeg_without_its_tables_is_corrupt() {
    // Rename every Huffman table segment (FFC4) to an application segment: the structure stays
    // complete, the decoder cannot read the scan.
    let mut jpeg = samples::jpeg_with_exif(64, 64, 1, None, None);
    let scan = jpeg.windows(2).position(|w| w == [0xFF, 0xDA]).unwrap();
    for i in 0..scan {
        if jpeg[i] == 0xFF && jpeg[i + 1] == 0xC4 {
            jpeg[i + 1] = 0xE5;
        }
    }
    assert_eq!(
        process(&jpeg, &defaults()),
        Err(PhotoError::Corrupt(SourceFormat::Jpeg))
    );
}

#[test]
fn error_messages_say_what_to_do_and_leak_nothing() {
    let errors = [
        PhotoError::Empty,
        PhotoError::TooLarge {
            bytes: 50,
            limit: 10,
        },
        PhotoError::NotAnImage,
        PhotoError::Truncated(SourceFormat::Jpeg),
        PhotoError::Corrupt(SourceFormat::Png),
        PhotoError::UnsupportedEncoding(SourceFormat::WebP),
    ];
    for error in errors {
        let message = error.to_string();
        assert!(message.contains("; "), "no advice in: {message}");
    }
}

// ---------------------------------------------------------------- colour and formats

#[test]
fn transparent_screenshots_are_flattened_onto_white() {
    let photo = process(&samples::png_screenshot_transparent(200, 100), &defaults()).unwrap();
    assert_eq!(photo.source, SourceFormat::Png);
    let out = rgb(&photo.full.bytes);
    for (x, y) in [(0, 0), (199, 0), (0, 99), (199, 99), (100, 4)] {
        let p = out.get_pixel(x, y).0;
        assert!(
            p.iter().all(|&v| v >= 245),
            "background at ({x}, {y}) is {p:?}"
        );
    }
    let darkest = out.pixels().map(|p| p.0[0]).min().unwrap();
    assert!(darkest < 40, "the ink survived: darkest {darkest}");
}

#[test]
fn webp_is_accepted_and_lossless_webp_is_treated_as_a_screenshot() {
    let photo = process(&samples::webp(120, 80), &defaults()).unwrap();
    assert_eq!(photo.source, SourceFormat::WebP);
    assert_eq!((photo.full.width, photo.full.height), (120, 80));
    assert_upright(&rgb(&photo.full.bytes), "WebP");
    assert_eq!(sampling_factors(&photo.full.bytes), vec![(1, 1); 3]);
}

#[test]
fn sixteen_bit_png_is_read() {
    let photo = process(&samples::png_16bit(64, 48), &defaults()).unwrap();
    assert_eq!((photo.full.width, photo.full.height), (64, 48));
    assert_upright(&rgb(&photo.full.bytes), "16-bit PNG");
}

#[test]
fn greyscale_jpeg_stays_greyscale() {
    let photo = process(&samples::grey_jpeg(64, 48), &defaults()).unwrap();
    assert_eq!(
        sampling_factors(&photo.full.bytes).len(),
        1,
        "one component"
    );
    let out = image::load_from_memory(&photo.full.bytes)
        .unwrap()
        .to_luma8();
    assert!(out.get_pixel(10, 10).0[0] < 40);
    assert!(out.get_pixel(50, 40).0[0] > 200);
}

#[test]
fn photos_use_420_chroma_and_screenshots_444() {
    let photo = process(&samples::jpeg_with_exif(64, 48, 1, None, None), &defaults()).unwrap();
    assert_eq!(
        sampling_factors(&photo.full.bytes),
        vec![(2, 2), (1, 1), (1, 1)]
    );
    let shot = process(&samples::png_screenshot(64, 48), &defaults()).unwrap();
    assert_eq!(sampling_factors(&shot.full.bytes), vec![(1, 1); 3]);
}

// ---------------------------------------------------------------- legibility

/// How a screenshot's text survives: PSNR of luma against the source, mean luma of ink and of
/// background, and mean |G − B|-free redness of the red ink.
#[derive(Debug)]
struct Legibility {
    psnr_db: f64,
    ink_luma: f64,
    paper_luma: f64,
    red_ink: [f64; 3],
}

fn legibility(source: &[u8], out: &RgbImage) -> Legibility {
    let luma =
        |p: &[u8]| 0.299 * f64::from(p[0]) + 0.587 * f64::from(p[1]) + 0.114 * f64::from(p[2]);
    let (mut squared, mut n) = (0.0, 0.0);
    let (mut ink, mut ink_n, mut paper, mut paper_n) = (0.0, 0.0, 0.0, 0.0);
    let (mut red, mut red_n) = ([0.0; 3], 0.0);
    for (src, dst) in source.chunks_exact(3).zip(out.pixels()) {
        let (s, d) = (luma(src), luma(&dst.0));
        squared += (s - d).powi(2);
        n += 1.0;
        match src {
            [0, 0, 0] => (ink, ink_n) = (ink + d, ink_n + 1.0),
            [255, 255, 255] => (paper, paper_n) = (paper + d, paper_n + 1.0),
            [200, 0, 0] => {
                for (sum, &v) in red.iter_mut().zip(&dst.0) {
                    *sum += f64::from(v);
                }
                red_n += 1.0;
            }
            _ => {}
        }
    }
    Legibility {
        psnr_db: 10.0 * (255.0f64.powi(2) / (squared / n)).log10(),
        ink_luma: ink / ink_n,
        paper_luma: paper / paper_n,
        red_ink: red.map(|v| v / red_n),
    }
}

#[test]
fn screenshots_stay_legible() {
    let (w, h) = (1280, 800);
    let source = samples::screenshot_pixels(w, h);
    let photo = process(&samples::png_screenshot(w, h), &defaults()).unwrap();
    assert_eq!((photo.full.width, photo.full.height), (w, h));
    let ours = legibility(&source, &rgb(&photo.full.bytes));

    // The same pixels encoded as if they were a photo (quality 80, 4:2:0), for comparison.
    let pixels = Pixels {
        width: w,
        height: h,
        layout: Layout::Rgb,
        data: source.clone(),
    };
    let as_photo =
        encode::encode(&pixels, &encode::Settings::for_source(false, &defaults())).unwrap();
    let photo_settings = legibility(&source, &rgb(&as_photo.bytes));

    eprintln!("screenshot settings: {ours:?}\nphoto settings: {photo_settings:?}");
    // Measured: 40.5 dB, ink 1.3, paper 253.7, red ink (200, 2, 4) against the source's
    // (200, 0, 0); at photo settings 33.5 dB and red ink (153, 20, 26).
    assert!(ours.psnr_db >= 37.0, "{ours:?}");
    assert!(
        ours.ink_luma <= 15.0 && ours.paper_luma >= 250.0,
        "{ours:?}"
    );
    let [r, g, b] = ours.red_ink;
    assert!(
        r >= 185.0 && g <= 15.0 && b <= 15.0,
        "red text stays red: {ours:?}"
    );
    assert!(
        ours.psnr_db > photo_settings.psnr_db + 4.0,
        "screenshot settings {ours:?} vs photo settings {photo_settings:?}"
    );
}
