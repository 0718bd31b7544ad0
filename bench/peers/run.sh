#!/usr/bin/env bash
# Fieldwork and automerge-repo side by side, on loopback, in one run:
#
#   bench/peers/run.sh [--tickets "1000 10000"] [--limit SECONDS] [--json FILE]
#
# For each ticket count it starts automerge-repo's websocket sync server (a fresh data folder),
# runs the same workloads against it (peer.mjs), then `fieldwork bench sync --tickets N --json`
# (a fresh `fieldwork serve`), and prints both with the ratios as a Markdown table; --json also
# writes every figure to FILE. The peer gets --limit seconds (default 600) per workload and is
# reported as "did not finish" past it.
#
# Nothing of automerge-repo is committed: it is installed from npm into a scratch folder
# (FIELDWORK_PEERS_DIR, default ~/.cache/fieldwork-peers) at the versions package.json pins.
# Needs Node.js and npm (installed from Debian's packages when missing).
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
counts="1000 10000"
limit=600
json_out=""
while [ $# -gt 0 ]; do
  case "$1" in
    --tickets) counts="$2"; shift 2 ;;
    --limit) limit="$2"; shift 2 ;;
    --json) json_out="$2"; shift 2 ;;
    *) echo "usage: $0 [--tickets \"1000 10000\"] [--limit SECONDS] [--json FILE]" >&2; exit 2 ;;
  esac
done

# shellcheck source=scripts/lib.sh
source "$root/scripts/lib.sh"
command -v npm >/dev/null 2>&1 || apt_install nodejs npm

scratch="${FIELDWORK_PEERS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/fieldwork-peers}"
mkdir -p "$scratch"
if ! cmp -s "$here/package.json" "$scratch/package.json" || [ ! -d "$scratch/node_modules" ]; then
  echo "installing automerge-repo into $scratch" >&2
  cp "$here/package.json" "$scratch/package.json"
  (cd "$scratch" && npm install --no-audit --no-fund --loglevel=error >&2)
fi
cp "$here/peer.mjs" "$here/compare.mjs" "$scratch/"

# FIELDWORK names a binary already built (CI's short form uses its debug build; figures for
# docs/benchmarks.md come from the release build made here).
fieldwork="${FIELDWORK:-}"
if [ -z "$fieldwork" ]; then
  echo "building fieldwork (release)" >&2
  (cd "$root" && cargo build --release -q -p fieldwork)
  fieldwork="${CARGO_TARGET_DIR:-$root/target}/release/fieldwork"
fi

results="$(mktemp -d)"
server_pid=""
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null || true
  rm -rf "$results"
}
trap cleanup EXIT

free_port() { node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }

for n in $counts; do
  port="$(free_port)"
  data="$results/amrg-$n"
  mkdir -p "$data"
  (cd "$data" && PORT="$port" DATA_DIR="$data/store" exec node "$scratch/node_modules/@automerge/automerge-repo-sync-server/src/index.js" >"$results/server-$n.log" 2>&1) &
  server_pid=$!
  for _ in $(seq 100); do
    grep -q "Listening" "$results/server-$n.log" 2>/dev/null && break
    sleep 0.1
  done
  echo "automerge-repo, $n tickets" >&2
  (cd "$scratch" && node peer.mjs --server "ws://127.0.0.1:$port" --server-pid "$server_pid" \
    --tickets "$n" --limit "$limit" --scratch "$results/peer-$n") >"$results/peer-$n.json"
  kill "$server_pid" 2>/dev/null || true
  wait "$server_pid" 2>/dev/null || true
  server_pid=""
  echo "fieldwork, $n tickets" >&2
  "$fieldwork" bench sync --tickets "$n" --json >"$results/fieldwork-$n.json"
done

node "$scratch/compare.mjs" "$results" ${json_out:+--json "$json_out"}
