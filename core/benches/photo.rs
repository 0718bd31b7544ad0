//! Benchmarks of the photo pipeline against the DESIGN.md budget (12 MP JPEG → 1920 px JPEG +
//! 320 px thumbnail on one core, ≤ 0.6× `vipsthumbnail`): the whole of `photo::process`, and
//! each step alone with the crates and settings the pipeline uses, so a regression shows where.
//! Inputs come from `photo::samples` (a photo-like 12 MP JPEG, a 2560 × 1600 screenshot).
//!
//! Run: `taskset -c 0 cargo bench -p fieldwork-core --bench photo`.
//! The comparison with vipsthumbnail and ImageMagick is `scripts/bench-photo.sh`.

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group};
use fast_image_resize::images::{Image, ImageRef};
use fast_image_resize::{FilterType, PixelType, ResizeAlg, ResizeOptions, Resizer};
use fieldwork_core::photo::{self, PhotoOptions};
use fieldwork_test_images as samples;
use jpeg_encoder::{ChromaSubsamplingMethod, ColorType, Encoder, SamplingFactor};

fn pipeline(c: &mut Criterion) {
    let jpeg = samples::photo_like_jpeg(4000, 3000);
    let screenshot = samples::png_screenshot(2560, 1600);
    let options = PhotoOptions::default();
    let mut group = c.benchmark_group("photo");
    group.bench_function("process 12 MP JPEG", |b| {
        b.iter(|| photo::process(black_box(&jpeg), &options).expect("processes"))
    });
    group.bench_function("process 2560x1600 PNG screenshot", |b| {
        b.iter(|| photo::process(black_box(&screenshot), &options).expect("processes"))
    });
    group.finish();
}

fn steps(c: &mut Criterion) {
    let jpeg = samples::photo_like_jpeg(4000, 3000);
    let decoded = image::load_from_memory(&jpeg).expect("decodes").to_rgb8();
    let src = ImageRef::new(4000, 3000, decoded.as_raw(), PixelType::U8x3).expect("fits");
    let mut group = c.benchmark_group("photo step");
    group.bench_function("decode 12 MP JPEG (image / zune-jpeg)", |b| {
        b.iter(|| image::load_from_memory(black_box(&jpeg)).expect("decodes"))
    });
    let mut resizer = Resizer::new();
    let mut full = Image::new(1920, 1440, PixelType::U8x3);
    for filter in [FilterType::CatmullRom, FilterType::Lanczos3] {
        let options = ResizeOptions::new().resize_alg(ResizeAlg::Convolution(filter));
        group.bench_function(format!("resize 12 MP to 1920x1440 ({filter:?})"), |b| {
            b.iter(|| resizer.resize(&src, &mut full, &options).expect("resizes"))
        });
    }
    for (name, sampling, quality) in [
        ("encode 1920x1440 q80 4:2:0", SamplingFactor::R_4_2_0, 80),
        ("encode 1920x1440 q90 4:4:4", SamplingFactor::R_4_4_4, 90),
    ] {
        group.bench_function(name, |b| {
            b.iter(|| {
                let mut out = Vec::new();
                let mut encoder = Encoder::new(&mut out, quality);
                encoder.set_sampling_factor(sampling);
                encoder.set_chroma_subsampling_method(ChromaSubsamplingMethod::Average);
                encoder
                    .encode(full.buffer(), 1920, 1440, ColorType::Rgb)
                    .expect("encodes");
                out
            })
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(10).measurement_time(Duration::from_secs(8));
    targets = pipeline, steps
}

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
}
