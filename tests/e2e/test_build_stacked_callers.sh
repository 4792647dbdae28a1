# A function of an earlier patch that calls a function the new patch
# replaces reaches the new version, because calls between the functions of
# one patch go through the original entries.  stack-caller-one makes
# process_id call compute, and patch one contains both.  stack-caller-two
# changes only compute, so patch two contains compute alone.
source "$(dirname "$0")/lib.sh"
source "$ROOT/tests/build/lib.sh"

deploy_demo
build_fix one demo stack-caller-one
expect_built one
expect_eq "$(patch_functions one)" "compute process_id" "functions of patch one"
expect_code 0 "$SUTURE" build -v --src "$DEMO_SRC" --requires "$WORK/one.suture" \
	--base-diff "$FIXES/stack-caller-one.patch" --diff "$FIXES/stack-caller-two.patch" \
	--build "make -j2" --target demo --against "$WORK/deployed/demo" --workdir "$WORK/w-two" \
	--name two -o "$WORK/two.suture"
grep -q "replacing process_id again" "$WORK/last" &&
	fail "the build replaces process_id again although patch one calls compute's entry"
expect_eq "$(patch_functions two)" "compute" "functions of patch two"

start_demo
pid=$PID_app
expect_eq "$(ask app pid)" "pid = -990" "process_id before any patch"
expect_code 0 sut apply "$WORK/one.suture" --pid "$pid"
expect_eq "$(ask app 'compute 5')" "compute 5 = 500" "compute with patch one"
expect_eq "$(ask app pid)" "pid = 0" "process_id with patch one: compute(10) - 1000"
expect_code 0 sut apply "$WORK/two.suture" --pid "$pid"
expect_eq "$(ask app 'compute 5')" "compute 5 = 507" "compute with both patches"
expect_eq "$(ask app pid)" "pid = 7" "process_id with both patches calls the new compute"
expect_code 0 sut revert "$WORK/two.suture" --pid "$pid"
expect_eq "$(ask app pid)" "pid = 0" "process_id with patch one again"
expect_code 0 sut revert "$WORK/one.suture" --pid "$pid"
expect_eq "$(ask app pid)" "pid = -990" "process_id after both reverts"
alive "$pid" || fail "target died"
