# A process with 100 extra threads blocked in pthread_cond_wait is patched
# and reverted: every thread is stopped and released, none dies or stays
# traced, and the behaviour changes and changes back.
source "$(dirname "$0")/lib.sh"

# The TracerPid of every thread, one per line.
tracers() {
	local status
	for status in /proc/"$1"/task/*/status; do
		gawk '/^TracerPid:/ {print $2}' "$status"
	done | sort -u
}

# The state letters of every thread, without duplicates.
thread_states() {
	local stat
	for stat in /proc/"$1"/task/*/stat; do
		sed 's/.*) \(.\).*/\1/' "$stat"
	done | sort -u | tr -d '\n'
}

mkpatch --target "$T/basic-pie" --object "$T/fix_basic.o" --replace compute \
	--name fix-basic -o "$WORK/fix.suture" >/dev/null
start_target app "$T/basic-pie"
pid=$PID_app
expect_eq "$(ask app 'threads 100')" "threads 100 started" "thread start"
expect_eq "$(ls "/proc/$pid/task" | wc -l)" 101 "threads before apply"
tids_before=$(ls "/proc/$pid/task" | sort)
site=$(func_addr "$pid" "$T/basic-pie" compute)
before=$(peek "$pid" "$site" 16)

expect_code 0 sut apply "$WORK/fix.suture" --pid "$pid" --json
expect_match "$(cat "$WORK/last")" "\"threads\":101" "threads stopped by apply"
expect_eq "$(ls "/proc/$pid/task" | sort)" "$tids_before" "threads after apply"
expect_eq "$(tracers "$pid")" 0 "TracerPid of the threads after apply"
expect_eq "$(thread_states "$pid")" S "thread states after apply"
expect_eq "$(ask app 'compute 5')" "compute 5 = 500" "after apply"

expect_code 0 sut revert "$WORK/fix.suture" --pid "$pid"
expect_eq "$(ls "/proc/$pid/task" | sort)" "$tids_before" "threads after revert"
expect_eq "$(tracers "$pid")" 0 "TracerPid of the threads after revert"
expect_eq "$(thread_states "$pid")" S "thread states after revert"
expect_eq "$(peek "$pid" "$site" 16)" "$before" "entry bytes after revert"
expect_eq "$(ask app 'compute 5')" "compute 5 = 6" "after revert"

# The idle threads still respond: more can be started next to them.
expect_eq "$(ask app 'threads 5')" "threads 5 started" "thread start after revert"
expect_eq "$(ls "/proc/$pid/task" | wc -l)" 106 "threads after revert"
alive "$pid" || fail "target died"
