//! `fieldwork serve`: runs the sync server on a data directory until ctrl-c or SIGTERM.

use std::io::{IsTerminal as _, Write as _};
use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Args;
use fieldwork_server::config::Quotas;
use fieldwork_server::console::TileSource;
use fieldwork_server::{ConnectionLimits, LoginLimits, Server, ServerConfig, config};

use crate::units;
use tracing_subscriber::EnvFilter;

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Where the server keeps its database and photos (created on first start).
    #[arg(long, env = "FIELDWORK_DATA", default_value = "./fieldwork-data")]
    data: PathBuf,
    /// Where the records live: `sqlite` (a file in the data directory, the default) or a
    /// PostgreSQL address, postgres://user:password@host:port/database, which several servers
    /// may share.
    #[arg(long, env = "FIELDWORK_DATABASE", default_value = "sqlite")]
    database: String,
    /// Where the photo files live: `local` (in the data directory, the default) or an S3
    /// bucket, s3://bucket or s3://bucket/prefix, which several servers may share. The bucket is
    /// reached with the usual AWS_* variables: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
    /// AWS_REGION, AWS_ENDPOINT_URL for a store other than AWS, AWS_ALLOW_HTTP=true for a
    /// plain-http endpoint.
    #[arg(long, env = "FIELDWORK_BLOBS", default_value = "local")]
    blobs: String,
    /// Address to listen on; port 0 picks a free port (printed on start).
    #[arg(long, default_value = config::DEFAULT_LISTEN)]
    listen: SocketAddr,
    /// Most ticket documents kept in memory.
    #[arg(long, env = "FIELDWORK_DOC_CACHE", default_value_t = config::DEFAULT_DOC_CACHE)]
    doc_cache: usize,
    /// Most memory the documents kept may take (e.g. 64MiB), by an estimate that errs high: a
    /// ticket of 30 notes takes ~120 KB. Less memory, more documents loaded again.
    #[arg(long, env = "FIELDWORK_DOC_CACHE_MEMORY", value_parser = units::parse_size,
          default_value = "128MiB")]
    doc_cache_memory: u64,
    /// Threads for the server's blocking work (the store, judging changes). More than the
    /// machine's cores only queue for them; the default suits a small machine.
    #[arg(long, env = "FIELDWORK_BLOCKING_THREADS", default_value_t = config::BLOCKING_THREADS,
          value_parser = clap::value_parser!(u16).range(2..=1024))]
    blocking_threads: u16,
    /// Photo storage one tenant may use, uploads in progress included (e.g. 50GiB); a tenant
    /// may have its own (`fieldwork admin set-quota`).
    #[arg(long, value_parser = units::parse_size, default_value = "50GiB")]
    tenant_blob_quota: u64,
    /// Photo storage one user may use, uploads in progress included (e.g. 5GiB).
    #[arg(long, value_parser = units::parse_size, default_value = "5GiB")]
    user_blob_quota: u64,
    /// Devices one user may have registered (an admin removes old ones).
    #[arg(long, default_value_t = config::DEFAULT_DEVICES_PER_USER,
          value_parser = clap::value_parser!(u32).range(1..))]
    devices_per_user: u32,
    /// How long a stored photo no ticket names is kept after its upload (e.g. 24h, 2d).
    #[arg(long, value_parser = units::parse_duration_ms, default_value = "24h")]
    unnamed_blob_grace: i64,
    /// Most connections open at once from one address (IPv4, or IPv6 /64). Behind a reverse
    /// proxy every client has the proxy's address: raise this there.
    #[arg(long, default_value_t = ConnectionLimits::default().max_per_address)]
    max_connections_per_address: usize,
    /// Most connections open at once in total.
    #[arg(long, default_value_t = ConnectionLimits::default().max_total)]
    max_connections: usize,
    /// The first wait before a failed webhook delivery is tried again (then twice as long each
    /// time, up to an hour; a delivery is given up after a day), e.g. 10s.
    #[arg(long, value_parser = units::parse_duration_ms, default_value = "10s")]
    webhook_retry: i64,
    /// Password checks (argon2, 19 MiB each) that may run at once.
    #[arg(long, default_value_t = LoginLimits::default().hashing_slots)]
    hashing_slots: usize,
    /// Mark the back-office sessions' cookies `Secure`: set it when browsers reach the server
    /// over HTTPS (through a proxy that terminates TLS), so the cookies never travel in the clear.
    #[arg(long)]
    secure_cookies: bool,
    /// The tiles the console's dispatch map draws: a URL template with {z}, {x} and {y}, e.g.
    /// https://tile.openstreetmap.org/{z}/{x}/{y}.png. Without it the map draws positions on a
    /// plain background with coordinates (offline networks, tests).
    #[arg(long, env = "FIELDWORK_MAP_TILES", value_parser = parse_tiles)]
    map_tiles: Option<TileSource>,
    /// Who the map's tiles are from, shown on the map as plain text (your tile provider's terms
    /// say what). OpenStreetMap's own tiles are credited without it.
    #[arg(long, env = "FIELDWORK_MAP_ATTRIBUTION", requires = "map_tiles",
          value_parser = TileSource::parse_attribution)]
    map_attribution: Option<String>,
}

fn parse_tiles(text: &str) -> Result<TileSource, String> {
    TileSource::parse(text)
}

impl ServeArgs {
    /// The quota flags as the server's defaults.
    pub fn quotas(&self) -> Quotas {
        Quotas {
            tenant_blob_bytes: self.tenant_blob_quota,
            user_blob_bytes: self.user_blob_quota,
            devices_per_user: self.devices_per_user,
            unnamed_blob_grace_ms: self.unnamed_blob_grace,
        }
    }
}

/// Why the server could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error(transparent)]
    Server(#[from] fieldwork_server::Error),
    #[error("cannot start the async runtime: {0}")]
    Runtime(std::io::Error),
}

impl ServeError {
    /// 1 for bad settings, 3 for a broken data directory, socket or runtime.
    pub fn exit_code(&self) -> u8 {
        match self {
            ServeError::Server(e) if e.is_refusal() => 1,
            _ => 3,
        }
    }
}

pub fn run(args: ServeArgs) -> Result<(), ServeError> {
    // Logs go to stderr so stdout carries only the one "listening on" line scripts wait for.
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .max_blocking_threads(usize::from(args.blocking_threads))
        .enable_all()
        .build()
        .map_err(ServeError::Runtime)?;
    runtime.block_on(async {
        let quotas = args.quotas();
        let config = ServerConfig {
            listen: args.listen,
            database: Some(args.database),
            blobs: Some(args.blobs),
            doc_cache: args.doc_cache,
            doc_cache_bytes: usize::try_from(args.doc_cache_memory).unwrap_or(usize::MAX),
            quotas,
            connections: ConnectionLimits {
                max_per_address: args.max_connections_per_address,
                max_total: args.max_connections,
                ..ConnectionLimits::default()
            },
            logins: LoginLimits {
                hashing_slots: args.hashing_slots,
                ..LoginLimits::default()
            },
            webhook_retry_ms: args.webhook_retry,
            secure_cookies: args.secure_cookies,
            map_tiles: match (args.map_tiles, args.map_attribution) {
                (Some(tiles), Some(text)) => Some(tiles.with_attribution(text)),
                (tiles, _) => tiles,
            },
            ..ServerConfig::new(args.data)
        };
        let server = Server::bind(&config).await?;
        let addr = server.local_addr()?;
        println!("listening on http://{addr}");
        // A script reading our stdout through a pipe must see the line now, not at exit.
        let _ = std::io::stdout().flush();
        server.run(fieldwork_server::shutdown_signal()).await?;
        Ok(())
    })
}
