#!/usr/bin/env bash
# Runs every test: formatting, the build, the unit and end-to-end tests, a
# short run of each benchmark (so they do not rot), then the tests again
# under AddressSanitizer/UBSan, the tests without actors under
# ThreadSanitizer, and each fuzzer for SLUICE_FUZZ_SECONDS (default 20).
# SLUICE_SANITIZERS=0 skips the sanitizer and fuzz builds.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
jobs=${JOBS:-$(nproc)}
export CCACHE_DIR=${CCACHE_DIR:-$root/.ccache}

"$root/scripts/setup.sh"

echo "== formatting"
if command -v clang-format >/dev/null; then
  files=$(git ls-files '*.cpp' '*.hpp')
  clang-format --dry-run --Werror $files
else
  echo "clang-format not installed; skipped"
fi

echo "== build and test"
BUILD_DIR="$root/build" "$root/scripts/build.sh"
(cd "$root/build" && ctest --output-on-failure -j "$jobs" --timeout 300)

echo "== benchmarks, briefly"
for b in "$root"/build/benchmarks/*_benchmark; do
  [[ -x "$b" ]] || continue
  "$b" --benchmark_min_time=0.01 >/dev/null
done

# The sanitizer builds compile the library in unity batches (SLUICE_UNITY:
# a cold build in a fraction of the time; the plain build above keeps one
# file per unit, which also checks each file's includes),
# at -O1 with line tables only: the tests run several times faster than at
# -O0, and reports still name file and line.
sanitizer_flags=(-DSLUICE_UNITY=ON "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O1 -g1"
  -DSLUICE_BUILD_BENCHMARKS=OFF -DSLUICE_HEADER_CHECK=OFF)

if [[ "${SLUICE_SANITIZERS:-1}" == 1 ]]; then
  echo "== AddressSanitizer + UndefinedBehaviorSanitizer"
  BUILD_DIR="$root/build-asan" "$root/scripts/build.sh" \
    -DSLUICE_SANITIZE=address,undefined "${sanitizer_flags[@]}"
  (cd "$root/build-asan" && \
    SLUICE_ORACLE_ROWS=100000 \
    ASAN_OPTIONS=detect_leaks=1 LSAN_OPTIONS=suppressions="$root/tests/lsan.supp" \
    UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
    ctest --output-on-failure -j "$jobs" --timeout 600)

  # Debian's CAF is not built with ThreadSanitizer, so every message CAF
  # hands between threads is reported as a race: the actor tests cannot run
  # under it. The tests whose threads are the project's own (a writer and a
  # tailer, child processes, sockets, stores) do; a test that runs an engine
  # is tagged [pipeline] and left out of these tags, and so is one that runs
  # the sluice binary ([e2e]).
  echo "== ThreadSanitizer (tests without actors)"
  BUILD_DIR="$root/build-tsan" "$root/scripts/build.sh" \
    -DSLUICE_SANITIZE=thread "${sanitizer_flags[@]}" \
    "-DSLUICE_TEST_DIRS=connectors;runtime"
  (cd "$root/build-tsan" && \
    TSAN_OPTIONS=halt_on_error=1 ./tests/sluice_tests \
      "[taildir]~[e2e],[file_store]~[e2e],[memory_store]~[e2e],[exec]~[e2e],[tcp]~[e2e],[generator]~[e2e],[interceptors]~[e2e],[file_sink]~[e2e]")

  echo "== fuzzing (topology files, Flume files, batches, channel segments, shard directories, SQL, row batches, table text)"
  "$root/scripts/fuzz.sh" "${SLUICE_FUZZ_SECONDS:-20}"
fi
echo "== all tests passed"
