# A switch that gains a case and a const table of function pointers that
# gains an entry: the patch carries the new tables, the process uses them.
source "$(dirname "$0")/lib.sh"
source "$ROOT/tests/build/lib.sh"

deploy_demo

build_fix switch demo switch
expect_built switch
expect_eq "$(patch_functions switch)" "describe" "switch functions"
start_target s1 "$WORK/deployed/demo"
expect_eq "$(ask s1 'describe 6')" "describe 6 = many" "before apply"
expect_code 0 sut apply "$WORK/switch.suture" --pid "$PID_s1"
expect_eq "$(ask s1 'describe 6')" "describe 6 = six" "new case"
expect_eq "$(ask s1 'describe 2')" "describe 2 = two" "old case"
expect_eq "$(ask s1 'describe 9')" "describe 9 = many" "default case"

build_fix table demo table
expect_built table
expect_match "$(cat "$WORK/table.out")" "1 function replaced \(apply_op\), 1 new function" \
	"table summary"
start_target s2 "$WORK/deployed/demo"
expect_eq "$(ask s2 'apply 3')" "apply 3 = -1" "before apply"
expect_code 0 sut apply "$WORK/table.suture" --pid "$PID_s2"
expect_eq "$(ask s2 'apply 3')" "apply 3 = 3" "new table entry"
expect_eq "$(ask s2 'apply 1')" "apply 1 = 7" "old table entry"
alive "$PID_s1" || fail "switch target died"
alive "$PID_s2" || fail "table target died"
