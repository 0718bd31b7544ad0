#!/usr/bin/env bash
# Tests the generated bindings against the host debug build of fieldwork-ffi:
#   - the Kotlin suite (android/jvm-tests, with the Kotlin layer in android/src/main/kotlin) on a
#     desktop JVM, including a full sync round trip against a real `fieldwork serve` on loopback,
#     photos (made with javax.imageio) through the pipeline and the blob lane, and arrivals on site;
#   - the Python smoke test (bindings/tests/python/smoke.py).
# Run it from anywhere after `cargo build --workspace`: it reuses target/debug and never builds
# Rust itself. It installs what it needs: kotlinc (npm `kotlin-compiler`) into target/tools, and
# JNA (Debian `libjna-java`) when /usr/share/java/jna.jar is missing.
# Ends with the line `N passed, M failed`; exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."

KOTLIN_VERSION="2.4.20"
target_dir="${CARGO_TARGET_DIR:-$PWD/target}"
debug="$target_dir/debug"
fieldwork="$debug/fieldwork"
work="$target_dir/bindings-test"

need() { command -v "$1" >/dev/null 2>&1 || { echo "missing: $1 ($2)" >&2; exit 1; }; }
need java "install a JDK 17, e.g. apt-get install -y openjdk-17-jdk-headless"
need npm "install Node.js (npm fetches the Kotlin compiler)"
need python3 "install Python 3"
[ -x "$fieldwork" ] || { echo "missing $fieldwork: run \`cargo build --workspace\` first" >&2; exit 1; }

# --- bindings, generated from the library as built --------------------------------------------
scripts/bindings.sh --no-build

# --- tools ---------------------------------------------------------------------------------------
kotlin_home="$target_dir/tools/kotlin-compiler-$KOTLIN_VERSION"
kotlinc="$kotlin_home/node_modules/kotlin-compiler/bin/kotlinc"
if [ ! -x "$kotlinc" ]; then
  echo "== installing kotlin-compiler@$KOTLIN_VERSION into $kotlin_home"
  mkdir -p "$kotlin_home"
  npm install --prefix "$kotlin_home" --no-audit --no-fund --loglevel=error "kotlin-compiler@$KOTLIN_VERSION" >/dev/null
fi
klib="$kotlin_home/node_modules/kotlin-compiler/lib"

jna=/usr/share/java/jna.jar
if [ ! -f "$jna" ]; then
  echo "== installing libjna-java"
  as_root=()
  [ "$(id -u)" = 0 ] || as_root=(sudo)
  "${as_root[@]}" apt-get update -q >/dev/null
  "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q libjna-java >/dev/null
fi

rm -rf "$work"
mkdir -p "$work/tmp"
server_pid=""
cleanup() {
  if [ -n "$server_pid" ]; then
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
}
trap cleanup EXIT

# --- a real server on loopback, with a tenant and three users --------------------------------
json_field() { python3 -c 'import json,sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"; }
sync_env=()
if "$fieldwork" serve --help >/dev/null 2>&1 && "$fieldwork" admin --help >/dev/null 2>&1; then
  data="$work/server"
  admin() { "$fieldwork" admin --data "$data" "$@" --json; }
  tenant=$(admin create-tenant bindings-test | json_field tenant_id)
  rider=$(admin create-user --tenant "$tenant" --role rider --name "Test Rider")
  dispatcher=$(admin create-user --tenant "$tenant" --role dispatcher --name "Test Dispatcher")
  tech=$(admin create-user --tenant "$tenant" --role technician --name "Test Technician" --team north)
  supervisor=$(admin create-user --tenant "$tenant" --role supervisor --name "Test Supervisor")
  "$fieldwork" serve --data "$data" --listen 127.0.0.1:0 >"$work/server.out" 2>"$work/server.err" &
  server_pid=$!
  url=""
  for _ in $(seq 1 300); do # up to 30 s for the listening line
    url=$(sed -n 's/.*listening on \(http:\/\/[0-9.:]*\).*/\1/p' "$work/server.out" | head -n1)
    [ -n "$url" ] && break
    kill -0 "$server_pid" 2>/dev/null || break
    sleep 0.1
  done
  if [ -n "$url" ]; then
    echo "== server at $url"
    # The knowledge base the suites find offline: one article for everyone, one internal.
    kb_ids=$(python3 scripts/publish-kb-fixtures.py "$url" "$(json_field token <<<"$supervisor")")
    sync_env=(
      "FW_KB_PUBLIC_ID=$(json_field public <<<"$kb_ids")"
      "FW_KB_INTERNAL_ID=$(json_field internal <<<"$kb_ids")"
      "FW_KB_PICTURE=$(json_field picture <<<"$kb_ids")"
      "FW_SERVER_URL=$url"
      "FW_TENANT_ID=$tenant"
      "FW_RIDER_TOKEN=$(json_field token <<<"$rider")"
      "FW_DISPATCHER_TOKEN=$(json_field token <<<"$dispatcher")"
      "FW_TECH_TOKEN=$(json_field token <<<"$tech")"
      "FW_TECH_ID=$(json_field user_id <<<"$tech")"
    )
  else
    echo "!! the server did not start; its stderr:" >&2
    cat "$work/server.err" >&2
  fi
else
  echo "!! \`fieldwork serve\`/\`admin\` are not available: the sync tests will fail" >&2
fi

passed=0
failed=0
# Adds up a suite's `NAME: N passed, M failed` line; a suite that ended without one counts as
# one failure.
tally() {
  local line
  line=$(grep -E "^$1: [0-9]+ passed, [0-9]+ failed$" "$2" | tail -n1 || true)
  if [ -z "$line" ]; then
    echo "!! the $1 suite ended without a summary" >&2
    failed=$((failed + 1))
    return
  fi
  passed=$((passed + $(sed -E 's/.*: ([0-9]+) passed.*/\1/' <<<"$line")))
  failed=$((failed + $(sed -E 's/.*, ([0-9]+) failed/\1/' <<<"$line")))
}

# --- Kotlin --------------------------------------------------------------------------------
echo "== kotlinc (generated bindings + android/src/main/kotlin + android/jvm-tests, -Werror)"
mapfile -t kotlin_sources < <(find "$target_dir/bindings/kotlin" android/src/main/kotlin android/jvm-tests -name '*.kt' | sort)
classpath="$jna:$klib/kotlinx-coroutines-core-jvm.jar"
if "$kotlinc" -Werror -jvm-target 17 -no-reflect -cp "$classpath" -d "$work/tests.jar" "${kotlin_sources[@]}" 2>&1 | tee "$work/kotlinc.log"; then
  echo "== kotlin tests"
  env "${sync_env[@]}" FW_TMP="$work/tmp" \
    java -Djna.library.path="$debug" -cp "$work/tests.jar:$classpath:$klib/kotlin-stdlib.jar" \
    app.fieldwork.jvmtest.MainKt 2>&1 | tee "$work/kotlin.log" || true
  tally kotlin "$work/kotlin.log"
else
  echo "!! the Kotlin sources did not compile" >&2
  failed=$((failed + 1))
fi

# --- Python --------------------------------------------------------------------------------
echo "== python smoke test"
env "${sync_env[@]}" PYTHONPATH="$target_dir/bindings/python" TMPDIR="$work/tmp" \
  python3 bindings/tests/python/smoke.py 2>&1 | tee "$work/python.log" || true
tally python "$work/python.log"

echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
