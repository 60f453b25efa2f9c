#!/usr/bin/env bash
# check-native-health.sh [scope]   (default scope: full)
#
# The reference's helper, as a thin wrapper: runs the health checks of the services in scope now
# (units active, HTTP checks from shiplog.conf). Same as: shiplog check [--web-only|--api-only|
# --services-only|--workers-only]. Scopes: full, web, api, services, workers. Finds shiplog as
# $SHIPLOG, on PATH, or in build/src/ of this source tree; $SHIPLOG_CONFIG names a shiplog.conf.
set -euo pipefail

usage() {
	echo "usage: $0 [full|web|api|services|workers]" >&2
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
scope=${1:-full}
case "$scope" in
full) flag=() ;;
web | api | services | workers) flag=("--$scope-only") ;;
*)
	echo "unknown scope: $scope (expected one of: full, web, api, services, workers)" >&2
	exit 1
	;;
esac

shiplog=$(find_shiplog)
args=()
[ -n "${SHIPLOG_CONFIG:-}" ] && args+=(-c "$SHIPLOG_CONFIG")
args+=(check "${flag[@]}")
exec "$shiplog" "${args[@]}"
