#!/usr/bin/env bash
# Macro benchmark: generator -> memory -> forward sink ==> forward source ->
# memory -> null, the two ends in two `sluice node` processes on 127.0.0.1,
# 100-byte events. Prints events/s and MiB/s from the sending node's start
# to its clean exit (it exits once its generator finished and its channel
# drained through the link, i.e. once the receiver committed every event).
# With --tls, the link runs over mutual TLS with a CA and a node certificate
# made here by the `openssl` command (both nodes present the same one).
# Usage: benchmarks/forward_link.sh [--tls] [BUILD_DIR] [EVENTS] [BATCH]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
tls=0
if [[ ${1:-} == --tls ]]; then
  tls=1
  shift
fi
build=${1:-$root/build}
count=${2:-5000000}
batch=${3:-4096}
size=100
dir=$(mktemp -d)
trap 'kill $relay 2>/dev/null || true; rm -rf "$dir"' EXIT
base=$((20000 + ($$ % 2000) * 3))
cat >"$dir/topology.toml" <<TOML
[nodes.edge]
port = $base

[nodes.relay]
port = $((base + 1))

[sources.gen]
node = "edge"
type = "generator"
channel = "outbox"
count = $count
line_size = $size
batch_size = $batch

[channels.outbox]
node = "edge"
type = "memory"
capacity = $((batch * 16))
transaction_capacity = $((batch * 4))
byte_capacity = "1GiB"

[sinks.link]
node = "edge"
type = "forward"
channel = "outbox"
port = $((base + 2))
batch_size = $((batch * 4))
max_in_flight = 2

[sources.from_edge]
node = "relay"
type = "forward"
channel = "inbox"
port = $((base + 2))
batch_size = $batch

[channels.inbox]
node = "relay"
type = "memory"
capacity = $((batch * 32))
transaction_capacity = $((batch * 4))
byte_capacity = "1GiB"

[sinks.discard]
node = "relay"
type = "null"
channel = "inbox"
batch_size = $((batch * 4))
TOML
transport="plain text"
if ((tls)); then
  openssl req -x509 -newkey rsa:2048 -nodes -keyout "$dir/ca.key" \
    -out "$dir/ca.pem" -days 1 -subj "/CN=benchmark CA" 2>/dev/null
  openssl req -newkey rsa:2048 -nodes -keyout "$dir/node.key" \
    -out "$dir/node.csr" -subj "/CN=node" 2>/dev/null
  openssl x509 -req -in "$dir/node.csr" -CA "$dir/ca.pem" \
    -CAkey "$dir/ca.key" -CAcreateserial -out "$dir/node.pem" -days 1 \
    2>/dev/null
  cat >>"$dir/topology.toml" <<TOML

[cluster.tls]
certificate = "$dir/node.pem"
key = "$dir/node.key"
ca_file = "$dir/ca.pem"
TOML
  transport="TLS"
fi
"$build/sluice" node --log-level warn "$dir/topology.toml" --node relay &
relay=$!
# The relay listens before the sender starts, so connecting is not measured
# as waiting.
for _ in $(seq 100); do
  (exec 3<>"/dev/tcp/127.0.0.1/$((base + 2))") 2>/dev/null && break
  sleep 0.05
done
start=$(date +%s.%N)
"$build/sluice" node --log-level warn "$dir/topology.toml" --node edge
end=$(date +%s.%N)
awk -v s="$start" -v e="$end" -v n="$count" -v b="$size" -v tr="$transport" 'BEGIN {
  t = e - s
  printf "generator->forward->null (two processes, %s): %d events of %d B in %.2f s: %.2f M events/s, %.1f MiB/s\n",
         tr, n, b, t, n / t / 1e6, n * b / t / 1048576 }'
