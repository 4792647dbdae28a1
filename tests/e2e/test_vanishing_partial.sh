# One command is given two pids and one of them does not exist or exits
# meanwhile.  The other process is still patched, the failure is reported
# with its pid, and the command exits with EXIT_PARTIAL.
source "$(dirname "$0")/lib.sh"

# Seconds any suture command may take before it counts as hung.
COMMAND_LIMIT=8

# suture bounded by COMMAND_LIMIT (124 when hung), with its stderr kept.
suture_cmd() {
	timeout "$COMMAND_LIMIT" "$SUTURE" "$@" --insecure-skip-verify --journal "$JOURNAL"
}

# gone PID: true when the process has exited (reaped or zombie).
gone() {
	! alive "$1"
}

mkpatch --target "$T/busy" --object "$T/fix_busy.o" --replace busy_loop \
	--name fix-busy-loop -o "$WORK/loop.suture" >/dev/null
mkpatch --target "$T/busy" --object "$T/fix_busy.o" --replace short_callee \
	--name fix-short-callee -o "$WORK/callee.suture" >/dev/null

# A pid above pid_max can never exist.
missing=$(($(cat /proc/sys/kernel/pid_max) + 1))
start_target c "$T/busy"
expect_code 22 suture_cmd apply "$WORK/callee.suture" --pid "$PID_c" --pid "$missing"
expect_match "$(cat "$WORK/last")" "pid $PID_c \(busy\): applied fix-short-callee" "patched pid"
expect_match "$(cat "$WORK/last")" "no process with pid $missing" "missing pid"
expect_eq "$(ask c 'busy 3')" "busy 3 = 1003" "busy_loop, not in the patch"
expect_eq "$(peek "$PID_c" "$(func_addr "$PID_c" "$T/busy" short_callee)" 1)" e9 \
	"jump at short_callee in the patched process"

# The first process exits while the command waits for it; the second
# is still patched.
start_target d "$T/busy"
start_target e "$T/busy"
expect_match "$(ask d spin)" '^spin tid = [0-9]+$' "spin request"
expect_eq "$(ask d 'exit-after 300')" "exit in 300 ms" "exit request"
expect_code 22 suture_cmd apply "$WORK/loop.suture" --pid "$PID_d" --pid "$PID_e" --timeout 3
expect_match "$(cat "$WORK/last")" "process $PID_d .*exited" "vanished pid"
expect_match "$(cat "$WORK/last")" "pid $PID_e \(busy\): applied fix-busy-loop" "patched pid"
expect_eq "$(ask e 'busy 3')" "busy 3 = 2003" "busy_loop in the patched process"
gone "$PID_d" || fail "process $PID_d is still running"
alive "$PID_e" || fail "patched process died"
alive "$PID_c" || fail "patched process died"
