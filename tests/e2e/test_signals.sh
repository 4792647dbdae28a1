# Signals sent while suture patches and unpatches a process are each
# delivered exactly once, and the process's signal mask is unchanged.
# SIGRTMIN+1 is a real-time signal: the kernel queues every one sent, so the
# target's count must equal the number sent.
source "$(dirname "$0")/lib.sh"

mkpatch --target "$T/signals" --object "$T/fix_basic.o" --replace compute \
	--name fix-signals -o "$WORK/fix.suture" >/dev/null
start_target app "$T/signals"
pid=$PID_app
mask_before=$(ask app mask)
sigblk_before=$(gawk '/^SigBlk/ {print $2}' "/proc/$pid/status")

ROUNDS=15
(
	for _ in $(seq 1 "$ROUNDS"); do
		sut apply "$WORK/fix.suture" --pid "$pid" >/dev/null || exit 1
		sut revert "$WORK/fix.suture" --pid "$pid" >/dev/null || exit 1
	done
) &
patcher=$!
# Send for as long as the patcher runs, so signals land in every step.
sent=0
while kill -0 "$patcher" 2>/dev/null; do
	kill -s RTMIN+1 "$pid"
	sent=$((sent + 1))
done
wait "$patcher" || fail "an apply or revert failed while signals arrived: $(grep -v WARNING "$WORK/suture.err" | tail -3)"
[ $sent -ge 50 ] || fail "only $sent signals were sent while patching"

# Let the last signals be handled, then compare.
for _ in $(seq 1 100); do
	[ "$(ask app count)" = "count $sent" ] && break
	sleep 0.02
done
expect_eq "$(ask app count)" "count $sent" "signals received"
expect_eq "$(ask app mask)" "$mask_before" "signal mask seen by the target"
expect_eq "$(gawk '/^SigBlk/ {print $2}' "/proc/$pid/status")" "$sigblk_before" "SigBlk in /proc"
expect_eq "$(ask app 'compute 5')" "compute 5 = 6" "after the last revert"
