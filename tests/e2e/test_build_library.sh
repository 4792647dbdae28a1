# A patch for a shared library the executable loads, built with the
# library as --target.
source "$(dirname "$0")/lib.sh"
source "$ROOT/tests/build/lib.sh"

deploy_demo
build_fix library libdemo.so library
expect_built library
expect_eq "$(patch_functions library)" "lib_value" "replaced functions"
expect_match "$("$SUTURE" info "$WORK/library.suture")" "target: +libdemo.so" "patch target"
start_demo
expect_eq "$(ask app 'lib 4')" "lib 4 = 8" "before apply"
expect_code 0 sut apply "$WORK/library.suture" --pid "$PID_app"
expect_eq "$(ask app 'lib 4')" "lib 4 = 12" "after apply"
expect_eq "$(ask app 'compute 4')" "compute 4 = 5" "executable untouched"
alive "$PID_app" || fail "target died"
