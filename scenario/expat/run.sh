#!/usr/bin/env bash
# The expat scenario: Debian bookworm's own expat security fixes, built into
# live patches with `suture build` and applied to running processes (Debian's
# python3 and a small C driver) while an HTTP server that parses XML serves a
# load generator.  expat's own test suite, run under `suture run`, decides
# whether each patch fixes the library.  scenario/expat/README.md explains
# the steps and the results.
#
# usage: scenario/expat/run.sh [--cves CVE-A,CVE-B] [--state DIR] [--load-seconds N]
#                               [--skip-cut-builds]
#
#   --cves LIST         process only these CVEs (default: every CVE patch in
#                       debian/patches/series, in series order)
#   --state DIR         work directory, reused by reruns (default /var/tmp/suture-expat)
#   --load-seconds N    length of each load-generator run, seconds (default 5)
#   --skip-cut-builds   do not try each CVE on the series' tree cut just before
#                       it.  That build differs from the running one as soon
#                       as an earlier fix is in the tree, so the attempt only
#                       shows suture build's result.
#
# Run as root.  It installs what it needs with apt-get, fetches the source
# package once into /var/cache/suture-scenario/expat, starts its processes
# and stops them by pid when it ends.  The results table is also written to
# STATE/results.tsv.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
SUTURE=${SUTURE:-$ROOT/bin/suture}
CACHE=${SUTURE_SCENARIO_CACHE:-/var/cache/suture-scenario}/expat
STATE=/var/tmp/suture-expat
LOAD_SECONDS=5
ONLY_CVES=""
CUT_BUILDS=1
# Each suture build, oracle run and probe gets a time limit, so the whole
# run stays bounded even when a step hangs.
BUILD_TIMEOUT=600
STEP_TIMEOUT=120

while [ $# -gt 0 ]; do
	case $1 in
	--cves) ONLY_CVES=$2; shift 2 ;;
	--state) STATE=$2; shift 2 ;;
	--load-seconds) LOAD_SECONDS=$2; shift 2 ;;
	--skip-cut-builds) CUT_BUILDS=0; shift ;;
	-h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	*) echo "run.sh: unknown option $1; see --help" >&2; exit 2 ;;
	esac
done

# shellcheck source=probes.sh
source "$HERE/probes.sh"

STARTED_PIDS=()
RUN=$STATE/run

log() { printf '\n== %s\n' "$*"; }
note() { printf '   %s\n' "$*"; }
die() {
	echo "run.sh: $*" >&2
	exit 1
}

cleanup() {
	local pid
	for pid in "${STARTED_PIDS[@]}"; do
		kill "$pid" 2>/dev/null || true
	done
	sleep 0.2
	for pid in "${STARTED_PIDS[@]}"; do
		kill -9 "$pid" 2>/dev/null || true
	done
}
trap cleanup EXIT

# ---------------------------------------------------------------- packages

ensure_packages() {
	log "checking packages"
	"$ROOT/scripts/install-deps" autoconf automake libtool dpkg-dev wrk dwarves
	[ -x "$SUTURE" ] || make -s -C "$ROOT" -j2 >/dev/null
	[ -x "$SUTURE" ] || die "$SUTURE is missing and 'make' did not build it"
}

# ------------------------------------------------------------- source package

# apt options for a private view of the archive's source lists: the machine's
# apt configuration and lists stay untouched.
apt_private_options() {
	local dir=$1
	echo "-o Dir::Etc::SourceList=/dev/null -o Dir::Etc::SourceParts=$dir/parts" \
		"-o Dir::State::Lists=$dir/lists -o Dir::Cache=$dir/cache" \
		"-o APT::Sandbox::User=root"
}

# Fetch the newest expat source package whose files download, into
# $CACHE/source; a cached copy is reused.
fetch_source() {
	if [ -f "$CACHE/version" ] && ls "$CACHE"/source/*.dsc >/dev/null 2>&1; then
		note "source package cached: expat $(cat "$CACHE/version") in $CACHE/source"
		return 0
	fi
	local apt=$CACHE/apt options version
	rm -rf "$apt"
	mkdir -p "$apt/parts" "$apt/lists/partial" "$apt/cache/archives/partial"
	[ -f /etc/apt/sources.list.d/debian.sources ] ||
		die "/etc/apt/sources.list.d/debian.sources is missing; cannot derive the source lists"
	sed 's/^Types: deb$/Types: deb-src/' /etc/apt/sources.list.d/debian.sources \
		>"$apt/parts/debian-src.sources"
	options=$(apt_private_options "$apt")
	# shellcheck disable=SC2086
	apt-get $options update -qq >"$apt/update.log" 2>&1 ||
		die "apt-get update of the private source lists failed; see $apt/update.log"
	# shellcheck disable=SC2086
	mapfile -t versions < <(apt-cache $options showsrc expat | gawk '/^Version:/ {print $2}' |
		sort -u | sort -r -V)
	[ ${#versions[@]} -gt 0 ] || die "apt-cache showsrc lists no expat source package"
	note "versions listed by apt-cache showsrc, newest first: ${versions[*]}"
	for version in "${versions[@]}"; do
		rm -rf "$CACHE/download"
		mkdir -p "$CACHE/download"
		# shellcheck disable=SC2086
		if (cd "$CACHE/download" && apt-get $options source --download-only "expat=$version") \
			>"$CACHE/download.log" 2>&1; then
			rm -rf "$CACHE/source"
			mv "$CACHE/download" "$CACHE/source"
			echo "$version" >"$CACHE/version"
			note "fetched expat $version"
			return 0
		fi
		note "expat $version: $(grep -m1 '^E:' "$CACHE/download.log" || echo 'download failed')"
	done
	die "no expat source package version could be downloaded; see $CACHE/download.log"
}

# Unpack the source package without its patches into $STATE/pkg and read
# the series: SERIES lists every patch in order, CVES the CVE ids of the
# patches whose file names contain "CVE-", CVE_PATCH the file of each.
read_package() {
	local version dsc
	version=$(cat "$CACHE/version")
	dsc=$(ls "$CACHE"/source/*.dsc)
	if [ "$(cat "$STATE/pkg.version" 2>/dev/null)" != "$version" ]; then
		rm -rf "$STATE/pkg"
		dpkg-source --no-check -x --skip-patches "$dsc" "$STATE/pkg" >/dev/null
		echo "$version" >"$STATE/pkg.version"
	fi
	PATCHES=$STATE/pkg/debian/patches
	mapfile -t SERIES < <(sed -e 's/#.*//' -e 's/[[:space:]]*$//' "$PATCHES/series" | grep -v '^$')
	CVES=()
	declare -gA CVE_PATCH CVE_INDEX
	local i cve
	for i in "${!SERIES[@]}"; do
		[[ ${SERIES[$i]} == *CVE-* ]] || continue
		cve=$(grep -o 'CVE-[0-9]*-[0-9]*' <<<"${SERIES[$i]}" | head -1)
		CVES+=("$cve")
		CVE_PATCH[$cve]=$PATCHES/${SERIES[$i]}
		CVE_INDEX[$cve]=$i
	done
	[ ${#CVES[@]} -gt 0 ] || die "debian/patches/series of expat $version names no CVE patch"
	note "expat $version: ${#SERIES[@]} patches in the series, CVE patches in order: ${CVES[*]}"
}

selected() {
	[ -z "$ONLY_CVES" ] || [[ ",$ONLY_CVES," == *",$1,"* ]]
}

# make_tree DEST PATCH...: upstream sources plus the given patches.
make_tree() {
	local dest=$1 p
	shift
	rm -rf "$dest"
	mkdir -p "$dest"
	cp -a "$STATE/pkg/expat" "$dest/"
	for p in "$@"; do
		patch -d "$dest" -p1 -s --no-backup-if-mismatch <"$p" >/dev/null ||
			die "patch $(basename "$p") does not apply to $dest"
	done
}

# The series patches before series index $1, as paths.
patches_before() {
	local i
	for ((i = 0; i < $1; i++)); do
		echo "$PATCHES/${SERIES[$i]}"
	done
}

# ------------------------------------------------------------- processes

# start_process NAME COMMAND...: stdin from a FIFO that this script keeps open,
# output in $RUN/NAME.out; waits for the "ready" line.  Sets PID_NAME.
start_process() {
	local name=$1 fd pid i
	shift
	rm -f "$RUN/$name.in" "$RUN/$name.out"
	mkfifo "$RUN/$name.in"
	"$@" <"$RUN/$name.in" >"$RUN/$name.out" 2>&1 &
	pid=$!
	STARTED_PIDS+=("$pid")
	exec {fd}>"$RUN/$name.in"
	printf -v "PID_$name" %s "$pid"
	printf -v "FD_$name" %s "$fd"
	for i in $(seq 1 500); do
		grep -q '^ready' "$RUN/$name.out" 2>/dev/null && return 0
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.02
	done
	cat "$RUN/$name.out" >&2
	die "$name did not start"
}

# ask NAME REQUEST: send one request line and print the process's result line.
ask() {
	local name=$1 request=$2 fdvar=FD_$1 before i
	before=$(wc -l <"$RUN/$name.out")
	echo "$request" >&"${!fdvar}"
	for i in $(seq 1 $((STEP_TIMEOUT * 10))); do
		if [ "$(wc -l <"$RUN/$name.out")" -gt "$before" ]; then
			sed -n "$((before + 1))p" "$RUN/$name.out" | sed "s/^[^:]*: //"
			return 0
		fi
		sleep 0.1
	done
	echo "no answer within $STEP_TIMEOUT s"
}

start_processes() {
	log "starting the processes on the vulnerable build"
	local libdir=$DEPLOYED/build/lib/.libs
	gcc -std=c11 -O2 -g -Wall -Wextra -I"$DEPLOYED/expat/lib" -o "$RUN/driver" "$HERE/driver.c" \
		-L"$libdir" -lexpat
	start_process driver env LD_LIBRARY_PATH="$libdir" "$RUN/driver"
	start_process python env LD_LIBRARY_PATH="$libdir" /usr/bin/python3 "$HERE/worker.py"
	start_process server env LD_LIBRARY_PATH="$libdir" /usr/bin/python3 "$HERE/server.py" 0
	SERVER_PORT=$(sed -n 's/^ready .*port=\([0-9]*\).*/\1/p' "$RUN/server.out")
	PROCESSES=(driver python server)
	local name pidvar
	for name in "${PROCESSES[@]}"; do
		pidvar=PID_$name
		grep -q "$libdir/libexpat.so.1" "/proc/${!pidvar}/maps" ||
			die "process $name (${!pidvar}) does not map $libdir/libexpat.so.1"
		note "$name: pid ${!pidvar}, $(head -1 "$RUN/$name.out")"
	done
	note "the server listens on 127.0.0.1:$SERVER_PORT"
}

# ------------------------------------------------------------- load

write_load_script() {
	cat >"$RUN/post.lua" <<'EOF'
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/xml"
wrk.body = "<order id='1'><item sku='a'>one &amp; two</item><item sku='b'/><note><![CDATA[x<y]]></note></order>"
EOF
}

# start_load NAME: a bounded wrk run against the server, in the background.
start_load() {
	wrk -t2 -c4 -d"${LOAD_SECONDS}s" --timeout 5s --latency -s "$RUN/post.lua" \
		"http://127.0.0.1:$SERVER_PORT/" >"$RUN/load-$1.txt" 2>&1 &
	LOAD_PID=$!
	STARTED_PIDS+=("$LOAD_PID")
}

wait_load() {
	wait "$LOAD_PID" || true
}

# summarize_load NAME: "served N, failed N, p50 X, p90 X, p99 X".
summarize_load() {
	gawk '
		/requests in/ { served = $1 }
		/Non-2xx or 3xx responses:/ { failed += $NF }
		/Socket errors:/ { for (i = 3; i <= NF; i++) { v = $i; gsub(",", "", v); if (v ~ /^[0-9]+$/) failed += v } }
		$1 == "50%" { p50 = $2 } $1 == "90%" { p90 = $2 } $1 == "99%" { p99 = $2 }
		END { printf "served %d, failed %d, latency p50 %s p90 %s p99 %s\n", served, failed, p50, p90, p99 }
	' "$RUN/load-$1.txt"
}

load_failed_count() {
	summarize_load "$1" | sed 's/.*failed \([0-9]*\).*/\1/'
}

# ------------------------------------------------------------- builds

build_deployed() {
	local first=${CVE_INDEX[${CVES[0]}]}
	mapfile -t BASE_PATCHES < <(patches_before "$first")
	VULN_SRC=$STATE/trees/vulnerable-src
	DEPLOYED=$STATE/deployed
	local stamp
	stamp="$(cat "$CACHE/version") $(md5sum "$HERE/build-expat.sh" | cut -d' ' -f1)"
	if [ "$(cat "$DEPLOYED.stamp" 2>/dev/null)" = "$stamp" ] && [ -d "$VULN_SRC/expat" ] &&
		[ -f "$DEPLOYED/build/lib/.libs/libexpat.so.1" ]; then
		note "vulnerable build reused: $DEPLOYED"
		return 0
	fi
	log "building the vulnerable library: upstream plus ${#BASE_PATCHES[@]} patches before ${CVES[0]}"
	make_tree "$VULN_SRC" "${BASE_PATCHES[@]}"
	rm -rf "$DEPLOYED"
	cp -a "$VULN_SRC" "$DEPLOYED"
	(cd "$DEPLOYED" && sh "$HERE/build-expat.sh") || die "building the vulnerable library failed"
	echo "$stamp" >"$DEPLOYED.stamp"
}

# suture_build NAME SRC OUT OPTION...: suture build with the given --diff,
# --base-diff and --requires options; sets BUILD_RC and BUILD_MESSAGE.  The
# work directory is $STATE/work/NAME.
suture_build() {
	local name=$1 src=$2 out=$3
	shift 3
	BUILD_RC=0
	timeout "$BUILD_TIMEOUT" "$SUTURE" build --src "$src" "$@" \
		--build "sh $HERE/build-expat.sh" --target build/lib/.libs/libexpat.so.1 \
		--against "$DEPLOYED/build/lib/.libs/libexpat.so.1" --workdir "$STATE/work/$name" \
		--name "expat-$CURRENT_CVE" --cve "$CURRENT_CVE" \
		--description "Debian expat $(cat "$CACHE/version"): $(basename "${CVE_PATCH[$CURRENT_CVE]}")" \
		-o "$out" >"$RUN/build-$name.log" 2>&1 || BUILD_RC=$?
	BUILD_MESSAGE=$(grep -m1 '^suture build:' "$RUN/build-$name.log" ||
		grep -v '^suture: info' "$RUN/build-$name.log" | tail -1)
	BUILD_MESSAGE=$(cut -c1-400 <<<"$BUILD_MESSAGE")
}

# ------------------------------------------------------------- per CVE

# set_stacked_options: STACKED_OPTIONS, the suture build options for the
# diffs that are live.  With live patches, those diffs are base diffs and
# the patches are required, so that a new patch contains only what its own
# diff changes.  Without one, the live diffs change no code and go in as
# plain diffs.
set_stacked_options() {
	local d p option=--diff
	STACKED_OPTIONS=()
	[ ${#LIVE_PATCHES[@]} -eq 0 ] || option=--base-diff
	for d in "${LIVE_DIFFS[@]}"; do
		STACKED_OPTIONS+=("$option" "$d")
	done
	for p in "${LIVE_PATCHES[@]}"; do
		STACKED_OPTIONS+=(--requires "$p")
	done
}

stacked_summary() {
	if [ ${#LIVE_PATCHES[@]} -gt 0 ]; then
		echo "--base-diff <${#LIVE_DIFFS[@]} live diffs> --requires <${#LIVE_PATCHES[@]} live patches>"
	elif [ ${#LIVE_DIFFS[@]} -gt 0 ]; then
		echo "--diff <${#LIVE_DIFFS[@]} live diffs without code changes>"
	fi
}

# check_probes CVE WHEN EXPECTED_KIND: ask each process the CVE's probe and
# compare with VULNERABLE_RE or FIXED_RE.  Prints one line per process and
# sets PROBES_OK=0 on a mismatch.
check_probes() {
	local cve=$1 when=$2 kind=$3 name request answer re
	re=$([ "$kind" = fixed ] && echo "${FIXED_RE[$cve]:-}" || echo "${VULNERABLE_RE[$cve]:-}")
	for name in driver python; do
		if [ "$name" = driver ]; then request=${PROBE_C[$cve]:-}; else request=${PROBE_PY[$cve]:-}; fi
		[ -n "$request" ] || continue
		answer=$(ask "$name" "$request")
		if grep -Eq -- "$re" <<<"$answer"; then
			note "$when, $name: $request -> $answer"
		else
			note "$when, $name: $request -> $answer   MISMATCH: expected /$re/ ($kind)"
			PROBES_OK=0
		fi
	done
}

# Parse `suture apply --json` output into "pid:pause_us" pairs and a verdict.
# With a second argument "revert", a process that never had the patch (a
# patch that an earlier apply left out there) counts as done.
read_apply_json() {
	/usr/bin/python3 - "$1" "${2:-apply}" <<'EOF'
import json, sys
try:
    records = json.load(open(sys.argv[1]))
except ValueError:
    print("INVALID\t-\tno JSON output")
    sys.exit(0)
def done(record):
    if record.get("result") == "ok":
        return True
    return sys.argv[2] == "revert" and "is not applied" in (record.get("message") or "")
ok = records and all(done(r) for r in records)
# A pause that needed more than one stop shows the count, as in 4242:120us/2.
pauses = " ".join("%d:%.0fus%s" % (r["pid"], r.get("pause_us", 0),
                                   "/%d" % r["attempts"] if r.get("attempts", 1) > 1 else "")
                  for r in records if r.get("result") == "ok")
messages = "; ".join("%d: %s" % (r["pid"], r.get("message")) for r in records if r.get("message"))
print("%s\t%s\t%s" % ("OK" if ok else "FAILED", pauses or "-", messages or "-"))
EOF
}

# new_tests OLD_RUNTESTS_C NEW_RUNTESTS_C: test names only the new file has.
new_tests() {
	comm -13 <(grep -o 'START_TEST([a-z0-9_]*)' "$1" | sort -u) \
		<(grep -o 'START_TEST([a-z0-9_]*)' "$2" | sort -u) | sed 's/START_TEST(\(.*\))/\1/'
}

# run_oracle CVE WORKDIR PATCH...: build runtests from the fixed tree in
# WORKDIR against the deployed library, run it without and with the patches.
# Sets ORACLE_VERDICT.
run_oracle() {
	local cve=$1 work=$2 program=$RUN/runtests-$1
	shift 2
	local patches=("$@") new plain patched args=() p
	if ! timeout "$STEP_TIMEOUT" "$HERE/oracle.sh" "$work/tree" "$work/tree/build" \
		"$DEPLOYED/build/lib/.libs" "$program" "$HARNESS" >"$RUN/oracle-build-$cve.log" 2>&1; then
		ORACLE_VERDICT="runtests did not build: $(tail -1 "$RUN/oracle-build-$cve.log")"
		note "oracle: $ORACLE_VERDICT"
		return 0
	fi
	mapfile -t new < <(new_tests "$work/orig/expat/tests/runtests.c" "$work/tree/expat/tests/runtests.c")
	note "oracle: runtests from the fixed tree, ${#new[@]} new tests: ${new[*]:-none in this patch}"

	plain=0
	LD_LIBRARY_PATH=$DEPLOYED/build/lib/.libs timeout "$STEP_TIMEOUT" "$program" -v \
		>"$RUN/oracle-plain-$cve.txt" 2>&1 || plain=$?
	note "oracle without the patch: $(oracle_summary "$RUN/oracle-plain-$cve.txt" "$plain" "${new[@]}")"

	for p in "${patches[@]}"; do
		args+=(--patch "$p")
	done
	patched=0
	LD_LIBRARY_PATH=$DEPLOYED/build/lib/.libs timeout "$STEP_TIMEOUT" "$SUTURE" run "${args[@]}" \
		--trusted-dir "$TRUSTED" --journal "$JOURNAL" -- "$program" -v \
		>"$RUN/oracle-patched-$cve.txt" 2>&1 || patched=$?
	note "oracle under suture run with ${#patches[@]} patch(es): $(oracle_summary "$RUN/oracle-patched-$cve.txt" "$patched" "${new[@]}")"

	if [ "$patched" -eq 0 ] && grep -q 'Failed: 0$' "$RUN/oracle-patched-$cve.txt"; then
		ORACLE_VERDICT="pass: $(grep -o 'Checks: [0-9]*' "$RUN/oracle-patched-$cve.txt") with ${ORACLE_WITH:-the patch}"
		if [ ${#new[@]} -gt 0 ]; then
			ORACLE_VERDICT+="; without it $(oracle_failed_new "$RUN/oracle-plain-$cve.txt" "$plain" "${new[@]}")"
		else
			ORACLE_VERDICT+="; the CVE's diff adds no test"
		fi
	else
		ORACLE_VERDICT="fail: $(oracle_summary "$RUN/oracle-patched-$cve.txt" "$patched" "${new[@]}")"
	fi
}

# oracle_summary FILE EXIT_CODE NEW_TEST...: one line about a runtests run.
oracle_summary() {
	local file=$1 code=$2
	shift 2
	local total failed
	total=$(grep -o '[0-9]*%: Checks: [0-9]*, Failed: [0-9]*' "$file" || true)
	if [ -z "$total" ]; then
		if [ "$code" -gt 128 ]; then
			echo "runtests killed by signal $((code - 128)) after $(grep -c '^PASS' "$file") passed tests" \
				"(last: $(grep -E '^(PASS|FAIL)' "$file" | tail -1 | cut -c1-80))"
		else
			echo "exit code $code: $(tail -1 "$file" | cut -c1-200)"
		fi
		return 0
	fi
	failed=$(grep '^FAIL' "$file" | sed 's/^FAIL: \([a-z0-9_]*\).*/\1/' | tr '\n' ' ')
	echo "$total${failed:+ (failed: $failed)}"
}

oracle_failed_new() {
	local file=$1 code=$2 t failed=() passed=()
	shift 2
	for t in "$@"; do
		if grep -q "^PASS: $t\$" "$file"; then passed+=("$t"); else failed+=("$t"); fi
	done
	local crashed=""
	[ "$code" -le 128 ] || crashed=" (runtests killed by signal $((code - 128)))"
	echo "${#failed[@]} of $# new tests fail$crashed${passed[*]:+, passing anyway: ${passed[*]}}"
}

# Print the pids of processes that this run did not start but that map a
# library with the deployed build's build-id, such as a second copy of this
# scenario in another state directory: `--all` would patch them too.
foreign_processes() {
	local id maps pid path mine
	id=$(build_id "$DEPLOYED/build/lib/.libs/libexpat.so.1")
	for maps in /proc/[0-9]*/maps; do
		pid=${maps#/proc/}
		pid=${pid%/maps}
		mine=0
		for p in "${STARTED_PIDS[@]}"; do
			[ "$p" = "$pid" ] && mine=1
		done
		[ "$mine" = 0 ] || continue
		path=$(gawk '$6 ~ /libexpat\.so/ {print $6; exit}' "$maps" 2>/dev/null || true)
		[ -n "$path" ] && [ -f "$path" ] || continue
		[ "$(build_id "$path")" = "$id" ] && echo "$pid"
	done
	return 0
}

build_id() {
	readelf -n "$1" 2>/dev/null | gawk '/Build ID:/ {print $3}'
}

# The selection of processes for apply and revert: --all, unless another
# process maps the same build, then the pids of this run's processes.
target_options() {
	local foreign name pidvar
	foreign=$(foreign_processes | tr '\n' ' ')
	if [ -z "$foreign" ]; then
		echo --all
		return 0
	fi
	echo "   processes $foreign map the same build but belong to another run; using --pid" >&2
	for name in "${PROCESSES[@]}"; do
		pidvar=PID_$name
		echo "--pid ${!pidvar}"
	done
}

apply_under_load() {
	local cve=$1 patch=$2 targets
	targets=$(target_options)
	start_load "apply-$cve"
	sleep 1
	local rc=0
	# shellcheck disable=SC2086
	"$SUTURE" apply "$patch" $targets --json --trusted-dir "$TRUSTED" --journal "$JOURNAL" \
		>"$RUN/apply-$cve.json" 2>"$RUN/apply-$cve.err" || rc=$?
	wait_load
	IFS=$'\t' read -r APPLY_VERDICT APPLY_PAUSES APPLY_MESSAGES < <(read_apply_json "$RUN/apply-$cve.json")
	APPLY_RC=$rc
	note "apply $(tr '\n' ' ' <<<"$targets")--json: exit $rc, $APPLY_VERDICT, pause per process $APPLY_PAUSES"
	[ "$APPLY_MESSAGES" = - ] || note "apply messages: $APPLY_MESSAGES"
	note "load during apply: $(summarize_load "apply-$cve")"
}

process_cve() {
	local cve=$1 index=${CVE_INDEX[$1]} patch_file=${CVE_PATCH[$1]}
	CURRENT_CVE=$cve
	log "$cve ($(basename "$patch_file"))"
	local result why pauses=- oracle=-
	PROBES_OK=1
	if [ -n "${PROBE_NOTE[$cve]:-}" ]; then
		note "probe: ${PROBE_NOTE[$cve]}"
		check_probes "$cve" before vulnerable
	fi

	# 1. As the series has it: the tree cut just before this CVE, against
	# the build that runs.  When earlier patches are in that tree, its build
	# differs from the running one.
	mapfile -t cut < <(patches_before "$index")
	CUT_RESULT=""
	[ ${#cut[@]} -eq ${#BASE_PATCHES[@]} ] || make_tree "$STATE/trees/cut-$cve" "${cut[@]}"
	if [ "$CUT_BUILDS" = 1 ] && [ ${#cut[@]} -gt ${#BASE_PATCHES[@]} ]; then
		suture_build "$cve-cut" "$STATE/trees/cut-$cve" "$RUN/$cve-cut.suture" --diff "$patch_file"
		note "suture build --src <cut before $cve> --against <running build>: exit $BUILD_RC: $BUILD_MESSAGE"
		CUT_RESULT="cut-before tree: suture build exit $BUILD_RC"
	fi

	# 2. As the processes run: the vulnerable sources with the diffs that are
	# live as base diffs, and this CVE's diff.  The patch stacks on the live
	# patches and contains only what this diff changes.
	local out=$RUN/$cve.suture
	set_stacked_options
	suture_build "$cve" "$VULN_SRC" "$out" "${STACKED_OPTIONS[@]}" --diff "$patch_file"
	note "suture build --src <vulnerable> $(stacked_summary) --diff $(basename "$patch_file"): exit $BUILD_RC"
	note "  $BUILD_MESSAGE"
	local work=$STATE/work/$cve layout=""
	if [ -f "$work/orig/build/lib/.libs/libexpat.so.1" ] && [ -f "$work/tree/build/lib/.libs/libexpat.so.1" ]; then
		layout=$(/usr/bin/python3 "$HERE/layout.py" "$work/orig/build/lib/.libs/libexpat.so.1" \
			"$work/tree/build/lib/.libs/libexpat.so.1" | tr '\n' ';' | sed 's/;$//')
		[ -z "$layout" ] || note "struct layout change (pahole): $layout"
	fi

	if [ "$BUILD_RC" -eq 20 ] && [ ${#cut[@]} -gt ${#BASE_PATCHES[@]} ]; then
		# The diff needs an earlier patch that is not live.  suture build's
		# verdict on the change itself shows on the series' own tree, with
		# that tree's build as the deployed one.
		local cut_rc=$BUILD_RC cut_message=$BUILD_MESSAGE
		BUILD_RC=0
		timeout "$BUILD_TIMEOUT" "$SUTURE" build --src "$STATE/trees/cut-$cve" --diff "$patch_file" \
			--build "sh $HERE/build-expat.sh" --target build/lib/.libs/libexpat.so.1 \
			--workdir "$STATE/work/$cve-own" --name "expat-$cve" --cve "$cve" \
			-o "$RUN/$cve-own.suture" >"$RUN/build-$cve-own.log" 2>&1 || BUILD_RC=$?
		local own_message
		own_message=$(grep -m1 '^suture build:' "$RUN/build-$cve-own.log" ||
			grep -v '^suture: info' "$RUN/build-$cve-own.log" | tail -1)
		note "suture build --src <cut before $cve> without --against (its own build as deployed): exit $BUILD_RC"
		note "  $(cut -c1-400 <<<"$own_message")"
		local own=$STATE/work/$cve-own
		if [ -f "$own/orig/build/lib/.libs/libexpat.so.1" ] && [ -f "$own/tree/build/lib/.libs/libexpat.so.1" ]; then
			layout=$(/usr/bin/python3 "$HERE/layout.py" "$own/orig/build/lib/.libs/libexpat.so.1" \
				"$own/tree/build/lib/.libs/libexpat.so.1" | tr '\n' ';' | sed 's/;$//')
			[ -z "$layout" ] || note "struct layout change (pahole): $layout"
		fi
		CUT_RESULT+="${CUT_RESULT:+; }on the running sources: exit $cut_rc ($cut_message); on its own tree: exit $BUILD_RC"
		if [ "$BUILD_RC" -eq 19 ] || { [ "$BUILD_RC" -eq 0 ] && [ -n "$layout" ]; }; then
			BUILD_MESSAGE="on its own tree: $own_message"
			work=$own
		else
			BUILD_RC=$cut_rc
			BUILD_MESSAGE=$cut_message
		fi
	fi

	if [ "$BUILD_RC" -eq 18 ]; then
		result="nothing to patch"
		why="suture build exit 18: $BUILD_MESSAGE"
		# The running code already behaves as this diff, so later patches
		# build on it like on a live patch's diff.
		LIVE_DIFFS+=("$patch_file")
	elif [ "$BUILD_RC" -eq 19 ]; then
		result="refused"
		why="suture build exit 19: $BUILD_MESSAGE"
	elif [ "$BUILD_RC" -ne 0 ]; then
		result="not built"
		why="suture build exit $BUILD_RC: $BUILD_MESSAGE"
	elif [ -n "$layout" ]; then
		result="NOT REFUSED"
		local replaced where=""
		replaced=$(grep -o '[0-9]* functions replaced' <<<"$BUILD_MESSAGE" | head -1 || true)
		[[ $BUILD_MESSAGE != "on its own tree"* ]] || where=", on its own tree"
		why="suture build exit 0 ($replaced$where) although $layout; patch not applied"
	else
		"$SUTURE" sign "$out" --key "$KEY" >/dev/null
		apply_under_load "$cve" "$out"
		pauses=$APPLY_PAUSES
		why=$(grep -o '[0-9]* functions\{0,1\} replaced.*' "$RUN/build-$cve.log" | head -1 |
			sed 's|requires [^ ]*/|requires |' | cut -c1-200)
		if [ "$APPLY_RC" -eq 0 ] && [ "$APPLY_VERDICT" = OK ]; then
			result="live-patched"
			[ -z "${PROBE_NOTE[$cve]:-}" ] || check_probes "$cve" after fixed
		elif [ "$APPLY_RC" -eq 22 ]; then
			result="partly applied"
			why="apply exit 22: $APPLY_MESSAGES"
		else
			result="apply failed"
			why="apply exit $APPLY_RC: $APPLY_MESSAGES"
		fi
		# A patch that some process runs stays in the stack: later patches
		# build on it and require it, and the revert at the end removes it.
		# A process that lacks it rejects the later patches.
		if [ "$APPLY_RC" -eq 0 ] || [ "$APPLY_RC" -eq 22 ]; then
			LIVE_DIFFS+=("$patch_file")
			LIVE_PATCHES+=("$out")
			LIVE_CVES+=("$cve")
		fi
		[ "$(load_failed_count "apply-$cve")" -eq 0 ] || why+="; load saw failed requests"
	fi
	if [ "$result" = refused ]; then
		[ -z "$layout" ] || why+=" [pahole: $layout]"
	fi

	ORACLE_VERDICT="not run: the fixed tree did not build"
	make_tree "$STATE/trees/fixed-$cve" "${cut[@]}" "$patch_file"
	HARNESS=$STATE/trees/fixed-$cve
	if { [ "$BUILD_RC" -eq 0 ] || [ "$BUILD_RC" -eq 18 ] || [ "$BUILD_RC" -eq 19 ]; } &&
		[ -f "$work/tree/build/expat_config.h" ]; then
		if [ -f "$out" ] && [ "$result" != "NOT REFUSED" ]; then
			run_oracle "$cve" "$work" "${LIVE_PATCHES[@]}" \
				$([ "${LIVE_CVES[${#LIVE_CVES[@]} - 1]:-}" = "$cve" ] || echo "$out")
		elif [ "$BUILD_RC" -eq 18 ] && [ ${#LIVE_PATCHES[@]} -gt 0 ]; then
			ORACLE_WITH="the live patches" run_oracle "$cve" "$work" "${LIVE_PATCHES[@]}"
		else
			run_oracle_plain_only "$cve" "$work"
		fi
	fi
	oracle=$ORACLE_VERDICT
	[ "$PROBES_OK" -eq 1 ] || why+="; a probe answered wrongly"
	[ -z "$CUT_RESULT" ] || why+="; $CUT_RESULT"
	printf '%s\t%s\t%s\t%s\t%s\n' "$cve" "$result" "$why" "$pauses" "$oracle" >>"$RESULTS"
}

# Without a patch to test, still run the fixed tree's tests against the
# running library and report the result.
run_oracle_plain_only() {
	local cve=$1 work=$2 program=$RUN/runtests-$1 new plain=0
	if ! timeout "$STEP_TIMEOUT" "$HERE/oracle.sh" "$work/tree" "$work/tree/build" \
		"$DEPLOYED/build/lib/.libs" "$program" "$HARNESS" >"$RUN/oracle-build-$cve.log" 2>&1; then
		ORACLE_VERDICT="no patch to test, and runtests did not build: $(tail -1 "$RUN/oracle-build-$cve.log")"
		note "oracle: $ORACLE_VERDICT"
		return 0
	fi
	mapfile -t new < <(new_tests "$work/orig/expat/tests/runtests.c" "$work/tree/expat/tests/runtests.c")
	LD_LIBRARY_PATH=$DEPLOYED/build/lib/.libs timeout "$STEP_TIMEOUT" "$program" -v \
		>"$RUN/oracle-plain-$cve.txt" 2>&1 || plain=$?
	ORACLE_VERDICT="no patch to test; without one: $(oracle_summary "$RUN/oracle-plain-$cve.txt" "$plain" "${new[@]}")"
	note "oracle: $ORACLE_VERDICT"
}

revert_under_load() {
	[ ${#LIVE_PATCHES[@]} -gt 0 ] || return 0
	log "reverting ${#LIVE_PATCHES[@]} live patch(es), last first, under load"
	local i rc targets
	targets=$(target_options)
	start_load revert
	sleep 1
	for ((i = ${#LIVE_PATCHES[@]} - 1; i >= 0; i--)); do
		rc=0
		# shellcheck disable=SC2086
		"$SUTURE" revert "${LIVE_PATCHES[$i]}" $targets --json --trusted-dir "$TRUSTED" \
			--journal "$JOURNAL" >"$RUN/revert-$i.json" 2>"$RUN/revert-$i.err" || rc=$?
		IFS=$'\t' read -r verdict pauses messages < <(read_apply_json "$RUN/revert-$i.json" revert)
		note "revert ${LIVE_CVES[$i]}: exit $rc, $verdict, pause per process $pauses"
		[ "$messages" = - ] || note "revert messages: $messages"
		[ "$verdict" = OK ] || REVERT_OK=0
	done
	wait_load
	note "load during revert: $(summarize_load revert)"
	[ "$(load_failed_count revert)" -eq 0 ] || REVERT_OK=0
	local cve
	for cve in "${LIVE_CVES[@]}"; do
		[ -z "${PROBE_NOTE[$cve]:-}" ] || check_probes "$cve" "after revert" vulnerable
	done
}

print_table() {
	local pids_kept=$1
	log "results (also in $RESULTS)"
	printf '%s\n' "CVE | result | why | pause per process (pid:pause) | oracle (expat's runtests) | pids kept"
	printf '%s\n' "--- | --- | --- | --- | --- | ---"
	gawk -F'\t' -v kept="$pids_kept" '{ printf "%s | %s | %s | %s | %s | %s\n", $1, $2, $3, $4, $5, kept }' "$RESULTS"
}

# ------------------------------------------------------------- main

main() {
	[ "$(id -u)" = 0 ] || die "run as root: suture traces the processes"
	local started=$SECONDS
	mkdir -p "$STATE" "$CACHE"
	rm -rf "$RUN"
	mkdir -p "$RUN" "$STATE/trees" "$STATE/work"
	RESULTS=$STATE/results.tsv
	: >"$RESULTS"
	JOURNAL=$RUN/journal.jsonl

	log "packages and the suture program"
	ensure_packages
	log "source package"
	fetch_source
	read_package
	build_deployed

	log "throwaway signing key"
	local keys
	keys=$(mktemp -d "$RUN/keys.XXXXXX")
	TRUSTED=$keys/trusted
	mkdir -m 700 "$TRUSTED"
	"$SUTURE" keygen --out "$keys/scenario" >/dev/null
	install -m 644 "$keys/scenario.pub" "$TRUSTED/"
	KEY=$keys/scenario.key
	note "key $KEY, trusted directory $TRUSTED"

	start_processes
	declare -A PIDS_AT_START
	local name pidvar
	for name in "${PROCESSES[@]}"; do
		pidvar=PID_$name
		PIDS_AT_START[$name]=${!pidvar}
	done
	write_load_script
	log "load before any patch (${LOAD_SECONDS}s, 4 connections, loopback)"
	start_load before
	wait_load
	note "$(summarize_load before)"

	LIVE_DIFFS=()
	LIVE_PATCHES=()
	LIVE_CVES=()
	local cve
	for cve in "${CVES[@]}"; do
		selected "$cve" || continue
		process_cve "$cve"
	done

	REVERT_OK=1
	revert_under_load

	log "processes at the end"
	local kept=yes answer
	for name in "${PROCESSES[@]}"; do
		if [ "$name" = server ]; then
			answer=$(/usr/bin/python3 -c "import urllib.request, sys; print(urllib.request.urlopen(sys.argv[1], timeout=5).read().decode().strip())" \
				"http://127.0.0.1:$SERVER_PORT/" 2>&1 || true)
			answer=$(sed -n 's/^pid=\([0-9]*\).*/\1/p' <<<"$answer")
		else
			answer=$(ask "$name" pid)
		fi
		if [ "$answer" = "${PIDS_AT_START[$name]}" ] && kill -0 "${PIDS_AT_START[$name]}" 2>/dev/null; then
			note "$name: pid ${PIDS_AT_START[$name]} alive and answering"
		else
			note "$name: pid ${PIDS_AT_START[$name]} LOST (answer '$answer')"
			kept=no
		fi
	done
	echo "pids_kept	$kept" >"$STATE/processes.tsv"
	for name in "${PROCESSES[@]}"; do
		echo "$name	${PIDS_AT_START[$name]}" >>"$STATE/processes.tsv"
	done
	echo "revert_ok	$REVERT_OK" >>"$STATE/processes.tsv"

	print_table "$kept ($(for name in "${PROCESSES[@]}"; do printf '%s %s ' "$name" "${PIDS_AT_START[$name]}"; done | sed 's/ $//'))"
	note "load before patching: $(summarize_load before)"
	note "total time $((SECONDS - started)) s"
}

main
