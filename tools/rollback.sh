#!/usr/bin/env bash
# rollback.sh <git-ref> [scope]   (default scope: services)
#
# The reference's helper, as a thin wrapper: rolls the native runtime back to a git ref, through
# the ledger (recorded, locked, verified, with the same dirty-tree policy as deploys). Unlike the
# reference, a bad scope is refused before anything moves. Same as:
#   shiplog rollback --to <ref> --runtime native [--web-only|--api-only|--services-only|--workers-only]
# Scopes: full, web, api, services, workers. Finds shiplog as $SHIPLOG, on PATH, or in build/src/
# of this source tree; $SHIPLOG_CONFIG names a shiplog.conf.
set -euo pipefail

usage() {
	echo "usage: $0 <git-ref> [full|web|api|services|workers]" >&2
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

if [ "$#" -lt 1 ] || [ "$#" -gt 2 ]; then usage; fi
ref=$1
scope=${2:-services}
[ -n "$ref" ] || usage
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
args+=(rollback --to "$ref" --runtime native "${flag[@]}")
exec "$shiplog" "${args[@]}"
