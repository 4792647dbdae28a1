# A changed inline function in a header patches every caller it was inlined
# into, in two source files.
source "$(dirname "$0")/lib.sh"
source "$ROOT/tests/build/lib.sh"

deploy_demo
build_fix header demo header
expect_built header
expect_eq "$(patch_functions header)" "clamp_twice handle_request" "callers replaced"
start_demo
expect_eq "$(ask app 'clamp 150')" "clamp 150 = 100 200" "before apply"
expect_code 0 sut apply "$WORK/header.suture" --pid "$PID_app"
expect_eq "$(ask app 'clamp 150')" "clamp 150 = 50 100" "both callers"
expect_eq "$(ask app 'compute 5')" "compute 5 = 6" "other requests through the replaced dispatcher"
alive "$PID_app" || fail "target died"
