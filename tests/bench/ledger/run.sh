#!/bin/sh
# SPDX-License-Identifier: MIT
# Runs the ledger benchmark (docs/benchmarks.md, "Ledger"): builds bench-ledger and shiplog when
# needed, runs the benchmark on a scratch directory under the build directory, and tees the
# machine and the table to a file.
#
#   tests/bench/ledger/run.sh [bench-ledger options...]
#
# Environment: BUILD_DIR (default <source>/build), SCRATCH (default $BUILD_DIR/bench-scratch;
# every file of the run lives there, on one filesystem), OUT (default
# $BUILD_DIR/bench-ledger.txt). Extra arguments go to bench-ledger (--appends N, --big N, --keep).
set -eu

src=$(cd "$(dirname "$0")/../../.." && pwd)
build=${BUILD_DIR:-$src/build}
scratch=${SCRATCH:-$build/bench-scratch}
out=${OUT:-$build/bench-ledger.txt}

if [ ! -f "$build/CMakeCache.txt" ]; then
	cmake -S "$src" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
fi
case $(sed -n 's/^CMAKE_BUILD_TYPE:[A-Z]*=//p' "$build/CMakeCache.txt") in
Debug) echo "run.sh: warning: '$build' is not an optimized build; figures will be slow" >&2 ;;
esac

jobs=$(nproc 2>/dev/null || echo 2)
cmake --build "$build" -j"$jobs" --target bench-ledger >/dev/null
bench=$(find "$build/tests/bench" -name bench-ledger -type f -perm -u+x | head -n1)
if [ -z "$bench" ]; then
	echo "run.sh: bench-ledger was not built (is libsqlite3-dev installed?)" >&2
	exit 1
fi

# The process rows need the shiplog binary; without it they are left out, not faked.
if cmake --build "$build" -j"$jobs" --target shiplog >/dev/null 2>&1 && [ -x "$build/src/shiplog" ]; then
	set -- --shiplog "$build/src/shiplog" "$@"
else
	echo "run.sh: warning: the shiplog target did not build; process rows are left out" >&2
fi

mkdir -p "$scratch"
"$bench" --dir "$scratch" "$@" | tee "$out"
echo "run.sh: table written to $out" >&2
