#!/usr/bin/env bash
# The whole test suite. The tests check Almanac against independent tools
# (pyarrow and DuckDB reading the Parquet files, the ADBC Flight SQL
# driver, SeaweedFS as S3), so this first makes sure a virtualenv with the
# pinned versions exists, then runs every Rust test with it on the PATH.
set -euo pipefail
cd "$(dirname "$0")/.."

venv="${ALMANAC_TEST_VENV:-/var/tmp/almanac-test-venv}"
if ! python3 -c "import venv, ensurepip" >/dev/null 2>&1; then
    sudo=""
    [ "$(id -u)" -ne 0 ] && sudo="sudo"
    export DEBIAN_FRONTEND=noninteractive
    $sudo apt-get update -qq
    $sudo apt-get install -y -qq python3-venv >/dev/null
fi
stamp="$venv/.requirements"
if ! cmp -s tests/python/requirements.txt "$stamp"; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check -r tests/python/requirements.txt
    cp tests/python/requirements.txt "$stamp"
fi
# The Python package under test, installed as a user installs it.
"$venv/bin/pip" install --quiet --disable-pip-version-check --no-build-isolation \
    --force-reinstall --no-deps ./client/python
rm -rf client/python/build client/python/*.egg-info
export ALMANAC_TEST_PYTHON="$venv/bin/python"
export PATH="$venv/bin:$PATH"

cargo test --workspace --locked "$@"
