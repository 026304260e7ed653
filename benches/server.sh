# Sourced by the run-*.sh scripts: builds the binaries a benchmark needs and
# starts a server on a fresh data directory, stopped and removed on exit.
#
#   build BIN...                   cargo build of the workspace (almanac, BIN...)
#   start_server PORT [FLAGS...]   `almanac serve` on 127.0.0.1:PORT with
#                                  FLAGS; sets $server (its pid), $data (its
#                                  data directory) and ALMANAC_ENDPOINT
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/tmp/almanac-target}"
bin="$CARGO_TARGET_DIR/debug"
python="${ALMANAC_TEST_PYTHON:-/var/tmp/almanac-test-venv/bin/python}"

build() {
    # Every target of the workspace, as the tests and CI build them, so that
    # a warm target directory is reused as it is: building fewer targets or
    # packages resolves the dependencies' features differently (without the
    # test-only dependencies) and rebuilds DataFusion and RocksDB. The
    # arguments only say which binaries the caller needs.
    cargo build --quiet --workspace --locked --all-targets
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
