#!/usr/bin/env bash
# A short offline demo through the CLI: a rider's one-button help request, and a dispatcher and a
# technician who edit the same ticket with no network and merge by swapping bundles.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v cargo >/dev/null || { echo "missing: cargo (install the Rust toolchain with rustup)" >&2; exit 1; }

cargo build --quiet -p fieldwork
fw="$PWD/target/debug/fieldwork"
demo="${DEMO_DIR:-$(mktemp -d)}"
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "Three devices, each with its own local store under $demo"
"$fw" device --home "$demo/rider" init --tenant acme --user-id rider7 --role rider --name "Li Wei"
"$fw" device --home "$demo/dispatch" init --tenant acme --user-id disp1 --role dispatcher
"$fw" device --home "$demo/tech" init --tenant acme --user-id tech1 --role technician --team north

step "The rider taps the help button, offline"
"$fw" device --home "$demo/rider" help --lat 31.2304 --lon 121.4737 --accuracy 12 \
  --order ORD-2026-001 --note "Scooter chain snapped, food still warm"

step "The dispatcher opens a repair ticket and assigns the technician"
id=$("$fw" device --home "$demo/dispatch" create --title "冷柜不制冷 Fridge not cooling" \
  --priority high --category refrigeration --json | sed -n 's/^  "id": "\(.*\)",$/\1/p')
"$fw" device --home "$demo/dispatch" update "$id" --assignee tech1 >/dev/null
"$fw" device --home "$demo/dispatch" export "$id" --out "$demo/to-tech.fwb"
"$fw" device --home "$demo/tech" import "$demo/to-tech.fwb"

step "Both edit while apart: same field (status), different fields, notes on both sides"
"$fw" device --home "$demo/tech" update "$id" --status accepted >/dev/null
"$fw" device --home "$demo/tech" note "$id" "Compressor relay burnt; replacing" --internal >/dev/null
"$fw" device --home "$demo/tech" part "$id" RELAY-24V 1 >/dev/null
"$fw" device --home "$demo/dispatch" update "$id" --priority urgent --status cancelled >/dev/null
"$fw" device --home "$demo/dispatch" note "$id" "Store manager called twice" >/dev/null

step "They meet again and swap bundles both ways"
"$fw" device --home "$demo/tech" export "$id" --out "$demo/to-dispatch.fwb"
"$fw" device --home "$demo/dispatch" import "$demo/to-dispatch.fwb"
"$fw" device --home "$demo/dispatch" export "$id" --out "$demo/back-to-tech.fwb"
"$fw" device --home "$demo/tech" import "$demo/back-to-tech.fwb"

step "Both devices now show the same ticket: both notes, the part, and the status conflict"
"$fw" device --home "$demo/tech" show "$id"
"$fw" device --home "$demo/dispatch" list
