# Shared part of the seccomp tests: builds the sandboxed target's patch and
# starts targets under a filter, reporting how a killed target died.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

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
