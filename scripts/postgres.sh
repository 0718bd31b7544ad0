#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for the tests: `scripts/postgres.sh start DIR` installs
# PostgreSQL from Debian's packages if it is missing, makes a cluster in DIR on a free loopback
# port (UTF-8, C collation: text sorts by code point, as in SQLite), starts it and prints its
# address; `scripts/postgres.sh stop DIR` stops it and removes DIR. `start DIR PID` also stops
# and removes it once process PID has ended (a test binary that started it for itself).
set -euo pipefail

cmd=${1:?usage: postgres.sh start|stop DIR}
dir=${2:?usage: postgres.sh start|stop DIR}

bin_dir() {
    local found
    found=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)
    if [ -z "$found" ]; then
        echo "postgres.sh: installing PostgreSQL from Debian's packages" >&2
        if [ "$(id -u)" = 0 ]; then
            apt-get update -qq >&2 && apt-get install -y -qq postgresql >&2
        else
            sudo apt-get update -qq >&2 && sudo apt-get install -y -qq postgresql >&2
        fi
        found=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
    fi
    echo "$found"
}

# initdb and postgres refuse to run as root: run them as the `postgres` user then.
as_owner() {
    if [ "$(id -u)" = 0 ]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

case "$cmd" in
start)
    bin=$(bin_dir)
    mkdir -p "$dir"
    [ "$(id -u)" = 0 ] && chown postgres "$dir"
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    as_owner "$bin/initdb" -D "$dir/data" -A trust -U postgres -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 \
        || { cat "$dir/initdb.log" >&2; exit 1; }
    as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w \
        -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c max_connections=300 -c fsync=on" start >/dev/null \
        || { cat "$dir/server.log" >&2; exit 1; }
    if [ -n "${3:-}" ]; then
        watched=$3
        setsid bash -c "while kill -0 $watched 2>/dev/null; do sleep 1; done; '$0' stop '$dir'" \
            </dev/null >/dev/null 2>&1 &
    fi
    echo "postgres://postgres@127.0.0.1:$port/postgres"
    ;;
stop)
    bin=$(bin_dir)
    if [ -d "$dir/data" ]; then
        as_owner "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
    fi
    rm -rf "$dir"
    ;;
*)
    echo "usage: postgres.sh start|stop DIR" >&2
    exit 2
    ;;
esac
