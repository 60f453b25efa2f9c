#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# reference-rollback.sh: the reference tool's rollback.sh (scope full) followed by its
# check-native-health.sh, as a shell script over the sample deployment, for the rollback
# benchmark (tests/bench/rollback/run.sh). It is the baseline shiplog is compared with, not a tool.
#
#   reference-rollback.sh CHECKOUT REF WEB_URL API_HEALTH_URL UNIT...
#
# Steps (/work/shared/reference/islandflow-behavior.md §5.3, §5.2):
#   strict dirty check (any `git status --porcelain` output refuses); print "rolling back from
#   <short HEAD> to REF"; git fetch --all --prune; git switch --detach REF; the install/build
#   step, always (the sample's build, `cc ... -o build/sampleapp app/sampleapp.c`, stands in for
#   `bun install --frozen-lockfile` + the web build); one `systemctl --user restart` of every
#   unit; then the health script: is-active --quiet per unit ("ok <unit>"), curl the API health
#   URL ("ok api-health"), HEAD on the web URL ("ok web-health"); print "complete".
# The reference hard-codes its units, ports and paths; here they are arguments.
set -euo pipefail

[ "$#" -ge 5 ] || {
	echo "usage: $0 CHECKOUT REF WEB_URL API_HEALTH_URL UNIT..." >&2
	exit 1
}
checkout=$1 ref=$2 web_url=$3 api_url=$4
shift 4
cd "$checkout"

if [ -n "$(git status --porcelain)" ]; then
	echo "working tree is dirty; commit or stash first" >&2
	exit 1
fi
echo "rolling back from $(git rev-parse --short HEAD) to $ref"
git fetch -q --all --prune
git switch -q --detach "$ref"
mkdir -p build && cc -O2 -o build/sampleapp app/sampleapp.c -lsystemd
systemctl --user restart "$@"
for u in "$@"; do
	systemctl --user is-active --quiet "$u"
	echo "ok $u"
done
curl -fsS "$api_url" >/dev/null
echo "ok api-health"
curl -I -fsS "$web_url" >/dev/null
echo "ok web-health"
echo "rollback complete; to return to main: git switch main && git pull --ff-only"
