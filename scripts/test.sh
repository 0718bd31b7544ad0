#!/usr/bin/env bash
# Runs every check and test of the workspace. Safe to run on a fresh machine: it checks for what
# it needs first, installs jq and python3-venv when missing, and says how to get the rest (the
# binding tests install their own Kotlin compiler and JNA; the API contract test, schemathesis).
# One debug build serves the whole run.
set -euo pipefail
cd "$(dirname "$0")/.."

need() { command -v "$1" >/dev/null 2>&1 || { echo "missing: $1 ($2)" >&2; exit 1; }; }
need cargo "install the Rust toolchain with rustup"
# shellcheck source=scripts/lib.sh
source scripts/lib.sh
# The README walk-through test (tests/readme_walkthrough.rs) runs the README's commands, which
# pick ids out of JSON with jq.
command -v jq >/dev/null 2>&1 || apt_install jq
need jq "apt-get install jq, or brew install jq"
# The API contract test (scripts/api-contract.sh) installs schemathesis into a Python venv.
need python3 "install Python 3"
python3 -m venv --help >/dev/null 2>&1 || apt_install python3-venv
if ! cargo fmt --version >/dev/null 2>&1 || ! cargo clippy --version >/dev/null 2>&1; then
  rustup component add rustfmt clippy
fi

export CARGO_TERM_COLOR=never
# Shared target directory for every step (and for CI's single build).
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"

echo "== cargo fmt --check"
cargo fmt --all -- --check

echo "== cargo clippy --all-targets -- -D warnings"
cargo clippy --workspace --all-targets --locked -- -D warnings

echo "== layers: the core as the server builds it, and what the server links"
# The server uses the core without its `device` feature; it must stay warning-free that way too.
cargo clippy -p fieldwork-core -p fieldwork-protocol --no-default-features --all-targets --locked -- -D warnings
# The server builds the core without `device`: no local store, no sync client (docs/ARCHITECTURE.md,
# "Core features"; its own HTTP client is for webhooks, ADR 0012). Image codecs come in only through
# the core's `photo` feature, for intake photos (docs/channels.md).
server_tree=$(cargo tree -e features,normal -p fieldwork-server --locked)
if grep -E 'fieldwork-core feature "device"' <<<"$server_tree"; then
  echo "the server builds the device's core (above); see docs/ARCHITECTURE.md" >&2
  exit 1
fi
codecs=$(grep -E '^[│ ├└─]*(image|jpeg-encoder|kamadak-exif|fast_image_resize) v' <<<"$server_tree" | head -n 1 || true)
if [[ -n "$codecs" ]] && ! grep -q 'fieldwork-core feature "photo"' <<<"$server_tree"; then
  echo "the server links image codecs other than through the core's photo feature: $codecs" >&2
  exit 1
fi

echo "== cargo build (the binary and the FFI library the end-to-end and binding tests use)"
cargo build --workspace --locked

echo "== PostgreSQL for the PostgreSQL backend's tests"
# A throwaway cluster on a free loopback port unless FIELDWORK_TEST_POSTGRES names a server
# (scripts/postgres.sh installs PostgreSQL from Debian's packages when it is missing).
if [ -z "${FIELDWORK_TEST_POSTGRES:-}" ]; then
  pg_dir=$(mktemp -d /tmp/fieldwork-pg.XXXXXX)
  FIELDWORK_TEST_POSTGRES=$(scripts/postgres.sh start "$pg_dir" $$)
  export FIELDWORK_TEST_POSTGRES
  trap 'scripts/postgres.sh stop "$pg_dir"' EXIT
fi
echo "PostgreSQL at $FIELDWORK_TEST_POSTGRES"

echo "== cargo test"
# The full-disk tests mount a small tmpfs, which needs root: where the run has it, they must run.
if [ "$(id -u)" = 0 ]; then export FIELDWORK_REQUIRE_SMALL_DISK=1; fi
cargo test --workspace --locked

echo "== the end-to-end scenarios again, each server on its own PostgreSQL database"
# The same binaries (no rebuild); two tests that read the SQLite file itself skip themselves.
FIELDWORK_TEST_BACKEND=postgres cargo test -p fieldwork --locked \
  --test sync_scenarios --test sync_faults --test sync_property --test device_scenarios \
  --test admin_scenarios --test staff_data --test erase --test webhooks --test evidence_scenarios \
  --test config_scenarios --test knowledge_scenarios --test brain_scenarios

echo "== the sync scenarios, fault tests and property test on two replicas behind a round-robin proxy"
FIELDWORK_TEST_BACKEND=replicas cargo test -p fieldwork --locked \
  --test sync_scenarios --test sync_faults --test sync_property

echo "== photos in a real S3-compatible store (s3s-fs, built once into ~/.cache/fieldwork-tools), on two replicas"
FIELDWORK_TEST_BACKEND=replicas FIELDWORK_TEST_BLOBS=s3 cargo test -p fieldwork --locked \
  --test evidence_scenarios --test replicas

echo "== bindings: Kotlin on a JVM, Python"
./scripts/test-bindings.sh

echo "== the back-office API against its OpenAPI document (schemathesis, every role)"
./scripts/api-contract.sh

echo "== the web console in headless Chromium (playwright-core, axe-core)"
./scripts/test-console.sh

echo "== Fieldwork beside automerge-repo, short form (bench/peers; the figures come from the long form)"
peers_out=$(FIELDWORK="$CARGO_TARGET_DIR/debug/fieldwork" bench/peers/run.sh --tickets 100 --limit 120)
echo "$peers_out"
# Every workload ran on both sides and has a ratio.
if [ "$(grep -c '×' <<<"$peers_out")" -ne 9 ] || grep -q "did not finish\|not run\|failed" <<<"$peers_out"; then
  echo "the peer comparison did not measure every workload on both sides" >&2
  exit 1
fi
