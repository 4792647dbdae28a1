# suture status, as text and as JSON, lists for each patched process the
# pid, object, build-id, patch name and id, functions, applied time and
# pause.  An unpatched process shows 0 patches, and --history shows the
# journal entries of that pid only.  test_status_json_escaping.sh covers
# names with quotes and backslashes.
source "$(dirname "$0")/lib.sh"

status() {
	"$SUTURE" status "$@" --journal "$JOURNAL"
}

exe=$T/basic-pie
real_exe=$(readlink -f "$exe")
build_id=$(readelf -n "$exe" | gawk '/Build ID:/ {print $3}')
[ -n "$build_id" ] || fail "$exe has no build-id"
mkpatch --target "$exe" --object "$T/fix_basic.o" --replace compute --replace greeting \
	--name fix-status -o "$WORK/fix.suture" >/dev/null
# An unsigned patch's id is the SHA-256 of the whole file.
patch_id=$(sha256sum "$WORK/fix.suture" | cut -d' ' -f1)
expect_match "$("$SUTURE" info "$WORK/fix.suture")" "patch id: +$patch_id" "patch id in info"

start_target app "$exe"
pid=$PID_app
start_target other "$exe"
other=$PID_other
compute_site=$(func_addr "$pid" "$exe" compute)
greeting_site=$(func_addr "$pid" "$exe" greeting)

# Before any patch.
expect_code 0 status --pid "$pid"
expect_eq "$(cat "$WORK/last")" "pid $pid (basic-pie): 0 patches" "status of an unpatched process"
expect_code 0 status --pid "$pid" --json
python3 -c '
import json, sys
processes = json.load(open(sys.argv[1]))
assert processes == [{"pid": int(sys.argv[2]), "comm": "basic-pie", "patches": []}], processes
' "$WORK/last" "$pid" || fail "status --json of an unpatched process: $(cat "$WORK/last")"

applied_after=$(date -u +%s)
expect_code 0 sut apply "$WORK/fix.suture" --pid "$pid"
applied_before=$(date -u +%s)
expect_code 0 sut apply "$WORK/fix.suture" --pid "$other"
expect_code 0 sut revert "$WORK/fix.suture" --pid "$other"

# Text: one header line, one line for the patch, one per function.
expect_code 0 status --pid "$pid"
mapfile -t lines <"$WORK/last"
expect_eq "${#lines[@]}" 4 "lines of status"
expect_eq "${lines[0]}" "pid $pid (basic-pie): 1 patch" "status header"
expect_match "${lines[1]}" "^  fix-status \(id ${patch_id:0:16}\) applied on $real_exe \(build-id $build_id\) at [0-9T:-]+Z, pause [0-9]+\.[0-9] us" \
	"status patch line"
when=$(grep -Eo ' at [0-9T:-]+Z' <<<"${lines[1]}" | cut -c5-)
when_s=$(date -u -d "$when" +%s)
[ "$when_s" -ge $((applied_after - 1)) ] && [ "$when_s" -le $((applied_before + 1)) ] ||
	fail "applied time $when is outside the apply command's run"
functions=$(printf '%s\n' "${lines[2]}" "${lines[3]}" | sort)
expect_match "$functions" "^    compute at 0x$(printf %x "$compute_site") -> 0x[0-9a-f]+$" "compute line"
expect_match "$functions" "    greeting at 0x$(printf %x "$greeting_site") -> 0x[0-9a-f]+$" "greeting line"

# JSON: the same facts, checked field by field.
expect_code 0 status --pid "$pid" --json
python3 -c '
import calendar, json, sys, time
processes = json.load(open(sys.argv[1]))
pid, exe, build_id, patch_id = int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
compute, greeting, after, before = (int(v) for v in sys.argv[6:10])
assert len(processes) == 1, processes
p = processes[0]
assert p["pid"] == pid, p
assert p["comm"] == "basic-pie", p
assert len(p["patches"]) == 1, p["patches"]
patch = p["patches"][0]
expected = {"name": "fix-status", "id": patch_id, "state": "applied", "object": exe,
            "build_id": build_id, "insecure": True}
for key, value in expected.items():
    assert patch[key] == value, "%s: expected %r, got %r" % (key, value, patch[key])
applied = calendar.timegm(time.strptime(patch["applied_at"], "%Y-%m-%dT%H:%M:%SZ"))
assert after - 1 <= applied <= before + 1, patch["applied_at"]
assert patch["pause_us"] > 0, patch["pause_us"]
functions = {f["name"]: f for f in patch["functions"]}
assert sorted(functions) == ["compute", "greeting"], functions
assert functions["compute"]["address"] == compute, functions["compute"]
assert functions["greeting"]["address"] == greeting, functions["greeting"]
for f in functions.values():
    assert f["new_address"] != f["address"], f
' "$WORK/last" "$pid" "$real_exe" "$build_id" "$patch_id" "$compute_site" "$greeting_site" \
	"$applied_after" "$applied_before" || fail "status --json: $(cat "$WORK/last")"

# The other process was patched and reverted: 0 patches again.
expect_code 0 status --pid "$other"
expect_eq "$(cat "$WORK/last")" "pid $other (basic-pie): 0 patches" "status after revert"

# Several pids in one JSON array.
expect_code 0 status --pid "$pid" --pid "$other" --json
python3 -c '
import json, sys
processes = json.load(open(sys.argv[1]))
counts = {p["pid"]: len(p["patches"]) for p in processes}
assert counts == {int(sys.argv[2]): 1, int(sys.argv[3]): 0}, counts
' "$WORK/last" "$pid" "$other" || fail "status --json of two pids: $(cat "$WORK/last")"

# --history: the journal entries of this pid, and none of the other.
expect_code 0 status --pid "$other" --history
history=$(tail -n +2 "$WORK/last")
expect_eq "$(grep -c . <<<"$history")" 2 "history lines of the other process"
expect_match "$(sed -n 1p <<<"$history")" "apply" "first history line"
expect_match "$(sed -n 2p <<<"$history")" "revert" "second history line"
expect_code 0 status --pid "$pid" --history
history=$(tail -n +5 "$WORK/last")
expect_eq "$(grep -c . <<<"$history")" 1 "history lines of the patched process"
expect_match "$history" "apply" "history of the patched process"
expect_match "$history" "fix-status" "history names the patch"
expect_match "$history" "$pid" "history names the pid"
if grep -q "\"pid\":$other\b" <<<"$history"; then
	fail "history of $pid shows entries of $other"
fi

alive "$pid" || fail "target died"

# --history with a journal that does not exist says so, on stderr.
"$SUTURE" status --pid "$pid" --history --journal "$WORK/no-such-journal.jsonl" \
	>"$WORK/status.out" 2>"$WORK/status.err" || fail "status with a missing journal failed"
expect_match "$(cat "$WORK/status.err")" "no journal at .*no-such-journal.jsonl, so no history" \
	"status --history without a journal"
