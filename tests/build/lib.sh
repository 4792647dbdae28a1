# Helpers for the suture build tests, sourced after tests/e2e/lib.sh.  The
# fixture project in tests/build/demo is built once in $WORK/deployed, which
# plays the deployed binary that runs, and suture build makes patches for it
# from the diffs in tests/build/fixes.
DEMO_SRC=$ROOT/tests/build/demo
FIXES=$ROOT/tests/build/fixes
DEMO_MAKE_ARGS=()

# deploy_demo [MAKE VARIABLE=VALUE ...]: build the deployed copy with these make variables.
deploy_demo() {
	DEMO_MAKE_ARGS=("$@")
	rm -rf "$WORK/deployed"
	cp -r "$DEMO_SRC" "$WORK/deployed"
	make -s -C "$WORK/deployed" -j2 "$@" >/dev/null 2>&1 || fail "building the fixture failed"
}

# build_fix NAME TARGET FIX...: run suture build with the fixes into $WORK/NAME.suture.
# Sets BUILD_RC; the command's output is in $WORK/NAME.out.
build_fix() {
	local name=$1 target=$2
	shift 2
	local args=() fix command
	for fix in "$@"; do
		args+=(--diff "$FIXES/$fix.patch")
	done
	command="make -j2"
	[ ${#DEMO_MAKE_ARGS[@]} -eq 0 ] || command+=$(printf ' %q' "${DEMO_MAKE_ARGS[@]}")
	BUILD_RC=0
	"$SUTURE" build --src "$DEMO_SRC" "${args[@]}" --build "$command" --target "$target" \
		--against "$WORK/deployed/$target" --workdir "$WORK/w-$name" \
		--name "$name" -o "$WORK/$name.suture" >"$WORK/$name.out" 2>&1 || BUILD_RC=$?
}

# expect_built NAME: the last build_fix succeeded.
expect_built() {
	if [ "$BUILD_RC" != 0 ]; then
		cat "$WORK/$1.out" >&2
		fail "suture build of $1 exited with $BUILD_RC"
	fi
}

# start_demo: start the deployed executable as target "app".
start_demo() {
	start_target app "$WORK/deployed/demo"
}

# patch_functions NAME: the replaced function names listed by suture info, one line.
patch_functions() {
	"$SUTURE" info "$WORK/$1.suture" | gawk '/^functions:/ {on=1; next} on && /^  / {print $1; next} {on=0}' |
		sort | tr '\n' ' ' | sed 's/ $//'
}

# patch_part NAME PART: size in bytes of a part (text, rodata, data, bss).
patch_part() {
	"$SUTURE" info "$WORK/$1.suture" | gawk -v p="$2" '/^parts:/ {
		for (i = 2; i <= NF; i++) if ($i == p) { v = $(i + 1); gsub(",", "", v); print v } }'
}

# apply_fresh NAME FIX: start a new deployed executable as target NAME and apply $WORK/FIX.suture.
apply_fresh() {
	start_target "$1" "$WORK/deployed/demo"
	local pidvar=PID_$1
	expect_code 0 sut apply "$WORK/$2.suture" --pid "${!pidvar}"
}

# check_matrix_variant NAME CC OPT LAYOUT: deploy the fixture built by CC at
# OPT as LAYOUT (pie, nopie, or shared: the code in libdemo.so) and check
# the patches every build must handle in running processes.
check_matrix_variant() {
	local name=$1 cc=$2 opt=$3 layout=$4 target=demo pie="-fPIE -pie" make_layout=exe i
	case $layout in
	nopie) pie="-fno-pie -no-pie" ;;
	shared) target=libdemo.so make_layout=shared ;;
	esac
	deploy_demo CC="$cc" CFLAGS="$opt -g" PIEFLAGS="$pie" LAYOUT="$make_layout"

	build_fix "$name-body" "$target" body
	expect_built "$name-body"
	apply_fresh "${name}_body" "$name-body"
	expect_eq "$(ask "${name}_body" 'compute 5')" "compute 5 = 500" "$name: changed body"

	build_fix "$name-string" "$target" string-one
	expect_built "$name-string"
	apply_fresh "${name}_string" "$name-string"
	expect_eq "$(ask "${name}_string" 'describe 2')" "describe 2 = TWO" "$name: changed string"
	expect_eq "$(ask "${name}_string" 'describe 3')" "describe 3 = three" "$name: other string"

	build_fix "$name-static" "$target" static-local
	expect_built "$name-static"
	start_target "${name}_static" "$WORK/deployed/demo"
	for i in $(seq 1 10); do
		ask "${name}_static" count >/dev/null
	done
	local pidvar=PID_${name}_static
	expect_code 0 sut apply "$WORK/$name-static.suture" --pid "${!pidvar}"
	expect_eq "$(ask "${name}_static" count)" "count = 11" "$name: static counter"

	# limit_offset() reads the global limit, which main() sets; in the shared
	# layout the executable holds limit and the library reaches it through its GOT.
	build_fix "$name-global" "$target" line-and-body
	expect_built "$name-global"
	expect_eq "$(patch_functions "$name-global")" "limit_offset" "$name: moved lines are no change"
	start_target "${name}_global" "$WORK/deployed/demo"
	expect_eq "$(ask "${name}_global" 'setlimit 77')" "setlimit = 77" "$name: set limit"
	expect_eq "$(ask "${name}_global" 'offset 5')" "offset 5 = 82" "$name: global before apply"
	pidvar=PID_${name}_global
	expect_code 0 sut apply "$WORK/$name-global.suture" --pid "${!pidvar}"
	expect_eq "$(ask "${name}_global" 'offset 5')" "offset 5 = 1082" "$name: global after apply"

	build_fix "$name-globals" "$target" new-globals
	expect_built "$name-globals"
	apply_fresh "${name}_globals" "$name-globals"
	expect_eq "$(ask "${name}_globals" 'compute 5')" "compute 5 = 45" "$name: new variables"
	expect_eq "$(ask "${name}_globals" 'compute 5')" "compute 5 = 50" "$name: new variables keep state"

	for i in body string static global globals; do
		pidvar=PID_${name}_$i
		alive "${!pidvar}" || fail "$name: the $i target died"
	done
}

# build_stacked NAME TARGET "EARLIER..." "BASE..." FIX...: run suture build on
# top of earlier patches: each name in BASE is a fix given as --base-diff,
# each in EARLIER a patch $WORK/EARLIER.suture given as --requires (oldest
# first), and each FIX a --diff.  Sets BUILD_RC like build_fix.
build_stacked() {
	local name=$1 target=$2 earlier=$3 base=$4
	shift 4
	local args=() item command
	for item in $earlier; do
		args+=(--requires "$WORK/$item.suture")
	done
	for item in $base; do
		args+=(--base-diff "$FIXES/$item.patch")
	done
	for item in "$@"; do
		args+=(--diff "$FIXES/$item.patch")
	done
	command="make -j2"
	[ ${#DEMO_MAKE_ARGS[@]} -eq 0 ] || command+=$(printf ' %q' "${DEMO_MAKE_ARGS[@]}")
	BUILD_RC=0
	"$SUTURE" build --src "$DEMO_SRC" "${args[@]}" --build "$command" --target "$target" \
		--against "$WORK/deployed/$target" --workdir "$WORK/w-$name" \
		--name "$name" -o "$WORK/$name.suture" >"$WORK/$name.out" 2>&1 || BUILD_RC=$?
}
