#!/usr/bin/env bash
# tools/demo.sh: the demo. On a fresh Debian 12 machine, as root, it installs what it needs,
# builds shiplog, starts a private systemd user manager when this machine has none running for
# us, makes a sample app repository (web, api and four workers), installs its units, and then:
#   1. deploys main with --fast (the four workers only),
#   2. pushes a change and deploys everything with the edge acknowledged,
#   3. pushes a commit that breaks a worker: verify fails, the deploy is rolled back,
#   4. prints history, status and the failed deploy's every step (show).
# Everything lives in a scratch directory, removed at the end (SHIPLOG_DEMO_KEEP=1 keeps it).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${SHIPLOG_BUILD_DIR:-$ROOT/build}
# shellcheck source=tools/lib.sh
. "$ROOT/tools/lib.sh"
if [ -t 1 ]; then
	say() { printf '\n\033[1m### %s\033[0m\n' "$*"; }
else
	say() { printf '\n### %s\n' "$*"; }
fi

install_packages build-essential cmake pkg-config git liblmdb-dev libmsgpack-dev libgit2-dev \
	libsystemd-dev libcurl4-openssl-dev libjansson-dev libinih-dev dbus-user-session systemd \
	curl

say "Building shiplog"
cmake -S "$ROOT" -B "$BUILD" >/dev/null
cmake --build "$BUILD" -j"$(nproc)" --target shiplog >"$BUILD/demo-build.log" 2>&1 || {
	tail -30 "$BUILD/demo-build.log" >&2
	exit 1
}

S=$(mktemp -d /tmp/shiplog-demo.XXXXXX)
MANAGER_PID=
PROJECT=demo
cleanup() {
	local rc=$?
	set +e
	if [ -n "${XDG_RUNTIME_DIR:-}" ]; then
		systemctl --user stop "$PROJECT-"'*' >/dev/null 2>&1
		rm -f "${XDG_CONFIG_HOME:-$HOME/.config}/systemd/user/$PROJECT-"*.service
		systemctl --user daemon-reload >/dev/null 2>&1
	fi
	stop_user_manager
	if [ -n "${SHIPLOG_DEMO_KEEP:-}" ]; then
		echo "kept: $S"
	else
		rm -rf "$S"
	fi
	exit "$rc"
}
trap cleanup EXIT

if systemctl --user is-system-running 2>/dev/null | grep -qE 'running|degraded'; then
	say "Using this machine's systemd user manager"
else
	say "Starting a private systemd user manager (this machine has none for us)"
	start_user_manager
fi

PORT=$(( 20000 + RANDOM % 20000 ))
say "Making the sample app repository (web :$PORT, api :$((PORT + 1)), four workers)"
"$ROOT/tools/make-sample-repo.sh" "$S/app" "$PROJECT" "$PORT"
CONF="$S/app/checkout/shiplog.conf"
shiplog() { "$BUILD/src/shiplog" -c "$CONF" "$@"; }
dev="$S/app/dev"
git clone -q "$S/app/origin.git" "$dev"
commit() { # commit MESSAGE SHELL-SNIPPET: a developer pushes a change to origin/main
	(cd "$dev" && sh -c "$2" && git add -A &&
		git -c user.name=dev -c user.email=dev@example.invalid commit -qm "$1" && git push -q origin HEAD:main)
}

say "shiplog units install"
shiplog units install

say "1. shiplog deploy main --runtime native --fast   (the workers only)"
shiplog deploy main --runtime native --fast

say "2. a new commit; shiplog deploy main --edge-ready   (everything, the edge acknowledged)"
commit "web: new banner" "echo 'banner = hello' >> NOTES"
shiplog deploy main --edge-ready

say "3. a commit that breaks the compute worker; shiplog deploy main --fast"
commit "compute: crash on start" "echo 'compute.crash = 1' >> app.conf"
set +e
shiplog deploy main --fast
rc=$?
set -e
echo "(deploy exited with $rc: the failure is recorded and rolled back)"

say "shiplog history"
shiplog history

say "shiplog status"
shiplog status

# operations are named by number ("op" in the JSON is the event id; "number" is the number)
failed=$(shiplog --json history --outcome rolled-back --limit 1 | grep -o '"number": *[0-9]*' | head -1 | grep -o '[0-9]*$')
if [ -n "$failed" ]; then
	say "shiplog show $failed   (every step of the failed deploy)"
	shiplog show "$failed"
fi
say "Done. (SHIPLOG_DEMO_KEEP=1 keeps the sample, its ledger and its units for a look around)"
