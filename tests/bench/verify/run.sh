#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The failing-verify benchmark (docs/benchmarks.md, "Failing verify"), against a real systemd user
# manager and the sample app's real HTTP services: how long the verify phase of a failed deploy
# takes when two services fail their checks, against one health timeout.
#
#   two:  a full deploy of a commit whose web and api both answer 500 on /health (web also has
#         a passing HEAD / check): three checks, two failing
#   one:  an --api-only deploy of a commit whose api answers 500: one failing check
#
# Both with settle = 0s and health_timeout = $TIMEOUT (committed to the sample's shiplog.conf by
# a good deploy first), interleaved, a new commit each time (a failed commit is quarantined).
# The figure is the verify phase's duration as recorded in the ledger (phase.finished).
#
#   tests/bench/verify/run.sh
#
# Environment: BUILD_DIR (default <source>/build), REPS (5), TIMEOUT (5, seconds),
# SCRATCH_BASE (default /tmp), BENCH_KEEP=1 keeps the scratch directory, OUT (default
# $BUILD_DIR/bench-verify.txt) gets a copy of the table.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
# shellcheck source=tests/bench/deploy/lib.sh
. "$ROOT/tests/bench/deploy/lib.sh"

REPS=${REPS:-5}
TIMEOUT=${TIMEOUT:-5}

bench_init shiplog
OUT=${OUT:-$BUILD/bench-verify.txt}
T0=$(now_us)
export DEPLOY_NATIVE_EDGE_READY=1

# last_failed_verify_ms: the duration of the newest verify phase that failed, in ms
last_failed_verify_ms() {
	"$SHIPLOG" -c "$SAMPLE_CONF" ledger export |
		grep '"type":"phase.finished"' | grep '"phase":"verify"' | grep '"ok":false' |
		tail -n1 | sed -n 's/.*"duration_ns":\([0-9]*\).*/\1/p' |
		awk '{ printf "%.1f\n", $1 / 1e6 }'
}

bench_sample verify
say "a good deploy with settle = 0s, health_timeout = ${TIMEOUT}s"
bench_push "bench timings" \
	"sed -i 's/^settle = .*/settle = 0s/; s/^health_timeout = .*/health_timeout = ${TIMEOUT}s/' shiplog.conf"
"$SHIPLOG" -c "$SAMPLE_CONF" deploy main >"$S/good.log" 2>&1 || {
	cat "$S/good.log" >&2
	echo "run.sh: the good deploy failed" >&2
	exit 1
}

declare -A v=([one]="" [two]="")
run_case() {
	local c=$1 i=$2 log=$S/$1$2.log ms
	case $c in
	one)
		bench_push "one$i" "sed -i '/health_status/d' app.conf && echo one$i >>NOTES &&
			echo 'api.health_status = 500' >>app.conf"
		set +e
		"$SHIPLOG" -c "$SAMPLE_CONF" deploy main --api-only >"$log" 2>&1
		;;
	two)
		bench_push "two$i" "sed -i '/health_status/d' app.conf && echo two$i >>NOTES &&
			printf 'web.health_status = 500\napi.health_status = 500\n' >>app.conf"
		set +e
		"$SHIPLOG" -c "$SAMPLE_CONF" deploy main >"$log" 2>&1
		;;
	esac
	rc=$?
	set -e
	if [ "$rc" != 1 ] || ! grep -q "Automatic Rollback" "$log"; then
		cat "$log" >&2
		echo "run.sh: the $c deploy $i should have failed verify and rolled back (exit $rc)" >&2
		exit 1
	fi
	ms=$(last_failed_verify_ms)
	[ -n "$ms" ] || { echo "run.sh: no failed verify phase in the ledger" >&2; exit 1; }
	v[$c]+=" $ms"
	say "$c $i: verify ${ms} ms"
}
for i in $(seq 1 "$REPS"); do
	if [ $((i % 2)) = 1 ]; then run_case one "$i"; run_case two "$i"; else run_case two "$i"; run_case one "$i"; fi
done

# shellcheck disable=SC2086
one=$(median ${v[one]})
# shellcheck disable=SC2086
two=$(median ${v[two]})
t_ms=$((TIMEOUT * 1000))
r=$(ratio "$two" "$one")
met=$(awk -v a="$two" -v b="$one" 'BEGIN { print (a / b <= 1.1) ? "<= 1.1x: met" : "<= 1.1x: NOT met" }')
{
	echo "Failing verify benchmark (tests/bench/verify/run.sh), $(date -u +%Y-%m-%dT%H:%M:%SZ)"
	machine
	echo "manager: systemd --user at $XDG_RUNTIME_DIR${MANAGER_PID:+ (private, pid $MANAGER_PID)}"
	echo
	row_header
	echo
	echo "verify phase of a failed deploy, settle 0s, health_timeout ${TIMEOUT}s (median of $REPS)"
	row "  one health timeout (health_timeout)" "$t_ms" ms "1.00x" "reference"
	row "  one failing service (api 500, --api-only)" "$one" ms "$(ratio "$one" "$t_ms")" \
		"baseline"
	# shellcheck disable=SC2086
	row "    range" "$(minmax ${v[one]})" ms ""
	row "  two failing services (web + api 500, full deploy)" "$two" ms "$(ratio "$two" "$t_ms")" \
		"vs one timeout"
	# shellcheck disable=SC2086
	row "    range" "$(minmax ${v[two]})" ms ""
	row "  two failing / one failing" "" "" "$r" "$met"
	echo
	echo "run time: $(awk -v a="$T0" -v b="$(now_us)" 'BEGIN { printf "%.0f", (b - a) / 1e6 }')s"
} | tee "$OUT"
say "table written to $OUT"
