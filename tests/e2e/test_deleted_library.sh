# A library on disk is replaced (as a package upgrade does, by rename) while
# an old process still maps the old build, which /proc/PID/maps then shows
# as "(deleted)".  A patch built for the old build applies to the old
# process, by --pid and by --all, matched by the build-id in memory.  A
# process that maps the new build is rejected with EXIT_BUILD_ID_MISMATCH
# and a message naming both build-ids.
source "$(dirname "$0")/lib.sh"

# sut without its stderr redirection, so expect_code keeps the error message.
suture_cmd() {
	"$SUTURE" "$@" --insecure-skip-verify --journal "$JOURNAL"
}

# build_library VARIANT OUT: builds libdemo.c with a random build-id, so that
# no other process on the machine maps the same build and --all finds only
# this test's processes.
build_library() {
	local id
	id=$(head -c 20 /dev/urandom | od -An -tx1 | tr -d ' \n')
	mkdir -p "$(dirname "$2")"
	${CC:-cc} -O2 -g -Wall -fPIC -shared -DVARIANT="$1" -Wl,--build-id=0x"$id" \
		-o "$2" "$ROOT/tests/e2e/targets/libdemo.c"
	echo "$id"
}

# text_start PID PATH: start of the first mapping of PATH, deleted or not.
text_start() {
	gawk -v p="$2" '$6 == p && $3 == "00000000" {split($1, a, "-"); print strtonum("0x" a[1]); exit}' \
		"/proc/$1/maps"
}

# mapping_hash PID PATH: hash of the executable mappings of PATH.
mapping_hash() {
	gawk -v p="$2" '$6 == p && $2 ~ /x/ {print $1}' "/proc/$1/maps" |
		while IFS=- read -r lo hi; do
			peek "$1" $((16#$lo)) $((16#$hi - 16#$lo))
		done | md5sum
}

old_id=$(build_library 1 "$WORK/old/libdemo.so")
new_id=$(build_library 2 "$WORK/new/libdemo.so")
expect_match "$(readelf -n "$WORK/old/libdemo.so")" "Build ID: $old_id" "build-id of the old build"
mkdir "$WORK/lib"
lib=$WORK/lib/libdemo.so
cp "$WORK/old/libdemo.so" "$lib"
mkpatch --target "$WORK/old/libdemo.so" --object "$T/fix_libdemo.o" --replace demo_compute \
	--name fix-libdemo -o "$WORK/fix.suture" >/dev/null

start_target old "$T/uselib" "$lib"
old_pid=$PID_old
expect_eq "$(ask old 'demo 5')" "demo 5 = 11" "old process before the upgrade"

# The upgrade: a new file is renamed over the old one, which stays mapped.
cp "$WORK/new/libdemo.so" "$lib.tmp"
mv -f "$lib.tmp" "$lib"
grep -q " $lib (deleted)\$" "/proc/$old_pid/maps" ||
	fail "the old process does not map $lib as deleted: $(grep libdemo "/proc/$old_pid/maps")"
start_target new "$T/uselib" "$lib"
new_pid=$PID_new
expect_eq "$(ask new 'demo 5')" "demo 5 = 17" "new process"
expect_eq "$(ask old 'demo 5')" "demo 5 = 11" "old process after the upgrade"

site=$(($(text_start "$old_pid" "$lib") + $(sym_value "$WORK/old/libdemo.so" demo_compute)))
old_entry=$(peek "$old_pid" "$site" 16)
expect_eq "$old_entry" "$(file_bytes "$WORK/old/libdemo.so" "$(sym_value "$WORK/old/libdemo.so" demo_compute)" 16)" \
	"demo_compute in the old process before apply"
old_text=$(mapping_hash "$old_pid" "$lib")
new_text=$(mapping_hash "$new_pid" "$lib")

# By --pid: the deleted mapping is found by its build-id.
expect_code 0 sut apply "$WORK/fix.suture" --pid "$old_pid"
expect_match "$(cat "$WORK/last")" "pid $old_pid \(uselib\): applied fix-libdemo to $lib \(deleted\)" \
	"apply to the old process"
expect_eq "$(ask old 'demo 5')" "demo 5 = 1050" "old process after apply"
expect_eq "$(peek "$old_pid" "$site" 1)" e9 "jump opcode in the deleted mapping"
expect_code 0 sut revert "$WORK/fix.suture" --pid "$old_pid"
expect_eq "$(ask old 'demo 5')" "demo 5 = 11" "old process after revert"
expect_eq "$(peek "$old_pid" "$site" 16)" "$old_entry" "demo_compute after revert"
expect_eq "$(mapping_hash "$old_pid" "$lib")" "$old_text" "old library text after revert"

# By --all: only the old process maps the old build.
expect_code 0 sut apply "$WORK/fix.suture" --all --json
python3 -c '
import json, sys
results = json.load(open(sys.argv[1]))
pids = [r["pid"] for r in results]
assert pids == [int(sys.argv[2])], "apply --all acted on %s" % pids
assert results[0]["result"] == "ok", results[0]
' "$WORK/last" "$old_pid" || fail "apply --all: $(cat "$WORK/last")"
expect_eq "$(ask old 'demo 5')" "demo 5 = 1050" "old process after apply --all"
expect_eq "$(ask new 'demo 5')" "demo 5 = 17" "new process after apply --all"
expect_eq "$(mapping_hash "$new_pid" "$lib")" "$new_text" "new library text after apply --all"
expect_code 0 sut revert "$WORK/fix.suture" --all
expect_match "$(cat "$WORK/last")" "pid $old_pid \(uselib\): reverted fix-libdemo" "revert --all"
expect_eq "$(ask old 'demo 5')" "demo 5 = 11" "old process after revert --all"
expect_eq "$(mapping_hash "$old_pid" "$lib")" "$old_text" "old library text after revert --all"

# The new build is rejected, naming both build-ids.
expect_code 5 suture_cmd apply "$WORK/fix.suture" --pid "$new_pid"
message=$(grep -v 'WARNING: --insecure-skip-verify' "$WORK/last")
expect_match "$message" "process $new_pid" "mismatch message"
expect_match "$message" "$new_id" "mismatch message, build-id of the running build"
expect_match "$message" "$old_id" "mismatch message, build-id of the patch"
expect_eq "$(wc -l <<<"$message")" 1 "lines of the mismatch message"
expect_eq "$(mapping_hash "$new_pid" "$lib")" "$new_text" "new library text after the rejected apply"
if grep -q "memfd:suture" "/proc/$new_pid/maps"; then
	fail "suture mapping in the new process after the rejected apply"
fi
expect_eq "$(ask new 'demo 5')" "demo 5 = 17" "new process after the rejected apply"
alive "$old_pid" || fail "old process died"
alive "$new_pid" || fail "new process died"
