#!/usr/bin/env bash
# make-sample-repo.sh DIR PROJECT PORT_BASE
#
# Creates a deployable sample project of the reference app shape (web, api and four workers, all
# run by the sample app in tests/fixtures/sampleapp) for the tests and the demo:
#
#   DIR/origin.git   a bare repository, default branch main (the "remote")
#   DIR/checkout     the live checkout: a clone of origin with shiplog.conf, app.conf, units/,
#                    app/sampleapp.c, and build/sampleapp already built
#   DIR/ledger       the ledger directory shiplog.conf points at (created by shiplog)
#   DIR/logs         the units' output (<service>.log), DIR/beats the workers' heartbeats
#
# web listens on 127.0.0.1:PORT_BASE and api on PORT_BASE+1. Unit names are PROJECT-<service>.
# SHIPLOG_SAMPLEAPP=PATH: copy that sampleapp binary (built from the same source) into
# checkout/build instead of compiling it (the tests pass the CMake target's).
set -euo pipefail

usage() {
	echo "usage: $0 DIR PROJECT PORT_BASE" >&2
	exit 1
}

[ "$#" -eq 3 ] || usage
dir_arg=$1
project=$2
port_base=$3
case "$project" in
'' | *[!A-Za-z0-9_.-]*)
	echo "make-sample-repo: bad PROJECT '$project': use letters, digits, '.', '_' and '-'" >&2
	exit 1
	;;
esac
case "$port_base" in
'' | *[!0-9]*)
	echo "make-sample-repo: bad PORT_BASE '$port_base': use a number" >&2
	exit 1
	;;
esac
if [ "$port_base" -lt 1 ] || [ "$port_base" -gt 65534 ]; then
	echo "make-sample-repo: PORT_BASE '$port_base' out of range (1-65534)" >&2
	exit 1
fi
api_port=$((port_base + 1))

src_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
app_src="$src_root/tests/fixtures/sampleapp/sampleapp.c"
units_src="$src_root/units"
[ -f "$app_src" ] || { echo "make-sample-repo: missing '$app_src'" >&2; exit 1; }

mkdir -p "$dir_arg"
dir=$(cd "$dir_arg" && pwd)
if [ -e "$dir/origin.git" ] || [ -e "$dir/checkout" ]; then
	echo "make-sample-repo: '$dir' already holds a sample repo; use an empty directory" >&2
	exit 1
fi
checkout="$dir/checkout"

# No dependence on the caller's git configuration: identity, branch and signing are fixed here.
export GIT_CONFIG_NOSYSTEM=1
export GIT_AUTHOR_DATE="2026-01-01T00:00:00Z" GIT_COMMITTER_DATE="2026-01-01T00:00:00Z"
g() {
	git -c user.name="shiplog sample" -c user.email="sample@shiplog.invalid" \
		-c init.defaultBranch=main -c commit.gpgsign=false -c core.hooksPath=/dev/null \
		-c advice.detachedHead=false "$@"
}

g init -q --bare -b main "$dir/origin.git"
g init -q -b main "$checkout"
mkdir -p "$checkout/app" "$checkout/units" "$dir/logs" "$dir/beats"
cp "$app_src" "$checkout/app/sampleapp.c"
cp "$units_src"/*.service.in "$checkout/units/"

cat >"$checkout/.gitignore" <<'EOF'
build/
.env
EOF

cat >"$checkout/app.conf" <<EOF
# The sample app's own configuration (see tests/fixtures/sampleapp/README.md in shiplog).
heartbeat_dir = $dir/beats

web.role = web
web.port = $port_base
api.role = api
api.port = $api_port
compute.role = worker
candles.role = worker
ingest-options.role = worker
ingest-equities.role = worker
EOF

{
	cat <<EOF
; shiplog.conf of the sample project (made by tools/make-sample-repo.sh)
[project]
name = $project

[target]
checkout = $checkout
ledger = $dir/ledger
allow_untracked = *.local

[git]
main_branch = main
remote = origin

[runtime native]
build = mkdir -p build && cc -O2 -o build/sampleapp app/sampleapp.c -lsystemd
build_when_changed = app/sampleapp.c
unit_dir = units
exec = build/sampleapp
log_dir = $dir/logs
env_file = .env

[service web]
role = web
unit = $project-web.service
health = http-head http://127.0.0.1:$port_base/
health = http-get http://127.0.0.1:$port_base/health

[service api]
role = api
unit = $project-api.service
health = http-get http://127.0.0.1:$api_port/health
EOF
	for w in compute candles ingest-options ingest-equities; do
		printf '\n[service %s]\nrole = worker\nunit = %s-%s.service\n' "$w" "$project" "$w"
	done
	cat <<EOF

[public]
app_url = http://127.0.0.1:$port_base/

[policy]
settle = 1s
health_timeout = 10s
EOF
} >"$checkout/shiplog.conf"

g -C "$checkout" add -A
g -C "$checkout" commit -q -m "sample: initial"
g -C "$checkout" remote add origin "$dir/origin.git"
g -C "$checkout" push -q -u origin main 2>/dev/null
g -C "$checkout" fetch -q origin

# Build once, so that the units can start before the first deploy. SHIPLOG_SAMPLEAPP names a
# sampleapp already built from this same file (the CMake target the tests use): copied instead
# of compiled a second time for each sample a test run makes.
mkdir -p "$checkout/build"
if [ -n "${SHIPLOG_SAMPLEAPP:-}" ]; then
	[ -x "$SHIPLOG_SAMPLEAPP" ] || {
		echo "make-sample-repo: SHIPLOG_SAMPLEAPP '$SHIPLOG_SAMPLEAPP' is not executable:" \
			"build the sampleapp target, or unset it to compile here" >&2
		exit 1
	}
	cp "$SHIPLOG_SAMPLEAPP" "$checkout/build/sampleapp"
else
	(cd "$checkout" && cc -O2 -o build/sampleapp app/sampleapp.c -lsystemd)
fi

echo "origin:   $dir/origin.git"
echo "checkout: $checkout (commit $(g -C "$checkout" rev-parse HEAD))"
echo "config:   $checkout/shiplog.conf"
echo "ledger:   $dir/ledger"
echo "logs:     $dir/logs"
echo "beats:    $dir/beats"
echo "ports:    web $port_base, api $api_port"
