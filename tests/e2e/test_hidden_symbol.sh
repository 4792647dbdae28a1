# A replacement that calls a hidden function of another source file of the
# same library: in the linked library that function is a local symbol, not
# exported, and the patch must still reach the running copy of it.
source "$(dirname "$0")/lib.sh"

readelf -sW "$T/libhidden.so" | grep -q 'LOCAL .* hidden_scale$' ||
	fail "hidden_scale is not a local symbol of libhidden.so"
mkpatch --target "$T/libhidden.so" --object "$T/fix_hidden.o" --replace hidden_api \
	--name fix-hidden -o "$WORK/fix.suture" >/dev/null
start_target app "$T/usehidden"
expect_eq "$(ask app 'call 3')" "call 3 = 31" "before apply"
expect_code 0 sut apply "$WORK/fix.suture" --pid "$PID_app"
expect_eq "$(ask app 'call 3')" "call 3 = 32" "after apply"
expect_code 0 sut revert "$WORK/fix.suture" --pid "$PID_app"
expect_eq "$(ask app 'call 3')" "call 3 = 31" "after revert"
