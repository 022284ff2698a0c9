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
port=$((20000 + RANDOM % 10000))
user=(); [[ $(id -u) == 0 ]] && user=(--user=mysql)
cleanup() {
  if [[ -f $work/mariadbd.pid ]]; then
    kill "$(cat "$work/mariadbd.pid")" 2>/dev/null || true
    for _ in $(seq 100); do [[ -e $work/mysqld.sock ]] || break; sleep 0.1; done
  fi
  rm -rf "$work"
}
trap cleanup EXIT

mkdir -p "$work/data"
[[ $(id -u) == 0 ]] && chown -R mysql:mysql "$work"
mariadb-install-db --no-defaults --datadir="$work/data" "${user[@]}" \
  --auth-root-authentication-method=normal --skip-test-db >"$work/install.log" 2>&1
/usr/sbin/mariadbd --no-defaults --datadir="$work/data" --socket="$work/mysqld.sock" \
  --port="$port" --bind-address=127.0.0.1 --pid-file="$work/mariadbd.pid" \
  --log-error="$work/error.log" --skip-log-bin --skip-name-resolve \
  --innodb-buffer-pool-size=256M --performance-schema=OFF \
  --character-set-server=utf8mb4 "${user[@]}" &
for _ in $(seq 600); do
  mariadb-admin --no-defaults --socket="$work/mysqld.sock" -uroot ping >/dev/null 2>&1 && break
  sleep 0.1
done
mariadb --no-defaults --socket="$work/mysqld.sock" -uroot -e "
  CREATE DATABASE bench;
  CREATE USER 'bench'@'127.0.0.1' IDENTIFIED BY 'bench';
  GRANT ALL ON bench.* TO 'bench'@'127.0.0.1';"

echo "== machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg); $(/usr/sbin/mariadbd --version)"
echo "== $rows rows, $batch rows per statement, upserts into a fresh table each run"
for i in $(seq "$runs"); do
  echo -n "peer (C, multi-row INSERT ... ON DUPLICATE KEY UPDATE): "
  ${TIMER:-} "$build/benchmarks/mariadb_insert_peer" 127.0.0.1 "$port" bench bench bench peer "$rows" "$batch" upsert
  echo -n "sluice mariadb sink:                                    "
  ${TIMER:-} "$build/benchmarks/mariadb_sink_bench" 127.0.0.1 "$port" bench bench bench sink "$rows" "$batch"
done
