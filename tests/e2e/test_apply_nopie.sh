# A non-PIE executable (fixed addresses, no load bias) blocked in read(2) is
# patched and reverted.  The test checks behaviour, entry bytes and mappings
# in the target itself.
source "$(dirname "$0")/lib.sh"

exe=$T/basic-nopie
[ "$(readelf -h "$exe" | gawk '/Type:/ {print $2}')" = EXEC ] || fail "$exe is not a non-PIE executable"
mkpatch --target "$exe" --object "$T/fix_basic.o" --replace compute \
	--replace greeting --name fix-basic -o "$WORK/fix.suture" >/dev/null
start_target app "$exe"
pid=$PID_app
expect_eq "$(ask app 'compute 5')" "compute 5 = 6" "compute before apply"
expect_eq "$(ask app 'greeting')" "greeting = hello" "greeting before apply"

# Without a load bias, the run-time address is the link-time address.
site=$(sym_value "$exe" compute)
expect_eq "$(func_addr "$pid" "$exe" compute)" "$site" "run-time address of compute"
before=$(peek "$pid" "$site" 16)
expect_eq "$before" "$(file_bytes "$exe" "$site" 16)" "entry bytes before apply"
greeting_site=$(sym_value "$exe" greeting)
greeting_before=$(peek "$pid" "$greeting_site" 16)
text_before=$(snapshot_text "$pid" "$exe")

expect_code 0 sut apply "$WORK/fix.suture" --pid "$pid"
expect_match "$(cat "$WORK/last")" "pid $pid \(basic-nopie\): applied fix-basic .* pause [0-9.]+ us"
expect_eq "$(ask app 'compute 5')" "compute 5 = 500" "compute after apply"
expect_eq "$(ask app 'greeting')" "greeting = patched hello" "greeting after apply"

for addr in "$site" "$greeting_site"; do
	entry=$(peek "$pid" "$addr" 5)
	expect_eq "${entry:0:2}" "e9" "jump opcode at 0x$(printf %x "$addr")"
	rel=$((16#${entry:8:2}${entry:6:2}${entry:4:2}${entry:2:2}))
	[ $rel -ge $((1 << 31)) ] && rel=$((rel - (1 << 32)))
	dest=$((addr + 5 + rel))
	line=$(gawk -v d=$dest '{split($1, a, "-"); if (d >= strtonum("0x" a[1]) && d < strtonum("0x" a[2])) print}' \
		"/proc/$pid/maps")
	expect_match "$line" "r-xp .*/memfd:suture:fix-basic" "mapping of the new code"
done
# Only the first five bytes of each function change.
expect_eq "$(peek "$pid" $((site + 5)) 11)" "${before:10}" "bytes after the jump at compute"
if grep -E '^[^ ]+ .wx' "/proc/$pid/maps" | grep -q suture; then
	fail "a suture mapping is writable and executable"
fi

expect_code 0 sut revert "$WORK/fix.suture" --pid "$pid"
expect_eq "$(peek "$pid" "$site" 16)" "$before" "compute entry bytes after revert"
expect_eq "$(peek "$pid" "$greeting_site" 16)" "$greeting_before" "greeting entry bytes after revert"
expect_eq "$(snapshot_text "$pid" "$exe")" "$text_before" "whole text after revert"
if grep -q "memfd:suture" "/proc/$pid/maps"; then
	fail "suture mapping left after revert"
fi
expect_eq "$(ask app 'compute 5')" "compute 5 = 6" "compute after revert"
expect_eq "$(ask app 'greeting')" "greeting = hello" "greeting after revert"
alive "$pid" || fail "target died"
