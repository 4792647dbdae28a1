# Helpers for the end-to-end tests: start target programs under our control,
# talk to them, read their memory, and assert.  Every process a test starts
# is recorded by pid and killed by pid when the test ends.
set -euo pipefail

SUTURE=${SUTURE:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/bin/suture}
ROOT=${SUTURE_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
T=$ROOT/build/targets
WORK=$(mktemp -d /tmp/suture-e2e.XXXXXX)
JOURNAL=$WORK/journal.jsonl
STARTED_PIDS=()

cleanup() {
	local pid
	for pid in "${STARTED_PIDS[@]}"; do
		kill -9 "$pid" 2>/dev/null || true
	done
	rm -rf "$WORK"
}
trap cleanup EXIT

fail() {
	echo "FAILED: $*" >&2
	exit 1
}

# suture apply/revert with the test journal and without signature checks.
sut() {
	local verb=$1
	shift
	"$SUTURE" "$verb" "$@" --insecure-skip-verify --journal "$JOURNAL" 2>>"$WORK/suture.err"
}

# Run a command, expecting exit code $1; its stdout and stderr go to $WORK/last.
expect_code() {
	local want=$1
	shift
	local got=0
	"$@" >"$WORK/last" 2>&1 || got=$?
	if [ "$got" != "$want" ]; then
		cat "$WORK/last" >&2
		fail "expected exit code $want from '$*', got $got"
	fi
}

expect_eq() {
	[ "$1" == "$2" ] || fail "${3:-value}: expected '$2', got '$1'"
}

expect_match() {
	grep -Eq -- "$2" <<<"$1" || fail "${3:-output}: '$1' does not match /$2/"
}

# start_target NAME COMMAND...: runs COMMAND with stdin from a FIFO we hold
# open and stdout in $WORK/NAME.out; waits for its "ready" line.  Sets
# PID_NAME and FD_NAME.
start_target() {
	local name=$1
	shift
	mkfifo "$WORK/$name.in"
	"$@" <"$WORK/$name.in" >"$WORK/$name.out" 2>&1 &
	local pid=$!
	disown "$pid"
	STARTED_PIDS+=("$pid")
	local fd
	exec {fd}>"$WORK/$name.in"
	printf -v "PID_$name" %s "$pid"
	printf -v "FD_$name" %s "$fd"
	wait_line "$name" '^ready' >/dev/null
}

# wait_line NAME REGEX: prints the first output line matching REGEX (5 s).
wait_line() {
	local i
	for i in $(seq 1 250); do
		if grep -Eq -- "$2" "$WORK/$1.out" 2>/dev/null; then
			grep -E -- "$2" "$WORK/$1.out" | head -1
			return 0
		fi
		sleep 0.02
	done
	cat "$WORK/$1.out" >&2 || true
	fail "$1 printed no line matching /$2/"
}

# ask NAME REQUEST: sends one request line, prints the answer line.
ask() {
	local name=$1 request=$2
	local fdvar=FD_$name
	local before
	before=$(wc -l <"$WORK/$name.out")
	echo "$request" >&"${!fdvar}"
	local i
	for i in $(seq 1 250); do
		if [ "$(wc -l <"$WORK/$name.out")" -gt "$before" ]; then
			sed -n "$((before + 1))p" "$WORK/$name.out"
			return 0
		fi
		sleep 0.02
	done
	fail "$name did not answer '$request'"
}

alive() {
	kill -0 "$1" 2>/dev/null && [ "$(gawk '{print $3}' "/proc/$1/stat")" != Z ]
}

# peek PID ADDR LEN: hex bytes of the target's memory.
peek() {
	dd if="/proc/$1/mem" bs=4096 skip="$(($2))" count="$3" iflag=skip_bytes,count_bytes \
		2>/dev/null | od -An -tx1 -v | tr -d ' \n'
}

# file_bytes FILE VADDR LEN: hex bytes of an ELF file at a link-time address.
file_bytes() {
	local off
	off=$(readelf -lW "$1" | gawk -v a=$(($2)) '$1=="LOAD" {
		v=strtonum($3); o=strtonum($2); s=strtonum($5);
		if (a >= v && a < v + s) { print o + a - v; exit } }')
	dd if="$1" bs=4096 skip="$off" count="$3" iflag=skip_bytes,count_bytes 2>/dev/null |
		od -An -tx1 -v | tr -d ' \n'
}

# sym_value FILE NAME: link-time address of a symbol.
sym_value() {
	local v
	v=$(nm "$1" | gawk -v n="$2" '$3==n {print $1; exit}')
	[ -n "$v" ] || fail "symbol $2 not found in $1"
	echo $((16#$v))
}

# load_bias PID FILE: run-time address minus link-time address of FILE in PID.
load_bias() {
	local real start type
	real=$(readlink -f "$2")
	start=$(gawk -v p="$real" '$6==p && $3=="00000000" {split($1, a, "-"); print a[1]; exit}' \
		"/proc/$1/maps")
	[ -n "$start" ] || fail "$2 is not mapped in process $1"
	type=$(readelf -h "$2" | gawk '/Type:/ {print $2}')
	if [ "$type" = EXEC ]; then echo 0; else echo $((16#$start)); fi
}

# func_addr PID FILE NAME: run-time address of a function.
func_addr() {
	echo $(($(load_bias "$1" "$2") + $(sym_value "$2" "$3")))
}

# snapshot_text PID FILE: hex of the whole executable segment, for "unchanged" checks.
snapshot_text() {
	local real
	real=$(readlink -f "$2")
	gawk -v p="$real" '$6==p && $2 ~ /x/ {split($1, a, "-"); print a[1], a[2]}' "/proc/$1/maps" |
		while read -r lo hi; do peek "$1" $((16#$lo)) $((16#$hi - 16#$lo)); done | md5sum
}

mkpatch() {
	"$SUTURE" mkpatch "$@"
}
