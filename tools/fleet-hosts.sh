#!/usr/bin/env bash
# tools/fleet-hosts.sh: N test "hosts" on this machine for shiplog's fleet tests and benchmarks.
#
#   fleet-hosts.sh start DIR [N]      N hosts (default 3) h1..hN, everything under DIR (new/empty,
#                                     short: unix socket paths); writes DIR/env.sh to source
#   fleet-hosts.sh stop DIR           tears all of it down (also after a partial start)
#   fleet-hosts.sh down DIR NAME      host NAME stops answering ssh (connection refused; its
#                                     open connections end)
#   fleet-hosts.sh up DIR NAME        and answers again, on the same port
#   fleet-hosts.sh manager-stop DIR NAME   stops host NAME's systemd user manager (and its units)
#   fleet-hosts.sh as DIR NAME CMD...      runs CMD on host NAME as its user, in its namespace,
#                                     with its login environment; CMD takes this process (exec),
#                                     so its pid is the one this script was started with
#
# Each host is what a real server would be, as far as shiplog can tell:
#   - its own Linux user (sl<id>-hI), its home DIR/hI, shiplog copied to ~/bin/shiplog;
#   - its own network namespace (own 127.0.0.1): every host runs the same sample app on the same
#     ports with the same committed shiplog.conf, as identical machines would;
#   - its own sshd, reached from here on 127.0.0.1:PORT (systemd-socket-activate listens here and
#     starts `sshd -i` inside the host's namespace per connection), key login only;
#   - its own private `systemd --user`, running as that user in its own cgroup (each v1
#     hierarchy, or v2), delegated to the user: two managers started from one cgroup step on each
#     other (stopping one killed the other's dbus-daemon);
#   - a login environment (~/.ssh/environment, PermitUserEnvironment) that gives a plain
#     `ssh user@127.0.0.1 -p PORT shiplog ...` the manager (XDG_RUNTIME_DIR,
#     DBUS_SESSION_BUS_ADDRESS) and ~/bin on PATH;
#   - a clone of one shared origin (DIR/sample/origin.git, project "fleetapp"; the host fetches
#     it as git://127.0.0.1/origin.git) at ~/app, its six units installed and running (web on
#     127.0.0.1:3000, api on :3001 in each namespace).
#
# DIR/env.sh exports SHIPLOG_TEST_FLEET_HOSTS ("h1=USER@127.0.0.1:PORT h2=..."),
# SHIPLOG_TEST_FLEET_DIR, _KEY, _KNOWN_HOSTS, _SSH_CONFIG (Host h1..hN), _ORIGIN, _PROJECT and
# _CTL (this script). docs/fleet.md ("Setting up test hosts") explains each part. Needs root.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=tools/lib.sh
. "$ROOT/tools/lib.sh"
say() { printf '[fleet] %s\n' "$*"; }
die() {
	printf 'fleet-hosts: %s\n' "$*" >&2
	exit 1
}

PROJECT=fleetapp
WEB_PORT=3000
HOSTS= # the started hosts' names, from DIR/ctl/state

usage() {
	sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//' >&2
	exit 2
}

# ---- helpers -------------------------------------------------------------------------------

# The state of a started fleet: DIR/ctl/state holds ID and the started host names.
load_state() {
	[ -f "$DIR/ctl/state" ] || die "'$DIR' holds no started fleet"
	HOSTS=
	# shellcheck disable=SC1091
	. "$DIR/ctl/state"
}

host_user() { printf 'sl%s-%s' "$ID" "$1"; }
host_netns() { printf 'slf-%s-%s' "$ID" "$1"; }
host_cgroup() { printf 'shiplog-fleet-%s-%s.slice/user@%s.service' "$ID" "$1" "$2"; }

# as_host NAME CMD...: runs CMD as host NAME's user, in its namespace, with its login env
# (AS_HOST_EXEC=exec: in place of this shell).
as_host() {
	local name=$1 user home uid gid
	shift
	user=$(host_user "$name")
	home="$DIR/$name"
	uid=$(id -u "$user")
	gid=$(id -g "$user")
	${AS_HOST_EXEC:-} nsenter --net="/run/netns/$(host_netns "$name")" \
		setpriv --reuid="$uid" --regid="$gid" --init-groups \
		env -i HOME="$home" USER="$user" LOGNAME="$user" \
		PATH="$home/bin:/usr/local/bin:/usr/bin:/bin" XDG_RUNTIME_DIR="$home/run" \
		DBUS_SESSION_BUS_ADDRESS="unix:path=$home/run/bus" "$@"
}

# ---- start ---------------------------------------------------------------------------------

# The shared origin: the sample repo, its paths taken from each host's home so that one
# committed shiplog.conf serves every host.
make_origin() {
	local co="$DIR/sample/checkout"
	"$ROOT/tools/make-sample-repo.sh" "$DIR/sample" "$PROJECT" "$WEB_PORT" >/dev/null
	sed -i -e 's|^checkout = .*|checkout = ~/app|' -e 's|^ledger = .*|ledger = ~/ledger|' \
		-e 's|^log_dir = .*|log_dir = ~/logs|' "$co/shiplog.conf"
	sed -i -e 's|^heartbeat_dir = .*|heartbeat_dir = ../beats|' "$co/app.conf"
	git -C "$co" -c user.name=fleet -c user.email=fleet@shiplog.invalid commit -qam \
		"fleet: paths from each host's home"
	git -C "$co" push -q origin main
	chmod -R a+rX "$DIR/sample"
}

make_keys() {
	local c="$DIR/ctl"
	ssh-keygen -q -t ed25519 -N '' -f "$c/client_key"
	: >"$c/known_hosts"
	cat >"$c/ssh_config" <<CONF
Host *
  HostName 127.0.0.1
  IdentityFile $c/client_key
  IdentitiesOnly yes
  UserKnownHostsFile $c/known_hosts
  StrictHostKeyChecking yes
  BatchMode yes
CONF
}

# The host's user and home: key, login environment, shiplog, git settings.
make_home() {
	local name=$1 user home
	user=$(host_user "$name")
	home="$DIR/$name"
	useradd -M -d "$home" -s /bin/sh -U -p '*' "$user" || die "useradd $user failed"
	echo "HOSTS=\"\${HOSTS:-} $name\"" >>"$DIR/ctl/state"
	mkdir -p "$home/bin" "$home/.ssh" "$home/run" "$home/logs"
	chmod 700 "$home/.ssh" "$home/run"
	cp "$SHIPLOG_BIN" "$home/bin/shiplog"
	cp "$DIR/ctl/client_key.pub" "$home/.ssh/authorized_keys"
	cat >"$home/.ssh/environment" <<ENV
PATH=$home/bin:/usr/local/bin:/usr/bin:/bin
XDG_RUNTIME_DIR=$home/run
DBUS_SESSION_BUS_ADDRESS=unix:path=$home/run/bus
ENV
	printf '[user]\n\tname = %s\n\temail = %s@fleet.invalid\n' "$user" "$user" \
		>"$home/.gitconfig"
	chown -R "$user:$user" "$home"
}

start_manager() {
	local name=$1 user home
	user=$(host_user "$name")
	home="$DIR/$name"
	(
		enter_own_cgroup "$(host_cgroup "$name" "$(id -u "$user")")" "$user:$user"
		# env -i: the manager hands its whole environment to every unit.
		exec nsenter --net="/run/netns/$(host_netns "$name")" \
			setpriv --reuid="$user" --regid="$user" --init-groups \
			env -i PATH=/usr/local/bin:/usr/bin:/bin HOME="$home" USER="$user" \
			XDG_RUNTIME_DIR="$home/run" /lib/systemd/systemd --user \
			>"$DIR/ctl/$name.manager.log" 2>&1 </dev/null
	) &
	echo "$!" >"$DIR/ctl/$name.manager.pid"
}

wait_manager() {
	local name=$1 pid
	pid=$(cat "$DIR/ctl/$name.manager.pid")
	for _ in $(seq 1 200); do
		as_host "$name" systemctl --user is-system-running 2>/dev/null |
			grep -qE 'running|degraded' && return 0
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.05
	done
	die "$name: systemd --user not running ($(tail -1 "$DIR/ctl/$name.manager.log" 2>/dev/null))"
}

# The host's sshd: a listener on 127.0.0.1:PORT here, an `sshd -i` in the host's namespace per
# connection. Its port is kept in ctl/NAME.port for `up`.
start_listener() {
	local name=$1 c="$DIR/ctl" port
	port=$(cat "$c/$name.port")
	# a process group of its own: `down` ends the listener with every session it started
	setsid systemd-socket-activate -l "127.0.0.1:$port" -a --inetd \
		nsenter --net="/run/netns/$(host_netns "$name")" \
		/usr/sbin/sshd -i -f "$c/$name.sshd_config" -E "$c/$name.sshd.log" \
		>>"$c/$name.listen.log" 2>&1 </dev/null &
	echo "$!" >"$c/$name.listen.pid"
}

wait_listener() {
	local name=$1 c="$DIR/ctl"
	for _ in $(seq 1 100); do
		ssh -F "$c/ssh_config" "$name" true 2>/dev/null && return 0
		sleep 0.05
	done
	die "$name: no ssh login ($(tail -1 "$c/$name.sshd.log" 2>/dev/null))"
}

make_sshd() {
	local name=$1 c="$DIR/ctl" user port
	user=$(host_user "$name")
	port=$(free_port)
	echo "$port" >"$c/$name.port"
	ssh-keygen -q -t ed25519 -N '' -f "$c/$name.host_key"
	cat >"$c/$name.sshd_config" <<CONF
HostKey $c/$name.host_key
AuthorizedKeysFile %h/.ssh/authorized_keys
AllowUsers $user
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
PermitUserEnvironment yes
PidFile none
CONF
	printf '[127.0.0.1]:%s %s\n' "$port" "$(cut -d' ' -f1,2 "$c/$name.host_key.pub")" \
		>>"$c/known_hosts"
	printf 'Host %s\n  Port %s\n  User %s\n' "$name" "$port" "$user" >>"$c/ssh_config"
}

# The host's way to the shared origin: git://127.0.0.1/origin.git inside its namespace (a
# git daemon per connection, as root, read-only). A local path would not do: libgit2 refuses a
# repository that another user owns (safe.directory does not lift it for a remote).
start_gitd() {
	local name=$1
	nsenter --net="/run/netns/$(host_netns "$name")" \
		systemd-socket-activate -l 127.0.0.1:9418 -a --inetd \
		git daemon --inetd --export-all --base-path="$DIR/sample" "$DIR/sample/origin.git" \
		>>"$DIR/ctl/$name.gitd.log" 2>&1 </dev/null &
	echo "$!" >"$DIR/ctl/$name.gitd.pid"
}

# The sample at ~/app, built, its units installed and running.
make_app() {
	local name=$1 home="$DIR/$1"
	as_host "$name" git clone -q git://127.0.0.1/origin.git "$home/app"
	as_host "$name" mkdir -p "$home/app/build"
	as_host "$name" cp "$DIR/sample/checkout/build/sampleapp" "$home/app/build/"
	(cd "$home/app" && as_host "$name" shiplog -q units install >/dev/null)
	as_host "$name" systemctl --user start "$PROJECT-api" "$PROJECT-web" "$PROJECT-compute" \
		"$PROJECT-candles" "$PROJECT-ingest-options" "$PROJECT-ingest-equities"
}

write_env() {
	local c="$DIR/ctl" hosts="" name
	for name in $HOSTS; do
		hosts="$hosts $name=$(host_user "$name")@127.0.0.1:$(cat "$c/$name.port")"
	done
	cat >"$DIR/env.sh" <<ENV
export SHIPLOG_TEST_FLEET_DIR='$DIR'
export SHIPLOG_TEST_FLEET_HOSTS='${hosts# }'
export SHIPLOG_TEST_FLEET_KEY='$c/client_key'
export SHIPLOG_TEST_FLEET_KNOWN_HOSTS='$c/known_hosts'
export SHIPLOG_TEST_FLEET_SSH_CONFIG='$c/ssh_config'
export SHIPLOG_TEST_FLEET_ORIGIN='$DIR/sample/origin.git'
export SHIPLOG_TEST_FLEET_PROJECT='$PROJECT'
export SHIPLOG_TEST_FLEET_CTL='$ROOT/tools/fleet-hosts.sh'
ENV
}

check_parts() {
	local t
	[ "$(id -u)" -eq 0 ] || die "needs root (it creates users, namespaces and cgroups)"
	for t in useradd userdel setpriv nsenter ip ssh ssh-keygen systemd-socket-activate \
		/usr/sbin/sshd /lib/systemd/systemd git; do
		command -v "$t" >/dev/null || die "'$t' is missing"
	done
	[ -x "$SHIPLOG_BIN" ] || die "no shiplog at '$SHIPLOG_BIN' (set SHIPLOG or build it)"
	# systemd refuses a user instance unless this marker exists (PID 1 is not systemd here).
	[ -d /run/systemd/system ] || mkdir -p /run/systemd/system
	mkdir -p /run/sshd
}

cmd_start() {
	local n=${1:-3} i name
	case "$n" in '' | *[!0-9]* | 0) die "N must be a positive number, not '$n'" ;; esac
	check_parts
	mkdir -p "$DIR"
	[ -z "$(ls -A "$DIR")" ] || die "'$DIR' is not empty"
	DIR=$(cd "$DIR" && pwd)
	chmod 711 "$DIR" # the hosts' users pass through to their homes
	mkdir -m 700 "$DIR/ctl"
	ID=$(head -c 3 /dev/urandom | od -An -tx1 | tr -d " \n")
	echo "ID=$ID" >"$DIR/ctl/state"
	make_origin
	make_keys
	say "origin and keys ready (${SECONDS}s)"
	for i in $(seq 1 "$n"); do
		name="h$i"
		make_home "$name"
		ip netns add "$(host_netns "$name")"
		ip -n "$(host_netns "$name")" link set lo up
		start_manager "$name"
		start_gitd "$name"
		make_sshd "$name"
		start_listener "$name"
	done
	say "users, managers and sshd listeners started (${SECONDS}s)"
	load_state
	for name in $HOSTS; do
		wait_manager "$name"
		wait_listener "$name"
		make_app "$name"
	done
	write_env
	say "$n hosts up in ${SECONDS}s: $(sed -n "s/^export SHIPLOG_TEST_FLEET_HOSTS=//p" "$DIR/env.sh")"
}

# ---- stop ----------------------------------------------------------------------------------

kill_pidfile() {
	local f=$1 pid
	pid=$(cat "$f" 2>/dev/null) || return 0
	[ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 0
	kill -TERM "$pid"
	for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.05; done
	kill -KILL "$pid" 2>/dev/null || true
}

# A host going down: its sshd listener and every connection it took (a shared ssh connection
# ends too, as when a machine goes away).
kill_group() {
	local pid
	pid=$(cat "$1" 2>/dev/null) || return 0
	[ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 0
	kill -TERM -- "-$pid" 2>/dev/null || true
	for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.05; done
	kill -KILL -- "-$pid" 2>/dev/null || true
}

# Whatever the host's user still runs (forwarded commands, sshd sessions): every process of that
# user was started for this fleet.
kill_user_processes() {
	local user=$1 pids
	pids=$(ps -o pid= -u "$user" 2>/dev/null | tr -s ' \n' ' ') || true
	# shellcheck disable=SC2086 # a list of pids
	[ -n "${pids// /}" ] && kill -KILL $pids 2>/dev/null
	return 0
}

stop_host() {
	local name=$1 user
	user=$(host_user "$name")
	kill_group "$DIR/ctl/$name.listen.pid"
	kill_pidfile "$DIR/ctl/$name.gitd.pid"
	kill_pidfile "$DIR/ctl/$name.manager.pid"
	id "$user" >/dev/null 2>&1 && kill_user_processes "$user"
	id "$user" >/dev/null 2>&1 && { userdel "$user" 2>/dev/null || userdel -f "$user" || true; }
	ip netns del "$(host_netns "$name")" 2>/dev/null || true
	remove_own_cgroup "shiplog-fleet-$ID-$name.slice"
}

cmd_stop() {
	local name
	[ -f "$DIR/ctl/state" ] || { rm -rf "$DIR"; return 0; }
	load_state
	for name in ${HOSTS:-}; do stop_host "$name"; done
	rm -rf "$DIR"
}

# ---- main ----------------------------------------------------------------------------------

[ "$#" -ge 2 ] || usage
CMD=$1
DIR=$2
shift 2
BUILD=${SHIPLOG_BUILD_DIR:-build}
case "$BUILD" in /*) ;; *) BUILD="$ROOT/$BUILD" ;; esac
SHIPLOG_BIN=${SHIPLOG:-$BUILD/src/shiplog}

case "$CMD" in
start) cmd_start "$@" ;;
stop) cmd_stop ;;
down) load_state && kill_group "$DIR/ctl/${1:?NAME}.listen.pid" ;;
up) load_state && start_listener "${1:?NAME}" && wait_listener "$1" ;;
manager-stop) load_state && kill_pidfile "$DIR/ctl/${1:?NAME}.manager.pid" ;;
as)
	load_state
	[ "$#" -ge 2 ] || usage
	AS_HOST_EXEC=exec as_host "$@"
	;;
*) usage ;;
esac
