#!/usr/bin/env bash
# Configures and builds sluice into BUILD_DIR (default: build) with ccache:
# everything, or BUILD_TARGET. Extra arguments go to cmake's configure step.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build_dir=${BUILD_DIR:-$root/build}
jobs=${JOBS:-$(nproc)}
"$root/scripts/setup.sh"
cmake -S "$root" -B "$build_dir" -DCMAKE_BUILD_TYPE=${BUILD_TYPE:-RelWithDebInfo} "$@" >/dev/null
cmake --build "$build_dir" -j "$jobs" ${BUILD_TARGET:+--target "$BUILD_TARGET"}
