# A thread whose stack contains a stale address inside the function being
# replaced (a local variable, not a return address) must not keep the patch
# out: the frames are walked exactly.  A thread really blocked inside a
# function being replaced still makes apply fail with EXIT_BUSY.
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
