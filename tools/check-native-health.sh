#!/usr/bin/env bash
# check-native-health.sh [scope]   (default scope: full)
#
# The reference's helper, as a thin wrapper: runs the health checks of the services in scope now
# (units active, HTTP checks from shiplog.conf). Same as: shiplog check [--web-only|--api-only|
# --services-only|--workers-only]. Scopes: full, web, api, services, workers. Finds shiplog as
# $SHIPLOG, on PATH, or in build/src/ of this source tree; $SHIPLOG_CONFIG names a shiplog.conf.
set -euo pipefail
# shellcheck source=tools/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() {
	echo "usage: $0 [full|web|api|services|workers]" >&2
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

run_shiplog check "${flag[@]}"
