# A thread loops forever inside the function being replaced, next to an idle
# thread.  apply must give up after --timeout with EXIT_BUSY, naming the pid,
# the tid and the function, and leave the process untouched and running.
# With --allow-active the same apply succeeds and later calls run the new
# code.  A short callee that a thread calls in a tight loop is replaced
# within the budget, because the thread leaves it between calls.
source "$(dirname "$0")/lib.sh"

# sut without its stderr redirection, so expect_code keeps the error message.
suture_cmd() {
	"$SUTURE" "$@" --insecure-skip-verify --journal "$JOURNAL"
}

# Hash of every executable file mapping (the executable, libc, ld.so...).
snapshot_all_text() {
	gawk '$2 ~ /x/ && $6 ~ /^\// {print $1}' "/proc/$1/maps" |
		while IFS=- read -r lo hi; do
			peek "$1" $((16#$lo)) $((16#$hi - 16#$lo))
		done | md5sum
}

# The targets of the process's file descriptors that are suture memfds.
suture_fds() {
	local fd
	for fd in /proc/"$1"/fd/*; do
		readlink "$fd" || true
	done | grep "memfd:suture" || true
}

# The distinct TracerPid values of all threads.
tracers() {
	local status
	for status in /proc/"$1"/task/*/status; do
		gawk '/^TracerPid:/ {print $2}' "$status"
	done | sort -u
}

# The number after "spins = ".
spins() {
	local answer
	answer=$(ask app spins)
	echo "${answer#spins = }"
}

mkpatch --target "$T/busy" --object "$T/fix_busy.o" --replace busy_loop \
	--name fix-busy-loop -o "$WORK/loop.suture" >/dev/null
mkpatch --target "$T/busy" --object "$T/fix_busy.o" --replace short_callee \
	--name fix-short-callee -o "$WORK/callee.suture" >/dev/null

start_target app "$T/busy"
pid=$PID_app
answer=$(ask app spin)
expect_match "$answer" '^spin tid = [0-9]+$' "spin request"
tid=${answer#spin tid = }
[ -d "/proc/$pid/task/$tid" ] || fail "spinning thread $tid is not a thread of $pid"
expect_eq "$(ls "/proc/$pid/task" | wc -l)" 3 "threads: main, idle, spinning"
expect_eq "$(ask app 'busy 3')" "busy 3 = 1003" "busy_loop before apply"
site=$(func_addr "$pid" "$T/busy" busy_loop)
entry_before=$(peek "$pid" "$site" 16)
text_before=$(snapshot_all_text "$pid")

# Part 1: the spinning thread never leaves busy_loop, so the check never passes.
start_ns=$(date +%s%N)
expect_code 8 suture_cmd apply "$WORK/loop.suture" --pid "$pid" --timeout 1
elapsed_ms=$((($(date +%s%N) - start_ns) / 1000000))
message=$(cat "$WORK/last")
expect_match "$message" "process $pid thread $tid is executing busy_loop" "busy message"
# One line besides the warning about --insecure-skip-verify.
expect_eq "$(grep -cv 'WARNING: --insecure-skip-verify' "$WORK/last")" 1 "lines of the busy message"
[ "$elapsed_ms" -ge 900 ] || fail "apply gave up after $elapsed_ms ms, before its 1 s budget"
[ "$elapsed_ms" -lt 4000 ] || fail "apply took $elapsed_ms ms with a 1 s budget"

expect_eq "$(peek "$pid" "$site" 16)" "$entry_before" "busy_loop entry after the failed apply"
expect_eq "$(snapshot_all_text "$pid")" "$text_before" "executable mappings after the failed apply"
if grep -q "memfd:suture" "/proc/$pid/maps"; then
	fail "suture mapping left after the failed apply: $(grep "memfd:suture" "/proc/$pid/maps")"
fi
expect_eq "$(suture_fds "$pid")" "" "suture file descriptors left in the target"
expect_eq "$(tracers "$pid")" 0 "TracerPid of the threads after the failed apply"
first=$(spins)
sleep 0.1
second=$(spins)
[ "$second" -gt "$first" ] || fail "spin counter stuck at $first after the failed apply"
expect_eq "$(ask app 'busy 3')" "busy 3 = 1003" "busy_loop after the failed apply"
alive "$pid" || fail "target died after the failed apply"

# Part 2: --allow-active lets the spinning activation finish in the old code.
expect_code 0 sut apply "$WORK/loop.suture" --pid "$pid" --timeout 1 --allow-active
expect_match "$(cat "$WORK/last")" "pid $pid \(busy\): applied fix-busy-loop" "apply --allow-active"
expect_eq "$(ask app 'busy 3')" "busy 3 = 2003" "busy_loop called after apply --allow-active"
entry=$(peek "$pid" "$site" 1)
expect_eq "$entry" e9 "jump opcode at busy_loop"
first=$(spins)
sleep 0.1
second=$(spins)
[ "$second" -gt "$first" ] || fail "spin counter stuck at $first after apply --allow-active"
[ -d "/proc/$pid/task/$tid" ] || fail "spinning thread $tid is gone after apply --allow-active"

# The revert only has to wait for the new code, which no thread runs.
expect_code 0 sut revert "$WORK/loop.suture" --pid "$pid" --timeout 1
expect_eq "$(peek "$pid" "$site" 16)" "$entry_before" "busy_loop entry after revert"
expect_eq "$(ask app 'busy 3')" "busy 3 = 1003" "busy_loop after revert"
first=$(spins)
sleep 0.1
second=$(spins)
[ "$second" -gt "$first" ] || fail "spin counter stuck at $first after revert"

# Part 3: a thread calls short_callee(7) in a tight loop: 7 * 3 + 1 before,
# 7 * 5 + 1 after.
expect_eq "$(ask app callee)" "callee started" "callee request"
expect_match "$(ask app callee-result)" '^callee-result = 22 calls [0-9]+$' "callee before apply"
start_ns=$(date +%s%N)
expect_code 0 sut apply "$WORK/callee.suture" --pid "$pid" --timeout 5
elapsed_ms=$((($(date +%s%N) - start_ns) / 1000000))
expect_match "$(cat "$WORK/last")" "pid $pid \(busy\): applied fix-short-callee" "apply of the callee"
[ "$elapsed_ms" -lt 5000 ] || fail "apply of the callee took $elapsed_ms ms, its whole budget"
sleep 0.05
answer=$(ask app callee-result)
expect_match "$answer" '^callee-result = 36 calls [0-9]+$' "callee after apply"
calls=${answer##* }
sleep 0.1
answer=$(ask app callee-result)
[ "${answer##* }" -gt "$calls" ] || fail "callee thread stuck at $calls calls after apply"
alive "$pid" || fail "target died"
