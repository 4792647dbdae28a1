# Calls between the functions of one patch go through the original entries,
# which jump to whichever version is live.  A later patch that replaces
# inner() again also serves the first patch's outer(), and a pointer to
# inner() that the first patch's code handed out stays valid after that
# patch is reverted.
source "$(dirname "$0")/lib.sh"

mkpatch --target "$T/chain" --object "$T/fix_chain1.o" --replace inner --replace outer \
	--replace pick --name chain-one -o "$WORK/one.suture" >/dev/null
mkpatch --target "$T/chain" --object "$T/fix_chain2.o" --replace inner \
	--name chain-two -o "$WORK/two.suture" >/dev/null
start_target app "$T/chain"
pid=$PID_app
inner_entry=$(func_addr "$pid" "$T/chain" inner)
inner_before=$(peek "$pid" "$inner_entry" 16)
expect_eq "$(ask app 'outer 5')" "outer 5 = 60" "outer before the patches"

expect_code 0 sut apply "$WORK/one.suture" --pid "$pid"
expect_eq "$(ask app 'outer 5')" "outer 5 = 700" "outer with the first patch"
expect_eq "$(ask app take)" "taken" "pointer from the first patch's pick"
expect_eq "$(ask app 'call 5')" "call 5 = 7" "pointer call with the first patch"

expect_code 0 sut apply "$WORK/two.suture" --pid "$pid"
expect_eq "$(ask app 'outer 5')" "outer 5 = 800" "first patch's outer calls the second patch's inner"
expect_eq "$(ask app 'call 5')" "call 5 = 8" "pointer call with both patches"

expect_code 0 sut revert "$WORK/two.suture" --pid "$pid"
expect_eq "$(ask app 'outer 5')" "outer 5 = 700" "outer after reverting the second patch"
expect_code 0 sut revert "$WORK/one.suture" --pid "$pid"
grep -q "memfd:suture" "/proc/$pid/maps" && fail "a patch mapping is left after both reverts"
expect_eq "$(peek "$pid" "$inner_entry" 16)" "$inner_before" "inner's entry after both reverts"
# The pointer was taken from new code that is now unmapped.
expect_eq "$(ask app 'call 5')" "call 5 = 6" "pointer call after both reverts"
alive "$pid" || fail "target died calling a pointer that new code handed out"
expect_eq "$(ask app 'outer 5')" "outer 5 = 60" "outer after both reverts"
