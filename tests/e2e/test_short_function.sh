# A function shorter than the 5-byte jump (basic.c's tiny: xor eax, eax;
# ret) cannot be replaced.  mkpatch rejects it, and apply rejects a patch
# file that claims it, without changing a byte of the process.
source "$(dirname "$0")/lib.sh"

# sut without its stderr redirection, so expect_code keeps the error message.
suture_cmd() {
	"$SUTURE" "$@" --insecure-skip-verify --journal "$JOURNAL"
}

exe=$T/basic-pie
tiny_size=$((16#$(nm -S "$exe" | gawk '$4 == "tiny" {print $2}')))
[ "$tiny_size" -lt 5 ] || fail "tiny is $tiny_size bytes; the test needs it shorter than 5"
tiny_vaddr=$(sym_value "$exe" tiny)
# The function placed right after tiny, whose bytes a 5-byte jump would overwrite.
next=$(nm -n "$exe" | gawk -v a="$tiny_vaddr" 'NF == 3 && $2 ~ /^[Tt]$/ && strtonum("0x" $1) > a {print $3; exit}')
[ -n "$next" ] || fail "no function follows tiny in $exe"

# mkpatch rejects the function, with one line naming it and its size.
expect_code 10 mkpatch --target "$exe" --object "$T/fix_basic.o" --replace tiny \
	--name fix-tiny -o "$WORK/tiny.suture"
expect_match "$(cat "$WORK/last")" "function tiny is $tiny_size bytes, shorter than the 5-byte jump" \
	"mkpatch message"
expect_eq "$(wc -l <"$WORK/last")" 1 "lines of the mkpatch message"
[ ! -e "$WORK/tiny.suture" ] || fail "mkpatch wrote a patch file for tiny"

# A patch file that claims tiny: made for compute, then its function entry is
# rewritten to tiny's address, size, SHA-256 and name.
mkpatch --target "$exe" --object "$T/fix_basic.o" --replace compute \
	--name fix-tiny -o "$WORK/compute.suture" >/dev/null
python3 - "$WORK/compute.suture" "$WORK/tiny.suture" "$tiny_vaddr" "$tiny_size" \
	"$(file_bytes "$exe" "$tiny_vaddr" "$tiny_size")" <<'PYTHON'
import hashlib, struct, sys

src, dst, addr, size, hexbytes = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
data = bytearray(open(src, "rb").read())
header_size, count, entry_size = struct.unpack_from("<III", data, 12)
sections = {}
for i in range(count):
    at = header_size + i * entry_size
    kind, _, offset, length = struct.unpack_from("<IIQQ", data, at)
    sections[kind] = (offset, length)
FUNCS, STRTAB = 8, 3
func = sections[FUNCS][0]
name_offset = struct.unpack_from("<I", data, func)[0]
strtab = sections[STRTAB][0]
name_at = strtab + name_offset
assert data[name_at:name_at + 8] == b"compute\0", data[name_at:name_at + 8]
data[name_at:name_at + 5] = b"tiny\0"
struct.pack_into("<QQ", data, func + 8, addr, size)
data[func + 40:func + 72] = hashlib.sha256(bytes.fromhex(hexbytes)).digest()
open(dst, "wb").write(data)
PYTHON
expect_code 0 "$SUTURE" info "$WORK/tiny.suture"
expect_match "$(cat "$WORK/last")" "tiny" "info of the hand-made patch"

start_target app "$exe"
pid=$PID_app
expect_eq "$(ask app tiny)" "tiny = 0" "tiny before apply"
tiny_addr=$(func_addr "$pid" "$exe" tiny)
next_addr=$(func_addr "$pid" "$exe" "$next")
tiny_before=$(peek "$pid" "$tiny_addr" $((next_addr - tiny_addr)))
next_before=$(peek "$pid" "$next_addr" 16)
expect_eq "$next_before" "$(file_bytes "$exe" "$(sym_value "$exe" "$next")" 16)" "$next before apply"
text_before=$(snapshot_text "$pid" "$exe")

expect_code 10 suture_cmd apply "$WORK/tiny.suture" --pid "$pid"
expect_match "$(cat "$WORK/last")" "function tiny is $tiny_size bytes, shorter than the 5-byte jump" \
	"apply message"
expect_eq "$(peek "$pid" "$tiny_addr" $((next_addr - tiny_addr)))" "$tiny_before" \
	"tiny and its padding after the rejected apply"
expect_eq "$(peek "$pid" "$next_addr" 16)" "$next_before" "$next after the rejected apply"
expect_eq "$(snapshot_text "$pid" "$exe")" "$text_before" "whole text after the rejected apply"
if grep -q "memfd:suture" "/proc/$pid/maps"; then
	fail "suture mapping left after the rejected apply"
fi
expect_eq "$(gawk '/^TracerPid:/ {print $2}' "/proc/$pid/status")" 0 "TracerPid after the rejected apply"
expect_eq "$(ask app tiny)" "tiny = 0" "tiny after the rejected apply"
expect_eq "$(ask app greeting)" "greeting = hello" "greeting after the rejected apply"
alive "$pid" || fail "target died"
