# --allow-active lets running activations of a replaced function finish in
# the old code.  Here the old code's loop starts 4 bytes into the function
# (count_forever in entryloop.c, built with -Os), inside the 5 bytes the
# jump overwrites, so the running activation would jump into the middle of
# the new jump.  apply must either reject the patch, leaving the process
# untouched, or apply it without breaking the running loop.
source "$(dirname "$0")/lib.sh"

exe=$T/entryloop
site_vaddr=$(sym_value "$exe" count_forever)
# The loop head: the target of the backward jmp at the end of count_forever.
head=$(objdump -d --no-show-raw-insn "$exe" |
	gawk '/<count_forever>:/ {inside = 1; next} inside && /^$/ {exit}
		inside && /jmp/ {print strtonum("0x" $3)}' | tail -1)
[ -n "$head" ] || fail "no loop found in count_forever"
offset=$((head - site_vaddr))
[ "$offset" -gt 0 ] && [ "$offset" -lt 5 ] ||
	fail "the loop of count_forever starts at offset $offset, not inside the first 5 bytes"

mkpatch --target "$exe" --object "$T/fix_entryloop.o" --replace count_forever \
	--name fix-entryloop -o "$WORK/fix.suture" >/dev/null
start_target app "$exe"
pid=$PID_app
expect_eq "$(ask app loop)" "loop started" "loop request"
text_before=$(snapshot_text "$pid" "$exe")

# count_advancing WHEN: fails unless the loop counter advances within 0.2 s.
count_advancing() {
	local first second
	first=$(ask app count)
	sleep 0.2
	second=$(ask app count)
	[ "${second#count = }" -gt "${first#count = }" ] ||
		fail "the loop stopped $1: $first, then $second"
}
count_advancing "before apply"

# Without --allow-active the running loop keeps the function busy.
expect_code 8 sut apply "$WORK/fix.suture" --pid "$pid" --timeout 0.5
expect_eq "$(snapshot_text "$pid" "$exe")" "$text_before" "text after the busy apply"

code=0
"$SUTURE" apply "$WORK/fix.suture" --pid "$pid" --allow-active --timeout 0.5 \
	--insecure-skip-verify --journal "$JOURNAL" >"$WORK/last" 2>&1 || code=$?
if [ "$code" != 0 ]; then
	# Rejected: the process must be untouched.
	expect_eq "$(snapshot_text "$pid" "$exe")" "$text_before" "text after the rejected apply"
	if grep -q "memfd:suture" "/proc/$pid/maps"; then
		fail "suture mapping left after the rejected apply"
	fi
	expect_match "$(cat "$WORK/last")" "count_forever" "rejection message names the function"
fi
sleep 0.2
alive "$pid" || fail "the target died after apply --allow-active (exit code $code): the loop jumped into the patched entry"
count_advancing "after apply --allow-active (exit code $code)"
