#!/usr/bin/env bash
# install-user-units.sh [scope]   (default scope: none)
#
# The reference's helper, as a thin wrapper: renders every service's unit template into the user
# manager's unit directory and reloads it; with a scope other than none also enables those units
# (start at login). Never starts anything. Same as: shiplog units install [--enable SCOPE]
# Scopes: none, full, web, api, services, workers. Finds shiplog as $SHIPLOG, on PATH, or in
# build/src/ of this source tree; $SHIPLOG_CONFIG names a shiplog.conf (default: found from cwd).
set -euo pipefail

usage() {
	echo "usage: $0 [none|full|web|api|services|workers]" >&2
	exit 1
}

find_shiplog() {
	local here
	if [ -n "${SHIPLOG:-}" ]; then printf '%s\n' "$SHIPLOG"; return; fi
	if command -v shiplog >/dev/null 2>&1; then command -v shiplog; return; fi
	here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
	if [ -x "$here/../build/src/shiplog" ]; then printf '%s\n' "$here/../build/src/shiplog"; return; fi
	echo "$0: shiplog not found: set SHIPLOG, put it on PATH, or build it (cmake -S . -B build && cmake --build build)" >&2
	exit 1
}

[ "$#" -le 1 ] || usage
scope=${1:-none}
case "$scope" in
none | full | web | api | services | workers) ;;
*)
	echo "unknown scope: $scope (expected one of: none, full, web, api, services, workers)" >&2
	exit 1
	;;
esac

shiplog=$(find_shiplog)
args=()
[ -n "${SHIPLOG_CONFIG:-}" ] && args+=(-c "$SHIPLOG_CONFIG")
args+=(units install)
[ "$scope" != none ] && args+=(--enable "$scope")
exec "$shiplog" "${args[@]}"
