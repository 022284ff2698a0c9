#!/usr/bin/env bash
# Builds sluice if needed and runs the collection scenario end to end.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
export CCACHE_DIR=${CCACHE_DIR:-$root/.ccache}
BUILD_DIR="$root/build" "$root/scripts/build.sh" >/dev/null
exec "$root/build/sluice" demo "$@"
