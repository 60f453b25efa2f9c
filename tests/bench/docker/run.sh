#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The docker runtime benchmark (docs/benchmarks.md, "Docker runtime"), against a real Docker
# engine (DOCKER_HOST; tools/test.sh or /work/shared/recipes/docker-engine.md §9 start a private
# one, with the local/tiny:1 image).
#
# Two docker samples (tools/make-sample-repo.sh + tools/add-docker-sample.sh), one per tool, on
# their own ports and compose projects, so that neither sees the other's state. Interleaved,
# RUNS times:
#
#   scoped deploy   a commit that changes deployment/docker/app.conf (so the api image really is
#                   rebuilt), then: reference-docker.sh deploy ... api  vs
#                   shiplog deploy main --runtime docker --pieces api (settle 0s: a bench copy
#                   of the config; the reference has no settle window)
#   rollback        back to the commit before: reference-docker.sh rollback ... PREV api
#                   (rebuilds: its images carry no commit) vs shiplog rollback --runtime docker
#                   --api-only (the last-good; its image still exists: nothing is rebuilt)
#
# After each step the api's /health must answer the expected commit; a wrong result stops the run.
#
#   tests/bench/docker/run.sh
#
# Environment: BUILD_DIR (default <source>/build), RUNS (3), BENCH_KEEP=1 keeps the scratch dir.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
HERE=$ROOT/tests/bench/docker
BUILD=${BUILD_DIR:-$ROOT/build}
SHIPLOG=$BUILD/src/shiplog
RUNS=${RUNS:-3}

say() { printf '[bench] %s\n' "$*" >&2; }
die() { echo "run.sh: $*" >&2; exit 1; }
now_us() { date +%s%6N; }
median() { sort -n | awk '{ a[NR] = $1 } END { if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }

[ -x "$SHIPLOG" ] || die "no $SHIPLOG; build first (cmake --build $BUILD --target shiplog)"
docker version >/dev/null 2>&1 || die "no Docker engine answers (DOCKER_HOST=${DOCKER_HOST:-unset})"
docker image inspect local/tiny:1 >/dev/null 2>&1 || die "the image local/tiny:1 is missing"

S=$(mktemp -d /tmp/sldb.XXXXXX)
PROJECTS=()
cleanup() {
	local p ids imgs
	set +e
	for p in "${PROJECTS[@]}"; do
		ids=$(docker ps -aq --filter "label=com.docker.compose.project=$p")
		# shellcheck disable=SC2086 # lists of ids
		[ -n "$ids" ] && docker rm -f $ids >/dev/null 2>&1
		docker network rm "${p}_default" >/dev/null 2>&1
		imgs=$(docker image ls -q --filter "reference=$p-*" --filter "reference=${p}_*")
		# shellcheck disable=SC2086
		[ -n "$imgs" ] && docker rmi -f $imgs >/dev/null 2>&1
	done
	if [ -n "${BENCH_KEEP:-}" ]; then say "kept: $S"; else rm -rf "$S"; fi
}
trap cleanup EXIT

free_port_pair() {
	python3 -c 'import socket
for p in range(31000, 40000, 2):
    try:
        a = socket.socket(); a.bind(("127.0.0.1", p)); b = socket.socket(); b.bind(("127.0.0.1", p + 1))
        a.close(); b.close(); print(p); break
    except OSError: pass'
}

# sample NAME PORT: a docker sample under $S/NAME, committed and checked out
sample() {
	local name=$1 port=$2 project="b$1$$"
	"$ROOT/tools/make-sample-repo.sh" "$S/$name" "$project" "$port" >/dev/null
	git clone -q "$S/$name/origin.git" "$S/$name/dev"
	git -C "$S/$name/dev" config user.email bench@shiplog.invalid
	git -C "$S/$name/dev" config user.name bench
	"$ROOT/tools/add-docker-sample.sh" "$S/$name/dev" "$project" "$port" >/dev/null
	git -C "$S/$name/dev" add -A
	git -C "$S/$name/dev" commit -qm "docker sample"
	git -C "$S/$name/dev" push -q origin main
	git -C "$S/$name/checkout" pull -q --ff-only origin main
	echo "$project"
}

# push NAME MSG: a commit that changes the compose context (app.conf), pushed; prints its id
push() {
	echo "# bench: $2" >>"$S/$1/dev/deployment/docker/app.conf"
	git -C "$S/$1/dev" commit -qam "$2"
	git -C "$S/$1/dev" push -q origin main
	git -C "$S/$1/dev" rev-parse HEAD
}

api_commit() {
	local c i
	for i in $(seq 1 50); do
		c=$(curl -fs --max-time 2 "http://127.0.0.1:$(($1 + 1))/health" | sed -n 's/.*"commit":"\([0-9a-f]*\)".*/\1/p')
		[ -n "$c" ] && { echo "$c"; return; }
		sleep 0.1
	done
}

expect() { # PORT COMMIT WHAT
	local got
	got=$(api_commit "$1")
	[ "$got" = "$2" ] || die "$3: api answers '${got:-nothing}', expected $2"
}

PROJECTS=("bref$$-vps" "bshiplog$$-vps") # sample() names them b<NAME><pid>; it runs in $(...)
PR=$(free_port_pair)
RP=$(sample ref "$PR")
PS=$((PR + 2))
while ! python3 -c "import socket; s=socket.socket(); s.bind(('127.0.0.1', $PS)); t=socket.socket(); t.bind(('127.0.0.1', $PS + 1))" 2>/dev/null; do PS=$((PS + 2)); done
sample shiplog "$PS" >/dev/null
REF_CO=$S/ref/checkout
REF_DIR=$REF_CO/deployment/docker
SH_CONF=$S/shiplog-settle0.conf
sed 's/^settle = .*/settle = 0s/' "$S/shiplog/checkout/shiplog.conf" >"$SH_CONF"
grep -q '^settle = 0s$' "$SH_CONF" || die "no settle line in the sample's config"

say "warm-up: both stacks up at their first commit (images built)"
"$HERE/reference-docker.sh" deploy "$REF_CO" "$REF_DIR" "$RP-vps" web api compute candles ingest-options ingest-equities >/dev/null
"$SHIPLOG" -c "$SH_CONF" deploy main --runtime docker --local >"$S/warm.log" 2>&1 || { cat "$S/warm.log" >&2; die "shiplog warm-up failed"; }

: >"$S/ref-deploy" ; : >"$S/sl-deploy" ; : >"$S/ref-rb" ; : >"$S/sl-rb"
for i in $(seq 1 "$RUNS"); do
	rprev=$(git -C "$REF_CO" rev-parse HEAD)
	rc=$(push ref "run $i")
	t=$(now_us)
	"$HERE/reference-docker.sh" deploy "$REF_CO" "$REF_DIR" "$RP-vps" api >/dev/null
	echo $(( $(now_us) - t )) >>"$S/ref-deploy"
	sprev=$(api_commit "$PS") # what runs before: the rollback's target (earlier ones are quarantined)
	sc=$(push shiplog "run $i")
	t=$(now_us)
	"$SHIPLOG" -c "$SH_CONF" deploy main --runtime docker --pieces api --local >"$S/d$i.log" 2>&1 || { cat "$S/d$i.log" >&2; die "shiplog deploy failed"; }
	echo $(( $(now_us) - t )) >>"$S/sl-deploy"
	expect "$PS" "$sc" "shiplog deploy $i"
	# the reference's api reports "unknown": its builds carry no commit; check its container runs
	[ -n "$(docker ps -q --filter "label=com.docker.compose.project=$RP-vps" --filter label=com.docker.compose.service=api)" ] || die "reference deploy $i: api not running"

	t=$(now_us)
	"$HERE/reference-docker.sh" rollback "$REF_CO" "$REF_DIR" "$RP-vps" "$rprev" api >/dev/null
	echo $(( $(now_us) - t )) >>"$S/ref-rb"
	t=$(now_us)
	"$SHIPLOG" -c "$SH_CONF" rollback --runtime docker --api-only --local >"$S/r$i.log" 2>&1 || { cat "$S/r$i.log" >&2; die "shiplog rollback failed"; }
	echo $(( $(now_us) - t )) >>"$S/sl-rb"
	grep -q "exists: not rebuilt" "$S/r$i.log" || die "shiplog rollback $i rebuilt an image"
	expect "$PS" "$sprev" "shiplog rollback $i"
	say "run $i: deploy ref $(tail -1 "$S/ref-deploy")us shiplog $(tail -1 "$S/sl-deploy")us; rollback ref $(tail -1 "$S/ref-rb")us shiplog $(tail -1 "$S/sl-rb")us"
	# the next shiplog deploy goes to a new commit: the rolled-back one is quarantined
	: "$rc"
done

row() { printf '| %-40s | %10s | %10s | %6s |\n' "$@"; }
m() { median <"$S/$1" | awk '{ printf "%.0f", $1 / 1000 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2fx", a / b }'; }
echo
echo "docker runtime benchmark: $RUNS interleaved runs, medians in ms; $(docker-compose version --short 2>/dev/null | sed 's/^/docker-compose /'), engine $(docker version --format '{{.Server.Version}}')"
row "step" "reference" "shiplog" "ratio"
row "----" "---" "---" "---"
row "scoped deploy (api: build + up + checks)" "$(m ref-deploy)" "$(m sl-deploy)" "$(ratio "$(m ref-deploy)" "$(m sl-deploy)")"
row "rollback (api, previous commit)" "$(m ref-rb)" "$(m sl-rb)" "$(ratio "$(m ref-rb)" "$(m sl-rb)")"
echo "(ratio = reference / shiplog: above 1 means shiplog is faster)"
