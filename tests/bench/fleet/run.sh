#!/usr/bin/env bash
# tests/bench/fleet/run.sh: reads and deploys across N hosts against the same work done one host
# after another, on the fleet's test hosts (tools/fleet-hosts.sh; root). Prints ratios.
#
#   status: `shiplog status --all-hosts` on N hosts (all at once, one multiplexed ssh
#           connection per host: cold = first connection, warm = the master reused) vs N
#           sequential `ssh HOST shiplog --json status` (what a script looping over hosts does)
#   deploy: `shiplog deploy main --all-hosts` at full parallelism vs the same hosts one after
#           another (needs the fleet executor; skipped, said, when this shiplog has none),
#           and the CPU time each host's deploy costs: the controller, ssh on both ends, the
#           host's shiplog, git daemon, user manager and units, read from a cgroup that holds
#           this script and the hosts it starts. All hosts share this machine's cores, so
#           N x that CPU / cores is a floor under the fleet deploy's wall time here.
# N = 1, 3 and SHIPLOG_BENCH_FLEET_N (default 6). Uses running hosts when SHIPLOG_TEST_FLEET_DIR
# is set (at least that many), else starts them and stops them at the end.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
BUILD=${SHIPLOG_BUILD_DIR:-$ROOT/build}
case "$BUILD" in /*) ;; *) BUILD="$ROOT/$BUILD" ;; esac
SHIPLOG=$BUILD/src/shiplog
MAX=${SHIPLOG_BENCH_FLEET_N:-6}
REPS=${SHIPLOG_BENCH_REPS:-5}
CORES=$(nproc)
W=$(mktemp -d /tmp/slb.XXXXXX)
OWN=
CG= # this run's cgroup (cgroup v1 cpuacct, or v2), when CPU time can be measured
CG_NOTE="CPU not measured: the hosts were not started by this run (SHIPLOG_TEST_FLEET_DIR)"

# (every step runs: under set -e a failing last command of an && list would end the trap)
cleanup() {
	if [ -n "$OWN" ]; then "$ROOT/tools/fleet-hosts.sh" stop "$OWN" >/dev/null 2>&1 || true; fi
	if [ -n "$CG" ]; then
		echo $$ >"$(dirname "$CG")/cgroup.procs" 2>/dev/null || true
		for _ in $(seq 1 50); do rmdir "$CG" 2>/dev/null && break; sleep 0.1; done || true
	fi
	rm -rf "$W"
}
trap cleanup EXIT

# Moves this script into a cgroup of its own that counts CPU time; everything started from here
# on (the hosts' sshd, git daemon and user managers included) is counted there. On cgroup v2
# fleet-hosts.sh moves each manager into its own slice, which cpu_ns adds.
cg_enter() {
	local name="shiplog-bench-fleet-$$" base
	if [ -f /sys/fs/cgroup/cpuacct/cpuacct.usage ]; then
		base=/sys/fs/cgroup/cpuacct
	elif [ -f /sys/fs/cgroup/cgroup.controllers ]; then
		base=/sys/fs/cgroup
	else
		CG_NOTE="CPU not measured: no cgroup CPU accounting (cgroup v1 cpuacct or v2) here"
		return 0
	fi
	if mkdir "$base/$name" 2>/dev/null && echo $$ >"$base/$name/cgroup.procs" 2>/dev/null; then
		CG=$base/$name
	else
		rmdir "$base/$name" 2>/dev/null
		CG_NOTE="CPU not measured: cannot make a cgroup in $base"
	fi
}

# CPU time used so far by this run and its hosts, in ns.
cpu_ns() {
	local f t=0 id
	if [ -f "$CG/cpuacct.usage" ]; then
		cat "$CG/cpuacct.usage"
		return
	fi
	id=$(sed -n 's/^ID=//p' "$SHIPLOG_TEST_FLEET_DIR/ctl/state" 2>/dev/null)
	for f in "$CG/cpu.stat" /sys/fs/cgroup/shiplog-fleet-"$id"-*.slice/cpu.stat; do
		[ -f "$f" ] && t=$((t + $(awk '$1 == "usage_usec" {print $2}' "$f") * 1000))
	done
	echo "$t"
}

if [ -z "${SHIPLOG_TEST_FLEET_DIR:-}" ]; then
	cg_enter
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
	# the controller's own ledger, not the committed ~/ledger that every root run would share
	sed -i "s|^ledger = .*|ledger = $W/ledger$n|" "$d/shiplog.conf"
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
for n in $(printf '%s\n' 1 3 "$MAX" | awk -v max="$MAX" '$1 <= max && !seen[$1]++'); do
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
# The hosts' own CPU use while idle (units, heartbeats), in ns per s: the smaller of two 3 s
# windows, one before the deploys and one after (anything else running only adds to it).
idle_window() {
	local c0 t0
	sleep 2 # the last deploy's units start up
	c0=$(cpu_ns) t0=$(now)
	sleep 3
	echo "($(cpu_ns) - $c0) / ($(now) - $t0)" | bc -l
}
[ -z "$CG" ] || idle_before=$(idle_window)

# One timed run of a deploy line: sets SECS and CPU_NS (CPU used meanwhile, in ns, the hosts'
# idle use included; 0 when not measured).
deploy_timed() {
	local c0 t0
	c0=$(cpu_ns 2>/dev/null || echo 0)
	t0=$(now)
	eval "$1" >/dev/null 2>&1 || true
	SECS=$(echo "$(now) - $t0" | bc -l)
	CPU_NS=$(($(cpu_ns 2>/dev/null || echo 0) - c0))
}

# Per N: the hosts one after another (a new ssh connection each), then the fleet deploy with
# new connections (a fresh ControlPath directory) and again with them reused (the previous
# fleet command's masters, as after a 'status --all-hosts'). "vs one host": the N=1 run of the
# same kind. The CPU rows come last, once the idle rate is known.
one_new=
one_reused=
cpu_rows=()
for n in $(printf '%s\n' 1 3 "$MAX" | awk -v max="$MAX" '$1 <= max && !seen[$1]++'); do
	hosts=$(seq -f 'h%g' 1 "$n" | tr '\n' ' ')
	rt="$W/rtd$n"
	mkdir -p "$rt" && chmod 700 "$rt"
	push_commit
	deploy_timed "for h in $hosts; do ssh -F '$SSHCFG' \$h 'cd app && shiplog -q deploy main --edge-ready'; done"
	row="$n $SECS $CPU_NS" seq_s=$SECS
	for how in new reused; do
		push_commit
		deploy_timed "cd '$W/c$n' && XDG_RUNTIME_DIR='$rt' '$SHIPLOG' -q deploy main --all-hosts --edge-ready"
		row="$row $SECS $CPU_NS"
		if [ "$how" = new ]; then
			[ -n "$one_new" ] || one_new=$SECS
			one=$one_new
		else
			[ -n "$one_reused" ] || one_reused=$SECS
			one=$one_reused
		fi
		printf '%-7s %-3s %-34s %10.3f %10.3f %7.2f  (%.2fx one host)\n' deploy "$n" \
			"--all-hosts, $how connections" "$SECS" "$seq_s" "$(echo "$SECS / $seq_s" | bc -l)" \
			"$(echo "$SECS / $one" | bc -l)"
	done
	cpu_rows+=("$row")
done
if [ -z "$CG" ]; then
	echo "$CG_NOTE"
	exit 0
fi
idle_after=$(idle_window)
idle=$(printf '%s\n%s\n' "$idle_before" "$idle_after" | sort -g | head -1)

# CPU seconds per host deploy: (used - idle rate x wall) / N.
per_host() { echo "($2 - $idle * $1) / 1000000000 / $3" | bc -l; }
printf '\n%-7s %-3s %-13s %-13s %-13s %s\n' "cpu" "N" "one by one" "fleet, new" "fleet, reused" \
	"floor for the fleet deploy on $CORES cores (N x CPU / cores): new, reused"
for row in "${cpu_rows[@]}"; do
	read -r n s_seq c_seq s_new c_new s_re c_re <<<"$row"
	p_seq=$(per_host "$s_seq" "$c_seq" "$n")
	p_new=$(per_host "$s_new" "$c_new" "$n")
	p_re=$(per_host "$s_re" "$c_re" "$n")
	printf '%-7s %-3s %-13.3f %-13.3f %-13.3f %.3f s, %.3f s\n' "cpu/host" "$n" "$p_seq" "$p_new" \
		"$p_re" "$(echo "$p_new * $n / $CORES" | bc -l)" "$(echo "$p_re * $n / $CORES" | bc -l)"
done
printf 'cpu: CPU seconds of everything a deploy ran (controller, ssh on both ends, each host'"'"'s\n'
printf '     shiplog, git daemon, user manager, units), from cgroup %s, less\n' "$CG"
printf '     the hosts'"'"' idle use (%.3f CPU s per s: before %.3f, after %.3f) over the wall time\n' \
	"$(echo "$idle / 1000000000" | bc -l)" "$(echo "$idle_before / 1000000000" | bc -l)" \
	"$(echo "$idle_after / 1000000000" | bc -l)"
