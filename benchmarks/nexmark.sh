#!/usr/bin/env bash
# Nexmark q0, q1, q2, q5 and q7 (examples/sql/) on one pinned core and on
# two: the generator in-process, a blackhole sink. For each run it prints
# the events the generator covered (persons, auctions and bids: Flink's
# nexmark counts these), the bids among them, the job's time from its
# start to its end (read from the log, so process start-up is left out)
# and events/s.
#
#   benchmarks/nexmark.sh [SLUICE_BINARY] [EVENTS_SIMPLE] [EVENTS_WINDOWED]
#
# Defaults: build/sluice, 50M events for q0-q2, 10M for q5 and q7.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
sluice=${1:-$root/build/sluice}
simple=${2:-50000000}
windowed=${3:-10000000}

ms_of() { # "2026-12-05T03:15:18.763" -> ms since midnight
  local t=${1#*T}
  IFS=':.' read -r h m s f <<<"$t"
  echo $(( (10#$h * 3600 + 10#$m * 60 + 10#$s) * 1000 + 10#$f ))
}

echo "== machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), load $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-4s %-7s %12s %12s %9s %14s\n' query cores events bids seconds events/s
for q in q0 q1 q2 q5 q7; do
  events=$simple
  [[ $q == q5 || $q == q7 ]] && events=$windowed
  for cores in 1 2; do
    cpus=0
    [[ $cores == 2 ]] && cpus=0,1
    log=$(NEXMARK_EVENTS=$events taskset -c "$cpus" "$sluice" sql \
      "$root/examples/sql/$q.sql" --threads "$cores" --parallelism "$cores" \
      2>&1)
    start=$(grep -m1 'info job .*: started' <<<"$log" | cut -d' ' -f1)
    end=$(grep -m1 'info job .*: finished' <<<"$log" | cut -d' ' -f1)
    bids=$(grep 'final stage .*/scan bid:' <<<"$log" | sed 's/.* in=\([0-9]*\).*/\1/')
    ms=$(( $(ms_of "$end") - $(ms_of "$start") ))
    awk -v q="$q" -v c="$cores" -v e="$events" -v b="$bids" -v ms="$ms" \
      'BEGIN { printf "%-4s %-7s %12d %12d %9.3f %14.0f\n", q, c, e, b, ms / 1000, e * 1000 / ms }'
  done
done
