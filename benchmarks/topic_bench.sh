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
set -euo pipefail

bench=${1:-build/benchmarks/topic_bench}
work=${2:-$(mktemp -d)}
mkdir -p "$work"
trap 'rm -rf "$work"/shard-* "$work"/dd.out' EXIT
gib=$((1 << 30))

echo "== machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "== dd if=/dev/zero of=$work/dd.out bs=1M count=1024 conv=fdatasync"
dd if=/dev/zero of="$work/dd.out" bs=1M count=1024 conv=fdatasync 2>&1 | tail -1
rm -f "$work/dd.out"

echo "== $bench append $work/shard-1k 1024 $gib"
"$bench" append "$work/shard-1k" 1024 "$gib"
echo "== $bench append $work/shard-100 100 $gib"
"$bench" append "$work/shard-100" 100 "$gib"
rm -rf "$work/shard-100"

echo "== $bench read $work/shard-1k"
"$bench" read "$work/shard-1k"
echo "== $bench fetch $work/shard-1k"
"$bench" fetch "$work/shard-1k"
rm -rf "$work/shard-1k"

echo "== $bench recovery $work/shard-rec $gib 1024"
"$bench" recovery "$work/shard-rec" "$gib" 1024
