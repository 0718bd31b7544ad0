#!/usr/bin/env bash
# Builds the fieldwork-ffi shared library and generates its Kotlin, Swift and Python bindings into
# target/bindings/{kotlin,swift,python}, with the workspace's own uniffi-bindgen (same uniffi
# version as the library, so the two never drift). Generated code is never committed: run this
# after every change to the library.
#
#   scripts/bindings.sh              cargo build --workspace (debug), then generate
#   scripts/bindings.sh --no-build   generate from what target/debug already holds
#
# It builds the whole workspace rather than `-p fieldwork-ffi`: the same selection as the main
# build unifies dependency features the same way, so nothing is compiled twice.
set -euo pipefail
cd "$(dirname "$0")/.."

build=1
for arg in "$@"; do
  case "$arg" in
    --no-build) build=0 ;;
    -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
    *) echo "unknown option: $arg (see --help)" >&2; exit 2 ;;
  esac
done

target_dir="${CARGO_TARGET_DIR:-$PWD/target}"
case "$(uname -s)" in
  Darwin) lib_file="libfieldwork_ffi.dylib" ;;
  *) lib_file="libfieldwork_ffi.so" ;;
esac
lib="$target_dir/debug/$lib_file"
bindgen="$target_dir/debug/uniffi-bindgen"

if [ "$build" = 1 ]; then
  command -v cargo >/dev/null 2>&1 || { echo "missing: cargo (install the Rust toolchain with rustup)" >&2; exit 1; }
  cargo build --workspace
fi
for f in "$lib" "$bindgen"; do
  [ -f "$f" ] || { echo "missing $f: run \`cargo build --workspace\` first" >&2; exit 1; }
done

out="$target_dir/bindings"
for language in kotlin swift python; do
  rm -rf "${out:?}/$language"
  "$bindgen" generate --no-format --language "$language" --out-dir "$out/$language" "$lib" >/dev/null
done
# Python loads the library from next to its module; a link keeps it the freshly built one.
ln -sf "$lib" "$out/python/$lib_file"
echo "bindings generated from $lib into $out/{kotlin,swift,python}"
