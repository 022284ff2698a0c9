#!/usr/bin/env bash
# Macro benchmark: taildir -> file channel -> file sink over a file of
# 2,000,000 lines of 100 bytes, and in the same run rsyslog (imfile ->
# omfile, its own instance and config) over the same file. Prints lines/s,
# MiB/s and peak RSS of each, and the ratio.
# Usage: benchmarks/taildir_vs_rsyslog.sh [BUILD_DIR] [LINES]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build}
lines=${2:-2000000}
SLUICE_SETUP_BENCH=1 "$root/scripts/setup.sh"
work=$(mktemp -d /tmp/sluice-bench-XXXXXX)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/in" "$work/sluice" "$work/rsyslog/work"
bytes=$((lines * 100))

# 99 characters and a newline per line.
awk -v n="$lines" 'BEGIN {
  pad = sprintf("%086d", 0); gsub(/0/, "x", pad)
  for (i = 0; i < n; i++) printf "%012d %s\n", i, pad }' > "$work/in/bench.log"
actual=$(stat -c %s "$work/in/bench.log")
[[ $actual == "$bytes" ]] || { echo "input is $actual bytes, expected $bytes"; exit 1; }

# Waits until the files matching $1 hold $2 bytes; prints the seconds since $3.
wait_bytes() {
  local pattern=$1 want=$2 start=$3 have=0
  while :; do
    have=$(cat $pattern 2>/dev/null | wc -c || true)
    [[ $have -ge $want ]] && break
    sleep 0.05
  done
  awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN { printf "%.3f", e - s }'
}

cat > "$work/sluice/topology.toml" <<TOML
[sources.tail]
type = "taildir"
channel = "disk"
batch_size = 4096
filegroups = { bench = "$work/in/*.log" }
position_file = "$work/sluice/positions.json"
read_buffer = "1MiB"

[channels.disk]
type = "file"
directory = "$work/sluice/channel"
transaction_capacity = 16384
min_free_space = "64MiB"

[sinks.out]
type = "file"
channel = "disk"
batch_size = 16384
directory = "$work/sluice/out"
roll_size = "1GiB"
TOML

cat > "$work/rsyslog/rsyslog.conf" <<CONF
global(workDirectory="$work/rsyslog/work")
module(load="imfile" mode="inotify")
template(name="raw" type="string" string="%msg%\n")
ruleset(name="bench") {
  action(type="omfile" file="$work/rsyslog/out.log" template="raw")
}
input(type="imfile" file="$work/in/bench.log" tag="bench" ruleset="bench")
CONF

sync
echo 3 > /proc/sys/vm/drop_caches 2>/dev/null || true
cat "$work/in/bench.log" > /dev/null

start=$(date +%s.%N)
/usr/bin/time -f "%M" -o "$work/sluice.rss" "$build/sluice" run --log-level warn "$work/sluice/topology.toml" &
pid=$!
sluice_s=$(wait_bytes "$work/sluice/out/*" "$bytes" "$start")
pkill -TERM -P "$pid" sluice || true
wait "$pid" || true
sluice_lines=$(cat "$work"/sluice/out/* | wc -l)
if cat "$work"/sluice/out/* | cmp -s - "$work/in/bench.log"; then
  echo "sluice output is identical to the input"
else
  echo "sluice output DIFFERS from the input"
fi

start=$(date +%s.%N)
/usr/bin/time -f "%M" -o "$work/rsyslog.rss" rsyslogd -n -iNONE -f "$work/rsyslog/rsyslog.conf" 2>"$work/rsyslog/stderr.log" &
pid=$!
rsyslog_s=$(wait_bytes "$work/rsyslog/out.log" "$bytes" "$start")
pkill -TERM -P "$pid" rsyslogd || true
wait "$pid" || true
rsyslog_lines=$(wc -l < "$work/rsyslog/out.log")

awk -v n="$lines" -v b="$bytes" -v ts="$sluice_s" -v tr="$rsyslog_s" \
    -v ls="$sluice_lines" -v lr="$rsyslog_lines" \
    -v ms="$(cat "$work/sluice.rss")" -v mr="$(cat "$work/rsyslog.rss")" 'BEGIN {
  printf "sluice  taildir->file channel->file sink: %d lines in %.2f s: %.0f lines/s, %.1f MiB/s, peak RSS %.1f MiB\n", ls, ts, n / ts, b / ts / 1048576, ms / 1024
  printf "rsyslog imfile->omfile:                  %d lines in %.2f s: %.0f lines/s, %.1f MiB/s, peak RSS %.1f MiB\n", lr, tr, n / tr, b / tr / 1048576, mr / 1024
  printf "ratio (sluice / rsyslog lines/s): %.2fx; memory ratio %.2fx\n", tr / ts, ms / mr }'
