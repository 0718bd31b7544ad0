#!/usr/bin/env bash
# Runs the Fieldwork server: embedded SQLite, data in ./fieldwork-data, on 127.0.0.1:8787.
# Extra arguments go to `fieldwork serve` (e.g. --listen 0.0.0.0:8787 --data /var/lib/fieldwork).
set -euo pipefail
cd "$(dirname "$0")/.."
command -v cargo >/dev/null || { echo "missing: cargo (install the Rust toolchain with rustup)" >&2; exit 1; }
cargo build --release -p fieldwork
exec target/release/fieldwork serve "$@"
