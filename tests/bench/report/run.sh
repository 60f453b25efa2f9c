#!/bin/sh
# SPDX-License-Identifier: MIT
# Runs the report benchmark (docs/benchmarks.md, "Report"): builds bench-report and shiplog when
# needed, builds a ledger of 100k operations in a scratch directory under the build directory,
# times `shiplog report` on it in process and as a process, and tees the table to a file.
#
#   tests/bench/report/run.sh [bench-report options...]
#
# Environment: BUILD_DIR (default <source>/build), SCRATCH (default $BUILD_DIR/bench-scratch),
# OUT (default $BUILD_DIR/bench-report.txt). Extra arguments go to bench-report (--ops N,
# --runs N, --keep).
set -eu

src=$(cd "$(dirname "$0")/../../.." && pwd)
build=${BUILD_DIR:-$src/build}
scratch=${SCRATCH:-$build/bench-scratch}
out=${OUT:-$build/bench-report.txt}

if [ ! -f "$build/CMakeCache.txt" ]; then
	cmake -S "$src" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
fi
case $(sed -n 's/^CMAKE_BUILD_TYPE:[A-Z]*=//p' "$build/CMakeCache.txt") in
Release | RelWithDebInfo | MinSizeRel) ;;
*) echo "run.sh: warning: '$build' is not an optimized build; figures will be slow" >&2 ;;
esac

jobs=$(nproc 2>/dev/null || echo 2)
cmake --build "$build" -j"$jobs" --target bench-report shiplog >/dev/null
mkdir -p "$scratch"
"$build/tests/bench/bench-report" --dir "$scratch" --shiplog "$build/src/shiplog" "$@" | tee "$out"
echo "run.sh: table written to $out" >&2
