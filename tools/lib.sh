# shellcheck shell=bash
# tools/lib.sh: functions shared by tools/test.sh and tools/demo.sh. Source it; it defines
# functions only. Messages go through say/skip, which the sourcing script may redefine.

say() { printf '[shiplog] %s\n' "$*"; }
skip() { printf '\n*** SKIP: %s could not start: %s ***\n\n' "$1" "$2" >&2; }

# install_packages PKG...: installs the Debian packages that are missing (apt-get update first,
# only when something is missing). Needs root for that.
install_packages() {
	local p missing=()
	for p in "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
			missing+=("$p")
	done
	[ "${#missing[@]}" -gt 0 ] || return 0
	say "installing ${missing[*]}"
	if [ "$(id -u)" -ne 0 ]; then
		echo "missing packages (${missing[*]}); run as root or install them" >&2
		return 2
	fi
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq "${missing[@]}" >/dev/null
}

# start_user_manager: a private `systemd --user` whose state lives under $S (set by the caller);
# sets MANAGER_PID and exports XDG_RUNTIME_DIR, XDG_CONFIG_HOME, XDG_STATE_HOME, XDG_DATA_HOME.
start_user_manager() {
	[ -x /lib/systemd/systemd ] || { skip "systemd --user" "/lib/systemd/systemd is missing"; return 1; }
	# systemd refuses a user instance unless this marker exists (PID 1 is not systemd here).
	if [ "$(cat /proc/1/comm 2>/dev/null)" != systemd ] && [ ! -d /run/systemd/system ]; then
		mkdir -p /run/systemd/system
	fi
	mkdir -m 700 "$S/run"
	mkdir -p "$S/config/systemd/user" "$S/state" "$S/data"
	# Its own cgroup: two managers started from one cgroup share paths such as
	# /app.slice/dbus.service, and stopping one then kills the other's dbus-daemon.
	MANAGER_CGROUP="shiplog-manager-$(basename "$S")"
	# env -i: the manager hands its whole environment to every unit.
	(
		enter_own_cgroup "$MANAGER_CGROUP"
		exec env -i PATH=/usr/local/bin:/usr/bin:/bin HOME="$HOME" \
			XDG_RUNTIME_DIR="$S/run" XDG_CONFIG_HOME="$S/config" XDG_STATE_HOME="$S/state" \
			XDG_DATA_HOME="$S/data" /lib/systemd/systemd --user >"$S/manager.log" 2>&1 </dev/null
	) &
	MANAGER_PID=$!
	for _ in $(seq 1 200); do
		XDG_RUNTIME_DIR="$S/run" systemctl --user is-system-running 2>/dev/null |
			grep -qE 'running|degraded' && break
		kill -0 "$MANAGER_PID" 2>/dev/null || break
		sleep 0.05
	done
	if ! XDG_RUNTIME_DIR="$S/run" systemctl --user is-system-running 2>/dev/null |
		grep -qE 'running|degraded'; then
		skip "systemd --user" "not running after 10 s ($(tail -1 "$S/manager.log" 2>/dev/null))"
		return 1
	fi
	export XDG_RUNTIME_DIR="$S/run" XDG_CONFIG_HOME="$S/config" XDG_STATE_HOME="$S/state"
	export XDG_DATA_HOME="$S/data"
	say "systemd user manager: pid $MANAGER_PID, XDG_RUNTIME_DIR=$XDG_RUNTIME_DIR"
}

# enter_own_cgroup NAME: moves this (sub)shell into cgroup NAME of every cgroup-v1 hierarchy it
# may write (name=systemd at least), or into NAME under the cgroup-v2 root. Best effort: a
# hierarchy that refuses is left as it is.
enter_own_cgroup() {
	local h
	for h in /sys/fs/cgroup/systemd /sys/fs/cgroup/pids /sys/fs/cgroup /sys/fs/cgroup/unified; do
		[ -f "$h/cgroup.procs" ] || continue
		mkdir -p "$h/$1" 2>/dev/null && echo "$BASHPID" >"$h/$1/cgroup.procs" 2>/dev/null || true
	done
}

# remove_own_cgroup NAME: removes the (empty) cgroups enter_own_cgroup made.
remove_own_cgroup() {
	local h
	for h in /sys/fs/cgroup/systemd /sys/fs/cgroup/pids /sys/fs/cgroup /sys/fs/cgroup/unified; do
		[ -d "$h/$1" ] || continue
		# systemd leaves child cgroups behind: remove the deepest first.
		find "$h/$1" -depth -type d -exec rmdir {} + 2>/dev/null || true
	done
}

# stop_user_manager: SIGTERM stops every unit the manager runs and its dbus-daemon.
stop_user_manager() {
	[ -n "${MANAGER_PID:-}" ] && kill -0 "$MANAGER_PID" 2>/dev/null || return 0
	kill -TERM "$MANAGER_PID"
	for _ in $(seq 1 100); do kill -0 "$MANAGER_PID" 2>/dev/null || break; sleep 0.05; done
	kill -0 "$MANAGER_PID" 2>/dev/null && kill -KILL "$MANAGER_PID"
	[ -n "${MANAGER_CGROUP:-}" ] && remove_own_cgroup "$MANAGER_CGROUP"
	return 0
}

# run_shiplog ARGS...: execs shiplog (found as $SHIPLOG, on PATH, or in build/src/ of this tree)
# with -c $SHIPLOG_CONFIG when that is set. For the reference's helper-script wrappers.
run_shiplog() {
	local here shiplog args=()
	here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
	if [ -n "${SHIPLOG:-}" ]; then
		shiplog=$SHIPLOG
	elif command -v shiplog >/dev/null 2>&1; then
		shiplog=$(command -v shiplog)
	elif [ -x "$here/../build/src/shiplog" ]; then
		shiplog="$here/../build/src/shiplog"
	else
		echo "$0: shiplog not found: set SHIPLOG, put it on PATH, or build it" \
			"(cmake -S . -B build && cmake --build build)" >&2
		exit 1
	fi
	[ -n "${SHIPLOG_CONFIG:-}" ] && args+=(-c "$SHIPLOG_CONFIG")
	exec "$shiplog" "${args[@]}" "$@"
}
