#!/usr/bin/env bash
# add-docker-sample.sh DEV_CLONE PROJECT PORT_BASE
#
# Adds a Docker Compose deployment to a clone of the sample project (tools/make-sample-repo.sh),
# for the docker runtime's tests and the demo; the caller commits and pushes the result:
#
#   deployment/docker/docker-compose.yml  the six services (web, api and four workers)
#   deployment/docker/Dockerfile          FROM local/tiny:1 (busybox, no registry needed)
#   deployment/docker/app.sh              the busybox stand-in for the sample app
#   deployment/docker/app.conf            roles, and "<service>.crash = 1" to break a release
#   shiplog.conf                          gains a [runtime docker] section
#
# The containers behave like the native sample app where the tests look: web and api answer
# GET/HEAD / and /health ({"service":..,"commit":..}) on the SAME host ports as the native units
# (127.0.0.1:PORT_BASE and PORT_BASE+1), so the [service] health checks serve both runtimes (a
# service runs on one runtime at a time: shiplog's ownership rule); workers write
# "<commit> <pid> <unix time>" to the sample's heartbeat_dir/<service>.beat, bind-mounted.
#
# The commit comes from the build argument SHIPLOG_COMMIT, which shiplog sets for compose; the
# sampleapp binary itself is not used because it needs libsystemd and listens on 127.0.0.1 only
# (unreachable through a published port).
set -euo pipefail

usage() {
	echo "usage: $0 DEV_CLONE PROJECT PORT_BASE" >&2
	exit 1
}

[ "$#" -eq 3 ] || usage
dev=$1
project=$2
port_base=$3
case "$project" in
'' | *[!a-z0-9_-]*)
	echo "add-docker-sample: bad PROJECT '$project': use lowercase letters, digits, '_' and '-'" >&2
	exit 1
	;;
esac
case "$port_base" in
'' | *[!0-9]*)
	echo "add-docker-sample: bad PORT_BASE '$port_base': use a number" >&2
	exit 1
	;;
esac
if [ ! -f "$dev/shiplog.conf" ] || [ ! -f "$dev/app.conf" ]; then
	echo "add-docker-sample: '$dev' is not a clone of the sample (no shiplog.conf, app.conf)" >&2
	exit 1
fi
if grep -q '^\[runtime docker\]' "$dev/shiplog.conf"; then
	echo "add-docker-sample: '$dev/shiplog.conf' already has a [runtime docker] section" >&2
	exit 1
fi
beats=$(sed -n 's/^heartbeat_dir *= *//p' "$dev/app.conf" | tail -n 1)
[ -n "$beats" ] || { echo "add-docker-sample: no heartbeat_dir in '$dev/app.conf'" >&2; exit 1; }
api_port=$((port_base + 1))
d="$dev/deployment/docker"
mkdir -p "$d"

cat >"$d/Dockerfile" <<'EOF'
# The docker sample's image: busybox (local/tiny:1, imported without a registry) + app.sh.
FROM local/tiny:1
ARG SHIPLOG_COMMIT=unknown
COPY app.sh app.conf /app/
RUN chmod 755 /app/app.sh && echo "$SHIPLOG_COMMIT" > /app/REVISION
WORKDIR /app
ENTRYPOINT ["/app/app.sh"]
EOF

cat >"$d/app.sh" <<'EOF'
#!/bin/sh
# app.sh SERVICE: the sample app's stand-in in a container (busybox only). Reads app.conf like
# the sample app: <service>.role = web|api|worker, <service>.crash = 1 (exit 3 at once).
svc=$1
commit=$(cat /app/REVISION)
get() { sed -n "s/^$svc\.$1 *= *//p" /app/app.conf | tail -n 1; }
role=$(get role)
echo "app[$svc]: start service=$svc role=$role commit=$commit pid=$$"
if [ "$(get crash)" = 1 ]; then
	echo "app[$svc]: crash = 1 in app.conf"
	exit 3
fi
case "$role" in
web | api)
	mkdir -p /www
	printf '{"service":"%s","role":"%s","commit":"%s","pid":%d}\n' "$svc" "$role" "$commit" $$ \
		>/www/health
	echo "hello from $svc at $commit" >/www/index.html
	exec httpd -f -p 8080 -h /www
	;;
worker)
	while :; do
		echo "$commit $$ $(date +%s)" >"/beats/.$svc.tmp" && mv "/beats/.$svc.tmp" "/beats/$svc.beat"
		sleep 1
	done
	;;
*)
	echo "app[$svc]: no valid role: set $svc.role in app.conf"
	exit 2
	;;
esac
EOF

cat >"$d/app.conf" <<'EOF'
# The docker sample's app configuration (tools/add-docker-sample.sh).
web.role = web
api.role = api
compute.role = worker
candles.role = worker
ingest-options.role = worker
ingest-equities.role = worker
EOF

{
	cat <<EOF
# The sample's compose project (tools/add-docker-sample.sh). shiplog tags each built image
# <project>-<service>:<commit> through an override file and passes SHIPLOG_COMMIT.
services:
EOF
	for s in web api compute candles ingest-options ingest-equities; do
		printf '  %s:\n' "$s"
		printf '    build:\n      context: .\n      args:\n'
		# shellcheck disable=SC2016 # compose expands it, not this shell
		printf '        SHIPLOG_COMMIT: "${SHIPLOG_COMMIT:-unknown}"\n'
		printf '    command: ["%s"]\n' "$s"
		printf '    init: true\n    restart: unless-stopped\n'
		case $s in
		web) printf '    ports:\n      - "127.0.0.1:%s:8080"\n' "$port_base" ;;
		api) printf '    ports:\n      - "127.0.0.1:%s:8080"\n' "$api_port" ;;
		*) printf '    volumes:\n      - "%s:/beats"\n' "$beats" ;;
		esac
	done
} >"$d/docker-compose.yml"

cat >>"$dev/shiplog.conf" <<EOF

[runtime docker]
workdir = deployment/docker
project = $project-vps
foreign_projects = $project
EOF

echo "docker sample: $d (project $project-vps, web 127.0.0.1:$port_base, api 127.0.0.1:$api_port)"
