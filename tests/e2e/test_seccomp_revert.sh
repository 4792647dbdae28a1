# A target that locks itself down after start-up: a seccomp filter killing
# the process on munmap is installed after the patch was applied.  Revert
# unmaps the patch inside the target, so it must notice the filter.  It may
# reject the revert (EXIT_SECCOMP, naming munmap) or finish by a path the
# filter allows, but the target must never be killed.
source "$(dirname "$0")/sandboxed.sh"

start_sandboxed app none
pid=$(cat "$WORK/app.pid")
site=$(func_addr "$pid" "$T/sandboxed" compute)
original=$(file_bytes "$T/sandboxed" "$(sym_value "$T/sandboxed" compute)" 16)

run_suture apply "$WORK/fix.suture" --pid "$pid"
[ "$CODE" = 0 ] || fail "apply failed with exit code $CODE: $ERR"
expect_eq "$(ask app 'compute 5')" "compute 5 = 500" "after apply"

expect_eq "$(ask app 'restrict munmap-kill')" "restrict munmap-kill: done" "late filter"
expect_eq "$(ask app 'probe munmap-kill')" "probe killed by signal 31" \
	"munmap in a child of the target"

run_suture revert "$WORK/fix.suture" --pid "$pid"
expect_alive app "by revert under a filter that kills on munmap (exit code of revert $CODE: $ERR)"
expect_threads_released "$pid"
expect_no_memfd "$pid"
if [ "$CODE" = 0 ]; then
	expect_eq "$(ask app 'compute 5')" "compute 5 = 6" "after revert"
	expect_eq "$(peek "$pid" "$site" 16)" "$original" "entry bytes after revert"
	echo "reverted: $OUT"
	exit 0
fi
expect_eq "$CODE" "$EXIT_SECCOMP" "exit code of the refused revert ($ERR)"
expect_match "$ERR" "munmap" "error message"
answer=$(ask app 'compute 5')
case $answer in
"compute 5 = 500")
	expect_match "$("$SUTURE" status --pid "$pid" 2>&1)" "fix-sandboxed .* applied" \
		"status after the refused revert" ;;
"compute 5 = 6")
	expect_eq "$(peek "$pid" "$site" 16)" "$original" "entry bytes after the refused revert" ;;
*)
	fail "after the refused revert: $answer" ;;
esac
echo "revert refused: $ERR"
