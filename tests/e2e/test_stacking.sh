# Two patches stacked on one function: patch 1 replaces compute, patch 2
# replaces compute again and greeting.  The later patch wins, status lists
# both in order, patch 1 cannot be reverted while patch 2 is applied, and
# reverting both in reverse order restores the bytes of the file.
source "$(dirname "$0")/lib.sh"

# sut without its stderr redirection, so expect_code keeps the error message.
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

exe=$T/basic-pie
mkpatch --target "$exe" --object "$T/fix_basic.o" --replace compute \
	--name fix-one -o "$WORK/one.suture" >/dev/null
mkpatch --target "$exe" --object "$T/fix_basic2.o" --replace compute --replace greeting \
	--name fix-two -o "$WORK/two.suture" >/dev/null
start_target app "$exe"
pid=$PID_app
compute_site=$(func_addr "$pid" "$exe" compute)
greeting_site=$(func_addr "$pid" "$exe" greeting)
compute_size=$((16#$(nm -S "$exe" | gawk '$4 == "compute" {print $2}')))
greeting_size=$((16#$(nm -S "$exe" | gawk '$4 == "greeting" {print $2}')))
compute_file=$(file_bytes "$exe" "$(sym_value "$exe" compute)" "$compute_size")
greeting_file=$(file_bytes "$exe" "$(sym_value "$exe" greeting)" "$greeting_size")
expect_eq "$(peek "$pid" "$compute_site" "$compute_size")" "$compute_file" "compute before apply"
text_before=$(snapshot_text "$pid" "$exe")

expect_code 0 sut apply "$WORK/one.suture" --pid "$pid"
expect_eq "$(ask app 'compute 5')" "compute 5 = 500" "compute with patch 1"
expect_eq "$(ask app greeting)" "greeting = hello" "greeting with patch 1"
expect_code 0 sut apply "$WORK/two.suture" --pid "$pid"
expect_eq "$(ask app 'compute 5')" "compute 5 = 5000" "compute with patches 1 and 2"
expect_eq "$(ask app greeting)" "greeting = hello from patch 2" "greeting with patches 1 and 2"
expect_match "$(jump_mapping "$pid" "$compute_site")" "/memfd:suture:fix-two" "compute jump with both"
expect_match "$(jump_mapping "$pid" "$greeting_site")" "/memfd:suture:fix-two" "greeting jump with both"
grep -q 'memfd:suture:fix-one' "/proc/$pid/maps" || fail "patch 1's mapping is gone while it is applied"

# status --json lists both patches in the order they were applied.
expect_code 0 "$SUTURE" status --pid "$pid" --json --journal "$JOURNAL"
python3 -c '
import json, sys
processes = json.load(open(sys.argv[1]))
assert len(processes) == 1, processes
patches = processes[0]["patches"]
assert [p["name"] for p in patches] == ["fix-one", "fix-two"], [p["name"] for p in patches]
assert [p["state"] for p in patches] == ["applied", "applied"], patches
assert patches[0]["sequence"] < patches[1]["sequence"], patches
assert [f["name"] for f in patches[0]["functions"]] == ["compute"], patches[0]
assert sorted(f["name"] for f in patches[1]["functions"]) == ["compute", "greeting"], patches[1]
' "$WORK/last" || fail "status --json: $(cat "$WORK/last")"

# Patch 1 lies under patch 2, so it cannot be reverted first.
compute_entry=$(peek "$pid" "$compute_site" 16)
expect_code 15 suture_cmd revert "$WORK/one.suture" --pid "$pid"
message=$(grep -v 'WARNING: --insecure-skip-verify' "$WORK/last")
expect_match "$message" "fix-two" "revert-order message names patch 2"
expect_match "$message" "process $pid" "revert-order message names the pid"
expect_eq "$(wc -l <<<"$message")" 1 "lines of the revert-order message"
expect_eq "$(peek "$pid" "$compute_site" 16)" "$compute_entry" "compute entry after the rejected revert"
expect_eq "$(ask app 'compute 5')" "compute 5 = 5000" "compute after the rejected revert"
expect_eq "$(ask app greeting)" "greeting = hello from patch 2" "greeting after the rejected revert"

expect_code 0 sut revert "$WORK/two.suture" --pid "$pid"
expect_eq "$(ask app 'compute 5')" "compute 5 = 500" "compute with patch 1 again"
expect_eq "$(ask app greeting)" "greeting = hello" "greeting with patch 1 again"
expect_match "$(jump_mapping "$pid" "$compute_site")" "/memfd:suture:fix-one" "compute jump with patch 1"
expect_eq "$(peek "$pid" "$greeting_site" "$greeting_size")" "$greeting_file" "greeting after revert of patch 2"
if grep -q 'memfd:suture:fix-two' "/proc/$pid/maps"; then
	fail "patch 2's mapping left after its revert"
fi

expect_code 0 sut revert "$WORK/one.suture" --pid "$pid"
expect_eq "$(ask app 'compute 5')" "compute 5 = 6" "compute after both reverts"
expect_eq "$(peek "$pid" "$compute_site" "$compute_size")" "$compute_file" "compute after both reverts"
expect_eq "$(peek "$pid" "$greeting_site" "$greeting_size")" "$greeting_file" "greeting after both reverts"
expect_eq "$(snapshot_text "$pid" "$exe")" "$text_before" "whole text after both reverts"
if grep -q 'memfd:suture' "/proc/$pid/maps"; then
	fail "suture mapping left after both reverts"
fi
alive "$pid" || fail "target died"
