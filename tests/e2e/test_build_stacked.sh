# A patch built with --base-diff and --requires on top of an earlier patch
# contains only the functions that its own diff changes.  The engine
# applies it only after the earlier patch and reverts it first.  With both
# applied, the process behaves as both fixes.  stack-one changes compute
# and next_count.  stack-two changes compute again and makes limit_offset
# call next_count, which must reach patch one's version.
source "$(dirname "$0")/lib.sh"
source "$ROOT/tests/build/lib.sh"

# suture without the stderr redirection of sut, so expect_code keeps the message.
suture_cmd() {
	"$SUTURE" "$@" --insecure-skip-verify --journal "$JOURNAL"
}

# jump_mapping PID ADDR: the maps line that the jump at ADDR lands in.
jump_mapping() {
	local entry rel dest
	entry=$(peek "$1" "$2" 5)
	[ "${entry:0:2}" = e9 ] || fail "no jump at $2 in process $1: $entry"
	rel=$((16#${entry:8:2}${entry:6:2}${entry:4:2}${entry:2:2}))
	[ $rel -ge $((1 << 31)) ] && rel=$((rel - (1 << 32)))
	dest=$(($2 + 5 + rel))
	gawk -v d=$dest '{split($1, a, "-"); if (d >= strtonum("0x" a[1]) && d < strtonum("0x" a[2])) print}' \
		"/proc/$1/maps"
}

deploy_demo
exe=$WORK/deployed/demo
build_fix one demo stack-one
expect_built one
build_stacked two demo one stack-one stack-two
expect_built two
expect_match "$(cat "$WORK/two.out")" "2 functions replaced \(compute, limit_offset\)" "build summary"

# Patch two contains only what stack-two changes, requires patch one and
# targets the running build.
"$SUTURE" info --json "$WORK/one.suture" >"$WORK/one.json"
"$SUTURE" info --json "$WORK/two.suture" >"$WORK/two.json"
deployed_id=$(readelf -n "$exe" | gawk '/Build ID/ {print $3}')
python3 - "$WORK/one.json" "$WORK/two.json" "$deployed_id" <<'EOF' || fail "suture info --json of the two patches"
import json, sys
one = json.load(open(sys.argv[1]))
two = json.load(open(sys.argv[2]))
assert sorted(f["name"] for f in one["functions"]) == ["compute", "next_count"], one["functions"]
assert sorted(f["name"] for f in two["functions"]) == ["compute", "limit_offset"], two["functions"]
assert one["requires"] is None, one["requires"]
assert two["requires"] == one["patch_id"], (two["requires"], one["patch_id"])
assert one["target"]["build_id"] == sys.argv[3], one["target"]
assert two["target"]["build_id"] == sys.argv[3], two["target"]
EOF

start_demo
pid=$PID_app
declare -A site size file
for f in compute next_count limit_offset; do
	site[$f]=$(func_addr "$pid" "$exe" "$f")
	size[$f]=$((16#$(nm -S "$exe" | gawk -v n="$f" '$4 == n {print $2}')))
	file[$f]=$(file_bytes "$exe" "$(sym_value "$exe" "$f")" "${size[$f]}")
	expect_eq "$(peek "$pid" "${site[$f]}" "${size[$f]}")" "${file[$f]}" "$f before any patch"
done
text_before=$(snapshot_text "$pid" "$exe")
expect_eq "$(ask app count)" "count = 1" "count before any patch"

# Patch two before patch one: rejected, and the process is untouched.
expect_code 16 suture_cmd apply "$WORK/two.suture" --pid "$pid"
one_id=$("$SUTURE" info "$WORK/one.suture" | gawk '/^patch id:/ {print $3}')
expect_match "$(cat "$WORK/last")" "requires patch $one_id, which is not applied to process $pid; apply it first" \
	"message for patch two alone"
expect_eq "$(snapshot_text "$pid" "$exe")" "$text_before" "text after the rejected apply"
if grep -q 'memfd:suture' "/proc/$pid/maps"; then
	fail "a suture mapping after the rejected apply"
fi
expect_eq "$(ask app 'compute 5')" "compute 5 = 6" "compute after the rejected apply"

# Patch one, then patch two: the behaviour of both fixes.
expect_code 0 sut apply "$WORK/one.suture" --pid "$pid"
expect_eq "$(ask app 'compute 5')" "compute 5 = 500" "compute with patch one"
expect_eq "$(ask app count)" "count = 11" "count with patch one"
expect_eq "$(ask app 'offset 5')" "offset 5 = 15" "offset with patch one"
expect_code 0 sut apply "$WORK/two.suture" --pid "$pid"
expect_eq "$(ask app 'compute 5')" "compute 5 = 507" "compute with both patches"
expect_eq "$(ask app count)" "count = 21" "count with both patches"
# limit_offset of patch two calls next_count through its entry, which leads
# to patch one's version.  That version counts on in the process's counter.
expect_eq "$(ask app 'offset 5')" "offset 5 = 46" "offset with both patches"
expect_eq "$(ask app count)" "count = 41" "count after offset"
expect_match "$(jump_mapping "$pid" "${site[compute]}")" "/memfd:suture:two" "compute jump with both"
expect_match "$(jump_mapping "$pid" "${site[limit_offset]}")" "/memfd:suture:two" "limit_offset jump with both"
expect_match "$(jump_mapping "$pid" "${site[next_count]}")" "/memfd:suture:one" "next_count jump with both"

# Patch one cannot be reverted while patch two is applied.
text_both=$(snapshot_text "$pid" "$exe")
expect_code 15 suture_cmd revert "$WORK/one.suture" --pid "$pid"
expect_match "$(cat "$WORK/last")" "patch two .* was applied to process $pid after one" "revert-order message"
expect_eq "$(snapshot_text "$pid" "$exe")" "$text_both" "text after the rejected revert"
expect_eq "$(ask app 'compute 5')" "compute 5 = 507" "compute after the rejected revert"

# Revert two, then one: patch one's behaviour, then the original bytes.
expect_code 0 sut revert "$WORK/two.suture" --pid "$pid"
expect_eq "$(ask app 'compute 5')" "compute 5 = 500" "compute with patch one again"
expect_eq "$(ask app 'offset 5')" "offset 5 = 15" "offset with patch one again"
expect_eq "$(peek "$pid" "${site[limit_offset]}" "${size[limit_offset]}")" "${file[limit_offset]}" \
	"limit_offset after the revert of patch two"
expect_match "$(jump_mapping "$pid" "${site[compute]}")" "/memfd:suture:one" "compute jump with patch one"
expect_code 0 sut revert "$WORK/one.suture" --pid "$pid"
expect_eq "$(ask app 'compute 5')" "compute 5 = 6" "compute after both reverts"
expect_eq "$(ask app count)" "count = 42" "count after both reverts"
for f in compute next_count limit_offset; do
	expect_eq "$(peek "$pid" "${site[$f]}" "${size[$f]}")" "${file[$f]}" "$f after both reverts"
done
expect_eq "$(snapshot_text "$pid" "$exe")" "$text_before" "whole text after both reverts"
if grep -q 'memfd:suture' "/proc/$pid/maps"; then
	fail "a suture mapping after both reverts"
fi
alive "$pid" || fail "target died"
