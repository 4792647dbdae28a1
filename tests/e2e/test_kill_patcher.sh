# suture is killed with SIGKILL (SUTURE_TEST_FAULT) at every fault point of
# apply and revert, found by reading the sources.  After each kill the target
# runs on, untraced and never half-switched, and the next `suture status` or
# `suture apply`/`revert` reports the interrupted change on a "recovery:" line
# and completes it or rolls it back.  At the end the patch is applied exactly
# once, or after revert the text equals the file again.  No suture memfd
# descriptor is left behind.
#
# KILL_PATCH_FUNCTIONS names the replaced functions: "compute" here, and
# "compute greeting" in test_kill_patcher_two.sh, which sources this file.
source "$(dirname "$0")/lib.sh"

FUNCTIONS=${KILL_PATCH_FUNCTIONS:-compute}
PATCH=$WORK/fix.suture
EXIT_STATE=16

replace_args=()
for f in $FUNCTIONS; do replace_args+=(--replace "$f"); done
mkpatch --target "$T/worker" --object "$T/fix_worker.o" "${replace_args[@]}" \
	--name fix-worker -o "$PATCH" >/dev/null

# Every fault point in the sources.  Each is tried in apply and in revert.  A
# point that a scenario never reaches lets suture finish normally there, but
# every point must be reached by at least one scenario.
POINTS=()
while read -r point; do
	POINTS+=("$point")
done < <(grep -rhoE 'fault_point\("[^"]+"\)' "$ROOT/src" | sed -E 's/^fault_point\("(.*)"\)$/\1/' |
	sort -u)
[ ${#POINTS[@]} -ge 5 ] || fail "found only ${#POINTS[@]} fault points in $ROOT/src"
NOT_REACHED=3 # exit status of a case whose point its scenario does not reach

# Points where the killed suture has not yet changed the target, or has
# already finished: the next command has nothing to recover.
NOTHING_LEFT_APPLY=" seized load-stopped applied "
NOTHING_LEFT_REVERT=" seized "

# text_md5 PID FILE SOURCE: md5 of FILE's executable mappings in PID, read
# from the process memory (SOURCE=mem) or from the file (SOURCE=file).
text_md5() {
	local pid=$1 file=$2 source=$3 real lo hi off
	real=$(readlink -f "$file")
	gawk -v p="$real" '$6==p && $2 ~ /x/ {split($1, a, "-"); print a[1], a[2], $3}' \
		"/proc/$pid/maps" |
		while read -r lo hi off; do
			if [ "$source" = mem ]; then
				peek "$pid" $((16#$lo)) $((16#$hi - 16#$lo))
			else
				dd if="$real" bs=4096 skip=$((16#$off)) count=$((16#$hi - 16#$lo)) \
					iflag=skip_bytes,count_bytes 2>/dev/null | od -An -tx1 -v | tr -d ' \n'
			fi
		done | md5sum
}

# expect_released PID: within 1 s no thread is stopped or traced.
expect_released() {
	local pid=$1 i task state tracer stuck
	for i in $(seq 1 50); do
		stuck=""
		for task in /proc/"$pid"/task/*; do
			state=$(sed 's/.*) //' "$task/stat" | cut -d' ' -f1)
			tracer=$(gawk '$1=="TracerPid:" {print $2}' "$task/status")
			if [[ $state == [tT] ]] || [ "$tracer" != 0 ]; then
				stuck+=" ${task##*/}:$state:tracer=$tracer"
			fi
		done
		[ -z "$stuck" ] && return 0
		sleep 0.02
	done
	fail "threads of $pid still stopped or traced after 1 s:$stuck"
}

memfd_descriptors() {
	local fd
	for fd in /proc/"$1"/fd/*; do
		readlink "$fd" | grep '^/memfd:suture:' || true
	done
}

expect_no_memfd() {
	local left
	left=$(memfd_descriptors "$1")
	[ -z "$left" ] || fail "suture memfd descriptor left in $1: $left"
}

# expect_caller_running NAME: the thread calling compute() advances, and every
# result it saw came from the old or the new version.
expect_caller_running() {
	local name=$1 first second i
	first=$(ask "$name" stats)
	for i in $(seq 1 50); do
		second=$(ask "$name" stats)
		[ "$second" != "$first" ] && break
		sleep 0.02
	done
	[ "$second" != "$first" ] || fail "caller thread of $name stopped advancing: $second"
	expect_match "$second" ' bad 0$' "results seen by the caller thread"
}

# behaviour NAME: "old" or "new" when every replaced function agrees, else
# the mix, e.g. "compute=new greeting=old".
behaviour() {
	local name=$1 f answer kinds="" summary=""
	for f in $FUNCTIONS; do
		case $f in
		compute) answer=$(ask "$name" 'compute 5') ;;
		greeting) answer=$(ask "$name" greeting) ;;
		esac
		case $answer in
		"compute 5 = 6" | "greeting = hello") kinds+=" old" summary+=" $f=old" ;;
		"compute 5 = 500" | "greeting = patched hello") kinds+=" new" summary+=" $f=new" ;;
		*) fail "unexpected reply from $name: $answer" ;;
		esac
	done
	if [[ $kinds != *old* ]]; then
		echo new
	elif [[ $kinds != *new* ]]; then
		echo old
	else
		echo "${summary# }"
	fi
}

# Describe the target's entry bytes, mapping and descriptors between the kill and the recovery.
describe_leftovers() {
	local pid=$1 f entry entries="" mapping=no memfd=no
	for f in $FUNCTIONS; do
		entry=$(peek "$pid" "$(func_addr "$pid" "$T/worker" "$f")" 1)
		[ "$entry" = e9 ] && entry=jump
		entries+="$f entry $entry, "
	done
	grep -q '/memfd:suture:' "/proc/$pid/maps" && mapping=yes
	[ -n "$(memfd_descriptors "$pid")" ] && memfd=yes
	echo "${entries}patch mapping $mapping, memfd descriptor $memfd"
}

patch_count() {
	"$SUTURE" status --pid "$1" 2>/dev/null | gawk -v p="$1" '$1=="pid" && $2==p {print $4}'
}

# expect_recovery_report OUTPUT POINT NOTHING_LEFT: a "recovery:" line exactly
# when the killed suture left something behind.
expect_recovery_report() {
	local output=$1 point=$2 nothing_left=$3
	if [[ $nothing_left == *" $point "* ]]; then
		if grep -q 'recovery:' <<<"$output"; then
			fail "recovery reported after a kill at '$point', where nothing was left: $output"
		fi
	else
		expect_match "$output" 'recovery: ' "report after a kill at '$point'"
	fi
}

# start_worker NAME: a worker with 4 idle threads and a running caller thread.
start_worker() {
	start_target "$1" "$T/worker"
	expect_eq "$(ask "$1" 'threads 4')" "threads 4 started" "idle threads"
	expect_caller_running "$1"
}

# kill_apply_at POINT RECOVER_WITH (status or apply)
kill_apply_at() {
	local point=$1 recover_with=$2 name=w pid between output code
	start_worker "$name"
	pid=$PID_w
	expect_eq "$(text_md5 "$pid" "$T/worker" mem)" "$(text_md5 "$pid" "$T/worker" file)" \
		"text before apply"

	code=0
	SUTURE_TEST_FAULT=$point sut apply "$PATCH" --pid "$pid" >"$WORK/last" 2>&1 || code=$?
	if [ "$code" = 0 ]; then
		expect_code 0 sut revert "$PATCH" --pid "$pid"
		return $NOT_REACHED
	fi
	[ "$code" = 137 ] || fail "apply with fault point '$point' exited with $code, not 137 (SIGKILL)"
	expect_released "$pid"
	alive "$pid" || fail "target died after suture was killed at '$point'"
	between=$(behaviour "$name")
	echo "apply killed at $point: behaviour $between; $(describe_leftovers "$pid")"
	[[ $between == old || $between == new ]] ||
		fail "half-switched after suture was killed at '$point': $between"
	expect_caller_running "$name"

	if [ "$recover_with" = status ]; then
		output=$("$SUTURE" status --pid "$pid" 2>&1)
		expect_recovery_report "$output" "$point" "$NOTHING_LEFT_APPLY"
		echo "  status: $(grep 'recovery:' <<<"$output" || echo 'no recovery line')"
		expect_released "$pid"
	fi
	code=0
	sut apply "$PATCH" --pid "$pid" >"$WORK/last" 2>&1 || code=$?
	output=$(cat "$WORK/last")
	[ "$code" = 0 ] || [ "$code" = "$EXIT_STATE" ] ||
		fail "apply after a kill at '$point' exited with $code: $output $(tail -1 "$WORK/suture.err")"
	if [ "$recover_with" = apply ]; then
		expect_recovery_report "$output" "$point" "$NOTHING_LEFT_APPLY"
		echo "  apply: $(grep 'recovery:' <<<"$output" || echo 'no recovery line')"
	fi

	expect_released "$pid"
	expect_eq "$(patch_count "$pid")" 1 "patches in $pid after recovery and apply"
	expect_match "$("$SUTURE" status --pid "$pid" 2>&1)" "fix-worker .* applied" "status"
	expect_eq "$(grep -c 'recovery:' <<<"$("$SUTURE" status --pid "$pid" 2>&1)")" 0 \
		"recovery lines in a second status"
	expect_eq "$(behaviour "$name")" new "behaviour after recovery and apply"
	expect_no_memfd "$pid"
	expect_caller_running "$name"

	expect_code 0 sut revert "$PATCH" --pid "$pid"
	expect_eq "$(text_md5 "$pid" "$T/worker" mem)" "$(text_md5 "$pid" "$T/worker" file)" \
		"text after the final revert"
	grep -q '/memfd:suture:' "/proc/$pid/maps" && fail "suture mapping left after the final revert"
	expect_eq "$(behaviour "$name")" old "behaviour after the final revert"
	expect_released "$pid"
	return 0
}

# kill_revert_at POINT RECOVER_WITH (status or revert)
kill_revert_at() {
	local point=$1 recover_with=$2 name=w pid between output code
	start_worker "$name"
	pid=$PID_w
	expect_code 0 sut apply "$PATCH" --pid "$pid"
	expect_eq "$(behaviour "$name")" new "behaviour after apply"

	code=0
	SUTURE_TEST_FAULT=$point sut revert "$PATCH" --pid "$pid" >"$WORK/last" 2>&1 || code=$?
	[ "$code" = 0 ] && return $NOT_REACHED
	[ "$code" = 137 ] || fail "revert with fault point '$point' exited with $code, not 137 (SIGKILL)"
	expect_released "$pid"
	alive "$pid" || fail "target died after suture was killed at '$point'"
	between=$(behaviour "$name")
	echo "revert killed at $point: behaviour $between; $(describe_leftovers "$pid")"
	[[ $between == old || $between == new ]] ||
		fail "half-switched after suture was killed at '$point': $between"
	expect_caller_running "$name"

	if [ "$recover_with" = status ]; then
		output=$("$SUTURE" status --pid "$pid" 2>&1)
		expect_recovery_report "$output" "$point" "$NOTHING_LEFT_REVERT"
		echo "  status: $(grep 'recovery:' <<<"$output" || echo 'no recovery line')"
		expect_released "$pid"
	fi
	code=0
	sut revert "$PATCH" --pid "$pid" >"$WORK/last" 2>&1 || code=$?
	output=$(cat "$WORK/last")
	[ "$code" = 0 ] || [ "$code" = "$EXIT_STATE" ] ||
		fail "revert after a kill at '$point' exited with $code: $output $(tail -1 "$WORK/suture.err")"
	if [ "$recover_with" = revert ]; then
		expect_recovery_report "$output" "$point" "$NOTHING_LEFT_REVERT"
		echo "  revert: $(grep 'recovery:' <<<"$output" || echo 'no recovery line')"
	fi

	expect_released "$pid"
	expect_eq "$(text_md5 "$pid" "$T/worker" mem)" "$(text_md5 "$pid" "$T/worker" file)" \
		"text after recovery and revert"
	grep -q '/memfd:suture:' "/proc/$pid/maps" && fail "suture mapping left after revert"
	expect_eq "$(patch_count "$pid")" 0 "patches in $pid after recovery and revert"
	expect_eq "$(behaviour "$name")" old "behaviour after recovery and revert"
	expect_no_memfd "$pid"
	expect_caller_running "$name"
	return 0
}

# Each case runs in a subshell with its own FIFO names and kills its own
# target, so one failing case does not hide the others.
stop_case_targets() {
	local pid
	for pid in "${STARTED_PIDS[@]}"; do
		kill -9 "$pid" 2>/dev/null || true
	done
}

FAILED_CASES=()
REACHED=" "
case_number=0
# run_case POINT LABEL FUNCTION ARGS...
run_case() {
	local point=$1 label=$2 status
	shift 2
	case_number=$((case_number + 1))
	set +e
	(
		set -e
		trap stop_case_targets EXIT
		WORK=$WORK/case$case_number
		mkdir -p "$WORK"
		JOURNAL=$WORK/journal.jsonl
		"$@"
	)
	status=$?
	set -e
	if [ "$status" = "$NOT_REACHED" ]; then
		echo "$label: fault point not reached"
		return 0
	fi
	REACHED+="$point "
	[ "$status" = 0 ] || FAILED_CASES+=("$label")
}

for point in "${POINTS[@]}"; do
	run_case "$point" "apply killed at $point, recovered by status" kill_apply_at "$point" status
	run_case "$point" "apply killed at $point, recovered by apply" kill_apply_at "$point" apply
	run_case "$point" "revert killed at $point, recovered by status" kill_revert_at "$point" status
	run_case "$point" "revert killed at $point, recovered by revert" kill_revert_at "$point" revert
done
for point in "${POINTS[@]}"; do
	[[ $REACHED == *" $point "* ]] || FAILED_CASES+=("fault point $point reached by no scenario")
done

echo "$case_number cases, ${#FAILED_CASES[@]} failed (functions: $FUNCTIONS)"
if [ ${#FAILED_CASES[@]} -gt 0 ]; then
	printf 'failed case: %s\n' "${FAILED_CASES[@]}"
	exit 1
fi
