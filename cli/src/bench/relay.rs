//! A loopback TCP relay in front of the server that counts the bytes crossing it each way, so a
//! bench can report what went over the wire — HTTP headers and framing included, as a peer's
//! websocket bytes are counted (`bench/peers/`).

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use super::{BenchError, step};

/// Bytes that crossed the relay since it started.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct Wire {
    pub up: u64,
    pub down: u64,
}

impl std::ops::Sub for Wire {
    type Output = Wire;
    fn sub(self, earlier: Wire) -> Wire {
        Wire {
            up: self.up - earlier.up,
            down: self.down - earlier.down,
        }
    }
}

#[derive(Default)]
struct Counters {
    up: AtomicU64,
    down: AtomicU64,
}

/// The relay; it runs until the process ends (a bench's lifetime).
pub(super) struct Relay {
    pub url: String,
    counters: Arc<Counters>,
}

impl Relay {
    /// Relays `http://127.0.0.1:PORT` of `target_url` on a port of its own.
    pub fn start(target_url: &str) -> Result<Relay, BenchError> {
        let target = target_url
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .to_owned();
        let listener = TcpListener::bind("127.0.0.1:0").map_err(step("relay bind"))?;
        let port = listener.local_addr().map_err(step("relay address"))?.port();
        let counters = Arc::new(Counters::default());
        let shared = counters.clone();
        std::thread::spawn(move || {
            for client in listener.incoming().map_while(Result::ok) {
                let Ok(server) = TcpStream::connect(&target) else {
                    continue;
                };
                let counters = shared.clone();
                std::thread::spawn(move || relay(client, server, &counters));
            }
        });
        Ok(Relay {
            url: format!("http://127.0.0.1:{port}"),
            counters,
        })
    }

    pub fn counted(&self) -> Wire {
        Wire {
            up: self.counters.up.load(Ordering::SeqCst),
            down: self.counters.down.load(Ordering::SeqCst),
        }
    }
}

fn relay(client: TcpStream, server: TcpStream, counters: &Arc<Counters>) {
    let _ = client.set_nodelay(true);
    let _ = server.set_nodelay(true);
    let (Ok(client_in), Ok(server_in)) = (client.try_clone(), server.try_clone()) else {
        return;
    };
    let down_counters = counters.clone();
    let down = std::thread::spawn(move || copy(server_in, client, &down_counters.down));
    copy(client_in, server, &counters.up);
    let _ = down.join();
}

/// Copies until either side closes, counting into `counter`; then closes both ways.
fn copy(mut from: TcpStream, mut to: TcpStream, counter: &AtomicU64) {
    let mut buf = [0u8; 64 * 1024];
    loop {
        match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                if to.write_all(&buf[..n]).is_err() {
                    break;
                }
                counter.fetch_add(n as u64, Ordering::SeqCst);
            }
        }
    }
    let _ = to.shutdown(Shutdown::Both);
    let _ = from.shutdown(Shutdown::Both);
}
