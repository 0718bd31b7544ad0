#!/usr/bin/env bash
# A throwaway S3-compatible server for the tests: `scripts/s3.sh start DIR` runs s3s-fs (S3 over
# local files) on a free loopback port over DIR/root, with fixed test credentials and one bucket,
# and prints what a client needs as KEY=VALUE lines (the AWS_* variables object_store reads, and
# FIELDWORK_TEST_S3, the bucket's address); `scripts/s3.sh stop DIR` stops it and removes DIR.
# `start DIR PID` also stops and removes it once process PID has ended (a test binary that
# started it for itself).
#
# s3s-fs keeps an object's metadata in a file named after the bucket and key in base64, so keys
# longer than about 150 bytes fail there (500 InternalError; real S3 takes 1024): the bucket's
# name is short, and tests use short prefixes.
#
# s3s-fs is built once into ~/.cache/fieldwork-tools/s3s-fs (about two minutes on two cores) and
# only when the binary is missing; S3S_FS names another binary.
set -euo pipefail

cmd=${1:?usage: s3.sh start|stop DIR [PID]}
dir=${2:?usage: s3.sh start|stop DIR [PID]}

version=0.14.1
root="${FIELDWORK_TOOLS:-$HOME/.cache/fieldwork-tools}/s3s-fs"
bucket=fieldwork
access_key=fieldwork-test-key
secret_key=fieldwork-test-secret
region=us-east-1

binary() {
    if [ -n "${S3S_FS:-}" ]; then
        echo "$S3S_FS"
        return
    fi
    local bin="$root/bin/s3s-fs"
    if [ ! -x "$bin" ]; then
        echo "s3.sh: building s3s-fs $version once into $root (a few minutes)" >&2
        # One build at a time, should several test binaries start at once.
        mkdir -p "$root"
        (
            flock 9
            if [ ! -x "$bin" ]; then
                cargo install s3s-fs --version "$version" --features binary --locked \
                    --root "$root" >&2
            fi
        ) 9>"$root/.build.lock"
    fi
    echo "$bin"
}

case "$cmd" in
start)
    bin=$(binary)
    mkdir -p "$dir/root/$bucket"
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    RUST_LOG=warn setsid "$bin" --host 127.0.0.1 --port "$port" \
        --access-key "$access_key" --secret-key "$secret_key" "$dir/root" \
        </dev/null >"$dir/server.log" 2>&1 &
    echo $! >"$dir/pid"
    # Up once it accepts connections (a few milliseconds; give a loaded machine ten seconds).
    for _ in $(seq 1 100); do
        if (echo >"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            break
        fi
        if ! kill -0 "$(cat "$dir/pid")" 2>/dev/null; then
            cat "$dir/server.log" >&2
            exit 1
        fi
        sleep 0.1
    done
    if ! (echo >"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
        echo "s3.sh: s3s-fs did not listen on port $port" >&2
        cat "$dir/server.log" >&2
        exit 1
    fi
    if [ -n "${3:-}" ]; then
        watched=$3
        setsid bash -c "while kill -0 $watched 2>/dev/null; do sleep 1; done; '$0' stop '$dir'" \
            </dev/null >/dev/null 2>&1 &
    fi
    echo "AWS_ENDPOINT_URL=http://127.0.0.1:$port"
    echo "AWS_ACCESS_KEY_ID=$access_key"
    echo "AWS_SECRET_ACCESS_KEY=$secret_key"
    echo "AWS_REGION=$region"
    echo "AWS_ALLOW_HTTP=true"
    echo "FIELDWORK_TEST_S3=s3://$bucket"
    ;;
stop)
    if [ -f "$dir/pid" ]; then
        pid=$(cat "$dir/pid")
        kill "$pid" 2>/dev/null || true
        for _ in $(seq 1 50); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -9 "$pid" 2>/dev/null || true
    fi
    rm -rf "$dir"
    ;;
*)
    echo "usage: s3.sh start|stop DIR [PID]" >&2
    exit 2
    ;;
esac
