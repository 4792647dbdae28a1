# 16 threads call malloc and free in a tight loop, taking the allocator's
# locks all the time, while a patch of the function that picks their sizes
# is applied and reverted 20 times.  suture must run none of the target's
# code, so no round may deadlock: every command finishes, and every thread's
# loop counter keeps advancing afterwards.
source "$(dirname "$0")/lib.sh"

ROUNDS=20
# Seconds one apply or revert may take before it counts as hung.
COMMAND_LIMIT=10

# suture bounded by COMMAND_LIMIT; a hung command exits with 124.
suture_bounded() {
	timeout "$COMMAND_LIMIT" "$SUTURE" "$@" --insecure-skip-verify --journal "$JOURNAL"
}

# The 16 loop counters, one per line.
counters() {
	local answer
	answer=$(ask app counts)
	expect_match "$answer" '^counts =( [0-9]+){16}$' "counts request"
	tr ' ' '\n' <<<"${answer#counts = }"
}

# check_advancing BEFORE AFTER WHEN: every counter in AFTER exceeds BEFORE.
check_advancing() {
	local i
	local -a before after
	mapfile -t before <<<"$1"
	mapfile -t after <<<"$2"
	for i in $(seq 0 15); do
		[ "${after[$i]}" -gt "${before[$i]}" ] ||
			fail "thread $i stopped allocating $3: counter ${before[$i]} -> ${after[$i]}"
	done
}

mkpatch --target "$T/storm" --object "$T/fix_storm.o" --replace pick_size \
	--name fix-storm -o "$WORK/fix.suture" >/dev/null
# Niceness 10 leaves CPU time for this script's own commands; the 16 threads
# still allocate whenever the script waits, and suture runs at niceness 0.
start_target app nice -n 10 "$T/storm"
pid=$PID_app
expect_eq "$(ls "/proc/$pid/task" | wc -l)" 17 "threads of the target"
# 16 + (5 * 7) % 200 before, 32 + (5 * 11) % 300 after.
expect_eq "$(ask app 'pick 5')" "pick 5 = 51" "pick_size before apply"
site=$(func_addr "$pid" "$T/storm" pick_size)
entry_before=$(peek "$pid" "$site" 16)
before=$(counters)
sleep 0.1
check_advancing "$before" "$(counters)" "before the first apply"

for round in $(seq 1 "$ROUNDS"); do
	expect_code 0 suture_bounded apply "$WORK/fix.suture" --pid "$pid"
	expect_eq "$(ask app 'pick 5')" "pick 5 = 87" "pick_size after apply $round"
	expect_code 0 suture_bounded revert "$WORK/fix.suture" --pid "$pid"
	expect_eq "$(ask app 'pick 5')" "pick 5 = 51" "pick_size after revert $round"
	now=$(counters)
	check_advancing "$before" "$now" "in round $round"
	before=$now
done

expect_eq "$(peek "$pid" "$site" 16)" "$entry_before" "pick_size entry after the last revert"
if grep -q "memfd:suture" "/proc/$pid/maps"; then
	fail "suture mapping left after the last revert"
fi
expect_eq "$(ls "/proc/$pid/task" | wc -l)" 17 "threads after $ROUNDS rounds"
for status in /proc/"$pid"/task/*/status; do
	expect_eq "$(gawk '/^TracerPid:/ {print $2}' "$status")" 0 "TracerPid in $status"
done
sleep 0.2
check_advancing "$before" "$(counters)" "after the last round"
alive "$pid" || fail "target died"
