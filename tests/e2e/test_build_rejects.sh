# suture build rejects what it cannot patch, each case with its own exit code
# and a message naming the cause.  The cases are a changed initial value, a
# diff without effect on the code, a diff that does not apply, a failing
# build, a build that does not match the deployed binary, a --target the
# build does not make, and a missing --against.  Without --against, the
# build warns and names the build-id the patch is for.
source "$(dirname "$0")/lib.sh"
source "$ROOT/tests/build/lib.sh"

deploy_demo

build_fix initializer demo initializer
expect_eq "$BUILD_RC" 19 "exit code for a changed initial value"
expect_match "$(cat "$WORK/initializer.out")" "variable limit \(calc.c\)" "names the variable"
[ -e "$WORK/initializer.suture" ] && fail "a patch was written for a changed initial value"

build_fix comment demo comment
expect_eq "$BUILD_RC" 18 "exit code for a comment-only diff"
expect_match "$(cat "$WORK/comment.out")" "no functional change" "no-change message"

build_fix does-not-apply demo does-not-apply
expect_eq "$BUILD_RC" 20 "exit code for a diff that does not apply"
expect_match "$(cat "$WORK/does-not-apply.out")" "Hunk #1 FAILED" "patch output quoted"
expect_match "$(cat "$WORK/does-not-apply.out")" "-	return x \+ 5;" "failing hunk quoted"

build_fix broken demo broken
expect_eq "$BUILD_RC" 20 "exit code for a failing build"
expect_match "$(cat "$WORK/broken.out")" "build of the fixed tree failed" "build failure"
expect_match "$(cat "$WORK/broken.out")" "calc.c:.*error" "compiler error in the log tail"

# The deployed binary was built with other options than the build command uses.
deploy_demo CFLAGS="-O1 -g"
DEMO_MAKE_ARGS=()
build_fix mismatch demo body
expect_eq "$BUILD_RC" 21 "exit code for a build that does not match --against"
expect_match "$(cat "$WORK/mismatch.out")" "segment [0-9]+ .*differs|segment [0-9]+ .*another" \
	"names the segment"

# A --target the build does not make: exit 20, pointing at --target.
deploy_demo
build_one() {
	BUILD_RC=0
	"$SUTURE" build --src "$DEMO_SRC" --diff "$FIXES/body.patch" --build "make -j2" \
		--workdir "$WORK/w-$1" -o "$WORK/$1.suture" "${@:2}" >"$WORK/$1.out" 2>&1 || BUILD_RC=$?
}
build_one no-target --target no-such-binary --against "$WORK/deployed/demo"
expect_eq "$BUILD_RC" 20 "exit code for a --target the build does not make"
expect_match "$(cat "$WORK/no-target.out")" "did not produce --target no-such-binary.*check --target" \
	"missing target message"
build_one no-against-file --target demo --against "$WORK/no-such-deployed-binary"
expect_eq "$BUILD_RC" 26 "exit code for a missing --against"
expect_match "$(cat "$WORK/no-against-file.out")" "cannot read --against .*no-such-deployed-binary" \
	"missing --against message"
build_one against-dir --target demo --against "$WORK/deployed"
expect_eq "$BUILD_RC" 26 "exit code for a directory as --against"
expect_match "$(cat "$WORK/against-dir.out")" "is a directory; give the deployed binary itself" \
	"directory as --against message"
build_one without-against --target demo
expect_eq "$BUILD_RC" 0 "exit code without --against"
built_id=$(readelf -n "$WORK/w-without-against/running/demo" 2>/dev/null ||
	readelf -n "$WORK/w-without-against/orig/demo")
built_id=$(gawk '/Build ID:/ {print $3; exit}' <<<"$built_id")
expect_match "$(cat "$WORK/without-against.out")" \
	"no --against: the patch is for build-id $built_id" "warning without --against"
expect_match "$("$SUTURE" info "$WORK/without-against.suture")" "$built_id" \
	"patch of a build without --against"
