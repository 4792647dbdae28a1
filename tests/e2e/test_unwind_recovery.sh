# A patcher killed (SUTURE_TEST_FAULT) before or after it put a patch's
# unwind table into libgcc_s's registry, or took it out.  Recovery by
# `suture status` may complete the apply, and the table then stays
# registered.  Otherwise it rolls the apply back or completes the revert,
# and no object of the unmapped patch is left in libgcc's lists.  Each case
# runs in a fresh target whose storm thread throws all the time, and
# exceptions keep working after it.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/unwind_lib.sh"

exe=$T/unwind-storm
PATCH=$WORK/fix.suture
mkpatch --target "$exe" --object "$T/fix_unwind_storm.o" --replace _Z11check_valuei \
	--name fix-storm -o "$PATCH" >/dev/null
OLD_REPLY="parse 200 = 201"
NEW_REPLY="parse 200 caught St12out_of_range: patched: above 100"

# The registry's variables lie at fixed offsets from libgcc_s's load base.
start_target probe "$exe"
apply_logged "$PATCH" "$PID_probe"
base=$(load_bias "$PID_probe" "$(libgcc_path "$PID_probe")")
unseen_offset=$((UNSEEN - base))
seen_offset=$((SEEN - base))
flag_offset=$((FLAG - base))
expect_code 0 sut revert "$PATCH" --pid "$PID_probe"

case_number=0

# start_case: start a fresh target with one storm thread, and set PID,
# PID_NAME, UNSEEN, SEEN and FLAG for it.
start_case() {
	local name
	case_number=$((case_number + 1))
	name=c$case_number
	start_target "$name" "$exe"
	PID_NAME=$name
	PID=$(eval echo "\$PID_$name")
	base=$(load_bias "$PID" "$(libgcc_path "$PID")")
	UNSEEN=$((base + unseen_offset))
	SEEN=$((base + seen_offset))
	FLAG=$((base + flag_offset))
	expect_eq "$(ask "$name" 'storm 1')" "storm 1 started" "storm thread"
}

# recover_and_check POINT VERB: after suture was killed at POINT of VERB,
# let `suture status` recover, then check the registry against the outcome.
recover_and_check() {
	local point=$1 verb=$2 lo hi reply nodes
	read -r lo hi < <(patch_range "$PID" fix-storm)
	[ -n "${lo:-}" ] || fail "$verb killed at $point: no patch mapping left to recover"
	"$SUTURE" status --pid "$PID" >"$WORK/status" 2>&1 || true
	alive "$PID" || fail "$verb killed at $point: target died during recovery"
	reply=$(ask "$PID_NAME" 'parse 200')
	if grep -q 'memfd:suture:fix-storm' "/proc/$PID/maps"; then
		expect_eq "$reply" "$NEW_REPLY" "$verb killed at $point, completed"
		nodes=$(list_nodes "$PID" "$UNSEEN"; list_nodes "$PID" "$SEEN")
		expect_eq "$(wc -w <<<"$nodes")" 1 "$verb killed at $point: registered objects"
		[ "$nodes" -ge "$lo" ] && [ "$nodes" -lt "$hi" ] ||
			fail "$verb killed at $point: object $nodes lies outside the patch mapping"
		expect_code 0 sut revert "$PATCH" --pid "$PID"
	else
		expect_eq "$reply" "$OLD_REPLY" "$verb killed at $point, rolled back"
	fi
	expect_unregistered "$PID" "$lo" "$hi" "$verb killed at $point"
	expect_eq "$(ask "$PID_NAME" 'parse -1')" "parse -1 caught St16invalid_argument: negative" \
		"$verb killed at $point: throw in the old code"
	echo "$verb killed at $point: $(grep 'recovery:' "$WORK/status" || echo 'no recovery line')"
}

# Before the table is registered, after it, before and after the flag.
for point in switching stub-written flag-set jump-written; do
	start_case
	code=0
	SUTURE_TEST_FAULT=$point sut apply "$PATCH" --pid "$PID" >"$WORK/last" 2>&1 || code=$?
	[ "$code" = 137 ] || fail "apply with fault point $point exited with $code, not 137"
	recover_and_check "$point" apply
done

# Revert killed before and after the table left the registry.
for point in reverting flag-cleared reverted; do
	start_case
	expect_code 0 sut apply "$PATCH" --pid "$PID"
	expect_eq "$(ask "$PID_NAME" 'parse 200')" "$NEW_REPLY" "new code before revert"
	code=0
	SUTURE_TEST_FAULT=$point sut revert "$PATCH" --pid "$PID" >"$WORK/last" 2>&1 || code=$?
	[ "$code" = 137 ] || fail "revert with fault point $point exited with $code, not 137"
	recover_and_check "$point" revert
done
