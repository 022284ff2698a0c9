#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (ASan + UBSan) and runs each for
# SECONDS seconds (default 30). The topology fuzzer starts from the example
# topologies, the seeds in fuzz/corpus/topology and two generated ones (a
# table header of 40,000 dotted parts, arrays 10,000 deep), takes inputs up
# to 256 KiB and mutates with fuzz/topology.dict. The Flume fuzzer starts
# from examples/flume. The shard fuzzer seeds itself with a real shard
# directory; the SQL fuzzer starts from fuzz/corpus/sql and mutates with
# fuzz/sql.dict; the row batch fuzzer from fuzz/corpus/row_batch; the
# table text fuzzer (CSV and JSON lines) from fuzz/corpus/table_text.
# Usage: scripts/fuzz.sh [SECONDS]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
seconds=${1:-30}
export CCACHE_DIR=${CCACHE_DIR:-$root/.ccache}
SLUICE_SETUP_FUZZ=1 "$root/scripts/setup.sh"
build="$root/build-fuzz"
CC=clang CXX=clang++ cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DSLUICE_FUZZ=ON -DSLUICE_BUILD_TESTS=OFF -DSLUICE_BUILD_BENCHMARKS=OFF \
  -DSLUICE_SANITIZE=address,undefined,fuzzer-no-link -DSLUICE_UNITY=ON \
  "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O1 -g1" >/dev/null
cmake --build "$build" -j "$(nproc)" --target topology_fuzz flume_fuzz batch_fuzz segment_fuzz shard_fuzz sql_fuzz \
  row_batch_fuzz table_text_fuzz
corpus=$(mktemp -d)
trap 'rm -rf "$corpus"' EXIT
mkdir -p "$corpus/topology" "$corpus/flume" "$corpus/batch" "$corpus/segment" "$corpus/shard" \
  "$corpus/sql" "$corpus/row_batch" "$corpus/table_text"
cp "$root"/examples/flume/*.properties "$corpus/flume/"
cp "$root"/fuzz/corpus/sql/*.sql "$corpus/sql/"
cp "$root"/fuzz/corpus/row_batch/* "$corpus/row_batch/"
cp "$root"/fuzz/corpus/table_text/* "$corpus/table_text/"
cp "$root"/examples/topologies/*.toml "$root"/fuzz/corpus/topology/*.toml \
  "$corpus/topology/"
printf '[%s]\n' "$(printf 'a.%.0s' $(seq 39999))a" >"$corpus/topology/header-40000.toml"
printf 'x = %s%s\n' "$(printf '[%.0s' $(seq 10000))" "$(printf ']%.0s' $(seq 10000))" \
  >"$corpus/topology/arrays-10000.toml"
for t in topology flume batch segment shard sql row_batch table_text; do
  echo "== fuzzing $t for ${seconds}s"
  args=(-max_len=65536)
  if [[ $t == topology ]]; then
    args=(-max_len=262144 -dict="$root/fuzz/topology.dict")
  elif [[ $t == sql ]]; then
    args=(-max_len=65536 -dict="$root/fuzz/sql.dict")
  fi
  if ! "$build/fuzz/${t}_fuzz" -max_total_time="$seconds" "${args[@]}" \
      -print_final_stats=1 "$corpus/$t" >"$corpus/$t.log" 2>&1; then
    tail -60 "$corpus/$t.log"
    echo "fuzzer $t found a failure"
    exit 1
  fi
  grep -E "^(Done|stat::number_of_executed_units)" "$corpus/$t.log"
done
