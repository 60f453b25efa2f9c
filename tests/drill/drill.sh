#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The fault-injection drill (issue 9): SIGKILLs deploys and rollbacks of the sample app at random
# points, N times, against a private systemd user manager, and after each kill checks what shiplog
# promises. Run by hand, not in CI (it takes minutes):
#
#   tests/drill/drill.sh [N]        # N kills, default 40
#
# Each round picks an operation: a good full deploy of a new commit, a deploy of a commit whose
# api answers 500 (verify fails, the automatic rollback runs), or a plain `shiplog rollback`;
# starts it and SIGKILLs it after a random delay (0 to DRILL_MAX_MS, default 6000 ms; an
# operation that ends before is counted as "finished before the kill"). Then:
#
#   1. `shiplog ledger verify` exits 0;
#   2. right after the kill: for every service, what `shiplog --json status` says it runs
#      against what runs (unit active with a MainPID; the commit web/api report on /health, the
#      commit in a worker's newest heartbeat), and the checkout's HEAD against the status's
#      checkout commit (the files on disk). A difference here is reported as "after kill";
#   3. the next operation (a good deploy of a new commit) prints "closing operation N ... as
#      interrupted" when the killed one was left open, puts back a checkout the kill left half
#      done (counted), succeeds, and the ledger then has that operation finished `interrupted`;
#   4. after it, the same comparison as 2 must hold exactly ("after recovery").
#
# Environment: BUILD_DIR (default <source>/build), DRILL_MAX_MS (6000), DRILL_SEED (random),
# DRILL_KEEP=1 keeps the scratch directory. Prints one line per round and the counts at the
# end; exit 0 when no check failed after recovery and ledger verify always passed, else 1.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=tools/lib.sh
. "$ROOT/tools/lib.sh"
N=${1:-40}
MAX_MS=${DRILL_MAX_MS:-6000}
SEED=${DRILL_SEED:-$RANDOM}
RANDOM=$SEED
BUILD=${BUILD_DIR:-$ROOT/build}
SHIPLOG=$BUILD/src/shiplog
say() { printf '[drill] %s\n' "$*" >&2; }
[ -x "$SHIPLOG" ] || { echo "drill: build shiplog first ($SHIPLOG is missing)" >&2; exit 2; }

S=$(mktemp -d /tmp/shiplog-drill.XXXXXX)
MANAGER_PID=
PROJECT=drill$$
cleanup() {
	local rc=$?
	set +e
	if [ -n "${XDG_RUNTIME_DIR:-}" ] && [ -n "$MANAGER_PID" ]; then
		systemctl --user stop "$PROJECT-"'*' >/dev/null 2>&1
	fi
	stop_user_manager
	if [ -n "${DRILL_KEEP:-}" ]; then say "kept: $S"; else rm -rf "$S"; fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
start_user_manager >&2 || exit 2
systemctl --user start dbus.service >/dev/null 2>&1 || true
export GIT_CONFIG_NOSYSTEM=1 GIT_AUTHOR_NAME=drill GIT_AUTHOR_EMAIL=drill@shiplog.invalid
export GIT_COMMITTER_NAME=drill GIT_COMMITTER_EMAIL=drill@shiplog.invalid
export DEPLOY_NATIVE_EDGE_READY=1

PORT=$((20000 + (RANDOM % 20000) * 2))
"$ROOT/tools/make-sample-repo.sh" "$S/app" "$PROJECT" "$PORT" >/dev/null
CONF=$S/app/checkout/shiplog.conf
CHECKOUT=$S/app/checkout
DEV=$S/app/dev
git clone -q "$S/app/origin.git" "$DEV"
SERVICES=(web api compute candles ingest-options ingest-equities)
sl() { "$SHIPLOG" -c "$CONF" "$@"; }
sl units install >/dev/null
for s in "${SERVICES[@]}"; do systemctl --user start "$PROJECT-$s.service"; done

push() { # push MESSAGE SNIPPET
	(cd "$DEV" && sh -c "$2" && git add -A && git commit -qm "$1" && git push -q origin HEAD:main)
	systemctl --user reset-failed "$PROJECT-"'*' >/dev/null 2>&1 || true
}
good_commit() { push "good $1" "sed -i '/health_status/d' app.conf && echo $1 >>NOTES"; }
bad_commit() {
	push "bad $1" "sed -i '/health_status/d' app.conf && echo $1 >>NOTES &&
		echo 'api.health_status = 500' >>app.conf"
}

# actual SERVICE: the commit it runs now ("-" when it does not run or does not say)
actual() {
	local s=$1 pid active port c=""
	active=$(systemctl --user show -p ActiveState --value "$PROJECT-$s.service")
	pid=$(systemctl --user show -p MainPID --value "$PROJECT-$s.service")
	if [ "$active" != active ] || [ "${pid:-0}" = 0 ] || ! kill -0 "$pid" 2>/dev/null; then
		echo "-"
		return
	fi
	case $s in
	web | api)
		port=$PORT
		[ "$s" = api ] && port=$((PORT + 1))
		c=$(curl -s --max-time 2 "http://127.0.0.1:$port/health" | jq -r '.commit // empty' 2>/dev/null || true)
		;;
	*)
		# the newest heartbeat of this very process
		for _ in $(seq 1 20); do
			read -r c bpid _ <"$S/app/beats/$s.beat" 2>/dev/null || true
			[ "${bpid:-}" = "$pid" ] && break
			c=""
			sleep 0.1
		done
		;;
	esac
	echo "${c:--}"
}

# compare WHEN: prints mismatches, one per line; returns 1 when there is one
compare() {
	local when=$1 st s said got may bad=0 head
	st=$(sl --json status 2>/dev/null) || { echo "$when: status failed"; return 1; }
	for s in "${SERVICES[@]}"; do
		said=$(jq -r --arg s "$s" '.state.services[]? // .services[]? | select(.name == $s) |
			.runtimes.native.commit // "-"' <<<"$st" | head -n1)
		got=$(actual "$s")
		# status names a second commit when a restart was asked for and not yet recorded
		may=$(jq -r --arg s "$s" '.services[]? | select(.name == $s) |
			.runtimes.native.unsettled.may_run // "-"' <<<"$st" | head -n1)
		if [ "${said:--}" != "$got" ] && [ "$may" != "$got" ]; then
			echo "$when: $s: status says ${said:0:12}, runs ${got:0:12}"
			bad=1
		fi
	done
	said=$(jq -r '(.state // .).checkout.commit // "-"' <<<"$st")
	head=$(git -C "$CHECKOUT" rev-parse HEAD)
	if [ "$said" != "$head" ]; then
		echo "$when: checkout: status says ${said:0:12}, the files on disk are at ${head:0:12}"
		bad=1
	fi
	if [ -n "$(git -C "$CHECKOUT" status --porcelain --untracked-files=no)" ]; then
		echo "$when: checkout: tracked files differ from HEAD"
		bad=1
	fi
	return $bad
}

say "seed $SEED, $N rounds, kill within ${MAX_MS} ms; scratch $S"
# a first good deploy, so that there is something to roll back to
good_commit g0
sl deploy main >"$S/first.log" 2>&1 || { cat "$S/first.log" >&2; exit 1; }

declare -A count=()
inc() { count[$1]=$((${count[$1]:-0} + 1)); }
mismatches=$S/mismatches
: >"$mismatches"
for i in $(seq 1 "$N"); do
	kind=$((RANDOM % 3))
	case $kind in
	0) what=deploy; good_commit "r$i"; cmd=(deploy main) ;;
	1) what=failing-deploy; bad_commit "r$i"; cmd=(deploy main) ;;
	2) what=rollback; cmd=(rollback) ;;
	esac
	delay=$((RANDOM % MAX_MS))
	# shiplog itself in the background, not the sl function: $! must be shiplog's pid, or
	# the kill would hit a subshell and leave the operation running
	"$SHIPLOG" -c "$CONF" "${cmd[@]}" >"$S/op$i.log" 2>&1 &
	pid=$!
	sleep "$(awk -v d="$delay" 'BEGIN { printf "%.3f", d / 1000 }')"
	if kill -0 "$pid" 2>/dev/null; then
		kill -KILL "$pid"
		killed=1
		inc "killed $what"
	else
		killed=0
		inc "finished before the kill ($what)"
	fi
	wait "$pid" 2>/dev/null || true
	last=$(sl --json history --limit 1 2>/dev/null | jq -r '"\(.op) \(.outcome // "open")"' 2>/dev/null || echo "? ?")

	# 1. the ledger
	if sl ledger verify >"$S/verify$i.log" 2>&1; then inc "ledger verify ok"; else
		inc "LEDGER VERIFY FAILED"
		echo "round $i: ledger verify failed: $(cat "$S/verify$i.log")" >>"$mismatches"
	fi
	# 2. status right after the kill
	if out=$(compare "round $i after kill ($what, ${delay} ms)"); then inc "status true after kill"; else
		inc "status differs after kill"
		echo "$out" >>"$mismatches"
	fi
	# 3. the next operation closes the interrupted one
	# operations are named by number in messages (seq:S is the id)
	open_op=$(sl --json status 2>/dev/null | jq -r '(.state // .).inflight.number // empty' 2>/dev/null || true)
	good_commit "n$i"
	if sl deploy main >"$S/next$i.log" 2>&1; then inc "next deploy ok"; else
		inc "NEXT DEPLOY FAILED"
		echo "round $i: the next deploy failed: $(tail -3 "$S/next$i.log" | tr '\n' ' ')" >>"$mismatches"
	fi
	# a checkout the kill left half done, put back by the next operation
	if grep -q "putting back its paths" "$S/next$i.log"; then inc "checkout put back by the next"; fi
	if [ -n "$open_op" ]; then
		inc "left open by the kill"
		if grep -q "closing operation $open_op " "$S/next$i.log"; then inc "closed by the next"; else
			inc "NOT CLOSED BY THE NEXT"
			echo "round $i: operation $open_op was left open and the next deploy did not close it" >>"$mismatches"
		fi
	fi
	# 4. status after recovery
	if out=$(compare "round $i after recovery"); then inc "status true after recovery"; else
		inc "STATUS DIFFERS AFTER RECOVERY"
		echo "$out" >>"$mismatches"
	fi
	say "round $i: $what, kill at ${delay} ms$([ "$killed" = 1 ] || echo ' (it had finished)'), last op $last, open $open_op"
done

echo
echo "Fault-injection drill (tests/drill/drill.sh $N), seed $SEED, $(date -u +%Y-%m-%dT%H:%M:%SZ)"
for k in "${!count[@]}"; do printf '  %-40s %s\n' "$k" "${count[$k]}"; done | sort
echo
if [ -s "$mismatches" ]; then
	echo "mismatches:"
	sed 's/^/  /' "$mismatches"
else
	echo "no mismatches"
fi
[ -z "${count[LEDGER VERIFY FAILED]:-}" ] && [ -z "${count[STATUS DIFFERS AFTER RECOVERY]:-}" ] &&
	[ -z "${count[NOT CLOSED BY THE NEXT]:-}" ] && [ -z "${count[NEXT DEPLOY FAILED]:-}" ]
