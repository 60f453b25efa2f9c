#!/usr/bin/env bash
# tests/lane.sh CMD ARGS...: runs CMD in the lane ctest gave it. tools/test.sh starts one user
# manager and one sshd per lane and writes each lane's environment to
# $SHIPLOG_TEST_LANES_DIR/lane-N.env; ctest names the lane of a test with RESOURCE_GROUPS
# "lanes:1" in CTEST_RESOURCE_GROUP_0_LANES ("id:N,slots:1"). Outside tools/test.sh (no lanes),
# CMD runs in the environment it was given.
set -eu
spec=${CTEST_RESOURCE_GROUP_0_LANES:-}
if [ -n "$spec" ] && [ -n "${SHIPLOG_TEST_LANES_DIR:-}" ]; then
	id=${spec#id:}
	id=${id%%,*}
	case "$id" in
	'' | *[!0-9]*)
		echo "tests/lane.sh: unexpected lane '$spec' from ctest" >&2
		exit 2
		;;
	esac
	# shellcheck disable=SC1090 # written by tools/test.sh
	. "$SHIPLOG_TEST_LANES_DIR/lane-$id.env"
fi
exec "$@"
