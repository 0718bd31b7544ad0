//! A loopback TCP proxy that forwards bytes to a target and can cut the connection after a set
//! number of bytes in either direction, or refuse connections: network faults on demand. In
//! chaos mode ([`Proxy::set_chaos`]) each connection's fault is drawn from a seed instead
//! (`chaos.rs`).

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU16, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use super::chaos::{Chaos, Counts, Plan};

/// The most request bytes a duplicated connection keeps to send again.
const MAX_DUPLICATE: usize = 8 << 20;

#[derive(Default)]
struct Faults {
    /// Cut a connection once this many request bytes went up (0 = never).
    cut_up_after: AtomicUsize,
    /// Cut a connection once this many response bytes came down (0 = never).
    cut_down_after: AtomicUsize,
    /// How many connections to cut before behaving again.
    cuts_left: AtomicUsize,
    /// Refuse every connection (the network is down).
    down: AtomicBool,
    target_port: AtomicU16,
    cuts_done: AtomicUsize,
    /// Seeded faults for every connection, while set.
    chaos: Mutex<Option<Chaos>>,
}

/// The proxy; connections go to `127.0.0.1:target_port`.
pub struct Proxy {
    pub url: String,
    faults: Arc<Faults>,
}

impl Proxy {
    pub fn start(target_port: u16) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("proxy binds");
        let port = listener.local_addr().expect("addr").port();
        let faults = Arc::new(Faults::default());
        faults.target_port.store(target_port, Ordering::SeqCst);
        let shared = faults.clone();
        std::thread::spawn(move || {
            for client in listener.incoming().map_while(Result::ok) {
                let faults = shared.clone();
                std::thread::spawn(move || handle(client, faults));
            }
        });
        Proxy {
            url: format!("http://127.0.0.1:{port}"),
            faults,
        }
    }

    /// Cuts the next `times` connections after `up` request bytes or `down` response bytes.
    pub fn cut(&self, up: usize, down: usize, times: usize) {
        self.faults.cut_up_after.store(up, Ordering::SeqCst);
        self.faults.cut_down_after.store(down, Ordering::SeqCst);
        self.faults.cuts_left.store(times, Ordering::SeqCst);
    }

    pub fn set_down(&self, down: bool) {
        self.faults.down.store(down, Ordering::SeqCst);
    }

    pub fn retarget(&self, port: u16) {
        self.faults.target_port.store(port, Ordering::SeqCst);
    }

    pub fn cuts_done(&self) -> usize {
        self.faults.cuts_done.load(Ordering::SeqCst)
    }

    /// Draws each new connection's fault from `seed` from now on (`None`: behave again);
    /// returns what the chaos that ends did.
    pub fn set_chaos(&self, seed: Option<u64>) -> Option<Counts> {
        let mut chaos = self.faults.chaos.lock().expect("chaos lock");
        let ended = chaos.take().map(|c| c.counts);
        *chaos = seed.map(Chaos::new);
        ended
    }
}

fn handle(client: TcpStream, faults: Arc<Faults>) {
    if faults.down.load(Ordering::SeqCst) {
        let _ = client.shutdown(Shutdown::Both);
        return;
    }
    let plan = faults
        .chaos
        .lock()
        .expect("chaos lock")
        .as_mut()
        .map_or(Plan::Pass, Chaos::plan);
    match plan {
        Plan::Refuse => {
            let _ = client.shutdown(Shutdown::Both);
            return;
        }
        Plan::Delay(by) => std::thread::sleep(by),
        _ => {}
    }
    let port = faults.target_port.load(Ordering::SeqCst);
    let Ok(server) = TcpStream::connect(("127.0.0.1", port)) else {
        let _ = client.shutdown(Shutdown::Both);
        return;
    };
    // Decide once per connection whether it is one of the ones to cut.
    let armed = faults
        .cuts_left
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok();
    let (mut up_limit, mut down_limit) = if armed {
        (
            faults.cut_up_after.load(Ordering::SeqCst),
            faults.cut_down_after.load(Ordering::SeqCst),
        )
    } else {
        (0, 0)
    };
    match plan {
        Plan::CutUp(at) => up_limit = at,
        Plan::CutDown(at) => down_limit = at,
        _ => {}
    }
    let (Ok(client2), Ok(server2)) = (client.try_clone(), server.try_clone()) else {
        return;
    };
    let f_up = faults.clone();
    let keep = matches!(plan, Plan::Duplicate(_));
    let up = std::thread::spawn(move || {
        let mut sent = keep.then(Vec::new);
        pump(client, server, up_limit, &f_up, sent.as_mut());
        sent
    });
    pump(server2, client2, down_limit, &faults, None);
    let sent = up.join().ok().flatten();
    if let (Plan::Duplicate(after), Some(bytes)) = (plan, sent) {
        std::thread::spawn(move || {
            std::thread::sleep(after);
            send_again(port, &bytes);
        });
    }
}

/// Sends a connection's request bytes to the server again on a new connection, and reads the
/// answer away.
fn send_again(port: u16, bytes: &[u8]) {
    let Ok(mut server) = TcpStream::connect(("127.0.0.1", port)) else {
        return;
    };
    if server.write_all(bytes).is_err() {
        return;
    }
    let _ = server.shutdown(Shutdown::Write);
    let _ = std::io::copy(&mut server, &mut std::io::sink());
}

/// Copies `from` → `to`; after `limit` bytes (if non-zero) both sockets are shut. What went
/// through is kept in `sent` when given (up to [`MAX_DUPLICATE`]).
fn pump(
    mut from: TcpStream,
    mut to: TcpStream,
    limit: usize,
    faults: &Faults,
    mut sent: Option<&mut Vec<u8>>,
) {
    let mut buf = [0u8; 4096];
    let mut total = 0usize;
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        let allowed = if limit > 0 {
            n.min(limit.saturating_sub(total))
        } else {
            n
        };
        if allowed > 0 && to.write_all(&buf[..allowed]).is_err() {
            break;
        }
        if let Some(sent) = sent.as_deref_mut()
            && sent.len() + allowed <= MAX_DUPLICATE
        {
            sent.extend_from_slice(&buf[..allowed]);
        }
        total += allowed;
        if limit > 0 && total >= limit {
            faults.cuts_done.fetch_add(1, Ordering::SeqCst);
            let _ = from.shutdown(Shutdown::Both);
            let _ = to.shutdown(Shutdown::Both);
            return;
        }
    }
    let _ = to.shutdown(Shutdown::Write);
}
