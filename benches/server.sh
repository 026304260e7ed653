# Sourced by the run-*.sh scripts: builds the binaries a benchmark needs and
# starts a server on a fresh data directory, stopped and removed on exit.
#
#   build BIN...                   cargo build of almanac and BIN...
#   start_server PORT [FLAGS...]   `almanac serve` on 127.0.0.1:PORT with
#                                  FLAGS; sets $server (its pid), $data (its
#                                  data directory) and ALMANAC_ENDPOINT
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/tmp/almanac-target}"
bin="$CARGO_TARGET_DIR/debug"
python="${ALMANAC_TEST_PYTHON:-/var/tmp/almanac-test-venv/bin/python}"

build() {
    local bins=(--bin almanac)
    for b in "$@"; do bins+=(--bin "$b"); done
    cargo build --quiet "${bins[@]}"
}

start_server() {
    local port="$1"
    shift
    data="$(mktemp -d /var/tmp/almanac-bench.XXXXXX)"
    trap 'kill "$server" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$data" "$data.log"' EXIT
    "$bin/almanac" serve --data-dir "$data" --listen "127.0.0.1:$port" --log warn "$@" \
        2>"$data.log" &
    server=$!
    for _ in $(seq 100); do grep -q "listening" "$data.log" 2>/dev/null && break; sleep 0.1; done
    export ALMANAC_ENDPOINT="http://127.0.0.1:$port"
}
