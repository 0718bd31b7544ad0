//! The knowledge base on the device (`docs/knowledge-base.md`, "On devices"), at a size a large
//! tenant publishes: applying sync answers of 100 articles each, offline search in Chinese and
//! English, and suggestions for a ticket, over 5,000 articles.
//!
//! Run: `cargo bench -p fieldwork-core --bench kb`. Besides criterion's means, p50/p99 of single
//! calls are printed at the end, and the store's size on disk.

mod support;

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group};
use fieldwork_core::knowledge::{KbArticle, KbAudience, KbDelta};
use fieldwork_core::store::TicketStore;
use fieldwork_core::ticket::NewTicket;
use fieldwork_core::{Role, TicketKind};
use fieldwork_protocol::sync::SyncResponse;
use support::{actor, percentiles, quantile_ms};

const ARTICLES: usize = 5_000;
const PER_ANSWER: usize = 100;

const ZH: &[&str] = &[
    "打印机",
    "卡纸",
    "冷柜",
    "压缩机",
    "温度",
    "报警",
    "门封",
    "屏幕",
    "电池",
    "充电",
    "网络",
    "扫码枪",
    "收银",
    "热敏纸",
    "电源",
    "风扇",
    "漏水",
    "噪音",
    "重启",
    "更换",
    "检查",
    "清洁",
    "传感器",
    "主板",
    "按键",
    "显示",
    "故障",
    "维修",
    "安装",
    "调试",
];
const EN: &[&str] = &[
    "printer",
    "paper",
    "jam",
    "fridge",
    "compressor",
    "temperature",
    "alarm",
    "seal",
    "screen",
    "battery",
    "charger",
    "network",
    "scanner",
    "till",
    "thermal",
    "power",
    "fan",
    "leak",
    "noise",
    "restart",
    "replace",
    "check",
    "clean",
    "sensor",
    "board",
    "button",
    "display",
    "fault",
    "repair",
    "install",
];

/// A small deterministic generator (no dependency, same text every run).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) as usize
    }

    fn words(&mut self, from: &[&str], n: usize, sep: &str) -> String {
        (0..n)
            .map(|_| from[self.next() % from.len()])
            .collect::<Vec<_>>()
            .join(sep)
    }
}

fn article(i: usize, rng: &mut Lcg) -> KbArticle {
    let chinese = i.is_multiple_of(2);
    let (title, body) = if chinese {
        (
            rng.words(ZH, 4, ""),
            (0..12)
                .map(|_| rng.words(ZH, 8, "") + "。")
                .collect::<String>(),
        )
    } else {
        (
            rng.words(EN, 5, " "),
            (0..12)
                .map(|_| rng.words(EN, 14, " ") + ". ")
                .collect::<String>(),
        )
    };
    KbArticle {
        id: format!("article-{i:05}"),
        version: 1,
        language: if chinese { "zh" } else { "en" }.into(),
        category: Some(["printer", "refrigeration", "pos", "power"][i % 4].into()),
        audience: if i.is_multiple_of(3) {
            KbAudience::Staff
        } else {
            KbAudience::Everyone
        },
        title,
        body,
        tags: vec![rng.words(EN, 1, ""), rng.words(ZH, 1, "")],
        published_at: i as i64,
    }
}

fn answer(articles: Vec<KbArticle>, cursor: u64) -> SyncResponse {
    SyncResponse {
        server_time: 0,
        accepted: vec![],
        rejected: vec![],
        items: vec![],
        cursor: 0,
        more: false,
        people: vec![],
        kb: Some(KbDelta {
            articles,
            removed: vec![],
            cursor,
            more: false,
        }),
    }
}

/// A technician's store holding `ARTICLES` articles; answers the store, the time each answer of
/// 100 took to apply, and the id of a ticket to suggest for.
fn technician(dir: &std::path::Path) -> (TicketStore, Vec<Duration>, String) {
    let store = TicketStore::open(&dir.join("kb.db")).expect("open");
    store.init(actor("t1", Role::Technician)).expect("init");
    let mut rng = Lcg(7);
    let all: Vec<KbArticle> = (0..ARTICLES).map(|i| article(i, &mut rng)).collect();
    let mut applied = Vec::new();
    for (n, chunk) in all.chunks(PER_ANSWER).enumerate() {
        let response = answer(chunk.to_vec(), (n as u64 + 1) * PER_ANSWER as u64);
        let started = Instant::now();
        store.apply_sync_response(&response, 0).expect("applies");
        applied.push(started.elapsed());
    }
    let mut new = NewTicket::titled(TicketKind::Repair, "收银打印机卡纸 printer jam");
    new.category = Some("printer".into());
    new.description = "热敏纸 thermal paper stuck after restart".into();
    let ticket = store.create(new).expect("ticket").id;
    (store, applied, ticket)
}

const QUERIES: &[(&str, &str)] = &[
    ("zh, one common word (卡纸)", "卡纸"),
    ("zh, two words (冷柜 报警)", "冷柜 报警"),
    ("zh, a longer run (压缩机故障)", "压缩机故障"),
    ("en, one common word (printer)", "printer"),
    ("en, a prefix (therm)", "therm"),
    (
        "en, three words (fridge compressor noise)",
        "fridge compressor noise",
    ),
    ("nothing matches (walrus)", "walrus"),
];

fn bench_kb(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("dir");
    let (store, _, ticket) = technician(dir.path());
    let mut group = c.benchmark_group("kb_5000");
    for (name, query) in QUERIES {
        group.bench_function(*name, |b| {
            b.iter(|| black_box(store.kb_search(query, 10).expect("search")))
        });
    }
    group.bench_function("suggestions for a ticket", |b| {
        b.iter(|| black_box(store.kb_suggestions(&ticket, 5).expect("suggest")))
    });
    group.finish();
}

fn percentile_report() {
    println!("\npercentiles (single calls), {ARTICLES} articles:");
    let dir = tempfile::tempdir().expect("dir");
    let (store, mut applied, ticket) = technician(dir.path());
    println!(
        "{:<52} p50 {:>8.3} ms   p99 {:>8.3} ms   ({} answers)",
        format!("apply an answer of {PER_ANSWER} articles"),
        quantile_ms(&mut applied, 0.50),
        quantile_ms(&mut applied, 0.99),
        applied.len()
    );
    for (name, query) in QUERIES {
        let hits = store.kb_search(query, 10).expect("search").len();
        percentiles(&format!("search {name} → {hits} hits"), 1000, || {
            black_box(store.kb_search(query, 10).expect("search"));
        });
    }
    percentiles("suggestions for a ticket (5)", 300, || {
        black_box(store.kb_suggestions(&ticket, 5).expect("suggest"));
    });
    store.compact().expect("compacts");
    let bytes = std::fs::metadata(dir.path().join("kb.db")).map_or(0, |m| m.len());
    println!(
        "store file after compact: {:.1} MiB",
        bytes as f64 / 1024.0 / 1024.0
    );
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(30).measurement_time(Duration::from_secs(3));
    targets = bench_kb
}

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
    percentile_report();
}
