#!/usr/bin/env bash
# End-to-end latency of the scenario's path, line appended -> row visible
# in MariaDB, at each RATE (lines/s): a `sluice node` tails a file (taildir,
# file channel) into a 2-shard topic (group commit every 10 ms); a `sluice
# sql` job reads the topic and upserts, per shop (100 of them), the count
# and the last line number into MariaDB (a non-windowed GROUP BY:
# 'sink.buffer-flush.interval' = FLUSH); latency_probe appends the lines
# and polls the table every millisecond (see latency_probe.cpp). One
# private mariadbd for every run (benchmarks/mariadb_server.sh).
#
#   benchmarks/latency.sh [BUILD_DIR] [SECONDS] [FLUSH] [RATE ...]
#
# Defaults: build, 20 s per run, FLUSH '10 ms', rates 10000 and 100000.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "${1:-build}" && pwd)
seconds=${2:-20}
flush=${3:-10 ms}
shift $(($# < 3 ? $# : 3))
rates=("$@")
[[ ${#rates[@]} -gt 0 ]] || rates=(10000 100000)

work=$(mktemp -d)
source "$here/mariadb_server.sh"
pids=()
stop_pids() {
  for p in "${pids[@]}"; do
    kill "$p" 2>/dev/null || true
    wait "$p" 2>/dev/null || true
  done
  pids=()
}
cleanup() {
  stop_pids
  stop_mariadb "$work"
  rm -rf "$work"
}
trap cleanup EXIT
start_mariadb "$work"
sql() { mariadb --no-defaults --socket="$work/mysqld.sock" -uroot -N -e "$1"; }

echo "== machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg); $(/usr/sbin/mariadbd --version)"
echo "== $seconds s per rate, sink.buffer-flush.interval '$flush', 100 shops"
for rate in "${rates[@]}"; do
  run="$work/run-$rate"
  mkdir -p "$run/logs"
  node_port=$((30000 + RANDOM % 10000))
  cat >"$run/node.toml" <<TOML
[nodes.store]
port = $node_port

[topics.lines]
node = "store"
directory = "$run/topic"
shards = 2
fsync = "10ms"

[sources.tail]
type = "taildir"
node = "store"
channel = "disk"
batch_size = 1000
filegroups = { lines = "$run/logs/*.log" }
position_file = "$run/positions.json"

[channels.disk]
type = "file"
node = "store"
directory = "$run/channel"
min_free_space = "1MiB"
transaction_capacity = 1000

[sinks.append]
type = "topic"
node = "store"
channel = "disk"
topic = "lines"
batch_size = 1000
TOML
  cat >"$run/job.sql" <<SQL
CREATE TABLE lines (seq BIGINT, shop BIGINT)
WITH ('connector' = 'topic', 'topic' = 'lines',
      'address' = '127.0.0.1:$node_port', 'format' = 'csv',
      'scan.startup.mode' = 'earliest-offset');
CREATE TABLE latest (shop BIGINT, n BIGINT, last_seq BIGINT,
  PRIMARY KEY (shop) NOT ENFORCED)
WITH ('connector' = 'mariadb', 'url' = 'jdbc:mysql://127.0.0.1:$port/bench',
      'table-name' = 'latest', 'username' = 'bench', 'password' = 'bench',
      'sink.create-table' = 'true', 'sink.buffer-flush.interval' = '$flush');
INSERT INTO latest SELECT shop, COUNT(*), MAX(seq) FROM lines GROUP BY shop;
SQL
  "$build/sluice" node "$run/node.toml" --node store >"$run/node.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 300); do
    "$build/sluice" topic describe lines --node "127.0.0.1:$node_port" \
      --timeout 1s >/dev/null 2>&1 && break
    sleep 0.1
  done
  "$build/sluice" sql "$run/job.sql" >"$run/sql.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 300); do
    sql "SELECT 1 FROM bench.latest LIMIT 1" >/dev/null 2>&1 && break
    sleep 0.1
  done
  echo -n "rate $rate lines/s: "
  "$build/benchmarks/latency_probe" 127.0.0.1 "$port" bench bench bench latest \
    "$run/logs/app.log" "$rate" "$seconds" 100 || echo "(probe failed; logs: $run)"
  stop_pids
  sql "DROP TABLE bench.latest"
done
