#!/usr/bin/env bash
# Topic shard benchmarks: append throughput (1 KiB and 100-byte records, a
# sync every 10 ms, counting only durable records) beside dd with
# conv=fdatasync on the same disk; read throughput from the start of a
# 1 GiB shard; recovery time of a 1 GiB shard after SIGKILL.
#
#   benchmarks/topic_bench.sh [BENCH_BINARY] [WORK_DIR]
#
# BENCH_BINARY defaults to build/benchmarks/topic_bench; WORK_DIR (default:
# a new directory under the system's temporary directory) must be on the
# disk to measure. Everything it writes there is removed at the end.
#
# A virtual disk's speed for dd can change by half within a minute, so each
# append runs right after a dd of its own, ROUNDS times (default 3), and the
# summary compares the sum of a kind's runs with the sum of their dds.
set -euo pipefail

bench=${1:-build/benchmarks/topic_bench}
work=${2:-$(mktemp -d)}
rounds=${ROUNDS:-3}
mkdir -p "$work"
trap 'rm -rf "$work"/shard-* "$work"/dd.out' EXIT
gib=$((1 << 30))

echo "== machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"

# dd's MiB/s for 1 GiB written and synced in WORK_DIR.
dd_mib() {
  local line secs
  line=$(dd if=/dev/zero of="$work/dd.out" bs=1M count=1024 conv=fdatasync \
    2>&1 | tail -1)
  rm -f "$work/dd.out"
  secs=$(sed -E 's/.* copied, ([0-9.]+) s.*/\1/' <<<"$line")
  awk -v s="$secs" 'BEGIN { printf "%.1f", 1024 / s }'
}

declare -A sum_dd sum_run
pair() { # kind, then topic_bench's append arguments after the directory
  local kind=$1 dd out mib
  shift
  rm -rf "$work/shard-pair"
  dd=$(dd_mib)
  out=$("$bench" append "$work/shard-pair" "$@")
  mib=$(grep -oE '[0-9.]+ MiB/s of records' <<<"$out" | cut -d' ' -f1)
  echo "$kind: dd $dd MiB/s, then $(head -1 <<<"$out" | sed 's/.*pipelined: //')"
  grep 'acknowledgement' <<<"$out" | sed 's/^/  /'
  sum_dd[$kind]=$(awk -v a="${sum_dd[$kind]:-0}" -v b="$dd" 'BEGIN { print a + b }')
  sum_run[$kind]=$(awk -v a="${sum_run[$kind]:-0}" -v b="$mib" 'BEGIN { print a + b }')
  rm -rf "$work/shard-pair"
}

kinds=("1 KiB, 8 MiB in flight" "1 KiB, 32 MiB in flight" "100 B, 8 MiB in flight"
  "100 B, 32 MiB in flight")
for ((i = 1; i <= rounds; ++i)); do
  echo "== round $i of $rounds: append (each after its own dd)"
  pair "${kinds[0]}" 1024 "$gib"
  pair "${kinds[1]}" 1024 "$gib" 65536 $((32 << 20))
  pair "${kinds[2]}" 100 "$gib"
  pair "${kinds[3]}" 100 "$gib" 65536 $((32 << 20))
done
echo "== append, summed over the rounds"
for kind in "${kinds[@]}"; do
  awk -v k="$kind" -v r="${sum_run[$kind]}" -v d="${sum_dd[$kind]}" \
    -v n="$rounds" 'BEGIN { printf "%s: %.1f MiB/s on average, %.0f%% of dd summed\n", k, r / n, 100 * r / d }'
done

echo "== $bench append $work/shard-1k 1024 $gib (for the reads)"
"$bench" append "$work/shard-1k" 1024 "$gib"
echo "== $bench read $work/shard-1k"
"$bench" read "$work/shard-1k"
echo "== $bench fetch $work/shard-1k"
"$bench" fetch "$work/shard-1k"
rm -rf "$work/shard-1k"

echo "== $bench recovery $work/shard-rec $gib 1024"
"$bench" recovery "$work/shard-rec" "$gib" 1024
