# apply --all and revert --all can be run again: processes that already have
# the patch (or never had it) are skipped, and the command succeeds.
source "$(dirname "$0")/lib.sh"

mkpatch --target "$T/basic-pie" --object "$T/fix_basic.o" --replace compute \
	--name fix-rerun -o "$WORK/fix.suture" >/dev/null
start_target one "$T/basic-pie"
expect_code 0 sut apply "$WORK/fix.suture" --all
start_target two "$T/basic-pie"
expect_code 0 sut apply "$WORK/fix.suture" --all
expect_match "$(cat "$WORK/last")" "pid $PID_two \(basic-pie\): applied fix-rerun" "second run"
expect_match "$(cat "$WORK/last")" "pid $PID_one \\(basic-pie\\): skipped: .*already applied" "second run skips the first"
expect_match "$(cat "$WORK/last")" "^apply: 1 process patched, 0 failed, 1 skipped$" "summary of the second run"
expect_eq "$(ask one 'compute 5')" "compute 5 = 500" "first process"
expect_eq "$(ask two 'compute 5')" "compute 5 = 500" "second process"
expect_eq "$("$SUTURE" status --pid "$PID_one" --json | grep -o '"name":"fix-rerun"' | wc -l)" 1 \
	"patch count in the first process"

expect_code 0 sut revert "$WORK/fix.suture" --pid "$PID_one"
expect_code 0 sut revert "$WORK/fix.suture" --all
expect_eq "$(ask one 'compute 5')" "compute 5 = 6" "first process after revert"
expect_eq "$(ask two 'compute 5')" "compute 5 = 6" "second process after revert"
# One process given by pid that lacks the patch is still a failure.
expect_code 16 sut revert "$WORK/fix.suture" --pid "$PID_one"
