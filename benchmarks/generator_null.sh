#!/usr/bin/env bash
# Macro benchmark: generator -> memory channel -> null sink, 100-byte events,
# pinned to one core with one scheduler thread. Prints events/s, MiB/s and
# peak RSS. Usage: benchmarks/generator_null.sh [BUILD_DIR]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build}
SLUICE_SETUP_BENCH=1 "$root/scripts/setup.sh"
topo="$root/benchmarks/topologies/generator-null.toml"
count=$(awk -F' = ' '/^count/ {print $2}' "$topo")
size=$(awk -F' = ' '/^line_size/ {print $2}' "$topo")
out=$(mktemp)
start=$(date +%s.%N)
/usr/bin/time -f "%M" -o "$out.rss" taskset -c 0 "$build/sluice" run --threads 1 --log-level warn "$topo"
end=$(date +%s.%N)
awk -v s="$start" -v e="$end" -v n="$count" -v b="$size" -v rss="$(cat "$out.rss")" 'BEGIN {
  t = e - s
  printf "generator->memory->null: %d events of %d B in %.2f s: %.2f M events/s, %.1f MiB/s, peak RSS %.1f MiB (one core)\n",
         n, b, t, n / t / 1e6, n * b / t / 1048576, rss / 1024 }'
rm -f "$out" "$out.rss"
