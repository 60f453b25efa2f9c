#!/usr/bin/env bash
# tests/docs/run-doc.sh DOC.md: runs every command of a walkthrough, in order, the way a reader
# would, against the real parts tools/test.sh started (the private systemd user manager, git).
#
# What runs: each fenced block opened with ```sh. A block whose opening line is ```sh exit=N
# must end with status N (a failed deploy the walkthrough shows on purpose); every other block
# must succeed, with errexit on. The run stops at the first block that does not behave. Blocks share one working directory and one set of variables,
# as they would in a reader's terminal. ```text / ```ini / ```console blocks are only read.
# Before the first block, `export APP_REPO=...` lines in the document are given the test's
# own repository (the reader's would be on their forge), and HOME, XDG_STATE_HOME and PATH
# point into a scratch directory and at the built shiplog.
#
# Exit: 0 all blocks behaved as written; 1 a block did not; 77 skipped (no user manager, or a
# tool the walkthrough needs is missing: said loudly).
set -uo pipefail

doc=${1:?usage: run-doc.sh DOC.md}
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
SHIPLOG_BIN=${SHIPLOG:-$ROOT/build/src/shiplog}
skip() { printf '\n*** SKIP: %s: %s ***\n\n' "$(basename "$doc")" "$*" >&2; exit 77; }

[ -x "$SHIPLOG_BIN" ] || skip "no shiplog binary at $SHIPLOG_BIN (build first)"
[ -n "${SHIPLOG_TEST_USER_MANAGER:-}" ] || skip "no private systemd user manager (run tools/test.sh)"
[ -n "${SHIPLOG_TEST_JOURNAL:-}" ] || skip "no journal for 'shiplog logs' (tools/test.sh starts one)"
for tool in node python3 git curl; do
	command -v "$tool" >/dev/null || skip "'$tool' is not installed"
done
python3 -c 'import venv, ensurepip' 2>/dev/null || skip "python3-venv is not installed"

W=$(mktemp -d /tmp/sldoc.XXXXXX)
mkdir -p "$W/bin" "$W/home"
ln -s "$SHIPLOG_BIN" "$W/bin/shiplog"
cleanup() {
	# the walkthrough's units: stopped and removed, whatever happened
	systemctl --user stop 'hello-node-*' 'hello-python-*' >/dev/null 2>&1
	rm -f "${XDG_CONFIG_HOME:?}"/systemd/user/hello-node-* "${XDG_CONFIG_HOME:?}"/systemd/user/hello-python-*
	systemctl --user daemon-reload >/dev/null 2>&1
	systemctl --user reset-failed >/dev/null 2>&1
	[ -n "${SHIPLOG_DOC_KEEP:-}" ] && { echo "kept: $W"; return; }
	rm -rf "$W"
}
trap cleanup EXIT

# The reader's existing apps: each fixture committed into a bare "forge" repository.
export GIT_CONFIG_NOSYSTEM=1 GIT_AUTHOR_NAME=dev GIT_AUTHOR_EMAIL=dev@example.invalid
export GIT_COMMITTER_NAME=dev GIT_COMMITTER_EMAIL=dev@example.invalid
for app in hello-node hello-python; do
	git init -q --bare -b main "$W/forge/$app.git"
	git init -q -b main "$W/seed-$app"
	cp -r "$ROOT/tests/fixtures/$app/." "$W/seed-$app/"
	git -C "$W/seed-$app" add -A
	git -C "$W/seed-$app" commit -qm "$app: web and worker"
	git -C "$W/seed-$app" push -q "$W/forge/$app.git" HEAD:main
done

# Blocks -> one script; each block runs in a subshell with errexit, and hands its working
# directory and variables to the next one through a state file.
script="$W/walkthrough.sh"
python3 - "$doc" "$script" "$W" <<'PY'
import re, shlex, sys
doc, out, w = sys.argv[1:4]
lines = open(doc).read().split("\n")
blocks, i = [], 0
while i < len(lines):
    m = re.match(r"^```sh(?:\s+exit=(\d+))?\s*$", lines[i])
    if m:
        start, body, i = i + 1, [], i + 1
        while not lines[i].startswith("```"):
            body.append(lines[i]); i += 1
        blocks.append((start, int(m.group(1) or 0), "\n".join(body)))
    i += 1
with open(out, "w") as f:
    f.write("set -u\nstate=%s/state.sh\n: >\"$state\"\n" % shlex.quote(w))
    f.write(r'''save_state() {
	{ set +x; } 2>/dev/null
	declare -p | grep -vE '^declare -[a-zA-Z-]*r|^declare -[a-zA-Z-]* (BASH|FUNCNAME|PIPESTATUS|GROUPS|DIRSTACK|HIST|RANDOM|SRANDOM|SECONDS|LINENO|EPOCH|COMP|OPT|_=)' >"$state.new"
	printf 'cd %q\n' "$PWD" >>"$state.new"
}
''')
    for n, (line, want, body) in enumerate(blocks, 1):
        body = re.sub(r"^(\s*export APP_REPO=)(\S+)", lambda m: m.group(1) + shlex.quote(
            w + "/forge/" + m.group(2).rstrip("/").split("/")[-1].removesuffix(".git") + ".git"),
            body, flags=re.M)
        f.write("\necho; echo \"### block %d (%s:%d) expects exit %d\"\n" % (n, doc, line, want))
        f.write('(\n  . "$state"\n  trap save_state EXIT\n  set -ex\n')
        f.write(body + "\n)\nrc=$?\n")
        f.write("[ -f \"$state.new\" ] && mv \"$state.new\" \"$state\"\n")
        # the blocks after a failed one would only fail for its sake: stop there
        f.write("if [ \"$rc\" -ne %d ]; then echo \"*** block %d (%s:%d) exited $rc, the document says %d\"; exit 1; fi\n"
                % (want, n, doc, line, want))
    f.write("\nexit 0\n")
print("%d blocks" % len(blocks), file=sys.stderr)
PY
[ -s "$script" ] || { echo "no blocks found in $doc" >&2; exit 1; }

export HOME="$W/home" XDG_STATE_HOME="$W/home/.local/state" PATH="$W/bin:$PATH"
export SHIPLOG_DOC_TEST=1
cd "$HOME" && bash "$script" 2>&1
rc=$?
[ "$rc" -eq 0 ] && echo "run-doc: every block of $(basename "$doc") behaved as written"
exit "$rc"
