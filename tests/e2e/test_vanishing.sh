# A process exits while apply waits for a busy function to become safe to
# replace.  apply must report EXIT_VANISHED naming the pid soon after the
# exit, well within its --timeout, and must not hang.
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

# busy_loop never becomes safe to replace, and the process exits after
# 500 ms of the 3 s budget.
start_target a "$T/busy"
expect_match "$(ask a spin)" '^spin tid = [0-9]+$' "spin request"
expect_eq "$(ask a 'exit-after 500')" "exit in 500 ms" "exit request"
start_ns=$(date +%s%N)
expect_code 9 suture_cmd apply "$WORK/loop.suture" --pid "$PID_a" --timeout 3
elapsed_ms=$((($(date +%s%N) - start_ns) / 1000000))
message=$(grep -v 'WARNING: --insecure-skip-verify' "$WORK/last")
expect_match "$message" "process $PID_a" "vanished message"
expect_match "$message" "exited" "vanished message"
[ "$elapsed_ms" -lt 2000 ] || fail "apply took $elapsed_ms ms to notice an exit after 500 ms"
gone "$PID_a" || fail "process $PID_a is still running"
