#!/usr/bin/env bash
# tests/package/deb.sh BUILD_DIR SOURCE_DIR [DLOPEN_SONAME...]: what `cmake --install` and the
# Debian package install, checked the way a person installing them would.
#
#  1. `cmake --install` with --prefix and DESTDIR puts the program, the man page, the bash and
#     zsh completion and the unit templates where GNUInstallDirs says.
#  2. `cpack -G DEB` builds the .deb; `dpkg-deb -I` must declare, in Depends, the package of
#     every library the program links (its ELF NEEDED entries) and of the libraries it opens
#     with dlopen (the sonames given).
#  3. A real `dpkg -i` into a scratch root whose dpkg database holds only the Depends closure
#     (the declared packages and what they depend on, as installed here): dpkg must find every
#     dependency satisfied and `dpkg --audit` find nothing. The files of that closure are
#     copied into the root, so the installed shiplog runs there in a chroot (as root) with
#     nothing but what the package declared: `shiplog --version`, and the dlopen'd libraries
#     resolve. Then the check is shown to catch a missing dependency: the package rebuilt with
#     liblmdb0 left out of Depends is named by the Depends check, and in a root with only its
#     closure shiplog does not start.
#  4. `man -l` renders the installed man page without warnings; the completion scripts load in
#     bash, and in an interactive zsh (tmux) the installed _shiplog completes on the first TAB;
#     the unit templates are the repository's. `dpkg -r` removes it all.
# Exit 77 (skipped, loudly) when a tool is missing; tools/test.sh installs them.
set -euo pipefail

BUILD=$(cd "$1" && pwd)
SRC=$(cd "$2" && pwd)
shift 2
DLOPEN=("$@")

fail() {
	echo "FAIL: $*" >&2
	exit 1
}
for tool in cpack dpkg-deb dpkg-shlibdeps dpkg-query objdump readelf man file; do
	command -v "$tool" >/dev/null || {
		echo "SKIP: $tool is not installed (tools/test.sh installs cmake, dpkg-dev, binutils, man-db, file)" >&2
		exit 77
	}
done

T=$(mktemp -d "${TMPDIR:-/tmp}/shiplog-deb.XXXXXX")
trap 'rm -rf "$T"' EXIT
start=$(date +%s%N)
lap() { echo "[deb] $1 ($(($(($(date +%s%N) - start)) / 1000000)) ms)"; }

# What both installs must hold, relative to the prefix.
FILES=(bin/shiplog share/man/man1/shiplog.1 share/bash-completion/completions/shiplog
	share/zsh/vendor-completions/_shiplog)
for u in "$SRC"/units/*.service.in; do
	FILES+=("share/shiplog/units/$(basename "$u")")
done

# ---- 1. cmake --install -------------------------------------------------------------------
DESTDIR="$T/destdir" cmake --install "$BUILD" --prefix /opt/shiplog >"$T/install.log" ||
	{ cat "$T/install.log" >&2; fail "cmake --install failed"; }
for f in "${FILES[@]}"; do
	[ -f "$T/destdir/opt/shiplog/$f" ] || fail "cmake --install did not write /opt/shiplog/$f under DESTDIR"
done
[ -x "$T/destdir/opt/shiplog/bin/shiplog" ] || fail "the installed shiplog is not executable"
lap "cmake --install: ${#FILES[@]} files under DESTDIR/opt/shiplog"

# ---- 2. the .deb and its Depends ------------------------------------------------------------
(cd "$BUILD" && cpack -G DEB -B "$T/pkg") >"$T/cpack.log" 2>&1 ||
	{ cat "$T/cpack.log" >&2; fail "cpack -G DEB failed"; }
deb=$(echo "$T"/pkg/shiplog_*.deb)
[ -f "$deb" ] || fail "cpack wrote no .deb: $(ls "$T/pkg")"
dpkg-deb -I "$deb" >"$T/info"
depends=$(dpkg-deb -f "$deb" Depends)
version=$(dpkg-deb -f "$deb" Version)
echo "[deb] $(basename "$deb"): Depends: $depends"
declared() { # is package $2 named in the Depends $1?
	sed 's/[,|]/\n/g' <<<"$1" | sed 's/(.*//; s/ //g' | grep -qx "$2"
}
owner() { # the package that ships the library of soname $1 here
	dpkg-query -S "*/$1" 2>/dev/null | sed -n '1s/^\([^:]*\)\(:[a-z0-9]*\)\{0,1\}: .*/\1/p'
}
mapfile -t needed < <(objdump -p "$BUILD/src/shiplog" | awk '$1 == "NEEDED" { print $2 }')
[ "${#needed[@]}" -gt 0 ] || fail "objdump found no NEEDED entry in $BUILD/src/shiplog"
# each library's package, asked once (dpkg-query -S reads every file list: seconds each)
declare -A owner_of=()
for so in "${needed[@]}" "${DLOPEN[@]}"; do
	owner_of[$so]=$(owner "$so")
	[ -n "${owner_of[$so]}" ] || fail "no installed package ships $so"
done
undeclared() { # prints "PKG (for SONAME)" for each library whose package Depends $1 leaves out
	local so
	for so in "${needed[@]}" "${DLOPEN[@]}"; do
		declared "$1" "${owner_of[$so]}" || echo "${owner_of[$so]} (for $so)"
	done
}
missing=$(undeclared "$depends")
[ -z "$missing" ] || fail "the .deb does not declare in Depends: $missing (Depends: $depends)"
lap "cpack: ${#needed[@]} linked and ${#DLOPEN[@]} dlopen'd libraries, each one's package declared"

# ---- 3. dpkg -i into a root that holds only the Depends closure -----------------------------
# The closure, from one read of the dpkg database: the first installed alternative of each
# dependency (or the installed package that provides a virtual one), followed transitively.
dpkg-query -W -f='${db:Status-Abbrev}\t${Package}\t${Provides}\t${Pre-Depends}, ${Depends}\n' \
	>"$T/db"
# make_root DEPENDS ROOT: a root whose dpkg database is the closure of DEPENDS and nothing else,
# with the closure's files copied in (one tar), into a merged /usr as on Debian 12.
make_root() {
	local top=$1 R=$2 p
	mkdir -p "$R/var/lib/dpkg/info" "$R/var/lib/dpkg/updates" "$R/var/lib/dpkg/triggers"
	touch "$R/var/lib/dpkg/available"
	awk -F'\t' -v top="$top" '
function name(d) { sub(/\(.*/, "", d); gsub(/[ \t]/, "", d); sub(/:any$/, "", d); return d }
function pick(dep,    n, alt, i, a) {
	n = split(dep, alt, "|")
	for (i = 1; i <= n; i++) {
		a = name(alt[i])
		if (a in inst) return a
		if (a in prov) return prov[a]
	}
	return ""
}
function follow(list, istop,    n, d, i, p) {
	n = split(list, d, ",")
	for (i = 1; i <= n; i++) {
		if (name(d[i]) == "") continue
		p = pick(d[i])
		if (p == "") { if (istop) print "UNSAT " d[i]; continue }
		if (!(p in seen)) { seen[p] = 1; print p; follow(deps[p], 0) }
	}
}
$1 ~ /^ii/ {
	inst[$2] = 1; deps[$2] = $4
	n = split($3, pv, ",")
	for (i = 1; i <= n; i++) if (name(pv[i]) != "") prov[name(pv[i])] = $2
}
END { follow(top, 1) }' "$T/db" >"$R.closure"
	! grep '^UNSAT ' "$R.closure" >&2 ||
		fail "a declared dependency is not satisfiable on this Debian: nothing installed here provides it"
	declare -A seen=()
	while read -r p; do seen[$p]=1; done <"$R.closure"
	mkdir -p "$R/usr/bin" "$R/usr/sbin" "$R/usr/lib" "$R/usr/lib64"
	for l in bin lib lib64 sbin; do
		ln -s "usr/$l" "$R/$l"
	done
	dpkg-query -s "${!seen[@]}" >"$R/var/lib/dpkg/status"
	# their control files too (file lists, md5sums...), so that the root's database is whole
	# (dpkg --audit reads them)
	for p in "${!seen[@]}"; do
		cp /var/lib/dpkg/info/"$p".* /var/lib/dpkg/info/"$p":*.* "$R/var/lib/dpkg/info/" \
			2>/dev/null || true
	done
	dpkg-query -L "${!seen[@]}" | sort -u | while read -r f; do
		[ -z "$f" ] || [ "$f" = /. ] || { [ -d "$f" ] && [ ! -L "$f" ]; } || [ ! -e "$f" ] || echo "${f#/}"
	done >"$R.files"
	tar -C / -cf - --no-recursion -T "$R.files" 2>/dev/null |
		tar -C "$R" -xf - --keep-directory-symlink 2>"$T/tar.err" ||
		{ cat "$T/tar.err" >&2; fail "could not copy the closure's files into the scratch root"; }
	echo "${#seen[@]}"
}
R="$T/root"
npkgs=$(make_root "$depends" "$R")
lap "scratch root: $npkgs packages in the Depends closure"

dpkg --root="$R" --log=/dev/null --path-include="/*" -i "$deb" >"$T/dpkg.log" 2>&1 ||
	{ cat "$T/dpkg.log" >&2; fail "dpkg -i into the scratch root failed (unsatisfied Depends?)"; }
dpkg --root="$R" -s shiplog | grep -q '^Status: install ok installed' ||
	fail "dpkg does not list shiplog as installed in the scratch root"
# nothing half-installed, unconfigured or with unmet dependencies (what apt-get would fix)
audit=$(dpkg --root="$R" --audit 2>&1) || true
[ -z "$audit" ] || fail "dpkg --audit in the scratch root: $audit"
for f in "${FILES[@]}"; do
	[ -f "$R/usr/$f" ] || fail "the package did not install /usr/$f"
done
lap "dpkg -i: installed with every dependency satisfied by the closure"

if [ "$(id -u)" -eq 0 ] && command -v chroot >/dev/null; then
	got=$(chroot "$R" /usr/bin/shiplog --version) ||
		fail "the installed shiplog does not run in a root with only its declared dependencies"
	[ "$got" = "shiplog $version" ] || fail "shiplog --version said '$got', the package is $version"
	interp=$(readelf -l "$R/usr/bin/shiplog" | sed -n 's/.*program interpreter: \(.*\)\]$/\1/p')
	[ -n "$interp" ] || fail "readelf found no program interpreter in the installed shiplog"
	for so in "${DLOPEN[@]}"; do
		lib=$(cd "$R" && find usr/lib -name "$so" | head -1)
		[ -n "$lib" ] || fail "$so (opened with dlopen) is not in the declared closure"
		out=$(chroot "$R" "$interp" --list "/$lib" 2>&1) ||
			fail "$so does not load in the scratch root: $out"
		! grep -q "not found" <<<"$out" || fail "$so lacks libraries in the scratch root: $out"
	done
	lap "chroot: '$got'; ${DLOPEN[*]} resolve"
else
	got=$("$R/usr/bin/shiplog" --version)
	[ "$got" = "shiplog $version" ] || fail "shiplog --version said '$got', the package is $version"
	echo "[deb] not root: the installed shiplog ran outside a chroot ('$got')"
fi

# ---- 3b. a missing dependency is caught -----------------------------------------------------
# The same package with the LMDB library's package left out of Depends (nothing else in the
# closure pulls it in): the Depends check above names it, and in a root holding only that
# closure dpkg installs it without a complaint, but shiplog cannot start there.
drop=${owner_of[liblmdb.so.0]:-}
if [ "$(id -u)" -eq 0 ] && command -v chroot >/dev/null && [ -n "$drop" ] &&
	declared "$depends" "$drop"; then
	X="$T/dropped"
	mkdir -p "$X"
	dpkg-deb -R "$deb" "$X/pkg"
	reduced=$(sed 's/, /\n/g' <<<"$depends" | awk -v d="$drop" '$1 != d' | paste -sd, - | sed 's/,/, /g')
	sed -i "s/^Depends: .*/Depends: $reduced/" "$X/pkg/DEBIAN/control"
	dpkg-deb -b -Znone --root-owner-group "$X/pkg" "$X/shiplog_dropped.deb" >/dev/null
	got=$(undeclared "$(dpkg-deb -f "$X/shiplog_dropped.deb" Depends)")
	[[ $got == *"$drop (for liblmdb.so.0)"* ]] ||
		fail "the Depends check did not name $drop when the .deb left it out: '$got'"
	make_root "$reduced" "$X/root" >/dev/null
	! grep -qx "$drop" "$X/root.closure" ||
		fail "$drop is in the closure without being declared: pick another library to leave out"
	dpkg --root="$X/root" --log=/dev/null --path-include="/*" -i "$X/shiplog_dropped.deb" \
		>"$T/dpkg-dropped.log" 2>&1 ||
		{ cat "$T/dpkg-dropped.log" >&2; fail "dpkg -i of the reduced package failed"; }
	if out=$(chroot "$X/root" /usr/bin/shiplog --version 2>&1); then
		fail "shiplog ran without $drop in its root ('$out'): the chroot check would not catch a missing dependency"
	fi
	[[ $out == *liblmdb.so.0* ]] || fail "shiplog failed without $drop, but not for liblmdb.so.0: $out"
	lap "leaving $drop out of Depends: the check names it; in its root shiplog does not start"
else
	echo "[deb] SKIP: the missing-dependency check needs root, chroot and liblmdb0 declared" >&2
fi

# ---- 4. the man page, the completion, the templates ----------------------------------------
man_out=$(MANWIDTH=80 man --warnings -l "$R/usr/share/man/man1/shiplog.1" 2>"$T/man.err")
[ ! -s "$T/man.err" ] || { cat "$T/man.err" >&2; fail "man -l warned about the installed man page"; }
grep -q '^SYNOPSIS' <<<"$man_out" || fail "man -l shows no SYNOPSIS"
grep -q -- '--color' <<<"$man_out" || fail "the man page does not document --color"
bash -c "source '$R/usr/share/bash-completion/completions/shiplog' && complete -p shiplog" |
	grep -q -- '-F _shiplog shiplog' || fail "the bash completion does not register for shiplog"
head -1 "$R/usr/share/zsh/vendor-completions/_shiplog" | grep -qx '#compdef shiplog' ||
	fail "the zsh completion does not start with #compdef shiplog"
if command -v zsh >/dev/null; then
	zsh -n "$R/usr/share/zsh/vendor-completions/_shiplog" || fail "zsh cannot parse _shiplog"
fi
# zsh, as a person gets it: an interactive zsh on a terminal (tmux) whose fpath holds the
# installed vendor-completions; one TAB after "shiplog hist" must give "shiplog history".
if command -v zsh >/dev/null && command -v tmux >/dev/null; then
	Z="$T/zsh"
	mkdir -p "$Z"
	printf '%s\n' "fpath=('$R/usr/share/zsh/vendor-completions' \$fpath)" \
		"PATH='$R/usr/bin':\$PATH" "autoload -U compinit && compinit -u -d '$Z/zcompdump'" \
		"PS1='zsh> '" >"$Z/.zshrc"
	sock="shiplog-deb-$$"
	trap 'tmux -L "$sock" kill-server 2>/dev/null || true; rm -rf "$T"' EXIT
	tmux -L "$sock" new-session -d -s z -x 120 -y 20 "env ZDOTDIR='$Z' zsh -i"
	pane() { tmux -L "$sock" capture-pane -t z -p; }
	for _ in $(seq 150); do pane | grep -q '^zsh>' && break; sleep 0.2; done
	tmux -L "$sock" send-keys -t z 'shiplog hist' Tab
	line=
	for _ in $(seq 150); do
		line=$(pane | grep '^zsh>' | tail -1)
		[[ $line != *"shiplog history"* ]] || break
		sleep 0.2
	done
	tmux -L "$sock" kill-server 2>/dev/null || true
	[[ $line == *"shiplog history"* ]] ||
		fail "zsh did not complete 'shiplog hist' on the first TAB with the installed _shiplog: '$line'"
	lap "zsh: the installed _shiplog completed 'shiplog hist' to 'shiplog history'"
else
	echo "[deb] SKIP: the interactive zsh check needs zsh and tmux (tools/test.sh installs them)" >&2
fi
for u in "$SRC"/units/*.service.in; do
	cmp -s "$u" "$R/usr/share/shiplog/units/$(basename "$u")" ||
		fail "the installed $(basename "$u") differs from the repository's"
done
dpkg --root="$R" --log=/dev/null -r shiplog >>"$T/dpkg.log" 2>&1 ||
	{ cat "$T/dpkg.log" >&2; fail "dpkg -r failed"; }
[ ! -e "$R/usr/bin/shiplog" ] || fail "dpkg -r left /usr/bin/shiplog"
lap "man -l, completion, templates checked; dpkg -r removed it"
