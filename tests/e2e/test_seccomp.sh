# Targets under seccomp filters.  A filter that kills on mprotect with
# PROT_EXEC, or on memory both writable and executable, must not stop the
# patch: suture maps each part with its final protections and never calls
# mprotect.  A filter that forbids a call suture needs (memfd_create, mmap
# with PROT_EXEC), whatever its action, must make apply fail with
# EXIT_SECCOMP and a message naming the call, and leave the target untouched.
# In no case may the target be killed.
source "$(dirname "$0")/lib.sh"

EXIT_SECCOMP=17

mkpatch --target "$T/sandboxed" --object "$T/fix_sandboxed.o" --replace compute \
	--replace greeting --name fix-sandboxed -o "$WORK/fix.suture" >/dev/null

WATCHERS=()

# Stop the targets and their watching subshells before lib.sh removes $WORK.
cleanup_sandboxed() {
	local pid
	for pid in "${STARTED_PIDS[@]}"; do
		kill -9 "$pid" 2>/dev/null || true
	done
	for pid in "${WATCHERS[@]}"; do
		while kill -0 "$pid" 2>/dev/null; do sleep 0.02; done
	done
	cleanup
}
trap cleanup_sandboxed EXIT

# start_sandboxed NAME MODE: like start_target, but a subshell waits for the
# target and writes its exit status to $WORK/NAME.status, so that a killed
# target can be reported with its signal.
start_sandboxed() {
	local name=$1 mode=$2
	mkfifo "$WORK/$name.in"
	(
		"$T/sandboxed" "$mode" <"$WORK/$name.in" >"$WORK/$name.out" 2>&1 &
		echo $! >"$WORK/$name.pid"
		exec 2>/dev/null # no "Killed" notice from this shell
		status=0
		wait $! || status=$?
		echo "$status" >"$WORK/$name.status"
	) &
	WATCHERS+=($!)
	disown $!
	local fd i
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

# expect_alive NAME WHEN: fails with the target's exit status or signal if it died.
expect_alive() {
	local name=$1 when=$2 pid status i
	pid=$(cat "$WORK/$name.pid")
	alive "$pid" && return 0
	for i in $(seq 1 50); do
		[ -s "$WORK/$name.status" ] && break
		sleep 0.02
	done
	status=$(cat "$WORK/$name.status" 2>/dev/null || echo unknown)
	if [[ $status =~ ^[0-9]+$ ]] && [ "$status" -gt 128 ]; then
		fail "$name (pid $pid) was killed by SIG$(kill -l $((status - 128))) $when"
	fi
	fail "$name (pid $pid) exited with status $status $when"
}

# run_suture VERB ARGS...: sets CODE, OUT and ERR.
run_suture() {
	local verb=$1
	shift
	CODE=0
	"$SUTURE" "$verb" "$@" --insecure-skip-verify --journal "$JOURNAL" \
		>"$WORK/run.out" 2>"$WORK/run.err" || CODE=$?
	OUT=$(cat "$WORK/run.out")
	ERR=$(grep -v 'WARNING: --insecure-skip-verify' "$WORK/run.err" || true)
}

# expect_filter_in_force NAME PID MODE: the forbidden call fails in a child.
expect_filter_in_force() {
	local name=$1 pid=$2 mode=$3 want="probe killed by signal 31"
	[ "$mode" = memfd-errno ] && want="probe exited with status 101" # 100 + EPERM
	expect_eq "$(gawk '$1=="Seccomp:" {print $2}' "/proc/$pid/status")" 2 "$name seccomp mode"
	expect_eq "$(ask "$name" probe)" "$want" "$name: forbidden call in a child of the target"
}

expect_no_wx_mapping() {
	local line
	line=$(gawk '$2 ~ /^.wx/' "/proc/$1/maps")
	[ -z "$line" ] || fail "$2: mapping both writable and executable: $line"
}

expect_threads_released() {
	local pid=$1 task state tracer
	for task in /proc/"$pid"/task/*; do
		state=$(sed 's/.*) //' "$task/stat" | cut -d' ' -f1)
		[[ $state == [tT] ]] && fail "thread ${task##*/} of $pid is stopped ($state)"
		tracer=$(gawk '$1=="TracerPid:" {print $2}' "$task/status")
		expect_eq "$tracer" 0 "TracerPid of thread ${task##*/}"
	done
	return 0
}

expect_no_memfd() {
	local fd
	for fd in /proc/"$1"/fd/*; do
		if readlink "$fd" | grep -q '^/memfd:suture:'; then
			fail "descriptor ${fd##*/} of $1 is suture's memfd: $(readlink "$fd")"
		fi
	done
	return 0
}

# A filter that allows what suture does: apply and revert work.
check_allowed() {
	local mode=$1 name=${1//-/_}
	start_sandboxed "$name" "$mode"
	local pid
	pid=$(cat "$WORK/$name.pid")
	expect_filter_in_force "$name" "$pid" "$mode"
	expect_no_wx_mapping "$pid" "$mode: before apply"
	expect_eq "$(ask "$name" 'compute 5')" "compute 5 = 6" "$mode: before apply"

	run_suture apply "$WORK/fix.suture" --pid "$pid"
	expect_alive "$name" "by apply under the $mode filter"
	[ "$CODE" = 0 ] || fail "$mode: apply failed with exit code $CODE: $ERR"
	expect_eq "$(ask "$name" 'compute 5')" "compute 5 = 500" "$mode: after apply"
	expect_eq "$(ask "$name" greeting)" "greeting = patched hello" "$mode: after apply"
	expect_match "$(gawk '$6 ~ /^\/memfd:suture:/ {print $2}' "/proc/$pid/maps" | sort -u | tr '\n' ' ')" \
		'r-xp' "$mode: protections of suture's mappings"
	expect_no_wx_mapping "$pid" "$mode: after apply"
	expect_threads_released "$pid"

	run_suture revert "$WORK/fix.suture" --pid "$pid"
	expect_alive "$name" "by revert under the $mode filter"
	[ "$CODE" = 0 ] || fail "$mode: revert failed with exit code $CODE: $ERR"
	expect_eq "$(ask "$name" 'compute 5')" "compute 5 = 6" "$mode: after revert"
	grep -q "memfd:suture" "/proc/$pid/maps" && fail "$mode: suture mapping left after revert"
	expect_no_wx_mapping "$pid" "$mode: after revert"
	expect_filter_in_force "$name" "$pid" "$mode"
	echo "$mode: applied and reverted"
}

# A filter that forbids a call suture needs: refused, target untouched.
check_refused() {
	local mode=$1 call=$2 name=${1//-/_}
	start_sandboxed "$name" "$mode"
	local pid
	pid=$(cat "$WORK/$name.pid")
	expect_filter_in_force "$name" "$pid" "$mode"
	local text_before maps_before
	text_before=$(snapshot_text "$pid" "$T/sandboxed")
	maps_before=$(cat "/proc/$pid/maps")

	run_suture apply "$WORK/fix.suture" --pid "$pid"
	expect_alive "$name" "by apply under the $mode filter (exit code of apply $CODE: $ERR)"
	if [ "$CODE" = 0 ]; then
		# Allowed by the case: a path the filter permits.
		expect_eq "$(ask "$name" 'compute 5')" "compute 5 = 500" "$mode: after apply"
		echo "$mode: applied"
		return 0
	fi
	expect_eq "$CODE" "$EXIT_SECCOMP" "$mode: exit code of the refused apply ($ERR)"
	expect_match "$ERR" "seccomp" "$mode: error message"
	expect_match "$ERR" "$call" "$mode: error message"
	expect_match "$ERR" "process $pid" "$mode: error message"
	expect_eq "$(snapshot_text "$pid" "$T/sandboxed")" "$text_before" "$mode: text after refusal"
	expect_eq "$(cat "/proc/$pid/maps")" "$maps_before" "$mode: mappings after refusal"
	expect_no_memfd "$pid"
	expect_threads_released "$pid"
	expect_eq "$(ask "$name" 'compute 5')" "compute 5 = 6" "$mode: after refusal"
	expect_filter_in_force "$name" "$pid" "$mode"
	echo "$mode: refused: $ERR"
}

check_allowed mprotect-exec
check_allowed wx
check_refused mmap-exec 'mmap with PROT_EXEC'
check_refused memfd-kill memfd_create
check_refused memfd-errno memfd_create
check_refused memfd-trap memfd_create
