//! An alert storm for `bench load --alerts N`: N machine alerts for 5 assets posted to the
//! server's IoT channel by 25 concurrent clients as fast as they go, while the devices sync — so
//! the devices' round-trip figures show what a storm does to the sync path (docs/channels.md,
//! "Storms").

use std::time::{Duration, Instant};

/// Concurrent clients of the storm.
const CLIENTS: usize = 25;
/// Assets the alerts are about.
const ASSETS: usize = 5;

/// What a storm came to.
#[derive(Debug, Default)]
pub(super) struct Storm {
    pub sent: usize,
    pub created: usize,
    pub folded: usize,
    pub refused: usize,
    pub elapsed: Duration,
}

/// Posts `alerts` alerts to `server`'s `/intake/iot` with `token`.
pub(super) async fn run(server: String, token: String, alerts: usize) -> Storm {
    let client = match reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
    {
        Ok(client) => client,
        Err(_) => return Storm::default(),
    };
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(CLIENTS);
    for c in 0..CLIENTS {
        let (client, url, token) = (
            client.clone(),
            format!("{server}/intake/iot"),
            token.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let mut storm = Storm::default();
            for n in (c..alerts).step_by(CLIENTS) {
                let (asset, step) = (n % ASSETS, n / ASSETS);
                let body = format!(
                    r#"{{"asset":"BENCH-{asset}","metric":"temperature_c","value":{},"threshold":-12,"severity":"critical","at":"2026-12-01T{:02}:{:02}:{:02}Z"}}"#,
                    -5.0 + step as f64 * 0.01,
                    (step / 3600) % 24,
                    (step / 60) % 60,
                    step % 60
                );
                storm.sent += 1;
                let answer = client
                    .post(&url)
                    .bearer_auth(&token)
                    .header("content-type", "application/json")
                    .body(body)
                    .send()
                    .await;
                let outcome = match answer {
                    Ok(a) if a.status().is_success() => a
                        .text()
                        .await
                        .ok()
                        .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
                        .and_then(|v| v["outcome"].as_str().map(str::to_owned)),
                    _ => None,
                };
                match outcome.as_deref() {
                    Some("created") => storm.created += 1,
                    Some("folded") => storm.folded += 1,
                    _ => storm.refused += 1,
                }
            }
            storm
        }));
    }
    let mut total = Storm::default();
    for task in tasks {
        if let Ok(s) = task.await {
            total.sent += s.sent;
            total.created += s.created;
            total.folded += s.folded;
            total.refused += s.refused;
        }
    }
    total.elapsed = started.elapsed();
    total
}
