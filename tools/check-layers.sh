#!/bin/bash
# check-layers.sh: src/ is in layers, lowest first; a file may include headers from its own layer
# and the layers below it, never from a higher one (docs/ARCHITECTURE.md). The ledger library is
# below them all and includes nothing from src/. Prints each upward include as
# "file:line: includes header (layer X) from layer Y" and exits 1 when there is one.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
layers=(base output config ext exec runtime op cli)

declare -A rank header_layer
for i in "${!layers[@]}"; do rank[${layers[$i]}]=$i; done
for l in "${layers[@]}"; do
	for h in src/"$l"/*.h; do
		[ -e "$h" ] || continue
		b=${h##*/}
		if [ -n "${header_layer[$b]:-}" ]; then
			echo "check-layers: $b is in both ${header_layer[$b]} and $l; header names must be unique" >&2
			exit 2
		fi
		header_layer[$b]=$l
	done
done

bad=0
while IFS=: read -r file line inc; do
	[[ $inc =~ ^#include\ \"([^\"]+)\" ]] || continue
	b=${BASH_REMATCH[1]##*/}
	if [[ $file == ledger/* ]]; then
		if [ -n "${header_layer[$b]:-}" ]; then
			echo "$file:$line: includes $b (src/${header_layer[$b]}); the ledger library includes nothing from src/"
			bad=1
		fi
		continue
	fi
	from=${file#src/}
	from=${from%%/*}
	if [ -z "${rank[$from]:-}" ]; then
		echo "$file: not in a layer folder (one of: ${layers[*]})"
		bad=1
		continue
	fi
	to=${header_layer[$b]:-}
	[ -n "$to" ] || continue # the ledger's or a system header
	if ((rank[$to] > rank[$from])); then
		echo "$file:$line: includes $b (layer $to) from layer $from"
		bad=1
	fi
done < <(grep -nE '^#include "' $(find src ledger -name '*.[ch]' | sort) /dev/null)

if ((bad)); then
	echo "check-layers: upward includes found; layers, lowest first: ${layers[*]}" >&2
	exit 1
fi
echo "check-layers: ok (${#header_layer[@]} headers in ${#layers[@]} layers, no upward include)"
