//! `fieldwork intake email --server URL --token T < message.eml`: hands one raw message to a
//! server's email channel, as a mail system's pipe transport runs it (Postfix `pipe`, Exim
//! `pipe`; docs/channels.md, "Email"). The exit codes are sysexits', which mail systems read:
//! 0 taken (or a repeat), 65 (`EX_DATAERR`) refused for good — the mail system bounces it —, 75
//! (`EX_TEMPFAIL`) try again later (server unreachable, busy, rate limited).

use std::io::Read;
use std::time::Duration;

use clap::{Args, Subcommand};

/// Largest message read from standard input (the server takes 25 MiB).
const MAX_MESSAGE_BYTES: u64 = 25 * 1024 * 1024;

#[derive(Debug, Args)]
pub struct IntakeArgs {
    #[command(subcommand)]
    command: IntakeCommand,
}

#[derive(Debug, Subcommand)]
enum IntakeCommand {
    /// Deliver the raw RFC 822 message on standard input to an email channel.
    Email {
        /// The server's address, e.g. https://fieldwork.example.
        #[arg(long, env = "FIELDWORK_SERVER")]
        server: String,
        /// The email channel's token (`fieldwork admin create-channel --kind email`).
        #[arg(long, env = "FIELDWORK_CHANNEL_TOKEN")]
        token: String,
    },
}

/// Why a message was not delivered.
#[derive(Debug, thiserror::Error)]
pub enum IntakeError {
    #[error("the message is refused: {0}")]
    Refused(String),
    #[error("try again later: {0}")]
    Later(String),
}

impl IntakeError {
    pub fn exit_code(&self) -> u8 {
        match self {
            IntakeError::Refused(_) => 65,
            IntakeError::Later(_) => 75,
        }
    }
}

pub fn run(args: IntakeArgs) -> Result<(), IntakeError> {
    let IntakeCommand::Email { server, token } = args.command;
    let mut message = Vec::new();
    std::io::stdin()
        .take(MAX_MESSAGE_BYTES + 1)
        .read_to_end(&mut message)
        .map_err(|e| IntakeError::Later(format!("standard input: {e}")))?;
    if message.len() as u64 > MAX_MESSAGE_BYTES {
        return Err(IntakeError::Refused("larger than 25 MiB".into()));
    }
    fieldwork_core::sync::client::install_crypto_provider();
    let url = format!("{}/intake/email", server.trim_end_matches('/'));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| IntakeError::Later(e.to_string()))?;
    let (status, body) = runtime.block_on(async {
        let response = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(120))
            .build()
            .map_err(|e| IntakeError::Later(e.to_string()))?
            .post(&url)
            .bearer_auth(token.trim())
            .header("content-type", "message/rfc822")
            .body(message)
            .send()
            .await
            .map_err(|e| IntakeError::Later(e.without_url().to_string()))?;
        let status = response.status();
        let body = response
            .text()
            .await
            .map_err(|e| IntakeError::Later(e.without_url().to_string()))?;
        Ok::<_, IntakeError>((status, body))
    })?;
    let json: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
    if status.is_success() {
        let repeated = if json["repeated"] == true {
            " (sent before)"
        } else {
            ""
        };
        println!(
            "{} {}{repeated}",
            json["outcome"].as_str().unwrap_or("taken"),
            json["number"].as_str().unwrap_or("")
        );
        return Ok(());
    }
    let message = json["error"]["message"]
        .as_str()
        .map_or_else(|| status.to_string(), str::to_owned);
    if status.is_server_error() || status.as_u16() == 429 || status.as_u16() == 409 {
        Err(IntakeError::Later(message))
    } else {
        Err(IntakeError::Refused(message))
    }
}
