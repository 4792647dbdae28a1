# Static variables of functions.  A new same-named static in another
# function does not change which one the patched function keeps using, and
# removing one is rejected.  The default work directory, named after the
# inputs, gives the same patch on every run.
source "$(dirname "$0")/lib.sh"
source "$ROOT/tests/build/lib.sh"

deploy_demo

build_fix renumber demo static-renumber
expect_built renumber
expect_eq "$(patch_functions renumber)" "compute next_count" "replaced functions"
expect_match "$(cat "$WORK/renumber.out")" "1 new variable" "the new static is new"
start_demo
for i in $(seq 1 10); do
	expect_eq "$(ask app count)" "count = $i" "count before apply"
done
expect_code 0 sut apply "$WORK/renumber.suture" --pid "$PID_app"
expect_eq "$(ask app count)" "count = 11" "next_count keeps the process's counter"
expect_eq "$(ask app 'compute 5')" "compute 5 = 11" "compute's new counter starts at zero"
expect_eq "$(ask app 'compute 5')" "compute 5 = 16" "compute's new counter keeps state"
expect_eq "$(ask app count)" "count = 12" "counters stay apart"

build_fix removed demo static-removed
expect_eq "$BUILD_RC" 19 "exit code for a removed static variable"
expect_match "$(cat "$WORK/removed.out")" "removes static variable count \(calc.c\)" "names it"

# Without --workdir the work directory is derived from the inputs.
default_build() {
	"$SUTURE" build -v --src "$DEMO_SRC" --diff "$FIXES/body.patch" --build "make -j2" \
		--target demo --against "$WORK/deployed/demo" -o "$WORK/$1.suture" >"$WORK/$1.out" 2>&1 ||
		{ cat "$WORK/$1.out" >&2; fail "default work directory build $1 failed"; }
}
default_build first
default_build second
workdir=$(sed -n 's/.*info: work directory //p' "$WORK/first.out")
expect_match "$workdir" "^/var/tmp/suture-build/[0-9a-f]{32}$" "default work directory"
expect_eq "$(sed -n 's/.*info: work directory //p' "$WORK/second.out")" "$workdir" "same inputs, same directory"
cmp "$WORK/first.suture" "$WORK/second.suture" || fail "two runs gave different patches"
[ -f "$workdir/.suture-build" ] && rm -rf "$workdir"
alive "$PID_app" || fail "target died"
