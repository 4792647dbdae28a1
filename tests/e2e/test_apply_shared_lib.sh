# A function of a shared library loaded with dlopen is patched and reverted.
# The new code calls back into the library.  The jump must sit inside the
# library's own executable mapping and reach new code within rel32 range.
source "$(dirname "$0")/lib.sh"

lib=$T/libdemo.so
mkpatch --target "$lib" --object "$T/fix_libdemo.o" --replace demo_compute \
	--name fix-libdemo -o "$WORK/fix.suture" >/dev/null
start_target app "$T/uselib" "$lib"
pid=$PID_app
expect_eq "$(ask app 'demo 5')" "demo 5 = 11" "before apply"

site=$(func_addr "$pid" "$lib" demo_compute)
size=$((16#$(nm -S "$lib" | gawk '$4 == "demo_compute" {print $2}')))
[ "$size" -ge 5 ] || fail "demo_compute is $size bytes, too short for the test"
before=$(peek "$pid" "$site" "$size")
expect_eq "$before" "$(file_bytes "$lib" "$(sym_value "$lib" demo_compute)" "$size")" \
	"entry bytes before apply"
text_before=$(snapshot_text "$pid" "$lib")
exe_text_before=$(snapshot_text "$pid" "$T/uselib")

expect_code 0 sut apply "$WORK/fix.suture" --pid "$pid"
expect_match "$(cat "$WORK/last")" "pid $pid \(uselib\): applied fix-libdemo to .*libdemo\.so"
# demo_scale() returns 10, so the new code gives 5 * 10 + 1000.
expect_eq "$(ask app 'demo 5')" "demo 5 = 1050" "after apply"
expect_eq "$(ask app 'demo 0')" "demo 0 = 1000" "after apply"

# The jump is written inside the library's executable mapping, not elsewhere.
real=$(readlink -f "$lib")
lib_text=$(gawk -v p="$real" '$6 == p && $2 ~ /x/ {print $1}' "/proc/$pid/maps")
[ -n "$lib_text" ] || fail "no executable mapping of $real in process $pid"
lo=$((16#${lib_text%-*}))
hi=$((16#${lib_text#*-}))
[ "$site" -ge "$lo" ] && [ $((site + 5)) -le "$hi" ] ||
	fail "demo_compute at $site is outside the library's text $lib_text"
entry=$(peek "$pid" "$site" 5)
expect_eq "${entry:0:2}" "e9" "jump opcode at demo_compute"
expect_eq "$(peek "$pid" $((site + 5)) $((size - 5)))" "${before:10}" "bytes after the jump"
rel=$((16#${entry:8:2}${entry:6:2}${entry:4:2}${entry:2:2}))
[ $rel -ge $((1 << 31)) ] && rel=$((rel - (1 << 32)))
dest=$((site + 5 + rel))
line=$(gawk -v d=$dest '{split($1, a, "-"); if (d >= strtonum("0x" a[1]) && d < strtonum("0x" a[2])) print}' \
	"/proc/$pid/maps")
expect_match "$line" "r-xp .*/memfd:suture:fix-libdemo" "mapping of the new code"
# The executable that loaded the library is not touched.
expect_eq "$(snapshot_text "$pid" "$T/uselib")" "$exe_text_before" "executable text after apply"

expect_code 0 sut revert "$WORK/fix.suture" --pid "$pid"
expect_eq "$(peek "$pid" "$site" "$size")" "$before" "function bytes after revert"
expect_eq "$(snapshot_text "$pid" "$lib")" "$text_before" "library text after revert"
if grep -q "memfd:suture" "/proc/$pid/maps"; then
	fail "suture mapping left after revert"
fi
expect_eq "$(ask app 'demo 5')" "demo 5 = 11" "after revert"
alive "$pid" || fail "target died"
