use jpeg_encoder::*;
use std::time::Instant;
fn main() {
    let ppm = std::fs::read("target/photo-bench/ours/resized.ppm").unwrap();
    let data = &ppm[ppm.len() - 1920 * 1440 * 3..];
    let src = image::RgbImage::from_raw(1920, 1440, data.to_vec()).unwrap();
    for (name, prog, opt) in [("baseline", false, false), ("baseline opt", false, true), ("progressive", true, true)] {
        let mut best = f64::MAX; let mut out = Vec::new();
        for _ in 0..7 {
            out.clear();
            let t = Instant::now();
            let mut e = Encoder::new(&mut out, 80);
            e.set_sampling_factor(SamplingFactor::R_4_2_0);
            e.set_chroma_subsampling_method(ChromaSubsamplingMethod::Average);
            e.set_progressive(prog);
            e.set_optimized_huffman_tables(opt);
            e.encode(data, 1920, 1440, ColorType::Rgb).unwrap();
            best = best.min(t.elapsed().as_secs_f64() * 1000.0);
        }
        let d = image::load_from_memory(&out).unwrap().to_rgb8();
        let mse: f64 = d.as_raw().iter().zip(src.as_raw()).map(|(&a, &b)| (a as f64 - b as f64).powi(2)).sum::<f64>() / data.len() as f64;
        std::fs::write(format!("target/photo-bench/scratch-{}.jpg", name.replace(' ', "-")), &out).unwrap();
        println!("{name}: {} B, {:.1} ms, zune PSNR {:.2} dB", out.len(), best, 10.0 * (65025.0 / mse).log10());
    }
}
