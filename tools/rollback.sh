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
# shellcheck source=tools/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() {
	echo "usage: $0 <git-ref> [full|web|api|services|workers]" >&2
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

run_shiplog rollback --to "$ref" --runtime native "${flag[@]}"
