# shellcheck shell=bash
# tools/lib.sh: functions shared by tools/test.sh and tools/demo.sh. Source it; it defines
# functions only. Messages go through say/skip, which the sourcing script may redefine.

say() { printf '[shiplog] %s\n' "$*"; }
skip() { printf '\n*** SKIP: %s could not start: %s ***\n\n' "$1" "$2" >&2; }

# free_port: a TCP port free on 127.0.0.1 now.
free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

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

# start_journald: a private systemd-journald for the user manager's units, on a machine whose
# PID 1 is not systemd (where no journald runs and unit output goes to /dev/null). It runs in its
# own mount namespace, where /run/systemd/journal (its sockets), /run/log/journal (its files)
# and /etc/systemd/journald.conf are bind mounts from $S/journal: nothing of the machine's own is
# touched, and several can run side by side. start_user_manager then starts the manager in that
# namespace, so units log to it, and in a cgroup named .../user@UID.service, so journald stamps
# their lines with _SYSTEMD_USER_UNIT. Readers outside find the files through the exported
# SHIPLOG_JOURNAL_DIR (journalctl -D "$SHIPLOG_JOURNAL_DIR" reads them too). Sets JOURNALD_PID.
start_journald() {
	local j="$S/journal"
	[ -x /lib/systemd/systemd-journald ] || { skip "journald" "/lib/systemd/systemd-journald is missing"; return 1; }
	command -v unshare >/dev/null && command -v nsenter >/dev/null ||
		{ skip "journald" "unshare/nsenter (util-linux) are missing"; return 1; }
	mkdir -p "$j/run" "$j/log"
	# volatile: the files stay in $j/log; no kernel messages; no rate limit to drop test lines.
	printf '[Journal]\nStorage=volatile\nReadKMsg=no\nRateLimitIntervalSec=0\nForwardToSyslog=no\nForwardToWall=no\n' >"$j/journald.conf"
	unshare -m --propagation private sh -c '
		mkdir -p /run/systemd/journal /run/log/journal &&
		mount --bind "$1/run" /run/systemd/journal &&
		mount --bind "$1/log" /run/log/journal &&
		mount --bind "$1/journald.conf" /etc/systemd/journald.conf &&
		exec /lib/systemd/systemd-journald' sh "$j" >"$j/journald.log" 2>&1 </dev/null &
	JOURNALD_PID=$!
	for _ in $(seq 1 100); do
		[ -S "$j/run/stdout" ] && break
		kill -0 "$JOURNALD_PID" 2>/dev/null || break
		sleep 0.05
	done
	if [ ! -S "$j/run/stdout" ]; then
		skip "journald" "no stdout socket after 5 s ($(tail -1 "$j/journald.log" 2>/dev/null))"
		kill "$JOURNALD_PID" 2>/dev/null
		JOURNALD_PID=
		return 1
	fi
	export SHIPLOG_JOURNAL_DIR="$j/log"
	say "journald: pid $JOURNALD_PID, files in $SHIPLOG_JOURNAL_DIR"
}

stop_journald() {
	[ -n "${JOURNALD_PID:-}" ] && kill -0 "$JOURNALD_PID" 2>/dev/null || return 0
	kill -TERM "$JOURNALD_PID"
	for _ in $(seq 1 100); do kill -0 "$JOURNALD_PID" 2>/dev/null || break; sleep 0.05; done
	kill -0 "$JOURNALD_PID" 2>/dev/null && kill -KILL "$JOURNALD_PID"
	return 0
}

# start_user_manager [DIR]: a private `systemd --user` whose state lives under DIR (default $S,
# set by the caller); sets MANAGER_PID and MANAGER_CGROUP and exports XDG_RUNTIME_DIR,
# XDG_CONFIG_HOME, XDG_STATE_HOME, XDG_DATA_HOME. After start_journald, it runs in that
# journald's mount namespace. Several may run at once, each from its own DIR.
start_user_manager() {
	local ns=() d=${1:-$S} name
	[ -x /lib/systemd/systemd ] || { skip "systemd --user" "/lib/systemd/systemd is missing"; return 1; }
	# systemd refuses a user instance unless this marker exists (PID 1 is not systemd here).
	if [ "$(cat /proc/1/comm 2>/dev/null)" != systemd ] && [ ! -d /run/systemd/system ]; then
		mkdir -p /run/systemd/system
	fi
	mkdir -m 700 "$d/run"
	mkdir -p "$d/config/systemd/user" "$d/state" "$d/data"
	# Its own cgroup: two managers started from one cgroup share paths such as
	# /app.slice/dbus.service, and stopping one then kills the other's dbus-daemon.
	# Named like a real user manager's (user@UID.service) so that journald finds the user unit
	# of each line in its cgroup path; the slice is named after DIR's whole path.
	name=$(printf '%s' "${d#/tmp/}" | tr -c 'A-Za-z0-9_.-' '-')
	MANAGER_CGROUP="shiplog-manager-$name.slice/user@$(id -u).service"
	[ -n "${JOURNALD_PID:-}" ] && ns=(nsenter "--mount=/proc/$JOURNALD_PID/ns/mnt")
	# env -i: the manager hands its whole environment to every unit.
	(
		enter_own_cgroup "$MANAGER_CGROUP"
		exec "${ns[@]}" env -i PATH=/usr/local/bin:/usr/bin:/bin HOME="$HOME" \
			XDG_RUNTIME_DIR="$d/run" XDG_CONFIG_HOME="$d/config" XDG_STATE_HOME="$d/state" \
			XDG_DATA_HOME="$d/data" /lib/systemd/systemd --user >"$d/manager.log" 2>&1 </dev/null
	) &
	MANAGER_PID=$!
	for _ in $(seq 1 200); do
		XDG_RUNTIME_DIR="$d/run" systemctl --user is-system-running 2>/dev/null |
			grep -qE 'running|degraded' && break
		kill -0 "$MANAGER_PID" 2>/dev/null || break
		sleep 0.05
	done
	if ! XDG_RUNTIME_DIR="$d/run" systemctl --user is-system-running 2>/dev/null |
		grep -qE 'running|degraded'; then
		skip "systemd --user" "not running after 10 s ($(tail -1 "$d/manager.log" 2>/dev/null))"
		return 1
	fi
	export XDG_RUNTIME_DIR="$d/run" XDG_CONFIG_HOME="$d/config" XDG_STATE_HOME="$d/state"
	export XDG_DATA_HOME="$d/data"
	say "systemd user manager: pid $MANAGER_PID, XDG_RUNTIME_DIR=$XDG_RUNTIME_DIR"
}

# enter_own_cgroup NAME [OWNER]: moves this (sub)shell into cgroup NAME of every cgroup-v1
# hierarchy it may write (name=systemd at least), or into NAME under the cgroup-v2 root. With
# OWNER (a user), NAME's directory and files are handed to that user, as systemd delegates
# user@UID.service to a user's manager, so that a manager running as OWNER can make its units'
# cgroups below. Best effort: a hierarchy that refuses is left as it is.
enter_own_cgroup() {
	local h
	for h in /sys/fs/cgroup/systemd /sys/fs/cgroup/pids /sys/fs/cgroup /sys/fs/cgroup/unified; do
		[ -f "$h/cgroup.procs" ] || continue
		mkdir -p "$h/$1" 2>/dev/null || continue
		[ -n "${2:-}" ] && chown -R "$2" "$h/$1" 2>/dev/null
		echo "$BASHPID" >"$h/$1/cgroup.procs" 2>/dev/null || true
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

# stop_user_manager [PID CGROUP]: SIGTERM stops every unit the manager runs and its dbus-daemon
# (default: the last one started, MANAGER_PID and MANAGER_CGROUP).
stop_user_manager() {
	local pid=${1:-${MANAGER_PID:-}} cg=${2:-${MANAGER_CGROUP:-}}
	[ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 0
	kill -TERM "$pid"
	for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
	kill -0 "$pid" 2>/dev/null && kill -KILL "$pid"
	[ -n "$cg" ] && remove_own_cgroup "${cg%%/*}"
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
