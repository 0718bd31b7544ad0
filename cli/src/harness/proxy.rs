//! A round-robin TCP proxy on loopback in front of several server replicas, as a load balancer
//! would be: each new client connection goes to the next replica in turn, and a replica that
//! refuses (it is down) is passed over for the next one at once. Plain threads: one accepts,
//! and each connection gets two that copy bytes, one per direction.

use std::io;
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread::JoinHandle;

/// The proxy, accepting until dropped. Connections already open when it drops run on until
/// either side closes them.
#[derive(Debug)]
pub struct RoundRobin {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    accept: Option<JoinHandle<()>>,
}

impl RoundRobin {
    /// Listens on `127.0.0.1:0` and forwards to `backends` in turn.
    pub fn start(backends: Vec<SocketAddr>) -> io::Result<RoundRobin> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let addr = listener.local_addr()?;
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = stop.clone();
        let backends = Arc::new(Backends {
            addrs: backends,
            next: AtomicUsize::new(0),
        });
        let accept = std::thread::Builder::new()
            .name("harness-proxy".to_owned())
            .spawn(move || {
                for client in listener.incoming() {
                    if stopped.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(client) = client else { continue };
                    let backends = backends.clone();
                    std::thread::spawn(move || forward(client, &backends));
                }
            })?;
        Ok(RoundRobin {
            addr,
            stop,
            accept: Some(accept),
        })
    }

    /// Where clients connect.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
}

impl Drop for RoundRobin {
    /// Stops accepting: the flag, then a connection of its own to wake the blocked accept.
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if TcpStream::connect(self.addr).is_ok()
            && let Some(accept) = self.accept.take()
        {
            let _ = accept.join();
        }
    }
}

#[derive(Debug)]
struct Backends {
    addrs: Vec<SocketAddr>,
    /// The turn of the next client connection.
    next: AtomicUsize,
}

impl Backends {
    /// A connection to the backend whose turn it is, or to the next one up that accepts.
    fn connect(&self) -> Option<TcpStream> {
        let first = self.next.fetch_add(1, Ordering::Relaxed);
        (0..self.addrs.len())
            .map(|i| self.addrs[(first + i) % self.addrs.len()])
            .find_map(|addr| TcpStream::connect(addr).ok())
    }
}

/// Relays one client connection (on its own thread) until both directions are done. With every
/// backend down the client's connection is closed at once, which it sees as a server it cannot
/// reach.
fn forward(client: TcpStream, backends: &Backends) {
    let Some(backend) = backends.connect() else {
        let _ = client.shutdown(Shutdown::Both);
        return;
    };
    let (Ok(client_reader), Ok(backend_writer)) = (client.try_clone(), backend.try_clone()) else {
        let _ = client.shutdown(Shutdown::Both);
        let _ = backend.shutdown(Shutdown::Both);
        return;
    };
    let up = std::thread::spawn(move || copy(client_reader, backend_writer));
    copy(backend, client);
    let _ = up.join();
}

/// Copies `from` into `to` until `from` ends, then passes the end on. A failure on either side
/// (a reset, a killed backend) ends both directions of both connections.
fn copy(mut from: TcpStream, mut to: TcpStream) {
    if io::copy(&mut from, &mut to).is_ok() {
        let _ = to.shutdown(Shutdown::Write);
    } else {
        let _ = from.shutdown(Shutdown::Both);
        let _ = to.shutdown(Shutdown::Both);
    }
}

#[cfg(test)]
mod tests {
    use std::io::{BufRead, BufReader, Write};

    use super::*;

    /// A listener that answers each line with `name` and the line.
    fn echo(name: &'static str) -> SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").expect("binds");
        let addr = listener.local_addr().expect("addr");
        std::thread::spawn(move || {
            for stream in listener.incoming().map_while(Result::ok) {
                std::thread::spawn(move || {
                    let mut out = stream.try_clone().expect("clone");
                    for line in BufReader::new(stream).lines().map_while(Result::ok) {
                        if writeln!(out, "{name} {line}").is_err() {
                            break;
                        }
                    }
                });
            }
        });
        addr
    }

    /// A loopback address nothing listens on.
    fn dead() -> SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").expect("binds");
        listener.local_addr().expect("addr")
    }

    /// One new connection through the proxy: who answers `line`.
    fn ask(proxy: &RoundRobin, line: &str) -> String {
        let mut stream = TcpStream::connect(proxy.addr()).expect("connects");
        writeln!(stream, "{line}").expect("writes");
        let mut answer = String::new();
        BufReader::new(stream)
            .read_line(&mut answer)
            .expect("reads");
        answer.trim_end().to_owned()
    }

    #[test]
    fn connections_take_turns_and_a_dead_backend_is_passed_over() {
        let proxy = RoundRobin::start(vec![echo("a"), echo("b")]).expect("starts");
        let answers: Vec<String> = (0..4).map(|i| ask(&proxy, &i.to_string())).collect();
        assert_eq!(answers, ["a 0", "b 1", "a 2", "b 3"]);

        let proxy = RoundRobin::start(vec![echo("a"), dead(), echo("c")]).expect("starts");
        let answers: Vec<String> = (0..3).map(|i| ask(&proxy, &i.to_string())).collect();
        assert_eq!(
            answers,
            ["a 0", "c 1", "c 2"],
            "the dead one's turn goes to the next"
        );
    }

    #[test]
    fn with_every_backend_down_a_client_sees_its_connection_closed() {
        let proxy = RoundRobin::start(vec![dead(), dead()]).expect("starts");
        let mut stream = TcpStream::connect(proxy.addr()).expect("connects");
        let _ = writeln!(stream, "anyone?");
        let mut answer = String::new();
        let read = BufReader::new(stream).read_line(&mut answer);
        assert!(matches!(read, Ok(0) | Err(_)), "{read:?} {answer:?}");
    }

    #[test]
    fn a_dropped_proxy_stops_accepting() {
        let proxy = RoundRobin::start(vec![echo("a")]).expect("starts");
        let addr = proxy.addr();
        drop(proxy);
        assert!(
            TcpStream::connect(addr).is_err(),
            "nothing listens any more"
        );
    }
}
