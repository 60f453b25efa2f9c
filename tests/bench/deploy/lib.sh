# shellcheck shell=bash
# SPDX-License-Identifier: MIT
# tests/bench/deploy/lib.sh: shared by tests/bench/deploy/run.sh and tests/bench/rollback/run.sh.
# Source it after setting ROOT (the source tree); it defines functions and a few variables only.
#
#   bench_init           BUILD, SCRATCH (S), the cleanup trap, the user manager (a private one
#                        when XDG_RUNTIME_DIR has none running)
#   bench_sample NAME    a sample deployment under $S/NAME (tools/make-sample-repo.sh), units
#                        installed and started; sets SAMPLE_DIR, SAMPLE_PROJECT, SAMPLE_PORT,
#                        SAMPLE_CONF, SAMPLE_DEV
#   bench_sample_make NAME   the same, nothing installed or started
#   bench_push MSG SH    a developer commit (SH run in the dev clone) pushed to origin/main
#   now_us, median, ratio, row, machine

# shellcheck disable=SC2046 # $(units_of ...) splits on purpose: unit names are single words
# shellcheck source=tools/lib.sh
. "$ROOT/tools/lib.sh"
say() { printf '[bench] %s\n' "$*" >&2; }

BENCH_PROJECTS=()
MANAGER_PID=

bench_cleanup() {
	local rc=$? p
	set +e
	if [ -n "${XDG_RUNTIME_DIR:-}" ]; then
		for p in "${BENCH_PROJECTS[@]}"; do
			systemctl --user stop "$p-"'*' >/dev/null 2>&1
			rm -f "${XDG_CONFIG_HOME:-$HOME/.config}/systemd/user/$p-"*.service
		done
		[ "${#BENCH_PROJECTS[@]}" -gt 0 ] && systemctl --user daemon-reload >/dev/null 2>&1
		for p in "${BENCH_PROJECTS[@]}"; do
			systemctl --user reset-failed "$p-"'*' >/dev/null 2>&1
		done
	fi
	stop_user_manager
	if [ -n "${BENCH_KEEP:-}" ]; then
		say "kept: $S"
	elif [ -n "${S:-}" ]; then
		rm -rf "$S"
	fi
	exit "$rc"
}

# bench_init: builds the targets given as arguments in $BUILD and starts what the run needs.
bench_init() {
	BUILD=${BUILD_DIR:-$ROOT/build}
	if [ ! -f "$BUILD/CMakeCache.txt" ]; then
		cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	fi
	case $(sed -n 's/^CMAKE_BUILD_TYPE:[A-Z]*=//p' "$BUILD/CMakeCache.txt") in
	Debug) say "warning: '$BUILD' is not an optimized build; figures will be slow" ;;
	esac
	if ! cmake --build "$BUILD" -j"$(nproc 2>/dev/null || echo 2)" --target "$@" \
		>"$BUILD/bench-build.log" 2>&1; then
		tail -30 "$BUILD/bench-build.log" >&2
		echo "run.sh: building $* failed" >&2
		exit 1
	fi
	SHIPLOG=$BUILD/src/shiplog
	BENCH_LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
	mkdir -p "${SCRATCH_BASE:-/tmp}"
	S=$(mktemp -d "${SCRATCH_BASE:-/tmp}/shiplog-bench.XXXXXX")
	trap bench_cleanup EXIT
	trap 'exit 130' INT TERM
	if [ -n "${XDG_RUNTIME_DIR:-}" ] &&
		systemctl --user is-system-running 2>/dev/null | grep -qE 'running|degraded'; then
		say "using the user manager at XDG_RUNTIME_DIR=$XDG_RUNTIME_DIR"
	else
		start_user_manager >&2 || exit 1
		# The user bus is socket-activated: start its daemon now, not inside the first
		# measured connection (a connection made while it starts was seen reset).
		systemctl --user start dbus.service >/dev/null 2>&1 || true
	fi
	# No dependence on the caller's git configuration in the developer clones.
	export GIT_CONFIG_NOSYSTEM=1
	export GIT_AUTHOR_NAME=bench GIT_AUTHOR_EMAIL=bench@shiplog.invalid
	export GIT_COMMITTER_NAME=bench GIT_COMMITTER_EMAIL=bench@shiplog.invalid
}

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

SERVICES=(web api compute candles ingest-options ingest-equities)
# shellcheck disable=SC2034 # used by the scripts that source this file
WORKERS=(compute candles ingest-options ingest-equities)

# bench_sample_make NAME: the sample under $S/NAME and its dev clone; nothing installed.
bench_sample_make() {
	local name=$1 port
	for _ in $(seq 1 100); do
		port=$((20000 + (RANDOM % 20000) * 2))
		port_free "$port" && port_free $((port + 1)) && break
	done
	SAMPLE_DIR=$S/$name
	SAMPLE_PROJECT=b$name$$
	SAMPLE_PORT=$port
	BENCH_PROJECTS+=("$SAMPLE_PROJECT")
	"$ROOT/tools/make-sample-repo.sh" "$SAMPLE_DIR" "$SAMPLE_PROJECT" "$port" >/dev/null
	SAMPLE_CONF=$SAMPLE_DIR/checkout/shiplog.conf
	SAMPLE_DEV=$SAMPLE_DIR/dev
	git clone -q "$SAMPLE_DIR/origin.git" "$SAMPLE_DEV"
}

bench_sample() {
	bench_sample_make "$1"
	"$SHIPLOG" -c "$SAMPLE_CONF" units install >/dev/null
	systemctl --user start $(units_of "${SERVICES[@]}")
	sample_wait_http
}

# units_of SERVICE...: the sample's unit names
units_of() {
	local s
	for s in "$@"; do printf '%s-%s.service\n' "$SAMPLE_PROJECT" "$s"; done
}

sample_wait_http() {
	for _ in $(seq 1 100); do
		curl -fs --max-time 1 "http://127.0.0.1:$SAMPLE_PORT/health" >/dev/null 2>&1 &&
			curl -fs --max-time 1 "http://127.0.0.1:$((SAMPLE_PORT + 1))/health" >/dev/null 2>&1 &&
			return 0
		sleep 0.1
	done
	echo "run.sh: the sample's web and api did not answer within 10 s" >&2
	return 1
}

# reset_units: clears the sample units' start limit (StartLimitBurst=5 in 60 s), which a run of
# back-to-back deploys would hit; called between measured runs, never inside one.
reset_units() {
	systemctl --user reset-failed $(units_of "${SERVICES[@]}") >/dev/null 2>&1 || true
}

# bench_push MESSAGE SNIPPET: runs SNIPPET in the dev clone, commits everything, pushes to main.
bench_push() {
	(cd "$SAMPLE_DEV" && sh -c "$2" && git add -A &&
		git commit -qm "$1" && git push -q origin HEAD:main)
	reset_units
}

# now_us: microseconds, without a fork (bash 5 EPOCHREALTIME).
now_us() { local t=${EPOCHREALTIME/[.,]/}; echo "$t"; }

# median V...: the median of the numbers given
median() {
	printf '%s\n' "$@" | sort -g | awk '{v[NR]=$1} END {
		if (NR == 0) { print "nan"; exit }
		if (NR % 2) printf "%.1f\n", v[(NR+1)/2]; else printf "%.1f\n", (v[NR/2]+v[NR/2+1])/2 }'
}
minmax() {
	printf '%s\n' "$@" | sort -g | awk 'NR==1{lo=$1} {hi=$1} END {printf "%.1f-%.1f\n", lo, hi}'
}

# ratio VALUE BASE: VALUE / BASE with two decimals
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2fx\n", a / b; else print "-" }'; }

# Table: case, value, unit, ratio, target/met.
row_header() {
	printf '%-60s %9s %-4s %8s  %s\n' "case" "value" "unit" "ratio" "target/met"
	printf '%-60s %9s %-4s %8s  %s\n' "$(printf '%.0s-' {1..60})" "---------" "----" "--------" \
		"----------"
}
row() { printf '%-60s %9s %-4s %8s  %s\n' "$1" "$2" "$3" "$4" "${5:-}"; }

# seconds_ms DURATION: shiplog's printed durations ("58ms", "1.01s") in ms
dur_ms() {
	case $1 in
	*ms) echo "${1%ms}" ;;
	*s) awk -v s="${1%s}" 'BEGIN { printf "%.0f\n", s * 1000 }' ;;
	*) echo nan ;;
	esac
}

machine() {
	local cpu fs bt mem
	cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
	[ -n "$cpu" ] || cpu=$(uname -m)
	fs=$(df -PT "$S" 2>/dev/null | awk 'NR==2 {print $2 " (" $1 ")"}')
	mem=$(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo)
	echo "machine: $cpu, $(nproc) cores, $mem RAM"
	echo "kernel:  $(uname -sr); systemd $(systemctl --version | awk 'NR==1 {print $2}');" \
		"git $(git --version | awk '{print $3}')"
	echo "scratch: $S on $fs"
	bt=$(sed -n 's/^CMAKE_BUILD_TYPE:[A-Z]*=//p' "$BUILD/CMakeCache.txt")
	echo "build:   $BUILD (${bt:-RelWithDebInfo, the project default})"
	echo "load:    load average $(cut -d' ' -f1-3 /proc/loadavg) at the end" \
		"(${BENCH_LOAD0:-?} at the start)"
}
