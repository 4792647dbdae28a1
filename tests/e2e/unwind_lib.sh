# Helpers for the tests of libgcc_s's unwinder registry: reading the
# target's words, walking libgcc's object lists, and finding the registry
# that suture uses.  Sourced after lib.sh.

# peek_u64 PID ADDR: the little-endian 64-bit word at ADDR, in decimal.
peek_u64() {
	local hex le="" i
	hex=$(peek "$1" "$2" 8)
	for i in 14 12 10 8 6 4 2 0; do le+=${hex:$i:2}; done
	echo $((16#$le))
}

peek_u32() {
	local hex
	hex=$(peek "$1" "$2" 4)
	echo $((16#${hex:6:2}${hex:4:2}${hex:2:2}${hex:0:2}))
}

# patch_range PID NAME: start and end of the mappings of patch NAME.
patch_range() {
	gawk -v m="/memfd:suture:$2" '$6 == m {split($1, a, "-");
		if (!lo) lo = strtonum("0x" a[1]); hi = strtonum("0x" a[2])}
		END {if (lo) print lo, hi}' "/proc/$1/maps"
}

# list_nodes PID HEAD: the addresses of the objects on the list whose head
# pointer is at HEAD, following each object's next field (offset 40).
list_nodes() {
	local node i
	node=$(peek_u64 "$1" "$2")
	for i in $(seq 1 20); do
		[ "$node" = 0 ] && return 0
		echo "$node"
		node=$(peek_u64 "$1" $((node + 40)))
	done
	fail "the list at $2 in process $1 has more than 20 objects"
}

libgcc_path() {
	gawk '$6 ~ /libgcc_s\.so/ {print $6; exit}' "/proc/$1/maps"
}

# apply_logged PATCH PID: apply with debug output and read the registry
# addresses that suture found into UNSEEN, SEEN and FLAG.
apply_logged() {
	"$SUTURE" apply "$1" --pid "$2" -v -v --insecure-skip-verify --journal "$JOURNAL" \
		>"$WORK/apply.out" 2>"$WORK/apply.err" ||
		{ cat "$WORK/apply.err" >&2; fail "apply failed"; }
	local line
	line=$(grep 'libgcc_s registry' "$WORK/apply.err") ||
		fail "apply did not report the registry: $(cat "$WORK/apply.err")"
	UNSEEN=$(($(sed -E 's/.*unseen_objects (0x[0-9a-f]+).*/\1/' <<<"$line")))
	SEEN=$(($(sed -E 's/.*seen_objects (0x[0-9a-f]+), flag.*/\1/' <<<"$line")))
	FLAG=$(($(sed -E 's/.*flag (0x[0-9a-f]+).*/\1/' <<<"$line")))
}

# expect_unregistered PID LO HI LABEL: neither list contains an object in
# [LO, HI), and the flag is clear again (nothing else registered a table).
expect_unregistered() {
	local node
	for node in $(list_nodes "$1" "$UNSEEN") $(list_nodes "$1" "$SEEN"); do
		[ "$node" -ge "$2" ] && [ "$node" -lt "$3" ] &&
			fail "$4: libgcc's list still holds object $node of the removed mapping"
	done
	expect_eq "$(peek_u64 "$1" "$UNSEEN")" 0 "$4: unseen_objects"
	expect_eq "$(peek_u64 "$1" "$SEEN")" 0 "$4: seen_objects"
	expect_eq "$(peek_u32 "$1" "$FLAG")" 0 "$4: any_objects_registered"
}
