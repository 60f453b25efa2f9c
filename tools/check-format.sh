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
mapfile -t files < <(git ls-files --cached --others --exclude-standard '*.c' '*.h' 2>/dev/null || find src ledger tests -name '*.[ch]')
if [ "${1:-}" = --fix ]; then
	"$cf" -i "${files[@]}"
	exit 0
fi
# one clang-format run over every file (a process per file took minutes on a loaded machine)
if "$cf" --dry-run -Werror "${files[@]}" 2>/tmp/check-format.$$; then
	rm -f /tmp/check-format.$$
	echo "check-format: ok (${#files[@]} files)"
	exit 0
fi
grep -oE '^[^:]+\.[ch]' /tmp/check-format.$$ | sort -u | while read -r f; do
	"$cf" "$f" | diff -u --label "$f" --label "$f (clang-format)" "$f" -
done
rm -f /tmp/check-format.$$
echo "check-format: files differ from clang-format; run tools/check-format.sh --fix" >&2
exit 1
