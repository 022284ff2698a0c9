#!/usr/bin/env bash
# Runs every test: formatting, the build (with AddressSanitizer/UBSan), the
# unit and end-to-end tests, a short run of each benchmark (so they do not
# rot), the tests without actors under ThreadSanitizer, and each fuzzer for
# SLUICE_FUZZ_SECONDS (default 20). SLUICE_SANITIZERS=0 builds without
# sanitizers and skips ThreadSanitizer and the fuzzers.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
jobs=${JOBS:-$(nproc)}
export CCACHE_DIR=${CCACHE_DIR:-$root/.ccache}

# The sanitizer builds need clang (below).
SLUICE_SETUP_FUZZ=${SLUICE_SANITIZERS:-1} "$root/scripts/setup.sh"

# Each phase says how long the run has taken so far.
start=$SECONDS
phase() { echo "== $* (at $((SECONDS - start)) s)"; }

phase "formatting"
if command -v clang-format >/dev/null; then
  files=$(git ls-files '*.cpp' '*.hpp')
  clang-format --dry-run --Werror $files
else
  echo "clang-format not installed; skipped"
fi

# A cold build is mostly CAF's templates instantiated again in every file
# (precompiled headers save nothing), so the builds compile the library in
# unity batches (SLUICE_UNITY) at -O1 with line tables only, and the tests
# run once, in the build with AddressSanitizer and UBSan: that build also
# compiles every header on its own and the benchmarks. The incremental
# build of the README (scripts/build.sh) keeps one file per unit, which
# checks each source file's own includes.
common_flags=(-DSLUICE_UNITY=ON "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O1 -g1")

if [[ "${SLUICE_SANITIZERS:-1}" == 1 ]]; then
  # Clang, not GCC: with AddressSanitizer and UBSan one batch of eight
  # library files took 140 s of CPU with GCC and 84 s with clang, the whole
  # build from cold 1,618 s (GCC, another compile beside it for four of
  # those minutes) against 891 s, and GCC's test binary was 728 MB (279 MB
  # of it UBSan's data, which LeakSanitizer scans at every exit) against
  # clang's 188 MB. Executables are linked without PIE: a PIE binary of
  # that size spends most of a second relocating itself at every start, and
  # the tests start about 640 test processes and many more sluice ones. A
  # trivial test took 1.9 s with GCC and PIE, 0.35 s now.
  phase "build with AddressSanitizer + UndefinedBehaviorSanitizer"
  CC=clang CXX=clang++ BUILD_DIR="$root/build-asan-clang" "$root/scripts/build.sh" \
    -DSLUICE_SANITIZE=address,undefined "${common_flags[@]}" \
    -DCMAKE_EXE_LINKER_FLAGS=-no-pie \
    -DSLUICE_BUILD_BENCHMARKS=ON -DSLUICE_HEADER_CHECK=ON
  test_dir="$root/build-asan-clang"
  export ASAN_OPTIONS=detect_leaks=1
  export LSAN_OPTIONS=suppressions="$root/tests/lsan.supp"
  export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
  export SLUICE_ORACLE_ROWS=100000
  timeout=600
else
  phase "build"
  BUILD_DIR="$root/build-check" "$root/scripts/build.sh" "${common_flags[@]}" \
    -DSLUICE_BUILD_BENCHMARKS=ON -DSLUICE_HEADER_CHECK=ON
  test_dir="$root/build-check"
  timeout=300
fi

phase "tests"
(cd "$test_dir" && ctest --output-on-failure -j "$jobs" --timeout "$timeout")

phase "benchmarks, briefly"
for b in "$test_dir"/benchmarks/*_benchmark; do
  [[ -x "$b" ]] || continue
  "$b" --benchmark_min_time=0.01 >/dev/null
done

if [[ "${SLUICE_SANITIZERS:-1}" == 1 ]]; then
  # Debian's CAF is not built with ThreadSanitizer, so every message CAF
  # hands between threads is reported as a race: the actor tests cannot run
  # under it. The tests whose threads are the project's own (a writer and a
  # tailer, child processes, sockets, stores) do; a test that runs an engine
  # is tagged [pipeline] and left out of these tags, and so is one that runs
  # the sluice binary ([e2e]).
  phase "ThreadSanitizer (tests without actors)"
  # Clang here too: it compiles this build in about half GCC's time. Only
  # the tests are built (not the CLI: these tests do not run it).
  CC=clang CXX=clang++ BUILD_DIR="$root/build-tsan-clang" BUILD_TARGET=sluice_tests \
    "$root/scripts/build.sh" \
    -DSLUICE_SANITIZE=thread "${common_flags[@]}" \
    -DSLUICE_BUILD_BENCHMARKS=OFF -DSLUICE_HEADER_CHECK=OFF \
    "-DSLUICE_TEST_DIRS=connectors;runtime"
  (cd "$root/build-tsan-clang" && \
    TSAN_OPTIONS=halt_on_error=1 ./tests/sluice_tests \
      "[taildir]~[e2e],[file_store]~[e2e],[memory_store]~[e2e],[exec]~[e2e],[tcp]~[e2e],[generator]~[e2e],[interceptors]~[e2e],[file_sink]~[e2e]")

  phase "fuzzing (topology files, Flume files, batches, channel segments, shard directories, SQL, row batches, table text)"
  "$root/scripts/fuzz.sh" "${SLUICE_FUZZ_SECONDS:-20}"
fi
phase "all tests passed"
