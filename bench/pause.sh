#!/usr/bin/env bash
# Measure how long suture stops a target, and how long --all takes over many
# processes.  Prints two tables, which bench/README.md explains.
#
#   bench/pause.sh                 defaults: ROUNDS=20 THREADS="1 10 100 1000" PROCS=1000
#   ROUNDS=50 PROCS=200 bench/pause.sh
#
# Needs root (or CAP_SYS_PTRACE), a built bin/suture, and a C compiler.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
SUTURE=${SUTURE:-$ROOT/bin/suture}
ROUNDS=${ROUNDS:-20}
THREADS=${THREADS:-1 10 100 1000}
PROCS=${PROCS:-1000}
# Upper bound for each --all command, in seconds.
ALL_TIMEOUT=${ALL_TIMEOUT:-600}

WORK=$(mktemp -d /tmp/suture-bench.XXXXXX)
PIDS=()

cleanup() {
	local pid
	for pid in "${PIDS[@]}"; do
		kill -9 "$pid" 2>/dev/null || true
	done
	for pid in "${PIDS[@]}"; do
		wait "$pid" 2>/dev/null || true
	done
	rm -rf "$WORK"
}
trap cleanup EXIT

die() {
	echo "pause.sh: $*" >&2
	exit 1
}

[ -x "$SUTURE" ] || die "$SUTURE not found; run make first"
make -s -C "$ROOT/bench"
SLEEPER=$ROOT/build/bench/sleeper
"$SUTURE" mkpatch --target "$SLEEPER" --object "$ROOT/build/bench/fix_sleeper.o" \
	--replace work --name bench-work -o "$WORK/fix.suture" >/dev/null

# run_suture VERB PIDARGS...: one apply or revert with --json, printing the JSON.
run_suture() {
	local verb=$1
	shift
	"$SUTURE" "$verb" "$WORK/fix.suture" "$@" --json --insecure-skip-verify \
		--journal "$WORK/journal.jsonl" 2>>"$WORK/suture.err"
}

# stats FILE: "median p90 max" of the numbers in FILE, one a line (p90 by
# nearest rank).
stats() {
	sort -n "$1" | gawk '{ v[NR] = $1 } END {
		if (NR == 0) { print "- - -"; exit }
		p90 = int(0.9 * NR); if (p90 < 0.9 * NR) p90++
		printf "%.1f %.1f %.1f\n", (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2), v[p90], v[NR] }'
}

# start_sleeper THREADS: starts one target and waits for its "ready" line.
start_sleeper() {
	local out=$WORK/sleeper.$RANDOM.out i
	"$SLEEPER" "$1" >"$out" 2>&1 &
	PIDS+=($!)
	for i in $(seq 1 500); do
		grep -q '^ready' "$out" 2>/dev/null && return 0
		sleep 0.01
	done
	die "sleeper with $1 threads did not start: $(cat "$out")"
}

# Pause by thread count.
echo "suture pause (microseconds) over $ROUNDS rounds of apply + revert, $(nproc) CPUs"
printf '%8s | %10s %10s %10s | %10s %10s %10s | %12s | %10s\n' threads \
	"apply med" "apply p90" "apply max" "revert med" "revert p90" "revert max" "cmd med (ms)" \
	"floor med"
for n in $THREADS; do
	start_sleeper "$n"
	pid=${PIDS[-1]}
	: >"$WORK/apply.us"
	: >"$WORK/revert.us"
	: >"$WORK/cmd.ms"
	for round in $(seq 1 "$ROUNDS"); do
		for verb in apply revert; do
			t0=$(date +%s%N)
			json=$(run_suture "$verb" --pid "$pid") || die "$verb on $n threads failed: $json $(tail -1 "$WORK/suture.err")"
			t1=$(date +%s%N)
			grep -q '"result":"ok"' <<<"$json" || die "$verb on $n threads: $json"
			grep -o '"pause_us":[0-9.]*' <<<"$json" | cut -d: -f2 >>"$WORK/$verb.us"
			if [ "$verb" = apply ]; then
				gawk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f\n", (b - a) / 1e6 }' >>"$WORK/cmd.ms"
			fi
		done
	done
	read -r fm _ _ < <("$ROOT/build/bench/ptrace-floor" "$pid" "$ROUNDS") ||
		die "ptrace-floor on $n threads failed"
	kill -9 "$pid"
	wait "$pid" 2>/dev/null || true
	read -r am ap ax < <(stats "$WORK/apply.us")
	read -r rm rp rx < <(stats "$WORK/revert.us")
	read -r cm _ _ < <(stats "$WORK/cmd.ms")
	printf '%8s | %10s %10s %10s | %10s %10s %10s | %12s | %10s\n' "$n" "$am" "$ap" "$ax" "$rm" \
		"$rp" "$rx" "$cm" "$fm"
done

# --all over many single-threaded processes.
echo
echo "suture apply --all / revert --all over $PROCS processes of one thread each"
first=${#PIDS[@]}
for i in $(seq 1 "$PROCS"); do
	"$SLEEPER" 1 >/dev/null 2>&1 &
	PIDS+=($!)
done
# Every process must have executed the sleeper and reached pause().
for pid in "${PIDS[@]:$first}"; do
	for i in $(seq 1 500); do
		if [ "$(readlink "/proc/$pid/exe" 2>/dev/null)" = "$SLEEPER" ] &&
			[ "$(cut -d' ' -f3 "/proc/$pid/stat" 2>/dev/null)" = S ]; then
			break
		fi
		[ "$i" = 500 ] && die "process $pid did not start the sleeper within 5 s"
		sleep 0.01
	done
done
printf '%8s | %10s | %8s | %8s\n' action "wall (s)" ok failed
for verb in apply revert; do
	t0=$(date +%s%N)
	code=0
	timeout "$ALL_TIMEOUT" "$SUTURE" "$verb" "$WORK/fix.suture" --all --json --insecure-skip-verify \
		--journal "$WORK/journal.jsonl" >"$WORK/all.json" 2>>"$WORK/suture.err" || code=$?
	t1=$(date +%s%N)
	ok=$(grep -c '"result":"ok"' "$WORK/all.json" || true)
	failed=$(grep -c '"result":"failed"' "$WORK/all.json" || true)
	printf '%8s | %10s | %8s | %8s\n' "$verb" "$(gawk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", (b - a) / 1e9 }')" "$ok" "$failed"
	[ "$code" = 124 ] && die "$verb --all did not finish within $ALL_TIMEOUT s"
	[ "$code" = 0 ] || echo "  $verb --all exited with $code: $(tail -1 "$WORK/suture.err")"
done
