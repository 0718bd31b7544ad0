#!/usr/bin/env bash
# The photo pipeline against vipsthumbnail and ImageMagick, on ONE core (DESIGN.md budget:
# 12 MP JPEG -> 1920 px JPEG + 320 px thumbnail in <= 0.6x vipsthumbnail's time, output no
# larger than libjpeg's at the same quality).
#
#   scripts/bench-photo.sh [INPUT.jpg]
#
# Without INPUT it generates the photo-like 12 MP JPEG of `photo::samples` (4000 x 3000, q92).
# Env: RUNS (15), QUALITY (80), CORE (0), WORK (target/photo-bench).
#
# Every tool runs as a fresh process per iteration, pinned with `taskset` to $CORE, reading the
# same file (page cache warm). The tools take turns within each iteration, so load from other
# work on the machine falls on all of them alike. Reported: median wall time and median CPU time
# (user + sys; less sensitive to other processes on the core).
#   ours:   photo_pipeline run INPUT --runs 1 --no-warmup   (process(): full + thumbnail)
#   vips:   two invocations from the original, 1920 and 320 (shrink-on-load does the thumbnail)
#   magick: one invocation, -resize 1920, -write, -resize 320 (thumbnail from the resized image)
set -euo pipefail
cd "$(dirname "$0")/.."

RUNS=${RUNS:-15}
QUALITY=${QUALITY:-80}
CORE=${CORE:-0}
WORK=${WORK:-target/photo-bench}
mkdir -p "$WORK"
WORK=$(cd "$WORK" && pwd)

have() { command -v "$1" >/dev/null 2>&1; }
apt_install() {
    apt-get install -y --no-install-recommends "$@" >/dev/null ||
        { apt-get update >/dev/null && apt-get install -y --no-install-recommends "$@" >/dev/null; }
}
have vipsthumbnail || apt_install libvips-tools
have cjpeg || apt_install libjpeg-turbo-progs
# ImageMagick 7 is `magick`; 6 is `convert`. /usr/local/bin/convert may be a stand-in script that
# forwards to /usr/bin/convert: call the real one so its start-up is not counted.
if have magick; then
    IM=(magick)
else
    [ -x /usr/bin/convert ] || apt_install imagemagick
    IM=(/usr/bin/convert)
fi

cargo build --release -q -p fieldwork-core --example photo_pipeline
BIN=target/release/examples/photo_pipeline
INPUT=${1:-$WORK/photo-12mp.jpg}
[ -f "$INPUT" ] || "$BIN" make-sample "$INPUT"

ours() { "$BIN" run "$INPUT" --runs 1 --no-warmup --quality "$QUALITY" --out "$WORK/ours"; }
vips_pair() {
    VIPS_CONCURRENCY=1 vipsthumbnail "$INPUT" --size 1920x1920 -o "$WORK/vips-full.jpg[Q=$QUALITY,strip]"
    VIPS_CONCURRENCY=1 vipsthumbnail "$INPUT" --size 320x320 -o "$WORK/vips-thumb.jpg[Q=$QUALITY,strip]"
}
magick_pair() {
    MAGICK_THREAD_LIMIT=1 OMP_NUM_THREADS=1 "${IM[@]}" "$INPUT" -strip -resize 1920x1920 \
        -quality "$QUALITY" -write "$WORK/im-full.jpg" -resize 320x320 "$WORK/im-thumb.jpg"
}

# From here on this shell and everything it starts run on one core.
taskset -cp "$CORE" $$ >/dev/null

# timed NAME FUNCTION: appends "wall_ms cpu_ms" of one run to $WORK/NAME.times
timed() {
    local name=$1 fn=$2 out
    out=$( { TIMEFORMAT='%R %U %S'; time "$fn" >/dev/null 2>&1; } 2>&1 )
    awk '{ printf "%.1f %.1f\n", $1 * 1000, ($2 + $3) * 1000 }' <<<"$out" >>"$WORK/$name.times"
}
median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

rm -f "$WORK"/*.times
for fn in ours vips_pair magick_pair; do "$fn" >/dev/null 2>&1; done # warm the page cache, check they run
for _ in $(seq "$RUNS"); do
    timed ours ours
    timed vips vips_pair
    timed magick magick_pair
done

# The same resized pixels encoded by jpeg-encoder (our settings) and by libjpeg-turbo's cjpeg.
STEPS=$("$BIN" run "$INPUT" --runs 5 --quality "$QUALITY" --out "$WORK/ours" --steps | tail -n 1)
cjpeg -quality "$QUALITY" -sample 2x2 "$WORK/ours/resized.ppm" >"$WORK/cjpeg.jpg"
cjpeg -quality "$QUALITY" -sample 2x2 -optimize "$WORK/ours/resized.ppm" >"$WORK/cjpeg-opt.jpg"
psnr() { compare -metric PSNR "$1" "$WORK/ours/resized.ppm" null: 2>&1 || true; }

size() { stat -c %s "$1"; }
echo "input: $INPUT ($(size "$INPUT") B), quality $QUALITY, core $CORE, $RUNS runs each"
echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')"
printf '%-34s %12s %12s %12s %12s\n' tool "wall ms" "cpu ms" "full B" "thumb B"
for name in ours vips magick; do
    wall=$(cut -d' ' -f1 "$WORK/$name.times" | median)
    cpu=$(cut -d' ' -f2 "$WORK/$name.times" | median)
    case $name in
    ours) full=$WORK/ours/full.jpg thumb=$WORK/ours/thumb.jpg label="ours (photo::process)" ;;
    vips) full=$WORK/vips-full.jpg thumb=$WORK/vips-thumb.jpg label="vipsthumbnail x2 ($(command vips --version))" ;;
    magick) full=$WORK/im-full.jpg thumb=$WORK/im-thumb.jpg label="ImageMagick ($("${IM[@]}" -version | head -1 | awk '{print $3}'))" ;;
    esac
    printf '%-34s %12s %12s %12s %12s\n' "$label" "$wall" "$cpu" "$(size "$full")" "$(size "$thumb")"
    eval "${name}_wall=$wall ${name}_cpu=$cpu"
done
awk -v ow="$ours_wall" -v oc="$ours_cpu" -v vw="$vips_wall" -v vc="$vips_cpu" -v mw="$magick_wall" -v mc="$magick_cpu" \
    'BEGIN { printf "ours / vips: wall %.2f, cpu %.2f (budget <= 0.60); ours / magick: wall %.2f, cpu %.2f\n", ow / vw, oc / vc, ow / mw, oc / mc }'
echo "$STEPS"
echo "same 1920 px pixels, q$QUALITY 4:2:0: jpeg-encoder $(size "$WORK/ours/resized.jpg") B (PSNR $(psnr "$WORK/ours/resized.jpg") dB)," \
    "cjpeg $(size "$WORK/cjpeg.jpg") B (PSNR $(psnr "$WORK/cjpeg.jpg") dB), cjpeg -optimize $(size "$WORK/cjpeg-opt.jpg") B"
