//! Times the photo pipeline on one file, for `scripts/bench-photo.sh`.
//!
//! ```text
//! photo_pipeline run FILE [--runs N] [--no-warmup] [--quality Q] [--out DIR] [--steps]
//!     runs `photo::process` N times (after one warm-up unless --no-warmup), prints the median
//!     and the output sizes; --out writes full.jpg and thumb.jpg; --steps also times decode,
//!     resize and encode on their own (the same crates and settings the pipeline uses), and
//!     with --out writes the resized pixels as resized.ppm (to encode them with cjpeg) and
//!     their jpeg-encoder encoding as resized.jpg
//! photo_pipeline make-sample OUT.jpg [WIDTH HEIGHT]
//!     writes the photo-like JPEG of `fieldwork-test-images` (default 4000 × 3000)
//! ```
//!
//! Build it with `--release`; it reads and writes files, the pipeline itself does not.

use std::hint::black_box;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use fieldwork_core::photo::{self, PhotoOptions};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("run") => run(&args[1..]),
        Some("make-sample") => make_sample(&args[1..]),
        _ => Err(USAGE.to_owned()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("{message}");
            ExitCode::FAILURE
        }
    }
}

const USAGE: &str = "usage: photo_pipeline run FILE [--runs N] [--no-warmup] [--quality Q] [--out DIR] [--steps]\n       photo_pipeline make-sample OUT.jpg [WIDTH HEIGHT]";

fn run(args: &[String]) -> Result<(), String> {
    let mut file = None;
    let mut runs = 15usize;
    let mut options = PhotoOptions::default();
    let mut out_dir = None;
    let mut steps = false;
    let mut warm_up = true;
    let mut iter = args.iter();
    while let Some(arg) = iter.next() {
        let mut value = |name: &str| iter.next().ok_or(format!("{name} needs a value"));
        match arg.as_str() {
            "--runs" => runs = parse(value("--runs")?)?,
            "--quality" => options.quality = parse(value("--quality")?)?,
            "--out" => out_dir = Some(PathBuf::from(value("--out")?)),
            "--steps" => steps = true,
            "--no-warmup" => warm_up = false,
            other if file.is_none() && !other.starts_with("--") => {
                file = Some(PathBuf::from(other))
            }
            other => return Err(format!("unknown argument {other}\n{USAGE}")),
        }
    }
    let file = file.ok_or(USAGE)?;
    let input = std::fs::read(&file).map_err(|e| format!("cannot read the input: {e}"))?;

    if warm_up {
        photo::process(&input, &options).map_err(|e| e.to_string())?;
    }
    let mut times = Vec::with_capacity(runs);
    let mut result = None;
    for _ in 0..runs.max(1) {
        let start = Instant::now();
        result = Some(photo::process(&input, &options).map_err(|e| e.to_string())?);
        times.push(start.elapsed());
    }
    let result = result.ok_or("no run")?;
    println!(
        "process: median {:.1} ms, min {:.1} ms over {} runs; input {} B; full {}x{} {} B; thumb {}x{} {} B",
        ms(median(&mut times)),
        ms(times[0]),
        times.len(),
        input.len(),
        result.full.width,
        result.full.height,
        result.full.bytes.len(),
        result.thumb.width,
        result.thumb.height,
        result.thumb.bytes.len(),
    );
    if let Some(dir) = &out_dir {
        std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
        std::fs::write(dir.join("full.jpg"), &result.full.bytes).map_err(|e| e.to_string())?;
        std::fs::write(dir.join("thumb.jpg"), &result.thumb.bytes).map_err(|e| e.to_string())?;
    }
    if steps {
        time_steps(&input, &options, runs.max(1), out_dir.as_deref())?;
    }
    Ok(())
}

/// Times each step alone with the crates and settings the pipeline uses.
fn time_steps(
    input: &[u8],
    options: &PhotoOptions,
    runs: usize,
    out_dir: Option<&std::path::Path>,
) -> Result<(), String> {
    use fast_image_resize::images::{Image, ImageRef};
    use fast_image_resize::{FilterType, PixelType, ResizeAlg, ResizeOptions, Resizer};
    use jpeg_encoder::{ChromaSubsamplingMethod, ColorType, Encoder, SamplingFactor};

    let decoded = image::load_from_memory(input)
        .map_err(|e| e.to_string())?
        .to_rgb8();
    let (w, h) = decoded.dimensions();
    let scale = f64::from(options.max_edge) / f64::from(w.max(h));
    let (fw, fh) = (
        (f64::from(w) * scale).round() as u32,
        (f64::from(h) * scale).round() as u32,
    );
    let decode = time(runs, || {
        let _ = black_box(image::load_from_memory(input));
    });
    let src = ImageRef::new(w, h, decoded.as_raw(), PixelType::U8x3).map_err(|e| e.to_string())?;
    let mut resizer = Resizer::new();
    let mut resize_with = |filter| {
        let resize_options = ResizeOptions::new().resize_alg(ResizeAlg::Convolution(filter));
        let mut dst = Image::new(fw, fh, PixelType::U8x3);
        let elapsed = time(runs, || {
            let _ = resizer.resize(&src, &mut dst, &resize_options);
        });
        (elapsed, dst)
    };
    let (lanczos, _) = resize_with(FilterType::Lanczos3);
    let (catmull_rom, full) = resize_with(FilterType::CatmullRom);
    let (bilinear, _) = resize_with(FilterType::Bilinear);
    let encode = |sampling, quality: u8| {
        let mut bytes = Vec::new();
        let mut encoder = Encoder::new(&mut bytes, quality);
        encoder.set_sampling_factor(sampling);
        encoder.set_chroma_subsampling_method(ChromaSubsamplingMethod::Average);
        let _ = encoder.encode(full.buffer(), fw as u16, fh as u16, ColorType::Rgb);
        bytes
    };
    let encode_with = |sampling, quality: u8| {
        time(runs, || {
            black_box(encode(sampling, quality));
        })
    };
    if let Some(dir) = out_dir {
        let mut ppm = format!("P6\n{fw} {fh}\n255\n").into_bytes();
        ppm.extend_from_slice(full.buffer());
        std::fs::write(dir.join("resized.ppm"), ppm).map_err(|e| e.to_string())?;
        let ours = encode(SamplingFactor::R_4_2_0, options.quality);
        std::fs::write(dir.join("resized.jpg"), &ours).map_err(|e| e.to_string())?;
    }
    println!(
        "steps (median of {runs}): decode {:.1} ms; resize to {fw}x{fh}: Lanczos3 {:.1} ms, CatmullRom {:.1} ms, Bilinear {:.1} ms; encode {fw}x{fh} q{}: 4:2:0 {:.1} ms, 4:4:4 q90 {:.1} ms",
        ms(decode),
        ms(lanczos),
        ms(catmull_rom),
        ms(bilinear),
        options.quality,
        ms(encode_with(SamplingFactor::R_4_2_0, options.quality)),
        ms(encode_with(SamplingFactor::R_4_4_4, 90)),
    );
    Ok(())
}

fn make_sample(args: &[String]) -> Result<(), String> {
    let out = args.first().ok_or(USAGE)?;
    let width = args.get(1).map(|s| parse(s)).transpose()?.unwrap_or(4000);
    let height = args.get(2).map(|s| parse(s)).transpose()?.unwrap_or(3000);
    let jpeg = fieldwork_test_images::photo_like_jpeg(width, height);
    std::fs::write(out, &jpeg).map_err(|e| format!("cannot write the sample: {e}"))?;
    println!("wrote {width}x{height} photo-like JPEG, {} B", jpeg.len());
    Ok(())
}

fn time(runs: usize, mut f: impl FnMut()) -> Duration {
    f();
    let mut times: Vec<Duration> = (0..runs)
        .map(|_| {
            let start = Instant::now();
            f();
            start.elapsed()
        })
        .collect();
    median(&mut times)
}

fn median(times: &mut [Duration]) -> Duration {
    times.sort();
    times[times.len() / 2]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn parse<T: std::str::FromStr>(s: &str) -> Result<T, String> {
    s.parse().map_err(|_| format!("not a number: {s}"))
}
