# The same fixes on other builds of the fixture: a non-PIE executable at -O0
# and -O2, and clang at -O2.  Each patch is applied to a running process.
source "$(dirname "$0")/lib.sh"
source "$ROOT/tests/build/lib.sh"

# check_variant FIX REQUEST BEFORE AFTER: build FIX for the deployed variant and apply it.
check_variant() {
	local fix=$1 request=$2 before=$3 after=$4 name=$5
	build_fix "$name-$fix" demo "$fix"
	expect_built "$name-$fix"
	start_target "$name" "$WORK/deployed/demo"
	local pidvar=PID_$name
	expect_eq "$(ask "$name" "$request")" "$before" "$name $fix before apply"
	expect_code 0 sut apply "$WORK/$name-$fix.suture" --pid "${!pidvar}"
	expect_eq "$(ask "$name" "$request")" "$after" "$name $fix after apply"
	expect_eq "$(ask "$name" 'describe 2')" "describe 2 = two" "$name $fix other strings"
	alive "${!pidvar}" || fail "$name died"
}

deploy_demo CFLAGS="-O0 -g" PIEFLAGS="-fno-pie -no-pie"
[ "$(readelf -h "$WORK/deployed/demo" | gawk '/Type:/ {print $2}')" = EXEC ] ||
	fail "the non-PIE fixture is not ET_EXEC"
check_variant string greet "greeting = hello" "greeting = hello, patched" o0_string
check_variant header "clamp 150" "clamp 150 = 100 200" "clamp 150 = 50 100" o0_header
# At -O0 the inline function stays out of line in both files, and each copy is replaced.
expect_eq "$(patch_functions o0_header-header)" "clamp_value clamp_value" "both out-of-line copies"
build_fix o0-static demo static-local
expect_built o0-static
start_target o0_count "$WORK/deployed/demo"
for i in $(seq 1 10); do ask o0_count count >/dev/null; done
expect_code 0 sut apply "$WORK/o0-static.suture" --pid "$PID_o0_count"
expect_eq "$(ask o0_count count)" "count = 11" "-O0 static counter"

deploy_demo PIEFLAGS="-fno-pie -no-pie"
check_variant table "apply 3" "apply 3 = -1" "apply 3 = 3" o2_table
check_variant new-globals "compute 5" "compute 5 = 6" "compute 5 = 45" o2_globals

if command -v clang >/dev/null; then
	deploy_demo CC=clang
	check_variant body "compute 5" "compute 5 = 6" "compute 5 = 500" clang_body
	check_variant header "clamp 150" "clamp 150 = 100 200" "clamp 150 = 50 100" clang_header
	check_variant switch "describe 6" "describe 6 = many" "describe 6 = six" clang_switch
else
	echo "clang not installed; clang variants skipped" >&2
fi
