# A struct that gains a member while the running process has one in the
# old layout: suture build rejects the diff and names the struct, where it
# is and which changed code reaches it.
source "$(dirname "$0")/lib.sh"
source "$ROOT/tests/build/lib.sh"

deploy_demo

build_fix struct-member demo struct-member
expect_eq "$BUILD_RC" 19 "exit code for a changed struct layout"
out=$(cat "$WORK/struct-member.out")
expect_match "$out" "changes the layout of struct tally \(data.c, 8 bytes before the diff, 16 after\)" \
	"names the struct and its sizes"
expect_match "$out" "function tally_hits uses it through variable current_tally" \
	"names the function and the variable that reach it"
expect_match "$out" "keeps the old layout" "says why"
[ -e "$WORK/struct-member.suture" ] && fail "a patch was written for a changed struct layout"

# A struct that only reaches the changed function through a parameter.
build_fix struct-param demo struct-param
expect_eq "$BUILD_RC" 19 "exit code for a changed parameter struct"
expect_match "$(cat "$WORK/struct-param.out")" \
	"layout of struct span \(data.c, 16 bytes before the diff, 24 after\), and the patched function span_width uses it;" \
	"names the struct and the function"

# The same at -O0 and with clang, whose debug information is laid out differently.
deploy_demo CFLAGS="-O0 -g"
build_fix struct-member-o0 demo struct-member
expect_eq "$BUILD_RC" 19 "exit code at -O0"
deploy_demo CC=clang
build_fix struct-member-clang demo struct-member
expect_eq "$BUILD_RC" 19 "exit code with clang"
expect_match "$(cat "$WORK/struct-member-clang.out")" "struct tally" "clang: names the struct"

# Without -g in the build, the recompiles add it, so the check still runs.
deploy_demo CFLAGS="-O2"
build_fix struct-member-nodebug demo struct-member
expect_eq "$BUILD_RC" 19 "exit code without -g"
