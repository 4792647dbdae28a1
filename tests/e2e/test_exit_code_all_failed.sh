# When every process of one command fails, each for a different cause,
# nothing was patched, so the exit code must not be EXIT_PARTIAL (22: some
# processes failed, others were patched).  It must be one of the causes:
# EXIT_NO_PROCESS (4), and EXIT_BUILD_ID_MISMATCH (5) for apply or
# EXIT_STATE (16, not applied) for revert.
source "$(dirname "$0")/lib.sh"

mkpatch --target "$T/basic-pie" --object "$T/fix_basic.o" --replace compute \
	--name fix-basic -o "$WORK/fix.suture" >/dev/null
start_target nopie "$T/basic-nopie"
# A pid above pid_max can never exist.
missing=$(($(cat /proc/sys/kernel/pid_max) + 1))

declare -A second_code=([apply]=5 [revert]=16)
for verb in apply revert; do
	code=0
	"$SUTURE" "$verb" "$WORK/fix.suture" --pid "$missing" --pid "$PID_nopie" \
		--insecure-skip-verify --journal "$JOURNAL" >"$WORK/last" 2>&1 || code=$?
	expect_match "$(cat "$WORK/last")" "no process with pid $missing" "$verb: missing pid"
	expect_match "$(cat "$WORK/last")" "process $PID_nopie" "$verb: basic-nopie's pid"
	[[ "$code" == 4 || "$code" == "${second_code[$verb]}" ]] ||
		fail "$verb failed for every process but exited with $code, expected 4 or ${second_code[$verb]}"
done
expect_eq "$(ask nopie 'compute 5')" "compute 5 = 6" "basic-nopie after the failed commands"
if grep -q "memfd:suture" "/proc/$PID_nopie/maps"; then
	fail "suture mapping in basic-nopie"
fi
