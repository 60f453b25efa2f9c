#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The releases-layout build benchmark (docs/benchmarks.md, "Releases: carry"), against a real
# systemd user manager: this machine's when XDG_RUNTIME_DIR has one running, else a private one.
#
# A one-line change (a line appended to NOTES) deployed with `shiplog deploy main --workers-only`
# in the releases layout, RUNS times each, interleaved, on two samples whose build is the
# sample's `cc` plus deps.sh, a stand-in for `npm install`: when node_modules is missing it waits
# 2 s (the download) and writes 2,000 files in 40 packages; when it is there it does nothing.
#
#   before   no carry: every new release builds from scratch (what shiplog did before carry)
#   after    carry = build, node_modules: the previous release's output is copied in (reflinks
#            where the filesystem has them, else copies) and, build_when_changed
#            (app/sampleapp.c) being unchanged, the shared build is skipped
#
# Both use settle 0s so that the figures are the deploy's own work. After every deploy the
# script checks that compute's heartbeat reports the new commit.
#
#   tests/bench/releases/run.sh
#
# Environment: BUILD_DIR (default <source>/build), RUNS (5), SCRATCH_BASE (default /tmp),
# BENCH_KEEP=1 keeps the scratch directory, OUT (default $BUILD_DIR/bench-releases.txt).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
# shellcheck source=tests/bench/deploy/lib.sh
. "$ROOT/tests/bench/deploy/lib.sh"

RUNS=${RUNS:-5}
bench_init shiplog
OUT=${OUT:-$BUILD/bench-releases.txt}
die() { echo "run.sh: $*" >&2; exit 1; }

DEPS='[ -d node_modules ] && exit 0
sleep 2
i=0
while [ $i -lt 40 ]; do
	mkdir -p node_modules/p$i/lib
	j=0
	while [ $j -lt 50 ]; do echo "module.exports = $i.$j" > node_modules/p$i/lib/f$j.js; j=$((j + 1)); done
	i=$((i + 1))
done'

# setup NAME CARRY: a sample with its own conf ($S/NAME.conf), first release deployed
setup() {
	local name=$1 carry=$2 conf=$S/$1.conf
	bench_sample_make "$name"
	sed -e 's/^settle = .*/settle = 0s/' \
		-e 's|^build = .*|build = mkdir -p build \&\& cc -O2 -o build/sampleapp app/sampleapp.c -lsystemd \&\& sh deps.sh|' \
		"$SAMPLE_CONF" >"$conf"
	sed -i "s/^\[target\]\$/[target]\nlayout = releases\nkeep_releases = 3${carry:+\\ncarry = $carry}/" "$conf"
	printf '%s\n' "$DEPS" >"$SAMPLE_DEV/deps.sh"
	bench_push "deps" "true"
	"$SHIPLOG" -c "$conf" units install >/dev/null
	"$SHIPLOG" -c "$conf" deploy main --edge-ready --local >"$S/$name.first.log" 2>&1 ||
		die "first deploy of $name failed: see $S/$name.first.log"
	eval "DIR_$name=\$SAMPLE_DIR DEV_$name=\$SAMPLE_DEV"
}

# one NAME I: push a one-line change, time its deploy (ms), check compute runs it
one() {
	local name=$1 i=$2 conf=$S/$1.conf dev dir t0 t1 c beat
	eval "dev=\$DEV_$name dir=\$DIR_$name"
	(cd "$dev" && echo "line $i" >>NOTES && git add -A && git commit -qm "one line $i" &&
		git push -q origin HEAD:main)
	c=$(git -C "$dev" rev-parse HEAD)
	t0=$(now_us)
	"$SHIPLOG" -c "$conf" deploy main --workers-only --local >"$S/$name.$i.log" 2>&1 ||
		die "deploy $name $i failed: see $S/$name.$i.log"
	t1=$(now_us)
	for _ in $(seq 1 50); do
		beat=$(cut -d' ' -f1 "$dir/beats/compute.beat" 2>/dev/null || true)
		[ "$beat" = "$c" ] && break
		sleep 0.1
	done
	[ "$beat" = "$c" ] || die "$name $i: compute runs $beat, not $c"
	echo $(((t1 - t0) / 1000))
}

say "setting up the two samples"
setup before ""
setup after "build, node_modules"
# one untimed deploy each so that both start from a release built the same way
one before 0 >/dev/null
one after 0 >/dev/null
b=() a=()
for i in $(seq 1 "$RUNS"); do
	b+=("$(one before "$i")")
	a+=("$(one after "$i")")
	say "run $i: before ${b[-1]} ms, after ${a[-1]} ms"
done
mb=$(median "${b[@]}")
ma=$(median "${a[@]}")
grep -h 'carry node_modules\|skipping the shared build' "$S/after.$RUNS.log" | sed 's/^/  /' >&2
{
	machine
	row_header
	row "releases deploy of a one-line change, no carry (before)" "$mb" ms "1.00x" \
		"full build every release: $(minmax "${b[@]}")"
	row "releases deploy of a one-line change, carry (after)" "$ma" ms "$(ratio "$ma" "$mb")" \
		"carried, build skipped: $(minmax "${a[@]}")"
} | tee "$OUT"
