# A thread runs a signal handler on an alternate signal stack, raised from
# inside the function being replaced.  The handler's frames are on one
# mapping and the replaced function's frame on the thread's own stack, so
# a scan of the current stack alone misses it.  apply must find the frame
# and give up with EXIT_BUSY, leaving the entry untouched.  Once the handler
# returns, the same apply succeeds and calls run the new code.
source "$(dirname "$0")/lib.sh"

suture_cmd() {
	"$SUTURE" "$@" --insecure-skip-verify --journal "$JOURNAL"
}

mkpatch --target "$T/altstack" --object "$T/fix_altstack.o" --replace raise_and_wait \
	--name fix-altstack -o "$WORK/fix.suture" >/dev/null

start_target app "$T/altstack"
pid=$PID_app
answer=$(ask app enter)
expect_match "$answer" '^worker tid = [0-9]+$' "enter request"
tid=${answer#worker tid = }
site=$(func_addr "$pid" "$T/altstack" raise_and_wait)
entry_before=$(peek "$pid" "$site" 16)

# Wait until the worker is blocked in read() inside its handler, on the
# alternate stack.
for _ in $(seq 1 250); do
	[ "$(cut -d' ' -f1 "/proc/$pid/task/$tid/syscall" 2>/dev/null)" = 0 ] && break
	sleep 0.02
done
expect_eq "$(cut -d' ' -f1 "/proc/$pid/task/$tid/syscall")" 0 "worker blocked in read"
sp=$(cut -d' ' -f8 "/proc/$pid/task/$tid/syscall")
stack_line=$(gawk -v sp=$((sp)) '{ split($1, r, "-");
	if (sp >= strtonum("0x" r[1]) && sp < strtonum("0x" r[2])) print }' "/proc/$pid/maps")
[ -n "$stack_line" ] || fail "worker's stack pointer $sp is in no mapping"
if grep -q '\[stack\]' <<<"$stack_line"; then
	fail "worker's handler runs on the main stack, not on its alternate stack"
fi

expect_code 8 suture_cmd apply "$WORK/fix.suture" --pid "$pid" --timeout 1
expect_match "$(cat "$WORK/last")" \
	"process $pid thread $tid is due to return into raise_and_wait" "busy message"
expect_eq "$(peek "$pid" "$site" 16)" "$entry_before" "entry after the refused apply"
alive "$pid" || fail "target died after the refused apply"

# After "release", the handler returns, raise_and_wait returns its old
# result and the worker waits in pause(), so the patch goes in.
echo release >&"$FD_app"
expect_eq "$(wait_line app '^worker result')" "worker result = 2" "result of the old code"
expect_code 0 suture_cmd apply "$WORK/fix.suture" --pid "$pid" --timeout 5
expect_eq "$(ask app 'call 5')" "call 5 = 105" "call after apply"
[ "$(peek "$pid" "$site" 16)" != "$entry_before" ] || fail "entry unchanged after apply"

expect_code 0 suture_cmd revert "$WORK/fix.suture" --pid "$pid"
expect_eq "$(peek "$pid" "$site" 16)" "$entry_before" "entry after revert"
expect_eq "$(ask app 'call 5')" "call 5 = 6" "call after revert"
echo "ok"
