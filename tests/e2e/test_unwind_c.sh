# Unwinding through replaced C code.  In a program built with -fexceptions,
# which loads libgcc_s at start, a thread cancelled inside the new
# wait_step is joined with PTHREAD_CANCELED after its cleanup handler ran,
# which takes unwinding through the new code, and backtrace() in the new
# take_trace reaches main.  A program built without it has not loaded
# libgcc_s when the patch is applied: apply says (with -v) that the table
# is not registered, cancellation still runs the handler (glibc then
# reaches it with longjmp), and backtrace() stops at the new code.
source "$(dirname "$0")/lib.sh"

# patch_for EXE OUT: a patch of wait_step and take_trace for EXE.
patch_for() {
	mkpatch --target "$1" --object "$T/fix_unwind_c.o" --replace wait_step \
		--replace take_trace --name fix-unwind-c -o "$2" >/dev/null
}

has_libgcc() {
	grep -q 'libgcc_s\.so' "/proc/$1/maps"
}

exe=$T/unwind-c
patch_for "$exe" "$WORK/fix.suture"
start_target app "$exe"
pid=$PID_app
has_libgcc "$pid" || fail "unwind-c should load libgcc_s at start"
expect_eq "$(ask app cancel)" "cancel joined PTHREAD_CANCELED, handler ran 1" "before apply"
expect_match "$(ask app trace)" "^trace [0-9]+ frames, reaches main yes$" "before apply"

expect_code 0 sut apply "$WORK/fix.suture" --pid "$pid"
expect_eq "$(ask app step)" "step +2" "new code runs"
expect_eq "$(ask app cancel)" "cancel joined PTHREAD_CANCELED, handler ran 1" \
	"thread cancelled inside the new code"
expect_match "$(ask app trace)" "^trace [0-9]+ frames, reaches main yes$" \
	"backtrace from the new code"
# Every unwind above went through the table in the patch mapping.
grep -q 'memfd:suture:fix-unwind-c' "/proc/$pid/maps" || fail "no patch mapping"

expect_code 0 sut revert "$WORK/fix.suture" --pid "$pid"
expect_eq "$(ask app step)" "step +1" "old code after revert"
expect_eq "$(ask app cancel)" "cancel joined PTHREAD_CANCELED, handler ran 1" "after revert"
expect_match "$(ask app trace)" "^trace [0-9]+ frames, reaches main yes$" "after revert"
alive "$pid" || fail "unwind-c died"

# Without libgcc_s at apply time the table cannot be registered.
plain=$T/unwind-c-plain
patch_for "$plain" "$WORK/plain.suture"
start_target plain "$plain"
pid=$PID_plain
has_libgcc "$pid" && fail "unwind-c-plain has loaded libgcc_s before any unwinding"
expect_code 0 "$SUTURE" apply "$WORK/plain.suture" --pid "$pid" -v --insecure-skip-verify \
	--journal "$JOURNAL"
expect_match "$(cat "$WORK/last")" "has not loaded libgcc_s.so.1, so the patch's unwind table is not registered" \
	"apply without libgcc_s"
expect_eq "$(ask plain step)" "step +2" "new code runs without registration"
expect_eq "$(ask plain cancel)" "cancel joined PTHREAD_CANCELED, handler ran 1" \
	"cancellation without registration"
has_libgcc "$pid" || fail "pthread_cancel did not load libgcc_s"
expect_match "$(ask plain trace)" "^trace [0-9]+ frames, reaches main no$" \
	"backtrace without registration stops at the new code"
expect_code 0 sut revert "$WORK/plain.suture" --pid "$pid"
expect_match "$(ask plain trace)" "^trace [0-9]+ frames, reaches main yes$" \
	"backtrace after revert"
alive "$pid" || fail "unwind-c-plain died"
