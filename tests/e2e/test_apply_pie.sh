# A PIE executable blocked in read(2) is patched and reverted; behaviour,
# entry bytes and the mapping are checked in the target itself.
source "$(dirname "$0")/lib.sh"

mkpatch --target "$T/basic-pie" --object "$T/fix_basic.o" --replace compute \
	--replace greeting --name fix-basic -o "$WORK/fix.suture" >/dev/null
start_target app "$T/basic-pie"
pid=$PID_app
expect_eq "$(ask app 'compute 5')" "compute 5 = 6" "before apply"
site=$(func_addr "$pid" "$T/basic-pie" compute)
before=$(peek "$pid" "$site" 16)
expect_eq "$before" "$(file_bytes "$T/basic-pie" "$(sym_value "$T/basic-pie" compute)" 16)" \
	"entry bytes before apply"
text_before=$(snapshot_text "$pid" "$T/basic-pie")

expect_code 0 sut apply "$WORK/fix.suture" --pid "$pid"
expect_match "$(cat "$WORK/last")" "pid $pid \(basic-pie\): applied fix-basic .* pause [0-9.]+ us"
expect_eq "$(ask app 'compute 5')" "compute 5 = 500" "after apply"
expect_eq "$(ask app 'greeting')" "greeting = patched hello" "after apply"
entry=$(peek "$pid" "$site" 5)
expect_eq "${entry:0:2}" "e9" "jump opcode at compute"
# The jump lands in suture's mapping, which is never writable and executable.
rel=$((16#${entry:8:2}${entry:6:2}${entry:4:2}${entry:2:2}))
[ $rel -ge $((1 << 31)) ] && rel=$((rel - (1 << 32)))
dest=$((site + 5 + rel))
line=$(gawk -v d=$dest '{split($1, a, "-"); if (d >= strtonum("0x" a[1]) && d < strtonum("0x" a[2])) print}' "/proc/$pid/maps")
expect_match "$line" "r-xp .*/memfd:suture:fix-basic" "mapping of the new code"
if grep -E '^[^ ]+ .wx' "/proc/$pid/maps" | grep -q memfd:suture; then
	fail "a suture mapping is writable and executable"
fi
distance=$((dest > site ? dest - site : site - dest))
[ $distance -lt $((1 << 31)) ] || fail "new code is $distance bytes from the old"

expect_code 0 sut revert "$WORK/fix.suture" --pid "$pid"
expect_eq "$(peek "$pid" "$site" 16)" "$before" "entry bytes after revert"
expect_eq "$(snapshot_text "$pid" "$T/basic-pie")" "$text_before" "whole text after revert"
grep -q memfd:suture "/proc/$pid/maps" && fail "suture mapping left after revert"
expect_eq "$(ask app 'compute 5')" "compute 5 = 6" "after revert"
alive "$pid" || fail "target died"
