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
