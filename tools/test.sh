#!/usr/bin/env bash
# tools/test.sh [-R REGEX] [-E REGEX]: build shiplog and run every test against real parts.
#
# On a fresh Debian 12 machine, as root, this is the whole test command:
#   1. installs the Debian packages it needs (only the missing ones);
#   2. configures build/ with warnings as errors and builds everything;
#   3. starts, in a short scratch directory, the real parts the integration tests use:
#      a private systemd-journald, a systemd user manager that logs to it, an sshd on 127.0.0.1,
#      a private Docker engine with a locally imported image, the fleet's test hosts. A part
#      that cannot start is reported with a loud "SKIP:" line and its tests skip themselves
#      (never pass silently);
#   4. runs ctest, then prints each test binary's Criterion synthesis line and ctest's summary;
#   5. tears everything down (also on failure or ^C) and exits with ctest's status.
# -R / -E REGEX are passed to ctest (run only / exclude matching tests).
# SHIPLOG_TEST_NO_DOCKER=1 leaves the Docker engine out (its tests then skip, visibly).
# The fleet's test hosts (tools/fleet-hosts.sh, SHIPLOG_TEST_FLEET_N of them, default 3) start
# only when a selected test has "fleet" in its name; SHIPLOG_TEST_NO_FLEET=1 leaves them out.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${SHIPLOG_BUILD_DIR:-$ROOT/build}
CTEST_ARGS=()

while [ "$#" -gt 0 ]; do
	case "$1" in
	-R | -E)
		[ "$#" -ge 2 ] || { echo "usage: $0 [-R REGEX] [-E REGEX]" >&2; exit 2; }
		CTEST_ARGS+=("$1" "$2")
		shift 2
		;;
	-h | --help)
		sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'
		exit 0
		;;
	*)
		echo "usage: $0 [-R REGEX] [-E REGEX]" >&2
		exit 2
		;;
	esac
done


# ---- 1. packages ---------------------------------------------------------------------------
# shellcheck source=tools/lib.sh
. "$ROOT/tools/lib.sh"
install_packages build-essential cmake pkg-config git liblmdb-dev libmsgpack-dev libgit2-dev \
	libsystemd-dev libcriterion-dev libcurl4-openssl-dev libjansson-dev libinih-dev \
	libsqlite3-dev sqlite3 lmdb-utils dbus-user-session systemd openssh-server docker.io \
	docker-compose curl python3 clang clang-format zsh dpkg-dev file man-db bsdutils tmux
say() { printf '[test] %s\n' "$*"; }
# dpkg-dev (dpkg-shlibdeps) and file let cpack declare the .deb's dependencies; man-db renders
# the installed man page, tmux gives the installed zsh completion a terminal
# (tests/package/deb.sh). bsdutils: script(1), the pseudo-terminal of
# tests/integration/test-progress.c.
# The getting-started walkthrough (tests/docs) deploys a Node.js and a Python app: node and npm,
# and python3 with venv. Installed from Debian only when missing (a machine may have its own
# node, whose npm the Debian package would conflict with).
command -v node >/dev/null || install_packages nodejs
command -v npm >/dev/null || install_packages npm
python3 -c 'import venv, ensurepip' 2>/dev/null || install_packages python3-venv
# promtool checks `shiplog metrics` (tests/cli); Debian ships it in the prometheus package, whose
# recommends (node exporter, a web UI) the tests do not need.
command -v promtool >/dev/null || {
	say "installing prometheus (for promtool)"
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus \
		>/dev/null
}
# The report test (tests/integration/test-report.c) loads the page in a real headless Chromium;
# its recommends (fonts beyond DejaVu, a desktop's helpers) are not needed for that.
command -v chromium >/dev/null || {
	say "installing chromium (for the report test)"
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium \
		>/dev/null
}

# ---- 2. build ------------------------------------------------------------------------------
say "building in $BUILD"
cmake -S "$ROOT" -B "$BUILD" -DSHIPLOG_WERROR=ON >/dev/null
cmake --build "$BUILD" -j"$(nproc)" >"$BUILD/build.log" 2>&1 || {
	grep -E 'error|Error' "$BUILD/build.log" | head -40 >&2
	echo "tools/test.sh: the build failed; full log in $BUILD/build.log" >&2
	exit 1
}

# ---- 3. real parts -------------------------------------------------------------------------
S=$(mktemp -d /tmp/slt.XXXXXX) # short: unix socket paths are limited to 108 bytes
MANAGER_PID=
DT_ROOT="$S/d"

FLEET_DIR=
FLEET_PID=

# shellcheck disable=SC2317 # called by the EXIT trap
teardown() {
	local rc=$? pid m
	set +e
	stop_fleet_hosts
	for m in "${!LANE_PIDS[@]}"; do stop_user_manager "${LANE_PIDS[$m]}" "${LANE_CGROUPS[$m]}"; done
	stop_journald
	for pid in "$S"/sshd.pid "$S"/l*/sshd.pid; do
		pid=$(cat "$pid" 2>/dev/null)
		[ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null
	done
	pid=$(cat "$DT_ROOT/dockerd.pid" 2>/dev/null)
	if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
		local ids
		ids=$(/usr/bin/docker ps -aq 2>/dev/null)
		# shellcheck disable=SC2086 # ids is a list of words
		[ -n "$ids" ] && /usr/bin/docker rm -f $ids >/dev/null 2>&1
		kill -TERM "$pid"
		for _ in $(seq 1 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
		kill -0 "$pid" 2>/dev/null && kill -KILL "$pid"
	fi
	# dockerd leaves $DT_ROOT/exec/netns/default bind-mounted: unmount before removing.
	for m in $(awk -v r="$S/" 'index($2, r) == 1 {print $2}' /proc/mounts | sort -r); do
		umount "$m" 2>/dev/null || umount -l "$m"
	done
	rm -rf "$S"
	exit "$rc"
}
trap teardown EXIT
trap 'exit 130' INT TERM

start_docker_engine() {
	[ -x /usr/sbin/dockerd ] || { skip "docker" "/usr/sbin/dockerd is missing"; return 1; }
	mkdir -p "$DT_ROOT"
	/usr/sbin/dockerd --data-root "$DT_ROOT/data" --exec-root "$DT_ROOT/exec" \
		-H "unix://$DT_ROOT/docker.sock" --pidfile "$DT_ROOT/dockerd.pid" \
		>"$DT_ROOT/dockerd.log" 2>&1 </dev/null &
}

wait_docker_engine() {
	local d
	for _ in $(seq 1 100); do
		DOCKER_HOST="unix://$DT_ROOT/docker.sock" /usr/bin/docker version >/dev/null 2>&1 && break
		sleep 0.1
	done
	if ! DOCKER_HOST="unix://$DT_ROOT/docker.sock" /usr/bin/docker version >/dev/null 2>&1; then
		skip "docker" "dockerd did not answer within 10 s ($(tail -1 "$DT_ROOT/dockerd.log" 2>/dev/null))"
		return 1
	fi
	# local/tiny:1, busybox httpd, built with no registry from Debian's busybox-static .deb.
	d="$DT_ROOT/img"
	mkdir -p "$d/rootfs"
	if ! (cd "$d" && apt-get download busybox-static >/dev/null 2>&1); then
		cp /var/cache/apt/archives/busybox-static_*.deb "$d/" 2>/dev/null || {
			skip "docker" "cannot download busybox-static for the test image"
			return 1
		}
	fi
	(
		set -e
		cd "$d"
		dpkg -x busybox-static_*.deb rootfs
		mkdir -p rootfs/www rootfs/tmp rootfs/etc rootfs/proc rootfs/sys rootfs/dev \
			rootfs/usr/bin rootfs/usr/sbin rootfs/sbin
		for a in $(rootfs/bin/busybox --list-full); do
			[ -e "rootfs/$a" ] || ln -s /bin/busybox "rootfs/$a"
		done
		echo 'root:x:0:0:root:/root:/bin/sh' >rootfs/etc/passwd
		echo 'root:x:0:' >rootfs/etc/group
		cat >rootfs/serve.sh <<'EOS'
#!/bin/sh
PORT="${PORT:-8080}"
echo "hello from $(hostname) name=${SERVICE_NAME:-none} version=${APP_VERSION:-0}" > /www/index.html
echo ok > /www/health
echo "serving on :$PORT"
exec httpd -f -v -p "$PORT" -h /www
EOS
		chmod +x rootfs/serve.sh
		tar -C rootfs -c . | DOCKER_HOST="unix://$DT_ROOT/docker.sock" /usr/bin/docker import \
			-c 'CMD ["/serve.sh"]' -c 'EXPOSE 8080' \
			-c 'ENV PATH=/bin:/sbin:/usr/bin:/usr/sbin' - local/tiny:1 >/dev/null
	) || { skip "docker" "importing the local/tiny:1 image failed"; return 1; }
	export DOCKER_HOST="unix://$DT_ROOT/docker.sock" SHIPLOG_TEST_DOCKER=1
	say "docker engine: $DOCKER_HOST (image local/tiny:1)"
}

# start_sshd [DIR]: an sshd on 127.0.0.1 whose keys and config live in DIR (default $S); its
# sessions see the user manager of DIR. Exports SHIPLOG_TEST_SSH_*.
start_sshd() {
	local port setenv='' user d=${1:-$S}
	[ -x /usr/sbin/sshd ] || { skip "sshd" "/usr/sbin/sshd is missing"; return 1; }
	port=$(free_port)
	ssh-keygen -q -t ed25519 -N '' -f "$d/host_key"
	ssh-keygen -q -t ed25519 -N '' -f "$d/client_key"
	cp "$d/client_key.pub" "$d/authorized_keys"
	chmod 600 "$d/authorized_keys"
	mkdir -p /run/sshd
	# Remote sessions see the private user manager, as a real server's login session would.
	if [ -n "${SHIPLOG_TEST_USER_MANAGER:-}" ]; then
		setenv="SetEnv XDG_RUNTIME_DIR=$d/run XDG_CONFIG_HOME=$d/config XDG_STATE_HOME=$d/state"
	fi
	cat >"$d/sshd_config" <<CONF
Port $port
ListenAddress 127.0.0.1
HostKey $d/host_key
AuthorizedKeysFile $d/authorized_keys
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
PidFile $d/sshd.pid
StrictModes no
$setenv
CONF
	if ! /usr/sbin/sshd -f "$d/sshd_config" -E "$d/sshd.log"; then
		skip "sshd" "$(tail -1 "$d/sshd.log" 2>/dev/null)"
		return 1
	fi
	for _ in $(seq 1 50); do
		ssh -i "$d/client_key" -o IdentitiesOnly=yes -o BatchMode=yes \
			-o StrictHostKeyChecking=accept-new -o UserKnownHostsFile="$d/known_hosts" \
			-p "$port" "$(id -un)@127.0.0.1" true 2>/dev/null && break
		sleep 0.1
	done
	if [ ! -s "$d/known_hosts" ]; then
		skip "sshd" "no ssh login to 127.0.0.1:$port ($(tail -1 "$d/sshd.log" 2>/dev/null))"
		return 1
	fi
	export SHIPLOG_TEST_SSH_PORT="$port" SHIPLOG_TEST_SSH_KEY="$d/client_key"
	user=$(id -un)
	export SHIPLOG_TEST_SSH_KNOWN_HOSTS="$d/known_hosts" SHIPLOG_TEST_SSH_USER="$user"
	say "sshd: 127.0.0.1:$port"
}

# The fleet's test hosts (tools/fleet-hosts.sh: users, network namespaces, sshds, user managers,
# each host's checkout), only when a selected test needs them (a "fleet" in its name): they take
# a while to start and create users. In the background while the others come up.
start_fleet_hosts() {
	if [ -n "${SHIPLOG_TEST_NO_FLEET:-}" ]; then
		skip "fleet hosts" "SHIPLOG_TEST_NO_FLEET is set"
		return 1
	fi
	ctest --test-dir "$BUILD" -N "${CTEST_ARGS[@]}" 2>/dev/null | grep -c 'fleet' >/dev/null || return 1
	FLEET_DIR=$(mktemp -d /tmp/slf.XXXXXX) # short: unix socket paths under each host's home
	SHIPLOG_BUILD_DIR="$BUILD" "$ROOT/tools/fleet-hosts.sh" start "$FLEET_DIR" \
		"${SHIPLOG_TEST_FLEET_N:-3}" >"$S/fleet.log" 2>&1 &
	FLEET_PID=$!
}

wait_fleet_hosts() {
	if wait "$FLEET_PID" && [ -f "$FLEET_DIR/env.sh" ]; then
		# shellcheck disable=SC1091
		. "$FLEET_DIR/env.sh"
		say "fleet: $SHIPLOG_TEST_FLEET_HOSTS"
	else
		skip "fleet hosts" "$(tail -1 "$S/fleet.log" 2>/dev/null)"
	fi
}

# shellcheck disable=SC2317 # called by teardown
stop_fleet_hosts() {
	[ -n "$FLEET_DIR" ] || return 0
	[ -n "$FLEET_PID" ] && kill -0 "$FLEET_PID" 2>/dev/null && kill -TERM "$FLEET_PID" &&
		wait "$FLEET_PID" 2>/dev/null
	"$ROOT/tools/fleet-hosts.sh" stop "$FLEET_DIR" >/dev/null 2>&1
}

# Lanes: the integration tests install and restart units, so two of them must not share a user
# manager (a daemon-reload resets another test's start limit, for one). Each lane is a user manager
# in its own cgroup with its own sshd whose sessions see it; ctest hands each such test one lane
# (RESOURCE_GROUPS "lanes:1", tests/lane.sh) and runs as many at once as there are lanes.
# SHIPLOG_TEST_LANES (default 2) sets how many; lane 0 lives in $S, lane N in $S/lN.
LANE_PIDS=()
LANE_CGROUPS=()
LANES_STARTED=0

# lane_env I: writes the environment a test of lane I needs into $S/lane-I.env.
lane_env() {
	local v
	for v in XDG_RUNTIME_DIR XDG_CONFIG_HOME XDG_STATE_HOME XDG_DATA_HOME \
		SHIPLOG_TEST_USER_MANAGER SHIPLOG_TEST_SSH_PORT SHIPLOG_TEST_SSH_KEY \
		SHIPLOG_TEST_SSH_KNOWN_HOSTS SHIPLOG_TEST_SSH_USER; do
		if [ -n "${!v:-}" ]; then printf 'export %s=%q\n' "$v" "${!v}"; else printf 'unset %s\n' "$v"; fi
	done >"$S/lane-$1.env"
}

start_lanes() {
	local want=${SHIPLOG_TEST_LANES:-2} i d
	case "$want" in '' | *[!0-9]* | 0) echo "SHIPLOG_TEST_LANES must be a number >= 1" >&2; exit 2 ;; esac
	for i in $(seq 0 $((want - 1))); do
		d=$S
		[ "$i" -gt 0 ] && { d=$S/l$i; mkdir -p "$d"; }
		if start_user_manager "$d"; then
			export SHIPLOG_TEST_USER_MANAGER=1
			LANE_PIDS+=("$MANAGER_PID") LANE_CGROUPS+=("$MANAGER_CGROUP")
		elif [ "$i" -gt 0 ]; then
			break # the lanes started so far run the tests
		fi
		start_sshd "$d" || true
		lane_env "$i"
		LANES_STARTED=$((i + 1))
		# Without a user manager, one lane: the tests that need it skip.
		[ -z "${SHIPLOG_TEST_USER_MANAGER:-}" ] && break
	done
	# shellcheck disable=SC1091 # written just above
	. "$S/lane-0.env" # what the tests outside lanes (and ctest itself) see
	printf '{"version": {"major": 1, "minor": 0}, "local": [{"lanes": [' >"$S/lanes.json"
	for i in $(seq 0 $((LANES_STARTED - 1))); do
		[ "$i" -gt 0 ] && printf ', ' >>"$S/lanes.json"
		printf '{"id": "%d", "slots": 1}' "$i" >>"$S/lanes.json"
	done
	printf ']}]}\n' >>"$S/lanes.json"
	export SHIPLOG_TEST_LANES_DIR="$S"
	say "lanes: $LANES_STARTED (each a user manager and an sshd)"
}

# dockerd starts in the background while the others come up.
docker_started=0
if [ -n "${SHIPLOG_TEST_NO_DOCKER:-}" ]; then
	skip "docker" "SHIPLOG_TEST_NO_DOCKER is set (only one dockerd may run on a machine)"
else
	start_docker_engine && docker_started=1
fi
fleet_started=0
start_fleet_hosts && fleet_started=1
start_journald && export SHIPLOG_TEST_JOURNAL=1
start_lanes
[ "$docker_started" = 1 ] && { wait_docker_engine || true; }
[ "$fleet_started" = 1 ] && wait_fleet_hosts

# ---- 4. tests ------------------------------------------------------------------------------
say "running ctest"
set +e
ctest --test-dir "$BUILD" --output-on-failure -j"$((LANES_STARTED + 1))" \
	--resource-spec-file "$S/lanes.json" "${CTEST_ARGS[@]}" 2>&1 | tee "$S/ctest.out"
status=${PIPESTATUS[0]}
set -e

echo
echo "== Criterion synthesis per test binary =="
log="$BUILD/Testing/Temporary/LastTest.log"
if [ -f "$log" ]; then
	awk '/^[0-9]+\/[0-9]+ Test: / { name = $3 }
	     /Synthesis:/ { sub(/^.*\[====\] /, ""); printf "%-36s %s\n", name, $0 }' "$log"
fi
# Files tests keep for CI (the report test's page and screenshot), one "artifact: PATH" line each.
[ -f "$log" ] && grep -h '^artifact: ' "$log" | sort -u || true
grep -E 'tests passed|tests failed' "$S/ctest.out" | tail -1 || true
exit "$status"
