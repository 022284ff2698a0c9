#!/usr/bin/env bash
# The mariadb table sink's upsert rows/s beside mariadb_insert_peer (a plain
# Connector/C client sending multi-row INSERT ... ON DUPLICATE KEY UPDATE
# statements of the same size) on the same rows, against one private
# mariadbd started here (127.0.0.1, a free port, a temporary directory).
# Each runs RUNS times, alternating; every run recreates the table.
#
#   benchmarks/mariadb.sh [BUILD_DIR] [ROWS] [BATCH] [RUNS]
#
# Defaults: build, 200000 rows, 1000 rows per statement, 3 runs each.
set -euo pipefail

build=${1:-build}
rows=${2:-200000}
batch=${3:-1000}
runs=${4:-3}

work=$(mktemp -d)
source "$(dirname "$0")/mariadb_server.sh"
cleanup() {
  stop_mariadb "$work"
  rm -rf "$work"
}
trap cleanup EXIT
start_mariadb "$work"

echo "== machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg); $(/usr/sbin/mariadbd --version)"
echo "== $rows rows, $batch rows per statement, upserts into a fresh table each run"
for i in $(seq "$runs"); do
  echo -n "peer (C, multi-row INSERT ... ON DUPLICATE KEY UPDATE): "
  ${TIMER:-} "$build/benchmarks/mariadb_insert_peer" 127.0.0.1 "$port" bench bench bench peer "$rows" "$batch" upsert
  echo -n "sluice mariadb sink:                                    "
  ${TIMER:-} "$build/benchmarks/mariadb_sink_bench" 127.0.0.1 "$port" bench bench bench sink "$rows" "$batch"
done
