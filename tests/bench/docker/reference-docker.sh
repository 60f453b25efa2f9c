#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# reference-docker.sh: the reference tool's docker path as a shell script over the docker sample
# (tools/add-docker-sample.sh), the baseline of tests/bench/docker/run.sh. Not a tool.
#
#   reference-docker.sh deploy   CHECKOUT COMPOSE_DIR PROJECT SERVICE...
#   reference-docker.sh rollback CHECKOUT COMPOSE_DIR PROJECT REF SERVICE...
#
# Steps (/work/shared/reference/islandflow-behavior.md §2.6-§2.8): `docker compose version`;
# the running-containers listing of the duplicate-project check; git fetch; deploy: git switch
# main + git pull --ff-only, rollback: git switch --detach REF; compose build SERVICE...;
# compose up -d SERVICE...; compose ps SERVICE...; compose logs --tail=100 SERVICE...; for api in
# scope a one-shot fetch of its health inside the container (compose exec -T). No image tagging,
# no record, no settle window.
set -euo pipefail

[ "$#" -ge 5 ] || { echo "usage: $0 deploy|rollback CHECKOUT COMPOSE_DIR PROJECT [REF] SERVICE..." >&2; exit 1; }
mode=$1 checkout=$2 dir=$3 project=$4
shift 4
ref=
if [ "$mode" = rollback ]; then
	ref=$1
	shift
fi
compose() { docker-compose -p "$project" "$@"; }

compose version --short >/dev/null
docker ps --format '{{.Names}} {{.Label "com.docker.compose.project"}}' >/dev/null
cd "$checkout"
git fetch -q origin
if [ "$mode" = deploy ]; then
	git switch -q main
	git pull -q --ff-only origin main
else
	git switch -q --detach "$ref"
fi
cd "$dir"
compose build "$@" >/dev/null 2>&1
compose up -d "$@" 2>/dev/null
compose ps "$@" >/dev/null
compose logs --tail=100 "$@" >/dev/null
for s in "$@"; do
	if [ "$s" = api ]; then
		# one try in the reference; a few here so that a container still starting does not stop the bench
		for _ in 1 2 3 4 5 6 7 8 9 10; do
			compose exec -T api wget -qO- http://127.0.0.1:8080/health >/dev/null 2>&1 && break
			sleep 0.1
		done
	fi
done
