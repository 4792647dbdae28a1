#!/usr/bin/env bash
# Time `suture build` of one of Debian bookworm's expat security fixes against
# one plain build of the same tree with the same build command, and check that
# two runs write byte-identical patch files.  bench/README.md explains the
# table and records results.
#
# usage: bench/build-time.sh [CVE-ID]
#
#   CVE-ID   the CVE patch of debian/patches/series to build (default: the
#            first one in series order)
#
# Environment: STATE (work directory, default /var/tmp/suture-bench-build),
# RUNS (plain and suture builds to time, at least 2 for the determinism
# check, default 3), SUTURE (default bin/suture), SUTURE_SCENARIO_CACHE (where the expat
# source package is kept, shared with scenario/expat, default
# /var/cache/suture-scenario).  Run as root after `make`; the packages it
# needs are installed with apt-get.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)

# --build-in-tree: the build command itself, run in a tree that contains expat/.
# It builds the way debian/rules of expat 2.5.0 builds its main flavour:
# buildconf.sh, configure in build/ with dpkg-buildflags' flags, then make.
# docbook is off and the wide-character flavour is not built.  A rerun only
# runs make, so it recompiles what changed.
if [ "${1:-}" = --build-in-tree ]; then
	if [ ! -f build/config.status ]; then
		(cd expat && ./buildconf.sh)
		mkdir -p build
		cd build
		CFLAGS="$(dpkg-buildflags --get CFLAGS) -Wall" CPPFLAGS=$(dpkg-buildflags --get CPPFLAGS) \
			LDFLAGS="-Wl,-Bsymbolic-functions $(dpkg-buildflags --get LDFLAGS)" \
			../expat/configure --build="$(dpkg-architecture -qDEB_HOST_GNU_TYPE)" --prefix=/usr \
			--libdir="/usr/lib/$(dpkg-architecture -qDEB_HOST_MULTIARCH)" \
			--without-docbook --disable-static
		cd ..
	fi
	exec make -j2 -C build
fi

CVE=${1:-}
SUTURE=${SUTURE:-$ROOT/bin/suture}
STATE=${STATE:-/var/tmp/suture-bench-build}
RUNS=${RUNS:-3}
CACHE=${SUTURE_SCENARIO_CACHE:-/var/cache/suture-scenario}/expat
BUILD_COMMAND="$HERE/build-time.sh --build-in-tree"
TARGET=build/lib/.libs/libexpat.so.1
GOAL=1.5

die() {
	echo "build-time.sh: $*" >&2
	exit 1
}

note() {
	echo "   $*" >&2
}

[ "$(id -u)" = 0 ] || die "run as root: it installs packages and writes $STATE"
[ "$RUNS" -ge 2 ] || die "RUNS must be at least 2, for the determinism check"

ensure_packages() {
	"$ROOT/scripts/install-deps" autoconf automake libtool dpkg-dev
	[ -x "$SUTURE" ] || make -s -C "$ROOT" >/dev/null
	[ -x "$SUTURE" ] || die "$SUTURE is missing and 'make' did not build it"
}

# Fetch the newest expat source package that downloads into $CACHE/source,
# through private source lists, so that the machine's apt configuration and
# lists stay untouched.  A copy already there (also scenario/expat's) is reused.
fetch_source() {
	if [ -f "$CACHE/version" ] && ls "$CACHE"/source/*.dsc >/dev/null 2>&1; then
		note "expat $(cat "$CACHE/version") source package found in $CACHE/source"
		return 0
	fi
	local apt=$CACHE/apt version
	local -a options versions

	rm -rf "$apt"
	mkdir -p "$apt/parts" "$apt/lists/partial" "$apt/cache/archives/partial"
	[ -f /etc/apt/sources.list.d/debian.sources ] ||
		die "/etc/apt/sources.list.d/debian.sources is missing; cannot derive the source lists"
	sed 's/^Types: deb$/Types: deb-src/' /etc/apt/sources.list.d/debian.sources \
		>"$apt/parts/debian-src.sources"

	options=(-o Dir::Etc::SourceList=/dev/null -o "Dir::Etc::SourceParts=$apt/parts"
		-o "Dir::State::Lists=$apt/lists" -o "Dir::Cache=$apt/cache"
		-o APT::Sandbox::User=root)
	apt-get "${options[@]}" update -qq >"$apt/update.log" 2>&1 ||
		die "apt-get update of the private source lists failed; see $apt/update.log"
	mapfile -t versions < <(apt-cache "${options[@]}" showsrc expat |
		gawk '/^Version:/ {print $2}' | sort -u | sort -r -V)
	[ ${#versions[@]} -gt 0 ] || die "apt-cache showsrc lists no expat source package"

	for version in "${versions[@]}"; do
		rm -rf "$CACHE/download"
		mkdir -p "$CACHE/download"
		if (cd "$CACHE/download" && apt-get "${options[@]}" source --download-only \
			"expat=$version") >"$CACHE/download.log" 2>&1; then
			rm -rf "$CACHE/source"
			mv "$CACHE/download" "$CACHE/source"
			echo "$version" >"$CACHE/version"
			note "fetched expat $version"
			return 0
		fi
		note "expat $version did not download; trying an older version"
	done
	die "no expat source package version could be downloaded; see $CACHE/download.log"
}

# Unpack the package and make $STATE/src: upstream sources with the series
# patches before the chosen CVE patch, whose path goes into $FIX.
prepare_tree() {
	local dsc series=() i p found=
	dsc=$(ls "$CACHE"/source/*.dsc)
	rm -rf "$STATE/pkg" "$STATE/src"
	dpkg-source --no-check -x --skip-patches "$dsc" "$STATE/pkg" >/dev/null
	mapfile -t series < <(sed -e 's/#.*//' -e 's/[[:space:]]*$//' \
		"$STATE/pkg/debian/patches/series" | grep -v '^$')
	for i in "${!series[@]}"; do
		[[ ${series[$i]} == *CVE-* ]] || continue
		[ -z "$CVE" ] || [[ ${series[$i]} == *"$CVE"* ]] || continue
		found=$i
		break
	done
	[ -n "$found" ] || die "debian/patches/series names no CVE patch${CVE:+ for $CVE}"
	FIX=$STATE/pkg/debian/patches/${series[$found]}
	CVE=$(grep -o 'CVE-[0-9]*-[0-9]*' <<<"${series[$found]}" | head -1)
	mkdir -p "$STATE/src"
	cp -a "$STATE/pkg/expat" "$STATE/src/"
	for ((i = 0; i < found; i++)); do
		p=$STATE/pkg/debian/patches/${series[$i]}
		patch -d "$STATE/src" -p1 -s --no-backup-if-mismatch <"$p" >/dev/null ||
			die "series patch ${series[$i]} does not apply"
	done
	note "expat $(cat "$CACHE/version"), $CVE: ${series[$found]}, after $found series patches"
}

# seconds COMMAND...: run COMMAND and print its wall time in seconds.
seconds() {
	local start end
	start=$(date +%s.%N)
	"$@"
	end=$(date +%s.%N)
	gawk -v a="$start" -v b="$end" 'BEGIN { printf "%.1f\n", b - a }'
}

plain_build() {
	rm -rf "$STATE/plain"
	cp -a "$STATE/src" "$STATE/plain"
	(cd "$STATE/plain" && $BUILD_COMMAND) >"$STATE/plain.log" 2>&1 ||
		die "the plain build failed; see $STATE/plain.log"
}

suture_build() {
	"$SUTURE" build -v --src "$STATE/src" --diff "$FIX" --build "$BUILD_COMMAND" \
		--target "$TARGET" --against "$STATE/plain/$TARGET" --name "expat-$CVE" --cve "$CVE" \
		-o "$STATE/$1.suture" >"$STATE/$1.log" 2>&1 ||
		die "suture build failed; see $STATE/$1.log"
}

# step_time LOG STEP: the seconds suture build -v logged for one step.
step_time() {
	sed -n "s/^suture: info: time: $2: \([0-9.]*\) s$/\1/p" "$1"
}

ensure_packages
mkdir -p "$STATE"
fetch_source
prepare_tree

# Plain and suture builds take turns, so that a change in the machine's load
# during the run affects both about equally.
plain_times=()
suture_times=()
for ((run = 1; run <= RUNS; run++)); do
	plain_times+=("$(seconds plain_build)")
	suture_times+=("$(seconds suture_build "run$run")")
	note "run $run: plain build ${plain_times[-1]} s, suture build ${suture_times[-1]} s"
done

identical=yes
for ((run = 2; run <= RUNS; run++)); do
	cmp -s "$STATE/run1.suture" "$STATE/run$run.suture" || identical=no
done

# median VALUE...: the median, or the mean of the middle two.
median() {
	printf '%s\n' "$@" | sort -g | gawk '{ v[NR] = $1 } END {
		if (NR % 2) printf "%.1f\n", v[(NR + 1) / 2]; else printf "%.1f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

ratio() {
	gawk -v s="$1" -v p="$2" 'BEGIN { printf "%.2f", s / p }'
}

echo
echo "suture build of expat $(cat "$CACHE/version") $CVE against a plain build, $(nproc) CPUs"
printf '%8s | %14s | %14s | %6s | %5s\n' run "plain build s" "suture build s" ratio goal
for ((run = 1; run <= RUNS; run++)); do
	printf '%8s | %14s | %14s | %6s | %5s\n' "$run" "${plain_times[$((run - 1))]}" \
		"${suture_times[$((run - 1))]}" \
		"$(ratio "${suture_times[$((run - 1))]}" "${plain_times[$((run - 1))]}")" "$GOAL"
done
plain=$(median "${plain_times[@]}")
suture=$(median "${suture_times[@]}")
printf '%8s | %14s | %14s | %6s | %5s\n' median "$plain" "$suture" "$(ratio "$suture" "$plain")" \
	"$GOAL"
echo
echo "where the time of each suture build went, seconds (suture build -v):"
for step in "copying the sources" "building and checking the original tree" \
	"building the fixed tree" "waiting for the original recompiles" \
	"recompiling the changed files" "comparing the objects" "linking the patch" total; do
	printf '  %-42s' "$step"
	for ((run = 1; run <= RUNS; run++)); do
		printf ' %8s' "$(step_time "$STATE/run$run.log" "$step")"
	done
	echo
done
echo
echo "patch: $(tail -1 "$STATE/run1.log")"
echo "identical patch files from $RUNS runs: $identical"
[ "$identical" = yes ]
