# A thread whose stack contains a stale address inside the function being
# replaced (a local variable, not a return address) must not keep the patch
# out: the frames are walked exactly.  A thread really blocked inside a
# function being replaced still makes apply fail with EXIT_BUSY.  The
# second target has 300 more threads, so that two threads of suture scan
# the stacks, and the blocked thread, started last, is in the second half.
# The third target checks revert: a thread inside the new code keeps the
# patch mapped, and the message does not offer --allow-active.
source "$(dirname "$0")/lib.sh"

mkpatch --target "$T/stale" --object "$T/fix_stale.o" --replace compute \
	--name fix-compute -o "$WORK/compute.suture" >/dev/null
mkpatch --target "$T/stale" --object "$T/fix_stale.o" --replace waiter \
	--name fix-waiter -o "$WORK/waiter.suture" >/dev/null
start_target app "$T/stale"
pid=$PID_app

expect_code 0 sut apply "$WORK/compute.suture" --pid "$pid" --timeout 2
expect_eq "$(ask app 'compute 5')" "compute 5 = 500" "compute after apply"

expect_eq "$(ask app 'wait')" "waiting" "waiter thread started"
expect_code 8 sut apply "$WORK/waiter.suture" --pid "$pid" --timeout 1
expect_match "$(cat "$WORK/suture.err")" "is due to return into waiter" "busy message"
grep -q "memfd:suture:fix-waiter" "/proc/$pid/maps" && fail "the refused patch stayed mapped"
alive "$pid" || fail "target died"
expect_eq "$(ask app 'compute 7')" "compute 7 = 700" "compute still patched"

# The same with 300 sleeping threads between the stale thread and the waiter.
start_target big "$T/stale"
pid=$PID_big
expect_eq "$(ask big 'threads 300')" "threads 300 started" "sleeping threads"
expect_code 0 sut apply "$WORK/compute.suture" --pid "$pid" --timeout 2
expect_eq "$(ask big 'compute 5')" "compute 5 = 500" "compute after apply, 302 threads"
expect_eq "$(ask big 'wait')" "waiting" "waiter thread started, 303 threads"
waiter_tid=$(ls "/proc/$pid/task" | sort -n | tail -1)
: >"$WORK/suture.err"
expect_code 8 sut apply "$WORK/waiter.suture" --pid "$pid" --timeout 1
expect_match "$(cat "$WORK/suture.err")" "thread $waiter_tid is due to return into waiter" \
	"busy message, 303 threads"
grep -q "memfd:suture:fix-waiter" "/proc/$pid/maps" && fail "the refused patch stayed mapped"
alive "$pid" || fail "target with 303 threads died"
expect_eq "$(ask big 'compute 7')" "compute 7 = 700" "compute still patched, 303 threads"

# revert while a thread is inside the new code.
mkpatch --target "$T/stale" --object "$T/fix_waiter_sleeps.o" --replace waiter \
	--name waiter-sleeps -o "$WORK/sleeps.suture" >/dev/null
start_target third "$T/stale"
pid=$PID_third
expect_code 0 sut apply "$WORK/sleeps.suture" --pid "$pid" --timeout 2
expect_eq "$(ask third 'wait')" "waiting" "waiter thread in the new code"
: >"$WORK/suture.err"
expect_code 8 "$SUTURE" revert "$WORK/sleeps.suture" --pid "$pid" --timeout 0.5 \
	--insecure-skip-verify --journal "$JOURNAL"
expect_match "$(cat "$WORK/last")" "is due to return into waiter.*retry later or raise --timeout" \
	"revert busy message"
grep -q -- --allow-active "$WORK/last" && fail "revert suggests --allow-active: $(cat "$WORK/last")"
grep -q "memfd:suture:waiter-sleeps" "/proc/$pid/maps" || fail "the busy revert unmapped the new code"
alive "$pid" || fail "target died after the busy revert"
expect_eq "$(ask third 'compute 4')" "compute 4 = 5" "compute after the busy revert"
