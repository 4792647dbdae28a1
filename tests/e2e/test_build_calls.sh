# Calls into libc and string literals in built patches: a libc function the
# deployed binary already imports goes through its GOT entry, functions it
# never imported (snprintf, and strlen, which glibc selects through an IFUNC)
# are bound when the patch is applied, and one changed string of a function
# leaves its other strings alone.
source "$(dirname "$0")/lib.sh"
source "$ROOT/tests/build/lib.sh"

deploy_demo
imports=$(nm -D "$WORK/deployed/demo")
grep -q ' strcmp' <<<"$imports" || fail "fixture does not import strcmp"
grep -q ' strlen' <<<"$imports" && fail "fixture already imports strlen"
grep -q ' snprintf' <<<"$imports" && fail "fixture already imports snprintf"

build_fix ifunc-import demo ifunc-import
expect_built ifunc-import
expect_eq "$(patch_functions ifunc-import)" "compute" "replaced functions"
start_target c1 "$WORK/deployed/demo"
expect_eq "$(ask c1 'compute 12345')" "compute 12345 = 12346" "before apply"
expect_code 0 sut apply "$WORK/ifunc-import.suture" --pid "$PID_c1"
expect_eq "$(ask c1 'compute 12345')" "compute 12345 = 17345" "snprintf and strlen"
expect_eq "$(ask c1 'compute 0')" "compute 0 = -1" "strcmp through the GOT"
expect_eq "$(ask c1 'greet')" "greeting = hello" "untouched function"

build_fix string-one demo string-one
expect_built string-one
expect_eq "$(patch_functions string-one)" "describe" "replaced functions"
start_target c2 "$WORK/deployed/demo"
expect_eq "$(ask c2 'describe 2')" "describe 2 = two" "before apply"
expect_code 0 sut apply "$WORK/string-one.suture" --pid "$PID_c2"
expect_eq "$(ask c2 'describe 2')" "describe 2 = TWO" "changed string"
for pair in "0 zero" "1 one" "3 three" "5 five" "9 many"; do
	set -- $pair
	expect_eq "$(ask c2 "describe $1")" "describe $1 = $2" "other string $2"
done
expect_eq "$(ask c2 'greet')" "greeting = hello" "another function's string"
alive "$PID_c1" || fail "import target died"
alive "$PID_c2" || fail "string target died"
