# The patch's unwind table in libgcc_s's registry.  apply links a struct
# object in the patch mapping into libgcc's unseen_objects list and sets
# its any_objects_registered flag; the first throw moves the object to
# seen_objects; revert unlinks it from whichever list holds it and clears
# the flag, and exceptions in the old code keep working afterwards.  With
# two stacked patches, reverting the later one keeps the earlier one's
# object.  Then
# threads that throw all the time (so libgcc's lock is taken all the time)
# go on through five rounds of apply and revert.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/unwind_lib.sh"

exe=$T/unwind-storm
PATCH=$WORK/fix.suture
mkpatch --target "$exe" --object "$T/fix_unwind_storm.o" --replace _Z11check_valuei \
	--name fix-storm -o "$PATCH" >/dev/null

start_target app "$exe"
pid=$PID_app
expect_eq "$(ask app 'parse 200')" "parse 200 = 201" "before apply"
expect_eq "$(ask app 'parse -1')" "parse -1 caught St16invalid_argument: negative" "before apply"

# The registry suture found is the one objdump shows in libgcc_s's code.
libgcc=$(libgcc_path "$pid")
[ -n "$libgcc" ] || fail "the C++ target has not loaded libgcc_s"
store=$(objdump -d --no-show-raw-insn "$libgcc" |
	gawk '/<__register_frame_info_bases@@GCC_3.0>:/,/^$/' |
	sed -nE 's/.*mov +%r[a-z0-9]+,0x[0-9a-f]+\(%rip\) +# ([0-9a-f]+).*/\1/p' | head -1)
[ -n "$store" ] || fail "objdump shows no store to a list head in __register_frame_info_bases"

apply_logged "$PATCH" "$pid"
expect_eq "$UNSEEN" $(($(load_bias "$pid" "$libgcc") + 16#$store)) "unseen_objects address"
read -r lo hi < <(patch_range "$pid" fix-storm)
[ -n "${lo:-}" ] || fail "no patch mapping after apply"

# Registered, not used yet: the object is the head of unseen_objects.
object=$(peek_u64 "$pid" "$UNSEEN")
[ "$object" -ge "$lo" ] && [ "$object" -lt "$hi" ] ||
	fail "unseen_objects points to $object, outside the patch mapping $lo-$hi"
table=$(peek_u64 "$pid" $((object + 24)))
[ "$table" -ge "$lo" ] && [ "$table" -lt "$hi" ] ||
	fail "the object's table pointer $table lies outside the patch mapping"
expect_eq "$(peek_u64 "$pid" "$object")" $((0xffffffffffffffff)) "pc_begin before first use"
expect_eq "$(peek_u32 "$pid" "$FLAG")" 1 "any_objects_registered after apply"

# First use: libgcc sorts the object's FDEs and moves it to seen_objects.
expect_eq "$(ask app 'parse 200')" "parse 200 caught St12out_of_range: patched: above 100" \
	"exception thrown in the new code"
expect_eq "$(ask app 'parse -1')" "parse -1 caught St12domain_error: patched: negative -1" \
	"exception caught and thrown again in the new code"
expect_eq "$(ask app 'parse 5')" "parse 5 = 7" "new code returns"
expect_eq "$(peek_u64 "$pid" "$UNSEEN")" 0 "unseen_objects after first use"
expect_eq "$(peek_u64 "$pid" "$SEEN")" "$object" "seen_objects after first use"

# Revert from seen_objects.
expect_code 0 sut revert "$PATCH" --pid "$pid"
grep -q 'memfd:suture' "/proc/$pid/maps" && fail "patch mapping left after revert"
expect_unregistered "$pid" "$lo" "$hi" "revert after use"
expect_eq "$(ask app 'parse -1')" "parse -1 caught St16invalid_argument: negative" \
	"throw after revert"

# Revert from unseen_objects: nothing unwound while the patch was applied.
apply_logged "$PATCH" "$pid"
read -r lo hi < <(patch_range "$pid" fix-storm)
object=$(peek_u64 "$pid" "$UNSEEN")
[ "$object" -ge "$lo" ] && [ "$object" -lt "$hi" ] || fail "second apply registered nothing"
expect_code 0 sut revert "$PATCH" --pid "$pid"
expect_unregistered "$pid" "$lo" "$hi" "revert before use"
expect_eq "$(ask app 'parse -1')" "parse -1 caught St16invalid_argument: negative" \
	"throw after the second revert"

# Two stacked patches: reverting the later one leaves the earlier one's
# object registered, and the flag set.
mkpatch --target "$exe" --object "$T/fix_unwind_storm.o" --replace _Z11check_valuei \
	--name fix-storm-b -o "$WORK/b.suture" >/dev/null
expect_code 0 sut apply "$PATCH" --pid "$pid"
expect_code 0 sut apply "$WORK/b.suture" --pid "$pid"
read -r lo hi < <(patch_range "$pid" fix-storm)
read -r lo_b hi_b < <(patch_range "$pid" fix-storm-b)
expect_eq "$(ask app 'parse 200')" "parse 200 caught St12out_of_range: patched: above 100" \
	"exception in the later of two stacked patches"
expect_code 0 sut revert "$WORK/b.suture" --pid "$pid"
nodes=$(list_nodes "$pid" "$UNSEEN"; list_nodes "$pid" "$SEEN")
expect_eq "$(wc -w <<<"$nodes")" 1 "objects registered after reverting the later patch"
[ "$nodes" -ge "$lo" ] && [ "$nodes" -lt "$hi" ] ||
	fail "the remaining object $nodes is not the earlier patch's ($lo-$hi)"
expect_eq "$(peek_u32 "$pid" "$FLAG")" 1 "any_objects_registered with one patch left"
expect_eq "$(ask app 'parse 200')" "parse 200 caught St12out_of_range: patched: above 100" \
	"exception in the earlier patch after reverting the later one"
expect_code 0 sut revert "$PATCH" --pid "$pid"
expect_unregistered "$pid" "$lo" "$hi" "both stacked patches reverted"
expect_unregistered "$pid" "$lo_b" "$hi_b" "both stacked patches reverted"

# Apply and revert while two threads throw and catch without pause.
expect_eq "$(ask app 'storm 2')" "storm 2 started" "storm threads"
count=$(ask app count | gawk '{print $2}')
for round in 1 2 3 4 5; do
	expect_code 0 sut apply "$PATCH" --pid "$pid" --timeout 20
	expect_eq "$(ask app 'parse 200')" "parse 200 caught St12out_of_range: patched: above 100" \
		"round $round, after apply"
	expect_code 0 sut revert "$PATCH" --pid "$pid" --timeout 20
	expect_eq "$(ask app 'parse -1')" "parse -1 caught St16invalid_argument: negative" \
		"round $round, after revert"
	now=$(ask app count | gawk '{print $2}')
	[ "$now" -gt "$count" ] || fail "round $round: the storm threads stopped catching ($now)"
	count=$now
done
expect_eq "$(peek_u32 "$pid" "$FLAG")" 0 "any_objects_registered at the end"
alive "$pid" || fail "target died"
