#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The rollback benchmark (docs/benchmarks.md, "Rollback"), against a real systemd user manager:
# this machine's when XDG_RUNTIME_DIR has one running, else a private one started here.
#
# Rolling the sample's six services back to the last-good commit G after a commit B that changed
# app/sampleapp.c (so that a rebuild is needed: build_when_changed), interleaved, RUNS times each:
#
#   reference   reference-rollback.sh G: the reference's rollback.sh (fetch --all --prune,
#               switch --detach, build, restart) + check-native-health.sh; B was deployed the
#               reference's way (pull, build, restart), so shiplog's ledger never sees it
#   shiplog     `shiplog rollback` (no target: the last-good) in the in-place layout, B deployed
#               by `shiplog deploy main --edge-ready`; settle 1s (the sample's config) and settle 0s
#               (a bench copy; the reference holds no settle window)
#   releases    the same with target.layout = releases (a symlink switch + restart, no rebuild),
#               on its own sample; "not available" when shiplog rejects it or it does not work
#
# After every rollback the script checks that web and api answer /health with commit G and that
# every unit is active; a wrong result stops the run.
#
#   tests/bench/rollback/run.sh
#
# Environment: BUILD_DIR (default <source>/build), RUNS (7), SCRATCH_BASE (default /tmp),
# BENCH_KEEP=1 keeps the scratch directory, OUT (default $BUILD_DIR/bench-rollback.txt).
# shellcheck disable=SC2046 # $(units_of ...) splits on purpose: unit names are single words
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
HERE=$ROOT/tests/bench/rollback
# shellcheck source=tests/bench/deploy/lib.sh
. "$ROOT/tests/bench/deploy/lib.sh"

RUNS=${RUNS:-7}

bench_init shiplog
OUT=${OUT:-$BUILD/bench-rollback.txt}
T0=$(now_us)
ROWS=$S/rows
: >"$ROWS"
out() { row "$@" >>"$ROWS"; }
section() { printf '\n%s\n' "$1" >>"$ROWS"; }
ms_since() { awk -v a="$1" -v b="$(now_us)" 'BEGIN { printf "%.1f", (b - a) / 1000 }'; }
die() {
	echo "run.sh: $*" >&2
	exit 1
}

# settle0 CONF OUT [EXTRA-TARGET-LINE]: a bench copy of CONF with settle = 0s
settle0() {
	sed 's/^settle = .*/settle = 0s/' "$1" >"$2"
	grep -q '^settle = 0s$' "$2" || die "no settle line in $1"
	if [ -n "${3:-}" ]; then
		sed -i "s/^\[target\]\$/[target]\n$3/" "$2"
	fi
}

# running_commit: the commit web and api report, "" unless both agree and every unit is active
running_commit() {
	local w a pick='s/.*"commit":"\([0-9a-f]*\)".*/\1/p'
	systemctl --user is-active --quiet $(units_of "${SERVICES[@]}") || return 0
	w=$(curl -fs --max-time 2 "http://127.0.0.1:$SAMPLE_PORT/health" | sed -n "$pick")
	a=$(curl -fs --max-time 2 "http://127.0.0.1:$((SAMPLE_PORT + 1))/health" | sed -n "$pick")
	[ "$w" = "$a" ] && echo "$w"
}

# bad_commit TAG: B, a commit that changes app/sampleapp.c (a comment), pushed to origin/main
bad_commit() {
	bench_push "bad $1" "printf '/* bench: bad commit %s */\\n' '$1' >>app/sampleapp.c"
}

# ---- the in-place sample --------------------------------------------------------------------
bench_sample inplace
CHECKOUT=$SAMPLE_DIR/checkout
CONF0=$S/shiplog-settle0.conf
settle0 "$SAMPLE_CONF" "$CONF0"
G=$(git -C "$CHECKOUT" rev-parse HEAD)
WEB_URL=http://127.0.0.1:$SAMPLE_PORT/
API_URL=http://127.0.0.1:$((SAMPLE_PORT + 1))/health
BUILD_CMD='mkdir -p build && cc -O2 -o build/sampleapp app/sampleapp.c -lsystemd'
grep -qF "build = $BUILD_CMD" "$SAMPLE_CONF" || die "the sample's build is not '$BUILD_CMD'"

say "recording G = ${G:0:12} as last-good: shiplog deploy main --edge-ready"
log=$("$SHIPLOG" -c "$CONF0" deploy main --edge-ready --local 2>&1) ||
	{ echo "$log" >&2; die "first deploy failed"; }

# The reference's deploy of B (untimed): §2.7 git update, the build, one restart.
ref_deploy() {
	(cd "$CHECKOUT" && git fetch -q origin && git switch -q main &&
		git pull -q --ff-only origin main && sh -c "$BUILD_CMD" &&
		systemctl --user restart $(units_of "${SERVICES[@]}"))
}

declare -A t=([ref]="" [s1]="" [s0]="") roll=([s1]="" [s0]="") ver=([s1]="" [s0]="") \
	ov=([s1]="" [s0]="")
order=(ref s1 s0)
say "$RUNS x (reference rollback, shiplog rollback settle 1s, settle 0s), interleaved"
for i in $(seq 1 "$RUNS"); do
	for k in 0 1 2; do
		c=${order[$(((k + i) % 3))]}
		bad_commit "$i$c"
		B=$(git -C "$SAMPLE_DEV" rev-parse HEAD)
		if [ "$c" = ref ]; then
			ref_deploy >/dev/null 2>&1 || die "reference deploy of B failed (run $i)"
		else
			log=$("$SHIPLOG" -c "$CONF0" deploy main --edge-ready --local 2>&1) ||
				{ echo "$log" >&2; die "shiplog deploy of B failed (run $i)"; }
		fi
		[ "$(running_commit)" = "$B" ] || die "B is not running after its deploy (run $i, $c)"
		start=$(now_us)
		case $c in
		ref) log=$("$HERE/reference-rollback.sh" "$CHECKOUT" "$G" "$WEB_URL" "$API_URL" \
			$(units_of "${SERVICES[@]}") 2>&1) ;;
		s1) log=$("$SHIPLOG" -c "$SAMPLE_CONF" -v rollback 2>&1) ;;
		s0) log=$("$SHIPLOG" -c "$CONF0" -v rollback --local 2>&1) ;;
		esac || { echo "$log" >&2; die "$c rollback failed (run $i)"; }
		t[$c]+=" $(ms_since "$start")"
		[ "$(running_commit)" = "$G" ] ||
			{ echo "$log" >&2; die "$c rollback did not bring G back (run $i)"; }
		if [ "$c" != ref ]; then
			grep -q 'shared build: ' <<<"$log" || { echo "$log" >&2; die "$c rollback did not rebuild"; }
			roll[$c]+=" $(dur_ms "$(sed -n 's/.*\] rollout: \([0-9.]*m\{0,1\}s\).*/\1/p' <<<"$log")")"
			ver[$c]+=" $(dur_ms "$(sed -n 's/.*\] verify: \([0-9.]*m\{0,1\}s\).*/\1/p' <<<"$log")")"
			ov[$c]+=" $(sed -n 's/.*shiplog overhead: .* (\([0-9.]*\) ms;.*/\1/p' <<<"$log")"
		fi
	done
done

# The build step alone, for scale (the same command, into a scratch file).
bt=()
for i in 1 2 3; do
	start=$(now_us)
	(cd "$CHECKOUT" && cc -O2 -o "$S/sampleapp.scratch" app/sampleapp.c -lsystemd)
	bt+=("$(ms_since "$start")")
done
systemctl --user stop $(units_of "${SERVICES[@]}")

# ---- the releases layout --------------------------------------------------------------------
rel_why=""
rel=()
rel_roll=()
bench_sample_make releases
CONFR=$S/shiplog-releases.conf
settle0 "$SAMPLE_CONF" "$CONFR" "layout = releases"
GR=$(git -C "$SAMPLE_DIR/checkout" rev-parse HEAD)
say "releases layout: units install + first deploy"
if ! log=$("$SHIPLOG" -c "$CONFR" units install 2>&1); then
	rel_why="units install: $(grep -m1 -i 'error\|shiplog:' <<<"$log" || tail -1 <<<"$log")"
elif ! log=$("$SHIPLOG" -c "$CONFR" deploy main --edge-ready --local 2>&1); then
	rel_why="first deploy failed: $(grep -m1 -iE 'error|FAIL|refus|shiplog:' <<<"$log" ||
		tail -1 <<<"$log")"
elif [ "$(running_commit)" != "$GR" ]; then
	rel_why="after the first deploy the services do not report the deployed commit"
fi
if [ -z "$rel_why" ]; then
	say "releases layout: $RUNS x (deploy B, timed rollback)"
	for i in $(seq 1 "$RUNS"); do
		bad_commit "r$i"
		B=$(git -C "$SAMPLE_DEV" rev-parse HEAD)
		if ! log=$("$SHIPLOG" -c "$CONFR" deploy main --edge-ready --local 2>&1) ||
			[ "$(running_commit)" != "$B" ]; then
			rel_why="deploy of B failed or B is not running (run $i)"
			break
		fi
		start=$(now_us)
		if ! log=$("$SHIPLOG" -c "$CONFR" -v rollback --local 2>&1); then
			rel_why="rollback failed (run $i): $(grep -m1 -iE 'error|FAIL' <<<"$log" || tail -1 <<<"$log")"
			break
		fi
		rel+=("$(ms_since "$start")")
		if [ "$(running_commit)" != "$GR" ]; then
			rel_why="the rollback did not bring G back (run $i)"
			break
		fi
		if grep -q 'shared build: ' <<<"$log"; then
			rel_why="the rollback rebuilt (expected a switch without a build)"
			break
		fi
		rel_roll+=("$(dur_ms "$(sed -n 's/.*\] rollout: \([0-9.]*m\{0,1\}s\).*/\1/p' <<<"$log")")")
	done
fi
[ -n "$rel_why" ] && say "releases layout not available: $rel_why"

# ---- the table ------------------------------------------------------------------------------
# shellcheck disable=SC2086
ref=$(median ${t[ref]})
section "rollback of 6 services to the last-good commit, rebuild needed (median of $RUNS;\
 ratio = value / reference)"
out "  reference-rollback.sh (fetch, switch, build, restart, health)" "$ref" ms "1.00x" "baseline"
for c in s1 s0; do
	# shellcheck disable=SC2086
	m=$(median ${t[$c]})
	if [ "$c" = s1 ]; then
		out "  shiplog rollback, in-place, settle 1s (sample)" "$m" ms "$(ratio "$m" "$ref")" \
			"holds a 1 s settle"
	else
		out "  shiplog rollback, in-place, settle 0s (bench copy)" "$m" ms "$(ratio "$m" "$ref")" \
			"the fair comparison"
	fi
	# shellcheck disable=SC2086
	out "    phase rollout (checkout, build, restart)" "$(median ${roll[$c]})" ms ""
	# shellcheck disable=SC2086
	out "    phase verify (settle, health checks)" "$(median ${ver[$c]})" ms ""
	# shellcheck disable=SC2086
	out "    shiplog overhead (wall - waits), -v line" "$(median ${ov[$c]})" ms ""
done
if [ -z "$rel_why" ]; then
	m=$(median "${rel[@]}")
	out "  shiplog rollback, releases layout, settle 0s" "$m" ms "$(ratio "$m" "$ref")" "no rebuild"
	out "    phase rollout (switch, restart)" "$(median "${rel_roll[@]}")" ms ""
else
	out "  shiplog rollback, releases layout, settle 0s" "n/a" "" "" "not available"
fi
out "  (the build step alone: cc -O2 sampleapp.c)" "$(median "${bt[@]}")" ms ""

elapsed=$(awk -v a="$T0" -v b="$(now_us)" 'BEGIN { printf "%.0f", (b - a) / 1e6 }')
{
	echo "Rollback benchmark (tests/bench/rollback/run.sh), $(date -u +%Y-%m-%dT%H:%M:%SZ)"
	machine
	echo "manager: systemd --user at $XDG_RUNTIME_DIR${MANAGER_PID:+ (private, pid $MANAGER_PID)}"
	echo
	row_header
	cat "$ROWS"
	[ -z "$rel_why" ] || printf '\nreleases layout not available: %s\n' "$rel_why"
	echo
	echo "run time: ${elapsed}s"
} | tee "$OUT"
say "table written to $OUT"
