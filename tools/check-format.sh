#!/bin/bash
# check-format.sh: every tracked C file is as clang-format (.clang-format at the root) writes it.
# Prints the files that differ, with the diff, and exits 1; `tools/check-format.sh --fix` rewrites
# them in place.
set -euo pipefail
cd "$(dirname "$0")/.."
cf=$(command -v clang-format-14 || command -v clang-format || true)
if [ -z "$cf" ]; then
	echo "check-format: clang-format not found; apt-get install clang-format" >&2
	exit 2
fi
mapfile -t files < <(git ls-files '*.c' '*.h' 2>/dev/null || find src ledger tests -name '*.[ch]')
if [ "${1:-}" = --fix ]; then
	"$cf" -i "${files[@]}"
	exit 0
fi
bad=0
for f in "${files[@]}"; do
	if ! "$cf" "$f" | diff -u --label "$f" --label "$f (clang-format)" "$f" - >/tmp/check-format.$$; then
		cat /tmp/check-format.$$
		bad=$((bad + 1))
	fi
done
rm -f /tmp/check-format.$$
if ((bad)); then
	echo "check-format: $bad file(s) differ from clang-format; run tools/check-format.sh --fix" >&2
	exit 1
fi
echo "check-format: ok (${#files[@]} files)"
