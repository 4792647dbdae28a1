# Patches built from diffs that add a function, keep a static counter, change
# a string literal, add global variables and call a libc function the binary
# never imported.  Each is applied to a freshly started deployed binary.
source "$(dirname "$0")/lib.sh"
source "$ROOT/tests/build/lib.sh"

deploy_demo

# A new static function called from the changed one comes with the patch.
build_fix new-function demo new-function
expect_built new-function
expect_match "$(cat "$WORK/new-function.out")" "1 function replaced \(compute\), 1 new function," \
	"new function summary"
start_target f1 "$WORK/deployed/demo"
expect_code 0 sut apply "$WORK/new-function.suture" --pid "$PID_f1"
expect_eq "$(ask f1 'compute 5')" "compute 5 = 5008" "new function"

# The patched function keeps counting in the running process's static
# variable: the patch has no more data than one without variables.
build_fix string demo string
expect_built string
build_fix static-local demo static-local
expect_built static-local
expect_eq "$(patch_functions static-local)" "next_count" "static-local functions"
expect_eq "$(patch_part static-local bss)" "$(patch_part string bss)" "no new copy of the counter"
expect_eq "$(patch_part static-local data)" "$(patch_part string data)" "no new copy of the counter"
start_target f2 "$WORK/deployed/demo"
for i in $(seq 1 10); do
	expect_eq "$(ask f2 count)" "count = $i" "count before apply"
done
expect_code 0 sut apply "$WORK/static-local.suture" --pid "$PID_f2"
expect_eq "$(ask f2 count)" "count = 11" "count after apply"
expect_eq "$(ask f2 count)" "count = 12" "count after apply"

# Only a string literal changes: the new text, the other strings intact.
expect_eq "$(patch_functions string)" "greeting" "string functions"
start_target f3 "$WORK/deployed/demo"
expect_code 0 sut apply "$WORK/string.suture" --pid "$PID_f3"
expect_eq "$(ask f3 greet)" "greeting = hello, patched" "new string"
expect_eq "$(ask f3 'describe 3')" "describe 3 = three" "other strings"

# New globals, one initialised and one zero, live in the patch's data and bss.
build_fix new-globals demo new-globals
expect_built new-globals
expect_match "$(cat "$WORK/new-globals.out")" "2 new variables" "new globals summary"
[ "$(patch_part new-globals data)" -ge $(($(patch_part string data) + 4)) ] ||
	fail "initialised global not in the data part"
[ "$(patch_part new-globals bss)" -ge $(($(patch_part string bss) + 8)) ] ||
	fail "zero global not in the bss part"
start_target f4 "$WORK/deployed/demo"
expect_code 0 sut apply "$WORK/new-globals.suture" --pid "$PID_f4"
expect_eq "$(ask f4 'compute 5')" "compute 5 = 45" "new globals, first call"
expect_eq "$(ask f4 'compute 5')" "compute 5 = 50" "new globals keep state"
expect_eq "$(ask f4 limit)" "limit = 10" "existing global"

# A libc function the binary never imported is bound when the patch is applied.
nm -D "$WORK/deployed/demo" | grep -q ' getpid' && fail "fixture already imports getpid"
build_fix new-import demo new-import
expect_built new-import
start_target f5 "$WORK/deployed/demo"
expect_eq "$(ask f5 pid)" "pid = -990" "before apply"
expect_code 0 sut apply "$WORK/new-import.suture" --pid "$PID_f5"
expect_eq "$(ask f5 pid)" "pid = $PID_f5" "getpid through the patch"
for p in "$PID_f1" "$PID_f2" "$PID_f3" "$PID_f4" "$PID_f5"; do
	alive "$p" || fail "target $p died"
done
