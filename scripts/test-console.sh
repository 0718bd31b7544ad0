#!/usr/bin/env bash
# The web console in a real browser (docs/console.md, "Tests"): Debian's Chromium, headless,
# driven by playwright-core against a real `fieldwork serve` seeded through the CLI, with
# axe-core on every page. Installs what it needs: chromium, a Chinese font and Node from apt when
# missing, the two npm packages into console-tests/node_modules (pinned by its package-lock.json).
# Screenshots of every page go to $CONSOLE_OUT (default target/console-tests).
#
#   scripts/test-console.sh                # uses target/debug/fieldwork (builds it if missing)
#   FIELDWORK_BIN=path/to/fieldwork scripts/test-console.sh
set -euo pipefail
cd "$(dirname "$0")/.."

# shellcheck source=scripts/lib.sh
source scripts/lib.sh

chromium_bin=${CHROMIUM:-$(command -v chromium || command -v chromium-browser || true)}
if [ -z "$chromium_bin" ]; then
  echo "== installing chromium (apt)"
  apt_install chromium
  chromium_bin=$(command -v chromium || command -v chromium-browser || true)
fi
[ -n "$chromium_bin" ] || { echo "missing: chromium (apt-get install chromium)" >&2; exit 1; }
# A font with Chinese glyphs, so the screenshots show the Chinese pages as people see them.
if command -v fc-list >/dev/null 2>&1 && ! fc-list :lang=zh | grep -q .; then
  echo "== installing a Chinese font (apt: fonts-wqy-microhei)"
  apt_install fonts-wqy-microhei || echo "(no Chinese font: the Chinese screenshots show boxes)" >&2
fi
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  echo "== installing Node.js and npm (apt)"
  apt_install nodejs npm
fi
command -v node >/dev/null 2>&1 || { echo "missing: node (apt-get install nodejs npm)" >&2; exit 1; }

# The npm packages, again only when the lock file changed.
stamp=console-tests/node_modules/.installed-lock
if ! cmp -s console-tests/package-lock.json "$stamp" 2>/dev/null; then
  echo "== npm ci (playwright-core, axe-core)"
  (cd console-tests && npm ci --no-audit --no-fund --loglevel=error)
  cp console-tests/package-lock.json "$stamp"
fi

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"
bin=${FIELDWORK_BIN:-$CARGO_TARGET_DIR/debug/fieldwork}
if [ ! -x "$bin" ]; then
  cargo build -p fieldwork --locked
fi

export FIELDWORK_BIN="$bin" CHROMIUM="$chromium_bin"
export CONSOLE_OUT="${CONSOLE_OUT:-$CARGO_TARGET_DIR/console-tests}"
node --test --test-reporter=spec console-tests/console.test.mjs
echo "== screenshots in $CONSOLE_OUT"
