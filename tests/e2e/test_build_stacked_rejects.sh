# Stacked builds that suture build rejects, each with one line and its own
# exit code, and without writing a patch.  The cases are --base-diff and
# --requires without each other, earlier patches for another build, out
# of order or missing from the stack, and new code that would need what
# only an earlier patch contains.
source "$(dirname "$0")/lib.sh"
source "$ROOT/tests/build/lib.sh"

# expect_rejected NAME CODE REGEX: the last build of NAME exited with CODE,
# printed one line matching REGEX, and wrote no patch file.
expect_rejected() {
	expect_eq "$BUILD_RC" "$2" "exit code of $1"
	local message
	message=$(grep '^suture build:' "$WORK/$1.out" || true)
	expect_eq "$(grep -c . <<<"$message")" 1 "lines of the message of $1"
	expect_match "$message" "$3" "message of $1"
	[ ! -e "$WORK/$1.suture" ] || fail "$1 wrote a patch file"
}

# plain_build NAME ARGS...: suture build of the fixture with ARGS, no --against.
plain_build() {
	local name=$1
	shift
	BUILD_RC=0
	"$SUTURE" build --src "$DEMO_SRC" --build "make -j2" --target demo --workdir "$WORK/w-$name" \
		-o "$WORK/$name.suture" "$@" >"$WORK/$name.out" 2>&1 || BUILD_RC=$?
}

deploy_demo
build_fix one demo stack-one
expect_built one
build_stacked two demo one stack-one stack-two
expect_built two

# The two options need each other.
plain_build base-alone --base-diff "$FIXES/stack-one.patch" --diff "$FIXES/stack-two.patch"
expect_rejected base-alone 2 "^suture build: --base-diff needs --requires"
plain_build requires-alone --requires "$WORK/one.suture" --diff "$FIXES/stack-two.patch"
expect_rejected requires-alone 2 "^suture build: --requires needs --base-diff"

# An earlier patch for another build: rejected before building with
# --against, and after the original build without it.
mkpatch --target "$T/basic-pie" --object "$T/fix_basic.o" --replace compute -o "$WORK/other.suture" >/dev/null
other_id=$(readelf -n "$T/basic-pie" | gawk '/Build ID/ {print $3}')
deployed_id=$(readelf -n "$WORK/deployed/demo" | gawk '/Build ID/ {print $3}')
build_stacked foreign demo other stack-one stack-two
expect_rejected foreign 21 "--requires .*/other.suture is a patch for build-id $other_id, but this patch is for .*/deployed/demo \(build-id $deployed_id\)"
[ ! -d "$WORK/w-foreign/tree" ] || fail "the foreign build copied the sources before it was rejected"
plain_build foreign-built --requires "$WORK/other.suture" --base-diff "$FIXES/stack-one.patch" \
	--diff "$FIXES/stack-two.patch"
expect_rejected foreign-built 21 "--requires .*/other.suture is a patch for build-id $other_id"

# A file that is not a patch.
head -c 300 /dev/urandom >"$WORK/garbage.suture"
build_stacked garbage-requires demo garbage stack-one stack-two
expect_rejected garbage-requires 3 "--requires .*/garbage.suture: invalid patch file"

# The stack must be complete and in order, oldest first.
build_stacked three demo two "stack-one stack-two" stack-caller-two
expect_rejected three 2 "--requires .*/two.suture requires patch [0-9a-f]{16}, which no earlier --requires names"
build_stacked reversed demo "two one" "stack-one stack-two" stack-caller-two
expect_rejected reversed 2 "--requires .*/two.suture requires patch [0-9a-f]{16}, which no earlier --requires names"
build_stacked unrelated demo "one other" "stack-one stack-two" stack-caller-two
expect_rejected unrelated 2 "--requires .*/other.suture does not require .*/one.suture"

# A base diff that does not apply to the sources.
build_stacked bad-base demo one does-not-apply stack-two
expect_rejected bad-base 20 "^suture build: --base-diff .*/does-not-apply.patch does not apply"

# A function that only the earlier patch contains cannot change again.
build_fix new-function demo new-function
expect_built new-function
build_stacked base-function demo new-function new-function stack-base-function
expect_rejected base-function 19 "changes function scale \(calc.c\), which the running build lacks"

# Nor can new code use a variable whose value only the earlier patch contains.
build_fix new-globals demo new-globals
expect_built new-globals
build_stacked base-variable demo new-globals new-globals stack-base-variable
expect_rejected base-variable 19 "compute \(calc.c\) uses variable added_total, which the running build lacks"

# Nor can it call a function that the earlier patch added in a file that
# the new diff does not recompile: the patch could only import it by name.
build_fix global-one demo stack-global-one
expect_built global-one
build_stacked global-two demo global-one stack-global-one stack-global-two
expect_rejected global-two 19 "compute \(calc.c\) uses twice, which the running build lacks: a --base-diff adds it in a file"

# A caller in the earlier patch whose file the new diff does not recompile
# reaches the new compute through its entry, so this stack builds.
build_fix cross-one demo stack-cross-one
expect_built cross-one
build_stacked cross-two demo cross-one stack-cross-one stack-cross-two
expect_eq "$BUILD_RC" 0 "exit code of cross-two"
expect_eq "$(patch_functions cross-two)" "compute" "functions of cross-two"
