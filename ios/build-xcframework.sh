#!/usr/bin/env bash
# Builds ios/build/fieldwork_ffiFFI.xcframework — fieldwork-ffi as static libraries for iOS
# devices (arm64), the iOS simulator (arm64 + x86_64) and macOS (arm64 + x86_64) — and copies the
# generated Swift into Sources/FieldworkFFI. Needs macOS with Xcode and rustup.
#
#   ios/build-xcframework.sh            `mobile` profile libraries (what apps ship: release with
#                                       fat LTO, see Cargo.toml)
#   ios/build-xcframework.sh --debug    debug libraries (faster to build, for the tests)
set -euo pipefail
cd "$(dirname "$0")/.."

profile=mobile
cargo_profile=(--profile mobile)
if [ "${1:-}" = "--debug" ]; then
  profile=debug
  cargo_profile=()
fi

[ "$(uname -s)" = Darwin ] || { echo "the XCFramework needs macOS with Xcode (xcodebuild, lipo)" >&2; exit 1; }
for tool in cargo rustup xcodebuild lipo; do
  command -v "$tool" >/dev/null 2>&1 || { echo "missing: $tool" >&2; exit 1; }
done

device=aarch64-apple-ios
simulators=(aarch64-apple-ios-sim x86_64-apple-ios)
macs=(aarch64-apple-darwin x86_64-apple-darwin)
rustup target add "$device" "${simulators[@]}" "${macs[@]}"

# Host build + generated Swift (the bindings depend on the API, not on the target).
scripts/bindings.sh

target_dir="${CARGO_TARGET_DIR:-$PWD/target}"
for target in "$device" "${simulators[@]}" "${macs[@]}"; do
  # `cargo rustc` makes the staticlib only for these builds: Linux and Android never pay for it.
  IPHONEOS_DEPLOYMENT_TARGET=15.0 MACOSX_DEPLOYMENT_TARGET=12.0 \
    cargo rustc -p fieldwork-ffi --lib --crate-type staticlib --target "$target" "${cargo_profile[@]}"
done
lib() { echo "$target_dir/$1/$profile/libfieldwork_ffi.a"; }

out=ios/build
rm -rf "$out"
mkdir -p "$out/headers/fieldwork_ffiFFI" "$out/ios-simulator" "$out/macos"
# A subdirectory per module keeps this modulemap from clashing with other XCFrameworks' ones.
cp "$target_dir/bindings/swift/fieldwork_ffiFFI.h" "$out/headers/fieldwork_ffiFFI/"
cp "$target_dir/bindings/swift/fieldwork_ffiFFI.modulemap" "$out/headers/fieldwork_ffiFFI/module.modulemap"
lipo -create "$(lib "${simulators[0]}")" "$(lib "${simulators[1]}")" -output "$out/ios-simulator/libfieldwork_ffi.a"
lipo -create "$(lib "${macs[0]}")" "$(lib "${macs[1]}")" -output "$out/macos/libfieldwork_ffi.a"
xcodebuild -create-xcframework \
  -library "$(lib "$device")" -headers "$out/headers" \
  -library "$out/ios-simulator/libfieldwork_ffi.a" -headers "$out/headers" \
  -library "$out/macos/libfieldwork_ffi.a" -headers "$out/headers" \
  -output "$out/fieldwork_ffiFFI.xcframework"

mkdir -p ios/Sources/FieldworkFFI
cp "$target_dir/bindings/swift/FieldworkFFI.swift" ios/Sources/FieldworkFFI/
echo "built $out/fieldwork_ffiFFI.xcframework and ios/Sources/FieldworkFFI/FieldworkFFI.swift"
