# Only patches signed by a trusted key are applied.  Each of these is
# rejected with its own exit code before suture attaches to the target: a
# signed file with any byte changed, an unsigned file, a file signed by an
# untrusted key, and a trusted directory that others can write.  The
# target's code stays unchanged.
source "$(dirname "$0")/lib.sh"

keys=$WORK/keys
trusted=$WORK/trusted
mkdir -m 700 "$keys" && mkdir -m 755 "$trusted"
"$SUTURE" keygen --out "$keys/release" >/dev/null
"$SUTURE" keygen --out "$keys/stranger" >/dev/null
cp "$keys/release.pub" "$trusted/" && chmod 644 "$trusted/release.pub"

# keygen never overwrites a key pair: it exits with its own code and keeps the old keys.
key_before=$(sha256sum <"$keys/release.key")
expect_code 27 "$SUTURE" keygen --out "$keys/release"
expect_match "$(cat "$WORK/last")" "already exists" "keygen over an existing key"
expect_eq "$(sha256sum <"$keys/release.key")" "$key_before" "secret key after a refused keygen"

mkpatch --target "$T/basic-pie" --object "$T/fix_basic.o" --replace compute \
	--name fix-signed -o "$WORK/fix.suture" >/dev/null
chmod 644 "$WORK/fix.suture"
cp "$WORK/fix.suture" "$WORK/unsigned.suture"
cp "$WORK/fix.suture" "$WORK/stranger.suture"
"$SUTURE" sign "$WORK/fix.suture" --key "$keys/release.key" >/dev/null
"$SUTURE" sign "$WORK/stranger.suture" --key "$keys/stranger.key" >/dev/null

# A --key that is no secret key is named as such, and the patch file is not
# touched.  A readable file that is no key must not draw a chmod hint.
unsigned_before=$(sha256sum <"$WORK/unsigned.suture")
printf 'root:x:0:0:root:/root:/bin/sh\n' >"$WORK/not-a-key" && chmod 644 "$WORK/not-a-key"
expect_code 2 "$SUTURE" sign "$WORK/unsigned.suture" --key "$WORK/not-a-key"
expect_match "$(cat "$WORK/last")" "is not a suture secret key" "sign with a file that is no key"
grep -q chmod "$WORK/last" && fail "sign with a file that is no key suggests chmod: $(cat "$WORK/last")"
expect_code 2 "$SUTURE" sign "$WORK/unsigned.suture" --key "$keys/release.pub"
expect_match "$(cat "$WORK/last")" "is a suture public key; sign with the secret key" \
	"sign with a public key"
expect_eq "$(sha256sum <"$WORK/unsigned.suture")" "$unsigned_before" "patch after refused signs"
expect_code 0 "$SUTURE" verify "$WORK/fix.suture" --trusted-dir "$trusted"

start_target app "$T/basic-pie"
pid=$PID_app
text_before=$(snapshot_text "$pid" "$T/basic-pie")

apply_signed() {
	"$SUTURE" apply "$1" --pid "$pid" --trusted-dir "$trusted" --journal "$JOURNAL"
}

# Flip one byte in the middle of the signed region.
cp "$WORK/fix.suture" "$WORK/flipped.suture"
size=$(stat -c %s "$WORK/flipped.suture")
offset=$((size / 2))
byte=$(dd if="$WORK/flipped.suture" bs=1 skip=$offset count=1 2>/dev/null | od -An -tu1 | tr -d ' ')
printf "$(printf '\\%03o' $(((byte + 1) % 256)))" |
	dd of="$WORK/flipped.suture" bs=1 seek=$offset conv=notrunc 2>/dev/null

expect_code 13 apply_signed "$WORK/flipped.suture"
expect_code 11 apply_signed "$WORK/unsigned.suture"
expect_match "$(cat "$WORK/last")" "not signed" "unsigned message"
expect_code 12 apply_signed "$WORK/stranger.suture"
chmod 777 "$trusted"
expect_code 14 apply_signed "$WORK/fix.suture"
expect_match "$(cat "$WORK/last")" "$trusted" "insecure directory message names it"
chmod 755 "$trusted"

# None of the refusals touched the target.
expect_eq "$(snapshot_text "$pid" "$T/basic-pie")" "$text_before" "text after refusals"
grep -q memfd:suture "/proc/$pid/maps" && fail "a refused patch was mapped"
expect_eq "$(gawk '/TracerPid/ {print $2}' "/proc/$pid/status")" "0" "tracer after refusals"
expect_eq "$(ask app 'compute 5')" "compute 5 = 6" "behaviour after refusals"
expect_eq "$(grep -c '"action":"refusal"' "$JOURNAL")" "4" "refusals in the journal"

# The properly signed file is applied, and the journal names the signer.
expect_code 0 apply_signed "$WORK/fix.suture"
expect_eq "$(ask app 'compute 5')" "compute 5 = 500" "behaviour after the signed apply"
expect_match "$(tail -1 "$JOURNAL")" '"signer_key_id":"[0-9a-f]{16}".*"insecure":false' "journal entry"
expect_match "$("$SUTURE" status --pid "$pid")" "signed by [0-9a-f]{16}" "status shows the signer"

# revert restores the original code and needs no trusted signature: here no
# key in the trusted directory signed the file.
mkdir -m 755 "$WORK/no-keys"
expect_code 0 "$SUTURE" revert "$WORK/fix.suture" --pid "$pid" --trusted-dir "$WORK/no-keys" \
	--journal "$JOURNAL"
expect_eq "$(ask app 'compute 5')" "compute 5 = 6" "behaviour after the revert"
expect_eq "$(snapshot_text "$pid" "$T/basic-pie")" "$text_before" "text after the revert"
