# A diff that only moves lines changes the constants that __LINE__ expands
# to below it.  suture build does not count those as changes: a diff that
# changes nothing else is "no functional change", and a function below a
# real change keeps running the deployed code.
source "$(dirname "$0")/lib.sh"
source "$ROOT/tests/build/lib.sh"

deploy_demo

build_fix line-only demo line-only
expect_eq "$BUILD_RC" 18 "exit code for a diff that only moves __LINE__"
expect_match "$(cat "$WORK/line-only.out")" "no functional change" "no-change message"
[ -e "$WORK/line-only.suture" ] && fail "a patch was written for moved lines"

build_fix line-and-body demo line-and-body
expect_built line-and-body
expect_eq "$(patch_functions line-and-body)" "limit_offset" "only the changed function"
start_demo
expect_eq "$(ask app line)" "line = 31" "line before apply"
expect_eq "$(ask app 'offset 5')" "offset 5 = 15" "offset before apply"
expect_code 0 sut apply "$WORK/line-and-body.suture" --pid "$PID_app"
expect_eq "$(ask app 'offset 5')" "offset 5 = 1015" "changed function after apply"
expect_eq "$(ask app line)" "line = 31" "moved function keeps the deployed code"
alive "$PID_app" || fail "target died"

# The original sources are restored after the recompiles.
cmp "$WORK/w-line-and-body/orig/data.c" "$DEMO_SRC/data.c" ||
	fail "the original tree's data.c was left renumbered"
