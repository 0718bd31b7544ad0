//! Turning the stored pixels upright by the EXIF orientation (1–8). Done after downscaling, on a
//! quarter of the pixels: a permutation of pixels commutes with a separable resize.

use super::pixels::{Layout, Pixels};

/// Square tiles for the transposing orientations, so reads walk down columns within cache.
const TILE: usize = 64;

/// Returns the pixels as they should be displayed. `orientation` follows EXIF (TIFF 6.0): the
/// position of the stored row 0 / column 0 — 1 top/left (as stored), 2 top/right (mirrored),
/// 3 bottom/right (180°), 4 bottom/left (flipped), 5 left/top (transposed), 6 right/top (turn
/// 90° clockwise), 7 right/bottom (transversed), 8 left/bottom (turn 90° anticlockwise).
/// Values outside 1–8 are treated as 1.
pub(super) fn apply(pixels: Pixels, orientation: u16) -> Pixels {
    if !(2..=8).contains(&orientation) {
        return pixels;
    }
    match pixels.layout {
        Layout::Grey => apply_channels::<1>(pixels, orientation),
        Layout::Rgb => apply_channels::<3>(pixels, orientation),
    }
}

fn apply_channels<const N: usize>(pixels: Pixels, orientation: u16) -> Pixels {
    let (w, h) = (pixels.width as usize, pixels.height as usize);
    let src = &pixels.data;
    let mut out = vec![0u8; src.len()];
    let row = w * N;
    let reversed_row = |dst: &mut [u8], src: &[u8]| {
        for (d, s) in dst.chunks_exact_mut(N).zip(src.chunks_exact(N).rev()) {
            d.copy_from_slice(s);
        }
    };
    // The source (x, y) shown at display position (x, y), for the transposing orientations.
    let transposed: fn(usize, usize, usize, usize) -> (usize, usize) = match orientation {
        2 => {
            for (dst, src) in out.chunks_exact_mut(row).zip(src.chunks_exact(row)) {
                reversed_row(dst, src);
            }
            return with_data(pixels, out, false);
        }
        3 => {
            for (dst, src) in out.chunks_exact_mut(row).zip(src.chunks_exact(row).rev()) {
                reversed_row(dst, src);
            }
            return with_data(pixels, out, false);
        }
        4 => {
            for (dst, src) in out.chunks_exact_mut(row).zip(src.chunks_exact(row).rev()) {
                dst.copy_from_slice(src);
            }
            return with_data(pixels, out, false);
        }
        5 => |x, y, _w, _h| (y, x),
        6 => |x, y, _w, h| (y, h - 1 - x),
        7 => |x, y, w, h| (w - 1 - y, h - 1 - x),
        _ => |x, y, w, _h| (w - 1 - y, x),
    };
    // Display size is h × w.
    let (display_w, display_h) = (h, w);
    for tile_y in (0..display_h).step_by(TILE) {
        for tile_x in (0..display_w).step_by(TILE) {
            for y in tile_y..(tile_y + TILE).min(display_h) {
                for x in tile_x..(tile_x + TILE).min(display_w) {
                    let (sx, sy) = transposed(x, y, w, h);
                    let s = (sy * w + sx) * N;
                    let d = (y * display_w + x) * N;
                    out[d..d + N].copy_from_slice(&src[s..s + N]);
                }
            }
        }
    }
    with_data(pixels, out, true)
}

fn with_data(pixels: Pixels, data: Vec<u8>, swap: bool) -> Pixels {
    let (width, height) = if swap {
        (pixels.height, pixels.width)
    } else {
        (pixels.width, pixels.height)
    };
    Pixels {
        width,
        height,
        layout: pixels.layout,
        data,
    }
}
