# C++ unwinding through replaced code.  After the patch, an exception thrown
# by the new parse_value is caught by its caller in the old code.  A thread
# cancelled inside the new wait_step is joined with PTHREAD_CANCELED, after
# the destructors of local objects in the new code and in its caller ran.
# glibc's backtrace() taken in the new take_trace reaches main.  All of this
# needs the patch's unwind tables registered with the target's unwinder.
#
# Every check runs in its own target because a failed one usually kills the
# process (std::terminate), and each check first shows that the unpatched
# target passes it.
source "$(dirname "$0")/lib.sh"

PATCH=$WORK/fix.suture
mkpatch --target "$T/cxx-unwind" --object "$T/fix_cxx_unwind.o" --replace _Z11parse_valuei \
	--replace _Z9wait_stepv --replace _Z10take_tracePPvi --name fix-cxx-unwind \
	-o "$PATCH" >/dev/null

WATCHERS=()

# Stop the targets and wait for their watching subshells.
stop_watched() {
	local pid
	for pid in "${STARTED_PIDS[@]}"; do
		kill -9 "$pid" 2>/dev/null || true
	done
	for pid in "${WATCHERS[@]}"; do
		while kill -0 "$pid" 2>/dev/null; do sleep 0.02; done
	done
}
trap 'stop_watched; cleanup' EXIT

# start_watched NAME COMMAND...: like start_target, but a subshell waits for
# the target and writes its exit status to $WORK/NAME.status, so that a
# crash can be reported with its signal.
start_watched() {
	local name=$1 fd i
	shift
	mkfifo "$WORK/$name.in"
	(
		"$@" <"$WORK/$name.in" >"$WORK/$name.out" 2>&1 &
		echo $! >"$WORK/$name.pid"
		exec 2>/dev/null # no "Aborted" notice from this shell
		status=0
		wait $! || status=$?
		echo "$status" >"$WORK/$name.status"
	) &
	WATCHERS+=($!)
	disown $!
	exec {fd}>"$WORK/$name.in"
	for i in $(seq 1 250); do
		[ -s "$WORK/$name.pid" ] && break
		sleep 0.02
	done
	STARTED_PIDS+=("$(cat "$WORK/$name.pid")")
	printf -v "PID_$name" %s "$(cat "$WORK/$name.pid")"
	printf -v "FD_$name" %s "$fd"
	wait_line "$name" '^ready' >/dev/null
}

# death_report NAME: how the target ended, and its last output lines.
death_report() {
	local name=$1 status i
	for i in $(seq 1 50); do
		[ -s "$WORK/$name.status" ] && break
		sleep 0.02
	done
	status=$(cat "$WORK/$name.status" 2>/dev/null || echo unknown)
	if [[ $status =~ ^[0-9]+$ ]] && [ "$status" -gt 128 ]; then
		echo -n "killed by SIG$(kill -l $((status - 128)))"
	else
		echo -n "exited with status $status"
	fi
	echo "; last output: $(tail -2 "$WORK/$name.out" | tr '\n' '|')"
}

# ask_watched NAME REQUEST: prints the reply line, or fails early with the
# way the target died.
ask_watched() {
	local name=$1 request=$2 fdvar=FD_$1 pidvar=PID_$1 before i
	before=$(wc -l <"$WORK/$name.out")
	echo "$request" >&"${!fdvar}"
	for i in $(seq 1 250); do
		if [ "$(wc -l <"$WORK/$name.out")" -gt "$before" ]; then
			sed -n "$((before + 1))p" "$WORK/$name.out"
			return 0
		fi
		if ! alive "${!pidvar}"; then
			fail "target died on '$request': $(death_report "$name")"
		fi
		sleep 0.02
	done
	fail "$name did not reply to '$request'"
}

# expect_reply NAME REQUEST PATTERN LABEL: the reply matches PATTERN (an
# extended regular expression) and the target is still alive.
expect_reply() {
	local name=$1 request=$2 pattern=$3 label=$4 reply pidvar=PID_$1
	reply=$(ask_watched "$name" "$request")
	sleep 0.1 # let a crash that follows the first output line happen
	alive "${!pidvar}" || fail "$label: target died after replying '$reply': $(death_report "$name")"
	expect_match "$reply" "$pattern" "$label"
}

# check_unwinding LABEL REQUEST OLD_PATTERN NEW_PATTERN: the replies to
# REQUEST match OLD_PATTERN before apply, NEW_PATTERN after apply, and
# OLD_PATTERN again after revert.
check_unwinding() {
	local label=$1 request=$2 old_pattern=$3 new_pattern=$4 name pid
	name=t$((target_number + 1))
	start_watched "$name" "$T/cxx-unwind"
	pid=$(cat "$WORK/$name.pid")
	expect_reply "$name" "$request" "$old_pattern" "$label, before apply"

	expect_code 0 sut apply "$PATCH" --pid "$pid"
	expect_reply "$name" 'parse 5' '^parse 5 = 15$' "$label, new code runs"
	expect_reply "$name" "$request" "$new_pattern" "$label, after apply"

	expect_code 0 sut revert "$PATCH" --pid "$pid"
	expect_reply "$name" "$request" "$old_pattern" "$label, after revert"
	echo "$label: passed"
}

FAILED_CHECKS=()
target_number=0
# run_check LABEL ARGS...: one check in a subshell, so a failure does not
# hide the others.
run_check() {
	local label=$1 status
	set +e
	(
		set -e
		trap stop_watched EXIT
		check_unwinding "$@"
	)
	status=$?
	set -e
	target_number=$((target_number + 1))
	[ "$status" = 0 ] || FAILED_CHECKS+=("$label")
}

run_check "new exception type caught" 'parse 200' \
	'^parse 200 = 400$' \
	'^parse 200 caught St12out_of_range: patched: above 100$'
run_check "same exception type caught" 'parse -1' \
	'^parse -1 caught St16invalid_argument: negative$' \
	'^parse -1 caught St16invalid_argument: patched: negative$'
run_check "backtrace reaches main" trace \
	'^trace [0-9]+ frames, reaches main yes$' \
	'^trace [0-9]+ frames, reaches main yes$'
run_check "thread cancelled in new code" cancel \
	'^cancel joined PTHREAD_CANCELED, destructors in wait_step 1, in step_loop 1$' \
	'^cancel joined PTHREAD_CANCELED, destructors in wait_step 1, in step_loop 1$'

if [ ${#FAILED_CHECKS[@]} -gt 0 ]; then
	printf 'failed check: %s\n' "${FAILED_CHECKS[@]}"
	exit 1
fi
