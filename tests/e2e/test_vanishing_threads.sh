# Threads are created and exit all the time while a patch is applied and
# reverted.  Every command succeeds, the short-lived threads created later
# run the new code, and no thread is left stopped or traced.
source "$(dirname "$0")/lib.sh"

# Seconds any suture command may take before it counts as hung.
COMMAND_LIMIT=8

# suture bounded by COMMAND_LIMIT (124 when hung), with its stderr kept.
suture_cmd() {
	timeout "$COMMAND_LIMIT" "$SUTURE" "$@" --insecure-skip-verify --journal "$JOURNAL"
}

# check_threads_released PID WHEN: no thread is in a stop or traced.
check_threads_released() {
	local task state tracer
	for task in /proc/"$1"/task/*; do
		# Short-lived threads may exit between the listing and the read.
		state=$(sed 's/.*) \(.\).*/\1/' "$task/stat" 2>/dev/null) || continue
		tracer=$(gawk '/^TracerPid:/ {print $2}' "$task/status" 2>/dev/null) || continue
		case $state in
		t | T) fail "thread ${task##*/} is stopped (state $state) $2" ;;
		esac
		[ -z "$tracer" ] || [ "$tracer" = 0 ] || fail "thread ${task##*/} is traced by $tracer $2"
	done
}

mkpatch --target "$T/busy" --object "$T/fix_busy.o" --replace short_callee \
	--name fix-short-callee -o "$WORK/callee.suture" >/dev/null

# 4 threads each create and join a short-lived thread in a loop, and
# every short-lived thread calls short_callee(7): 22 before, 36 after.
start_target b "$T/busy"
expect_eq "$(ask b 'factory 4')" "factory 4 started" "factory request"
for round in 1 2 3 4 5; do
	expect_code 0 suture_cmd apply "$WORK/callee.suture" --pid "$PID_b" --timeout 5
	check_threads_released "$PID_b" "after apply $round"
	done_before=$(ask b factory-result | gawk '{print $5}')
	sleep 0.05
	answer=$(ask b factory-result)
	expect_match "$answer" '^factory-result = 36 threads [0-9]+$' "short-lived threads after apply $round"
	[ "$(gawk '{print $5}' <<<"$answer")" -gt "$done_before" ] ||
		fail "no short-lived thread finished after apply $round"

	expect_code 0 suture_cmd revert "$WORK/callee.suture" --pid "$PID_b" --timeout 5
	check_threads_released "$PID_b" "after revert $round"
	sleep 0.05
	expect_match "$(ask b factory-result)" '^factory-result = 22 threads [0-9]+$' \
		"short-lived threads after revert $round"
done
alive "$PID_b" || fail "factory process died"
