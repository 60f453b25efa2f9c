#!/usr/bin/env bash
# install-user-units.sh [scope]   (default scope: none)
#
# The reference's helper, as a thin wrapper: renders every service's unit template into the user
# manager's unit directory and reloads it; with a scope other than none also enables those units
# (start at login). Never starts anything. Same as: shiplog units install [--enable SCOPE]
# Scopes: none, full, web, api, services, workers. Finds shiplog as $SHIPLOG, on PATH, or in
# build/src/ of this source tree; $SHIPLOG_CONFIG names a shiplog.conf (default: found from cwd).
set -euo pipefail
# shellcheck source=tools/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() {
	echo "usage: $0 [none|full|web|api|services|workers]" >&2
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

if [ "$scope" = none ]; then
	run_shiplog units install
fi
run_shiplog units install --enable "$scope"
