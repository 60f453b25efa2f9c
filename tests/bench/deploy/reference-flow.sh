#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# reference-flow.sh: the reference tool's native "deploy main --fast" on the server, as a shell
# script, for the native deploy benchmark (tests/bench/deploy/run.sh, part c). It is the
# baseline shiplog is compared with, not a tool.
#
#   reference-flow.sh [--prechecks] CHECKOUT REMOTE UNIT...
#
# Steps (/work/shared/reference/islandflow-behavior.md):
#   --prechecks  §2.5 remote git precheck: git status --porcelain=v1 --branch (refuse on any
#                modified or untracked line; the sample has no allowlisted path), then the two
#                displays (status --short --branch, branch --show-current); §2.6 native runtime
#                precheck: systemctl on PATH, `systemctl --user --version`, LoadState per unit
#                (the `bun` on PATH check is left out: there is no bun here)
#   always       §2.7 git update for main: remote get-url, fetch, switch main, pull --ff-only;
#                no build (the benchmark deploys with the build skipped on both sides); one
#                `systemctl --user restart` of every unit, then is-active --quiet per unit;
#                §2.8 native verification, fast: is-active --quiet per unit again (fatal).
#                Workers only: no curl (web and api are not in the fast scope).
set -euo pipefail

prechecks=0
if [ "${1:-}" = --prechecks ]; then
	prechecks=1
	shift
fi
[ "$#" -ge 3 ] || { echo "usage: $0 [--prechecks] CHECKOUT REMOTE UNIT..." >&2; exit 1; }
checkout=$1 remote=$2
shift 2
cd "$checkout"

if [ "$prechecks" = 1 ]; then
	while IFS= read -r line; do
		case $line in
		'' | '## '*) ;;
		'?? '*) echo "unexpected untracked path on server: ${line#?? }" >&2; exit 1 ;;
		*) echo "tracked local modifications on server: $line" >&2; exit 1 ;;
		esac
	done < <(git status --porcelain=v1 --branch)
	git status --short --branch
	git branch --show-current
	command -v systemctl >/dev/null
	systemctl --user --version >/dev/null
	for u in "$@"; do
		state=$(systemctl --user show --property=LoadState --value "$u")
		if [ -z "$state" ] || [ "$state" = not-found ]; then
			echo "missing systemd unit $u" >&2
			exit 1
		fi
	done
fi

git remote get-url "$remote" >/dev/null
git fetch -q "$remote"
git switch -q main
git pull -q --ff-only "$remote" main
systemctl --user restart "$@"
for u in "$@"; do systemctl --user is-active --quiet "$u"; done
for u in "$@"; do systemctl --user is-active --quiet "$u"; done
