#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The native deploy benchmark (docs/benchmarks.md, "Native deploy"), against a real systemd user
# manager: this machine's when XDG_RUNTIME_DIR has one running, else a private one started here.
#
#   a. restarting the sample's six units: shiplog's parallel sd-bus restart (bench-restart, in
#      process) vs one `systemctl --user restart U` per unit in sequence + is-active per unit vs
#      one `systemctl --user restart U1..U6` (with and without is-active), without and with a
#      0.2 s ready_delay (sample units as they are: only web/api are Type=notify; then all six
#      made Type=notify in the installed copies)
#   b. shiplog's own overhead in `deploy main --fast --no-build` (the -v timings line: wall minus
#      the time spent waiting on commands, jobs and checks), a new commit each deploy; also the
#      wall time and the phases
#   c. a fast worker deploy end to end: shiplog (settle 1s as in the sample, and settle 0s from a
#      bench copy of the config) vs reference-flow.sh (the reference's git + restart + is-active)
#      over the same repository and units, interleaved
#
#   tests/bench/deploy/run.sh
#
# Environment: BUILD_DIR (default <source>/build), REPS_A (10), REPS_B (10), REPS_C (7),
# SCRATCH_BASE (default /tmp; the scratch directory is made there and removed at the end),
# BENCH_KEEP=1 keeps it, OUT (default $BUILD_DIR/bench-deploy.txt) gets a copy of the table.
# shellcheck disable=SC2046 # $(units_of ...) splits on purpose: unit names are single words
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
HERE=$ROOT/tests/bench/deploy
# shellcheck source=tests/bench/deploy/lib.sh
. "$HERE/lib.sh"

REPS_A=${REPS_A:-10}
REPS_B=${REPS_B:-10}
REPS_C=${REPS_C:-7}

bench_init shiplog bench-restart
OUT=${OUT:-$BUILD/bench-deploy.txt}
RESTART=$(find "$BUILD/tests/bench" -name bench-restart -type f -perm -u+x | head -n1)
[ -n "$RESTART" ] || { echo "run.sh: bench-restart was not built" >&2; exit 1; }
T0=$(now_us)
ROWS=$S/rows
: >"$ROWS"
out() { row "$@" >>"$ROWS"; }
section() { printf '\n%s\n' "$1" >>"$ROWS"; }

# ---- a. restarting six units ------------------------------------------------------------------
# restart_case LABEL: bench-restart over the six units; one block of rows, ratios vs shiplog.
restart_case() {
	local label=$1 res ship
	say "a. $label: $REPS_A repetitions of each way"
	res=$("$RESTART" --reps "$REPS_A" $(units_of "${SERVICES[@]}"))
	ship=$(awk '$1 == "shiplog" {print $2}' <<<"$res")
	section "a. restart 6 units, $label (median of $REPS_A; ratio = value / shiplog)"
	while read -r c med _; do
		case $c in
		shiplog) out "  shiplog: sd-bus RestartUnit x6 in parallel" "$med" ms "1.00x" "baseline" ;;
		seq) out "  systemctl restart U, x6 in sequence + is-active x6" "$med" ms \
			"$(ratio "$med" "$ship")" "reference helpers" ;;
		batch) out "  one systemctl restart U1..U6" "$med" ms "$(ratio "$med" "$ship")" ;;
		batch+check) out "  one systemctl restart U1..U6 + is-active x6" "$med" ms \
			"$(ratio "$med" "$ship")" "reference 2.7" ;;
		open) out "  (shiplog bus_open + first call, once per deploy)" "$med" ms "" ;;
		retries) [ "$med" = 0 ] || out "  (shiplog restarts retried: bus connection lost)" "$med" "" "" ;;
		esac
	done <<<"$res"
}

bench_sample restart
restart_case "no ready delay"
for s in "${SERVICES[@]}"; do echo "$s.ready_delay = 0.2"; done >>"$SAMPLE_DIR/checkout/app.conf"
restart_case "ready_delay 0.2s (web, api Type=notify; workers Type=exec)"
for s in "${WORKERS[@]}"; do
	sed -i 's/^Type=exec$/Type=notify/' \
		"${XDG_CONFIG_HOME:-$HOME/.config}/systemd/user/$SAMPLE_PROJECT-$s.service"
done
systemctl --user daemon-reload
restart_case "ready_delay 0.2s, all six Type=notify"
systemctl --user stop $(units_of "${SERVICES[@]}")

# ---- b. shiplog's overhead in a fast no-build deploy -----------------------------------------
bench_sample deploy
CHECKOUT=$SAMPLE_DIR/checkout
say "b. $REPS_B x 'shiplog -v deploy main --fast --no-build', a new commit each"
ov=() wall=() pre=() roll=() ver=() cpu=()
TIMEFORMAT='%3U %3S'
for i in $(seq 1 "$REPS_B"); do
	bench_push "b$i" "echo b$i >>NOTES"
	t=$(now_us)
	if ! { time "$SHIPLOG" -c "$SAMPLE_CONF" -v deploy main --fast --no-build >"$S/b.log" 2>&1; } \
		2>"$S/b.cpu"; then
		cat "$S/b.log" >&2
		echo "run.sh: deploy b$i failed" >&2
		exit 1
	fi
	wall+=("$(awk -v a="$t" -v b="$(now_us)" 'BEGIN { printf "%.1f", (b - a) / 1000 }')")
	log=$(cat "$S/b.log")
	cpu+=("$(awk '{ printf "%.1f", ($1 + $2) * 1000 }' "$S/b.cpu")")
	ov+=("$(sed -n 's/.*shiplog overhead: .* (\([0-9.]*\) ms;.*/\1/p' <<<"$log")")
	pre+=("$(dur_ms "$(sed -n 's/.*\] precheck: \([0-9.]*m\{0,1\}s\).*/\1/p' <<<"$log")")")
	roll+=("$(dur_ms "$(sed -n 's/.*\] rollout: \([0-9.]*m\{0,1\}s\).*/\1/p' <<<"$log")")")
	ver+=("$(dur_ms "$(sed -n 's/.*\] verify: \([0-9.]*m\{0,1\}s\).*/\1/p' <<<"$log")")")
	[ -n "${ov[-1]}" ] || { echo "$log" >&2; echo "run.sh: no overhead line" >&2; exit 1; }
done
m_ov=$(median "${ov[@]}")
met=$(awk -v v="$m_ov" 'BEGIN { print (v < 20) ? "< 20 ms: met" : "< 20 ms: NOT met" }')
section "b. shiplog deploy main --fast --no-build, 4 workers (median of $REPS_B)"
out "  shiplog overhead (wall - waits), -v line" "$m_ov" ms "" "$met"
out "    range over the $REPS_B deploys" "$(minmax "${ov[@]}")" ms ""
out "  CPU time of the shiplog process (user + sys)" "$(median "${cpu[@]}")" ms "" \
	"incl. polling in waits"
out "  wall time of the shiplog process" "$(median "${wall[@]}")" ms ""
out "    phase precheck" "$(median "${pre[@]}")" ms ""
out "    phase rollout (fetch, checkout, restart)" "$(median "${roll[@]}")" ms ""
out "    phase verify (settle 1s)" "$(median "${ver[@]}")" ms ""

# ---- c. fast worker deploy end to end vs the reference flow -----------------------------------
CONF0=$S/shiplog-settle0.conf
sed 's/^settle = .*/settle = 0s/' "$SAMPLE_CONF" >"$CONF0"
grep -q '^settle = 0s$' "$CONF0" || { echo "run.sh: no settle line in $SAMPLE_CONF" >&2; exit 1; }
say "c. $REPS_C x (reference flow, reference flow + prechecks, shiplog settle 1s, settle 0s)"
declare -A cw=([ref]="" [refpre]="" [s1]="" [s0]="")
order=(ref refpre s1 s0)
run_c() {
	case $1 in
	ref) "$HERE/reference-flow.sh" "$CHECKOUT" origin $(units_of "${WORKERS[@]}") ;;
	refpre) "$HERE/reference-flow.sh" --prechecks "$CHECKOUT" origin $(units_of "${WORKERS[@]}") ;;
	# --local: the bench copy of the config lies outside the checkout, which shiplog would
	# otherwise take for remote mode; both shiplog cases get it, so that they differ in settle only
	s1) "$SHIPLOG" -c "$SAMPLE_CONF" deploy main --fast --local ;;
	s0) "$SHIPLOG" -c "$CONF0" deploy main --fast --local ;;
	esac
}
for i in $(seq 1 "$REPS_C"); do
	for k in 0 1 2 3; do
		c=${order[$(((k + i) % 4))]}
		bench_push "c$i$c" "echo c$i$c >>NOTES"
		t=$(now_us)
		if ! log=$(run_c "$c" 2>&1); then
			echo "$log" >&2
			echo "run.sh: part c, $c run $i failed" >&2
			exit 1
		fi
		cw[$c]+=" $(awk -v a="$t" -v b="$(now_us)" 'BEGIN { printf "%.1f", (b - a) / 1000 }')"
		[ "$(git -C "$CHECKOUT" rev-parse HEAD)" = "$(git -C "$SAMPLE_DEV" rev-parse HEAD)" ] || {
			echo "run.sh: part c, $c run $i did not move the checkout to origin/main" >&2
			exit 1
		}
	done
done
# shellcheck disable=SC2086
ref=$(median ${cw[ref]})
section "c. fast worker deploy end to end, 4 workers (median of $REPS_C; ratio = value / reference)"
out "  reference-flow.sh (fetch, switch, pull, restart, is-active)" "$ref" ms "1.00x" "baseline"
# shellcheck disable=SC2086
m=$(median ${cw[refpre]})
out "  reference-flow.sh --prechecks (+ its 2.5, 2.6 prechecks)" "$m" ms "$(ratio "$m" "$ref")"
# shellcheck disable=SC2086
m=$(median ${cw[s1]})
out "  shiplog deploy main --fast, settle 1s (sample)" "$m" ms "$(ratio "$m" "$ref")" \
	"holds a 1 s settle"
# shellcheck disable=SC2086
m=$(median ${cw[s0]})
out "  shiplog deploy main --fast, settle 0s (bench copy)" "$m" ms "$(ratio "$m" "$ref")" \
	"the fair comparison"

elapsed=$(awk -v a="$T0" -v b="$(now_us)" 'BEGIN { printf "%.0f", (b - a) / 1e6 }')
{
	echo "Native deploy benchmark (tests/bench/deploy/run.sh), $(date -u +%Y-%m-%dT%H:%M:%SZ)"
	machine
	echo "manager: systemd --user at $XDG_RUNTIME_DIR${MANAGER_PID:+ (private, pid $MANAGER_PID)}"
	echo
	row_header
	cat "$ROWS"
	echo
	echo "run time: ${elapsed}s"
} | tee "$OUT"
say "table written to $OUT"
