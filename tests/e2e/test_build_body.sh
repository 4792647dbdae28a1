# suture build turns a changed function body into a patch that the running
# deployed binary accepts; the same inputs give a byte-identical patch.
source "$(dirname "$0")/lib.sh"
source "$ROOT/tests/build/lib.sh"

deploy_demo
build_fix body demo body
expect_built body
expect_match "$(cat "$WORK/body.out")" "1 function replaced \(compute\)" "build summary"
expect_eq "$(patch_functions body)" "compute" "replaced functions"

# Rebuilding from scratch in the same work directory writes the same bytes.
cp "$WORK/body.suture" "$WORK/body-first.suture"
build_fix body demo body
expect_built body
cmp "$WORK/body.suture" "$WORK/body-first.suture" || fail "a rebuild gave a different patch"

start_demo
pid=$PID_app
expect_eq "$(ask app 'compute 5')" "compute 5 = 6" "before apply"
expect_code 0 sut apply "$WORK/body.suture" --pid "$pid"
expect_eq "$(ask app 'compute 5')" "compute 5 = 500" "after apply"
expect_eq "$(ask app 'greet')" "greeting = hello" "untouched function after apply"
expect_eq "$(ask app 'count')" "count = 1" "untouched state after apply"
expect_code 0 sut revert "$WORK/body.suture" --pid "$pid"
expect_eq "$(ask app 'compute 5')" "compute 5 = 6" "after revert"
alive "$pid" || fail "target died"

# The deployed binary is usually stripped: the patch carries its build-id and applies to it.
strip --strip-all "$WORK/deployed/demo" -o "$WORK/deployed/demo-stripped"
expect_code 0 "$SUTURE" build --src "$DEMO_SRC" --diff "$FIXES/body.patch" --build "make -j2" \
	--target demo --against "$WORK/deployed/demo-stripped" --workdir "$WORK/w-stripped" \
	-o "$WORK/stripped.suture"
stripped_id=$(readelf -n "$WORK/deployed/demo-stripped" | gawk '/Build ID/ {print $3}')
expect_match "$("$SUTURE" info "$WORK/stripped.suture")" "build-id: +$stripped_id" "build-id of --against"
start_target stripped "$WORK/deployed/demo-stripped"
expect_code 0 sut apply "$WORK/stripped.suture" --pid "$PID_stripped"
expect_eq "$(ask stripped 'compute 5')" "compute 5 = 500" "stripped binary after apply"
alive "$PID_stripped" || fail "stripped target died"
