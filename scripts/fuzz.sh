#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (ASan + UBSan) and runs each for
# SECONDS seconds (default 30), seeding the topology fuzzer with the example
# topologies. Usage: scripts/fuzz.sh [SECONDS]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
seconds=${1:-30}
export CCACHE_DIR=${CCACHE_DIR:-$root/.ccache}
SLUICE_SETUP_FUZZ=1 "$root/scripts/setup.sh"
build="$root/build-fuzz"
CC=clang CXX=clang++ cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DSLUICE_FUZZ=ON -DSLUICE_BUILD_TESTS=OFF -DSLUICE_BUILD_BENCHMARKS=OFF \
  -DSLUICE_SANITIZE=address,undefined,fuzzer-no-link >/dev/null
cmake --build "$build" -j "$(nproc)" --target topology_fuzz batch_fuzz segment_fuzz
corpus=$(mktemp -d)
trap 'rm -rf "$corpus"' EXIT
mkdir -p "$corpus/topology" "$corpus/batch" "$corpus/segment"
cp "$root"/examples/topologies/*.toml "$corpus/topology/"
for t in topology batch segment; do
  echo "== fuzzing $t for ${seconds}s"
  if ! "$build/fuzz/${t}_fuzz" -max_total_time="$seconds" -max_len=65536 \
      -print_final_stats=1 "$corpus/$t" >"$corpus/$t.log" 2>&1; then
    tail -60 "$corpus/$t.log"
    echo "fuzzer $t found a failure"
    exit 1
  fi
  grep -E "^(Done|stat::number_of_executed_units)" "$corpus/$t.log"
done
