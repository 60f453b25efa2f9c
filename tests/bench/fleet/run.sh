#!/usr/bin/env bash
# tests/bench/fleet/run.sh: reads and deploys across N hosts against the same work done one host
# after another, on the fleet's test hosts (tools/fleet-hosts.sh; root). Prints ratios.
#
#   status: `shiplog status --all-hosts` on N hosts (all at once, one multiplexed ssh
#           connection per host: cold = first connection, warm = the master reused) vs N
#           sequential `ssh HOST shiplog --json status` (what a script looping over hosts does)
#   deploy: `shiplog deploy main --all-hosts` at full parallelism vs the same hosts one after
#           another (needs the fleet executor; skipped, said, when this shiplog has none)
# N = 1, 3 and SHIPLOG_BENCH_FLEET_N (default 6). Uses running hosts when SHIPLOG_TEST_FLEET_DIR
# is set (at least that many), else starts them and stops them at the end.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
BUILD=${SHIPLOG_BUILD_DIR:-$ROOT/build}
case "$BUILD" in /*) ;; *) BUILD="$ROOT/$BUILD" ;; esac
SHIPLOG=$BUILD/src/shiplog
MAX=${SHIPLOG_BENCH_FLEET_N:-6}
REPS=${SHIPLOG_BENCH_REPS:-5}
W=$(mktemp -d /tmp/slb.XXXXXX)
OWN=

cleanup() {
	[ -n "$OWN" ] && "$ROOT/tools/fleet-hosts.sh" stop "$OWN" >/dev/null 2>&1
	rm -rf "$W"
}
trap cleanup EXIT

if [ -z "${SHIPLOG_TEST_FLEET_DIR:-}" ]; then
	OWN=$(mktemp -d /tmp/slf.XXXXXX)
	SHIPLOG_BUILD_DIR="$BUILD" "$ROOT/tools/fleet-hosts.sh" start "$OWN" "$MAX" | tail -1
	# shellcheck disable=SC1091
	. "$OWN/env.sh"
fi
export DEPLOY_SSH_KNOWN_HOSTS=$SHIPLOG_TEST_FLEET_KNOWN_HOSTS
SSHCFG=$SHIPLOG_TEST_FLEET_SSH_CONFIG

now() { date +%s.%N; }
target() { echo " $SHIPLOG_TEST_FLEET_HOSTS" | sed -n "s/.* $1=\([^ ]*\).*/\1/p"; }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

# controller N: a checkout of origin whose shiplog.conf names hosts h1..hN.
controller() {
	local n=$1 d="$W/c$1" i
	git clone -q "$SHIPLOG_TEST_FLEET_ORIGIN" "$d"
	{
		printf '\n[target]\nssh_key = %s\n' "$SHIPLOG_TEST_FLEET_KEY"
		printf '\n[fleet]\ncanary = 0\nwave_size = 100%%\n'
		for i in $(seq 1 "$n"); do
			printf '\n[host h%d]\nssh = %s\ncheckout = %s/h%d/app\n' "$i" "$(target "h$i")" \
				"$SHIPLOG_TEST_FLEET_DIR" "$i"
		done
	} >>"$d/shiplog.conf"
}

# One timed run of a shell line; prints seconds.
timed() {
	local t0 t1
	t0=$(now)
	eval "$1" >/dev/null 2>&1 || true
	t1=$(now)
	echo "$t1 - $t0" | bc -l
}

ssh_deploy() { ssh -F "$SSHCFG" "$1" 'cd app && shiplog -q deploy main --edge-ready'; }

# Every host gets a ledger first (status reads it).
for i in $(seq 1 "$MAX"); do ssh_deploy "h$i" >/dev/null 2>&1 & done
wait

printf '\n%-7s %-3s %-34s %10s %10s %7s\n' "what" "N" "how" "fleet (s)" "one by one" "ratio"
for n in 1 3 "$MAX"; do
	[ "$n" -le "$MAX" ] || continue
	[ -d "$W/c$n" ] || controller "$n"
	hosts=$(seq -f 'h%g' 1 "$n" | tr '\n' ' ')
	seq_s=$(for _ in $(seq 1 "$REPS"); do
		timed "for h in $hosts; do ssh -F '$SSHCFG' \$h 'cd app && shiplog --json status'; done"
	done | median)
	cold=$(for r in $(seq 1 "$REPS"); do
		mkdir -p "$W/rt$n-$r" && chmod 700 "$W/rt$n-$r"
		timed "cd '$W/c$n' && XDG_RUNTIME_DIR='$W/rt$n-$r' '$SHIPLOG' status --all-hosts"
	done | median)
	mkdir -p "$W/rtw$n" && chmod 700 "$W/rtw$n"
	timed "cd '$W/c$n' && XDG_RUNTIME_DIR='$W/rtw$n' '$SHIPLOG' status --all-hosts" >/dev/null
	warm=$(for _ in $(seq 1 "$REPS"); do
		timed "cd '$W/c$n' && XDG_RUNTIME_DIR='$W/rtw$n' '$SHIPLOG' status --all-hosts"
	done | median)
	printf '%-7s %-3s %-34s %10.3f %10.3f %7.2f\n' status "$n" "--all-hosts, new connections" \
		"$cold" "$seq_s" "$(echo "$cold / $seq_s" | bc -l)"
	printf '%-7s %-3s %-34s %10.3f %10.3f %7.2f\n' status "$n" "--all-hosts, connections reused" \
		"$warm" "$seq_s" "$(echo "$warm / $seq_s" | bc -l)"
done

# Deploys: each a new empty commit, so every host has work to do.
push_commit() {
	git -C "$W/c1" -c user.name=b -c user.email=b@b commit -q --allow-empty -m bench
	git -C "$W/c1" push -q origin HEAD:main
}
push_commit
if ! (cd "$W/c1" && "$SHIPLOG" -q deploy main --all-hosts --edge-ready >"$W/probe" 2>&1); then
	echo "SKIP: deploy: 'deploy --all-hosts' does not run here: $(tail -1 "$W/probe")"
	exit 0
fi
one=
for n in 1 3 "$MAX"; do
	[ "$n" -le "$MAX" ] || continue
	hosts=$(seq -f 'h%g' 1 "$n" | tr '\n' ' ')
	push_commit
	seq_s=$(timed "for h in $hosts; do ssh -F '$SSHCFG' \$h 'cd app && shiplog -q deploy main --edge-ready'; done")
	push_commit
	par=$(timed "cd '$W/c$n' && '$SHIPLOG' -q deploy main --all-hosts --edge-ready")
	[ -z "$one" ] && one=$par
	printf '%-7s %-3s %-34s %10.3f %10.3f %7.2f  (%.2fx one host)\n' deploy "$n" \
		"--all-hosts, full parallelism" "$par" "$seq_s" "$(echo "$par / $seq_s" | bc -l)" \
		"$(echo "$par / $one" | bc -l)"
done
