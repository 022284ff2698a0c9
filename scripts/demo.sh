#!/usr/bin/env bash
# Builds the sluice binary if needed and runs the collection scenario end to
# end. Arguments go to `sluice demo` (--lines, --interval-ms, --dir).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
export CCACHE_DIR=${CCACHE_DIR:-$root/.ccache}
"$root/scripts/setup.sh"
cmake -S "$root" -B "$root/build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$root/build" -j "$(nproc)" --target sluice >/dev/null
exec "$root/build/sluice" demo "$@"
