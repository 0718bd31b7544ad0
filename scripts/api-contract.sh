#!/usr/bin/env bash
# The back-office API against its own OpenAPI document (docs/api.md, "Contract"): schemathesis
# (from PyPI, into a venv cached outside the clone) generates requests from the document and
# checks every answer: no 5xx, every status, header, content type and body as documented, bad
# input refused. It runs once per role, signed in with that role's user API token, and once with
# a browser session (cookie and CSRF token), against a real `fieldwork serve` on loopback over a
# fresh data directory. Needs target/debug/fieldwork (scripts/test.sh builds it).
#
#   scripts/api-contract.sh            # short: 25 examples per operation and role
#   FIELDWORK_LONG=1 scripts/api-contract.sh   # long: 300 per operation and role
set -euo pipefail
cd "$(dirname "$0")/.."

target="${CARGO_TARGET_DIR:-$PWD/target}"
bin="$target/debug/fieldwork"
[ -x "$bin" ] || { echo "build first: cargo build -p fieldwork" >&2; exit 1; }
examples=25
[ "${FIELDWORK_LONG:-}" = 1 ] && examples=300

cache="${XDG_CACHE_HOME:-$HOME/.cache}/fieldwork"
venv="$cache/schemathesis-4.32.5"
if [ ! -f "$venv/.installed" ]; then
  echo "== installing schemathesis 4.32.5 into $venv"
  rm -rf "$venv" && mkdir -p "$cache"
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q "schemathesis==4.32.5"
  touch "$venv/.installed"
fi

work=$(mktemp -d)
server_pid=
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

data="$work/data"
password="correct horse battery"
"$bin" admin --data "$data" create-tenant acme >/dev/null
"$bin" admin --data "$data" create-tenant globex >/dev/null
declare -A tokens
for role in rider merchant technician agent dispatcher supervisor admin; do
  tokens[$role]=$(FIELDWORK_PASSWORD="$password" "$bin" admin --data "$data" create-user \
    --tenant acme --role "$role" --name "$role.one" --team north --json | jq -r .token)
done
FIELDWORK_PASSWORD="$password" "$bin" admin --data "$data" create-user \
  --tenant globex --role dispatcher --name other --json >/dev/null

"$bin" serve --data "$data" --listen 127.0.0.1:0 >"$work/serve.out" 2>"$work/serve.log" &
server_pid=$!
for _ in $(seq 100); do
  url=$(sed -n 's/^listening on //p' "$work/serve.out")
  [ -n "$url" ] && break
  sleep 0.1
done
[ -n "${url:-}" ] || { echo "the server did not start:" >&2; cat "$work/serve.log" >&2; exit 1; }
api="$url/api/v1"

# Something to list and read: tickets by the dispatcher and by a rider.
for who in dispatcher rider; do
  curl -sf -X POST "$api/tickets" -H "authorization: Bearer ${tokens[$who]}" \
    -H 'content-type: application/json' \
    -d '{"title": "打印机卡纸 printer jammed", "description": "seed"}' >/dev/null
done

# A browser's session, opened before the runs below try wrong passwords from this address.
curl -sf -c "$work/cookies" -X POST "$api/session" -H 'content-type: application/json' \
  -d "{\"tenant\": \"acme\", \"name\": \"dispatcher.one\", \"password\": \"$password\"}" >/dev/null
session=$(awk '$6 == "fw_session" {print $7}' "$work/cookies")
csrf=$(awk '$6 == "fw_csrf" {print $7}' "$work/cookies")

# GET /events is a stream that lasts minutes by design: schemathesis would wait for each one to
# end. server/tests/api_events.rs and the isolation matrix test it instead.
run() {
  local label=$1; shift
  echo "== schemathesis as $label ($examples examples per operation)"
  # Run from the scratch folder: schemathesis keeps a cache in its working directory.
  (cd "$work" && "$venv/bin/schemathesis" run "$api/openapi.json" --url "$api" \
    --checks all --exclude-checks ignored_auth,positive_data_acceptance \
    --exclude-path /events \
    --max-examples "$examples" --seed 1 --no-color "$@") >"$work/st-$label.txt" 2>&1 || {
      cat "$work/st-$label.txt"
      echo "schemathesis found failures as $label (above); the server's log:" >&2
      tail -50 "$work/serve.log" >&2
      exit 1
    }
  grep -E "generated|passed|failures" "$work/st-$label.txt" | tail -2
}

for role in rider merchant technician agent dispatcher supervisor admin; do
  run "$role" -H "Authorization: Bearer ${tokens[$role]}"
done

# A browser: the session cookie and its CSRF token.
run session -H "Cookie: fw_session=$session; fw_csrf=$csrf" -H "X-CSRF-Token: $csrf"

if grep -E "panicked|ERROR" "$work/serve.log"; then
  echo "the server logged a panic or an error (above)" >&2
  exit 1
fi
echo "== the API answered every generated request as its document says"
