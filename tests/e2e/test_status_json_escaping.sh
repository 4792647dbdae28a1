# suture status --json must escape every string it prints: a patch name with
# a quote and a backslash, and a process name and object path with a quote,
# still give valid JSON with the original text.
source "$(dirname "$0")/lib.sh"

odd_exe="$WORK/odd\"name"
cp "$T/basic-pie" "$odd_exe"
mkpatch --target "$odd_exe" --object "$T/fix_basic.o" --replace compute \
	--name 'fix "quoted" \ name' -o "$WORK/quoted.suture" >/dev/null
start_target odd "$odd_exe"
expect_code 0 sut apply "$WORK/quoted.suture" --pid "$PID_odd"

expect_code 0 "$SUTURE" status --pid "$PID_odd" --json --journal "$JOURNAL"
python3 -c '
import json, sys
processes = json.load(open(sys.argv[1]))
p = processes[0]
assert p["comm"] == "odd\"name", p["comm"]
patch = p["patches"][0]
assert patch["name"] == "fix \"quoted\" \\ name", patch["name"]
assert patch["object"] == sys.argv[2], patch["object"]
' "$WORK/last" "$odd_exe" || fail "status --json with quotes is not valid JSON: $(cat "$WORK/last")"

# apply --json already escapes; it must stay so.
expect_code 0 sut revert "$WORK/quoted.suture" --pid "$PID_odd" --json
python3 -c '
import json, sys
results = json.load(open(sys.argv[1]))
assert results[0]["patch"] == "fix \"quoted\" \\ name", results[0]
assert results[0]["comm"] == "odd\"name", results[0]
' "$WORK/last" || fail "revert --json with quotes is not valid JSON: $(cat "$WORK/last")"
alive "$PID_odd" || fail "target died"
